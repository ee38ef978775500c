//! A lossless `main.cf` document.
//!
//! Every physical line is kept as it was read (comments, blank lines,
//! continuation lines, odd spacing, CRLF, a missing final newline, bytes that
//! are not UTF-8), so [`MainCf::parse`] followed by [`MainCf::to_bytes`] is
//! byte-identical. Logical lines follow Postfix's `readllines()`: a line that
//! starts with white space continues the previous entry (its text appended
//! as it is), and comment or blank lines are skipped inside one. Edits follow
//! `postconf -e` and `postconf -#` line by line, so a file edited here is the
//! file `postconf` would have written (one deliberate difference: a new entry
//! appended to a file without a final newline starts on a line of its own,
//! where `postconf` glues it to the last line).
//!
//! Postfix reads a logical line as a C string: a NUL byte ends it. So does
//! this reader (`a = b<NUL>c` is `a = b`; a line that starts with NUL has no
//! name, which Postfix refuses), while edits copy every byte as postconf
//! does.

use bstr::BStr;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

/// A parsed `main.cf` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MainCf {
    /// The file's bytes, exactly as read or as last edited.
    bytes: Vec<u8>,
    /// The well-formed logical lines, in file order.
    entries: Vec<Entry>,
    /// The logical lines Postfix would refuse, in file order.
    errors: Vec<SyntaxError>,
}

/// A logical line that is not `name = value`, as Postfix would refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based number of the physical line where the logical line starts.
    pub line: usize,
    /// Postfix's reason: `missing attribute name` or `missing '=' after
    /// attribute name`.
    pub reason: &'static str,
    /// The logical line's text (continuations joined), as bytes.
    pub text: bstr::BString,
}

/// One physical line of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    start: usize,
    end: usize,
    kind: LineKind,
}

/// What a physical line is to Postfix's readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Empty, all white space, or a comment (first non-blank is `#`):
    /// ignored, also in the middle of a logical line.
    Ignored,
    /// Starts a logical line (first byte is not white space).
    Start,
    /// Continues the current logical line (starts with white space).
    Continuation,
}

/// One `name = value` logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: Text,
    value: Text,
}

/// The bytes of a name or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    /// Where it is in the document's bytes (the usual case: a single
    /// physical line).
    Span(Range<usize>),
    /// A copy: continuation lines joined.
    Owned(Vec<u8>),
}

/// Postfix's `ISSPACE()`: the ASCII white-space characters.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Classifies one physical line (terminator included).
fn classify(line: &[u8]) -> LineKind {
    match line.first() {
        Some(b'#') => return LineKind::Ignored,
        Some(&b) if !is_space(b) => return LineKind::Start,
        _ => {}
    }
    match line.iter().position(|&b| !is_space(b)) {
        Some(i) if line[i] != b'#' => LineKind::Continuation,
        _ => LineKind::Ignored,
    }
}

/// The physical lines of `bytes` that do not start with `#`, each with its
/// terminator. A stock main.cf is mostly comment lines, which every reader
/// ignores and every edit copies as they are; they are skipped in bulk: one
/// pass (which the compiler turns into vector compares) marks each newline
/// followed by anything but `#`, and the marks are then found with `memchr`.
fn significant_lines(bytes: &[u8]) -> impl Iterator<Item = Line> + '_ {
    let marks: Vec<u8> = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .map(|(&byte, &next)| u8::from(byte == b'\n') & u8::from(next != b'#'))
        .collect();
    let first = bytes.first().filter(|&&byte| byte != b'#').map(|_| 0);
    let starts: Vec<usize> = first
        .into_iter()
        .chain(memchr::memchr_iter(1, &marks).map(|newline| newline + 1))
        .collect();
    starts.into_iter().map(move |start| {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |len| start + len + 1);
        Line {
            start,
            end,
            kind: classify(&bytes[start..end]),
        }
    })
}

/// The 1-based number of the physical line that starts at `start`.
fn line_number(bytes: &[u8], start: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &bytes[..start]).count()
}

/// Postfix's `split_nameval()`: where in a logical line its name and its
/// trimmed value are, or the reason it is malformed.
fn split_name_value(text: &[u8]) -> Result<(Range<usize>, Range<usize>), &'static str> {
    let name_start = skip_space(text, 0);
    if name_start == text.len() || text[name_start] == b'=' {
        return Err("missing attribute name");
    }
    let name_end = text[name_start..]
        .iter()
        .position(|&b| is_space(b) || b == b'=')
        .map_or(text.len(), |len| name_start + len);
    let equals = skip_space(text, name_end);
    if text.get(equals) != Some(&b'=') {
        return Err("missing '=' after attribute name");
    }
    let value_start = skip_space(text, equals + 1);
    let value_end = text[value_start..]
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(value_start, |last| value_start + last + 1);
    Ok((name_start..name_end, value_start..value_end))
}

/// The position of the first byte at or after `from` that is not white space.
fn skip_space(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| !is_space(b))
        .map_or(bytes.len(), |len| from + len)
}

/// A physical line without its line terminator.
fn without_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// The name `postconf -e` matches a logical line's first physical line by:
/// its text up to the first white space, `=` or NUL.
fn edit_key(line: &[u8]) -> &[u8] {
    let len = line
        .iter()
        .position(|&b| is_space(b) || b == b'=' || b == 0)
        .unwrap_or(line.len());
    &line[..len]
}

/// A logical line as it is read.
struct Logical {
    /// Its first physical line, without the terminator.
    span: Range<usize>,
    /// Its text with the continuation lines appended, once there are any.
    joined: Option<Vec<u8>>,
}

impl Logical {
    // Records the logical line as an entry or a syntax error.
    fn record(self, bytes: &[u8], entries: &mut Vec<Entry>, errors: &mut Vec<SyntaxError>) {
        let text = self.joined.as_deref().unwrap_or(&bytes[self.span.clone()]);
        let text = &text[..memchr::memchr(0, text).unwrap_or(text.len())];
        match split_name_value(text) {
            Ok((name, value)) => entries.push(match &self.joined {
                Some(joined) => Entry {
                    name: Text::Owned(joined[name].to_vec()),
                    value: Text::Owned(joined[value].to_vec()),
                },
                None => Entry {
                    name: Text::Span(shift(name, self.span.start)),
                    value: Text::Span(shift(value, self.span.start)),
                },
            }),
            Err(reason) => errors.push(SyntaxError {
                line: line_number(bytes, self.span.start),
                reason,
                text: text.into(),
            }),
        }
    }
}

/// `range` moved `by` bytes further.
fn shift(range: Range<usize>, by: usize) -> Range<usize> {
    range.start + by..range.end + by
}

/// How an edit treats the entries it matches.
#[derive(Clone, Copy)]
enum Edit<'a> {
    /// `postconf -e name=value`.
    Set(&'a [u8]),
    /// `postconf -# name`.
    CommentOut,
}

impl MainCf {
    /// Parses bytes; never fails (malformed lines are kept and reported by
    /// [`MainCf::syntax_errors`]).
    pub fn parse(bytes: &[u8]) -> MainCf {
        MainCf::from_bytes(bytes.to_vec())
    }

    /// Parses bytes it takes ownership of (no copy).
    pub fn from_bytes(bytes: Vec<u8>) -> MainCf {
        let mut doc = MainCf {
            bytes,
            entries: Vec::new(),
            errors: Vec::new(),
        };
        doc.read_logical_lines();
        doc
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> std::io::Result<MainCf> {
        Ok(MainCf::from_bytes(std::fs::read(path)?))
    }

    /// The document's bytes: the original ones where nothing was edited.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The raw (unexpanded) value of the last entry named `name`: the value
    /// Postfix holds after reading main.cf (continuations joined, leading and
    /// trailing white space trimmed).
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&BStr> {
        let name = name.as_ref();
        self.entries
            .iter()
            .rev()
            .find(|entry| self.text(&entry.name) == name)
            .map(|entry| self.text(&entry.value))
    }

    /// How many entries are named `name`.
    pub fn count(&self, name: impl AsRef<[u8]>) -> usize {
        let name = name.as_ref();
        self.entries
            .iter()
            .filter(|entry| self.text(&entry.name) == name)
            .count()
    }

    /// Every `(name, raw value)` entry in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&BStr, &BStr)> + '_ {
        self.entries
            .iter()
            .map(|entry| (self.text(&entry.name), self.text(&entry.value)))
    }

    // The bytes of a name or a value.
    fn text<'a>(&'a self, text: &'a Text) -> &'a BStr {
        match text {
            Text::Span(span) => BStr::new(&self.bytes[span.clone()]),
            Text::Owned(text) => BStr::new(text),
        }
    }

    /// `postconf -e "name = value"`: each entry of that name is replaced in
    /// place by `name = value` (its continuation lines dropped); when there is
    /// none, the line is appended at the end.
    pub fn set(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        self.edit(&HashMap::from([(name, Edit::Set(value.as_ref()))]), &[name]);
    }

    /// [`MainCf::set`] of each of `settings` in order, in one pass over the
    /// file (a name given twice takes its last value, at the place its
    /// first set left it): a thousand settings cost one edit, not a
    /// thousand.
    pub fn set_all(&mut self, settings: &[(&str, &[u8])]) {
        let edits: HashMap<&[u8], Edit<'_>> = settings
            .iter()
            .map(|(name, value)| (name.as_bytes(), Edit::Set(value)))
            .collect();
        let order: Vec<&[u8]> = settings.iter().map(|(name, _)| name.as_bytes()).collect();
        self.edit(&edits, &order);
    }

    /// `postconf -# name`: each entry of that name is commented out by
    /// prefixing `#` to each of its lines (comment and blank lines inside it
    /// are left as they are).
    pub fn comment_out(&mut self, name: impl AsRef<[u8]>) {
        self.edit(&HashMap::from([(name.as_ref(), Edit::CommentOut)]), &[]);
    }

    /// The 1-based number of the first physical line holding a NUL byte, if
    /// any: `postconf -e` would cut that line there (newline included).
    pub fn nul_line(&self) -> Option<usize> {
        memchr::memchr(0, &self.bytes).map(|at| line_number(&self.bytes, at))
    }

    /// The logical lines Postfix would refuse (no `=`, empty name), in file
    /// order. A continuation before any entry is not one of them: Postfix
    /// warns about it and ignores it.
    pub fn syntax_errors(&self) -> Vec<SyntaxError> {
        self.errors.clone()
    }

    // Builds the entries and errors from the physical lines, as readllines()
    // followed by split_nameval() does.
    fn read_logical_lines(&mut self) {
        let mut current: Option<Logical> = None;
        for line in significant_lines(&self.bytes) {
            let end = line.start + without_newline(&self.bytes[line.start..line.end]).len();
            match line.kind {
                LineKind::Ignored => {}
                LineKind::Continuation => {
                    if let Some(logical) = current.as_mut() {
                        let bytes = &self.bytes;
                        logical
                            .joined
                            .get_or_insert_with(|| bytes[logical.span.clone()].to_vec())
                            .extend_from_slice(&bytes[line.start..end]);
                    }
                }
                LineKind::Start => {
                    if let Some(logical) = current.take() {
                        logical.record(&self.bytes, &mut self.entries, &mut self.errors);
                    }
                    current = Some(Logical {
                        span: line.start..end,
                        joined: None,
                    });
                }
            }
        }
        if let Some(logical) = current {
            logical.record(&self.bytes, &mut self.entries, &mut self.errors);
        }
    }

    // Rewrites the document as postconf's edit_parameters() does: line by
    // line, comment and blank lines always copied, the lines of each entry
    // `edits` names replaced or commented out; then the names of
    // `appended` set and not found are appended, once each, in order.
    fn edit(&mut self, edits: &HashMap<&[u8], Edit<'_>>, appended: &[&[u8]]) {
        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        let mut current: Option<Edit<'_>> = None;
        let mut found: HashSet<&[u8]> = HashSet::new();
        let mut copied = 0; // the comment lines up to the next line are copied
        for line in significant_lines(&self.bytes) {
            out.extend_from_slice(&self.bytes[copied..line.start]);
            copied = line.end;
            let bytes = &self.bytes[line.start..line.end];
            match line.kind {
                LineKind::Ignored => out.extend_from_slice(bytes),
                LineKind::Continuation => match current {
                    None => out.extend_from_slice(bytes),
                    Some(Edit::Set(_)) => {}
                    Some(Edit::CommentOut) => {
                        out.push(b'#');
                        out.extend_from_slice(bytes);
                    }
                },
                LineKind::Start => {
                    let key = edit_key(bytes);
                    current = edits.get(key).copied();
                    let Some(edit) = current else {
                        out.extend_from_slice(bytes);
                        continue;
                    };
                    if let Some((&name, _)) = edits.get_key_value(key) {
                        found.insert(name);
                    }
                    match edit {
                        Edit::Set(value) => push_entry(&mut out, key, value),
                        Edit::CommentOut => {
                            out.push(b'#');
                            out.extend_from_slice(bytes);
                        }
                    }
                }
            }
        }
        out.extend_from_slice(&self.bytes[copied..]);
        for &name in appended {
            if let Some(Edit::Set(value)) = edits.get(name) {
                if found.insert(name) {
                    if !out.is_empty() && !out.ends_with(b"\n") {
                        out.push(b'\n');
                    }
                    push_entry(&mut out, name, value);
                }
            }
        }
        *self = MainCf::from_bytes(out);
    }
}

fn push_entry(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b" = ");
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> MainCf {
        MainCf::parse(text.as_bytes())
    }

    fn text(doc: &MainCf) -> String {
        String::from_utf8(doc.to_bytes()).unwrap()
    }

    #[test]
    fn significant_lines_are_those_not_starting_with_a_hash() {
        let text = b"#a\nb = 1\n\n#c\n  d\n#\n# e\ne";
        let lines: Vec<(&[u8], LineKind)> = significant_lines(text)
            .map(|line| (&text[line.start..line.end], line.kind))
            .collect();
        assert_eq!(
            lines,
            vec![
                (&b"b = 1\n"[..], LineKind::Start),
                (&b"\n"[..], LineKind::Ignored),
                (&b"  d\n"[..], LineKind::Continuation),
                (&b"e"[..], LineKind::Start),
            ]
        );
        assert_eq!(significant_lines(b"").count(), 0);
        assert_eq!(significant_lines(b"#only\n#comments").count(), 0);
        assert_eq!(line_number(text, 3), 2);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept() {
        let mut d = MainCf::parse(b"a = \xe9t\xe9\nb = x\n  \xff\n");
        assert_eq!(d.get("a").unwrap(), &b"\xe9t\xe9"[..]);
        assert_eq!(d.get("b").unwrap(), &b"x  \xff"[..]);
        d.set("c", b"/etc/postfix-\xe9");
        assert_eq!(d.get("c").unwrap(), &b"/etc/postfix-\xe9"[..]);
        assert!(d.to_bytes().ends_with(b"c = /etc/postfix-\xe9\n"));
    }

    #[test]
    fn round_trip_is_byte_identical() {
        for input in [
            "",
            "\n",
            "a = b",
            "a=b\r\n  c\r\n# x\n\n\t d\nbad line\n  stray\n",
            "  lead = 1\n   more\nx = 1\n",
        ] {
            assert_eq!(text(&doc(input)), input);
        }
        let binary = b"a = \xff\x00\n\xfe\n";
        assert_eq!(MainCf::parse(binary).to_bytes(), binary);
    }

    #[test]
    fn continuation_lines_join_across_comments_and_blank_lines() {
        let d = doc("a = b\n  c\n# int\n\n\td  \ne=f\n");
        assert_eq!(d.get("a"), Some(BStr::new("b  c\td")));
        assert_eq!(d.get("e"), Some(BStr::new("f")));
        assert_eq!(d.entries().count(), 2);
    }

    #[test]
    fn last_entry_wins_and_count_counts_all() {
        let d = doc("x = 1\nx= 2\ny =\n");
        assert_eq!(d.get("x"), Some(BStr::new("2")));
        assert_eq!(d.count("x"), 2);
        assert_eq!(d.get("y"), Some(BStr::new("")));
        assert_eq!(d.get("z"), None);
    }

    #[test]
    fn leading_continuation_is_ignored_not_an_error() {
        let d = doc("  lead = 1\n   more\nx = 1\n");
        assert!(d.syntax_errors().is_empty());
        assert_eq!(d.get("lead"), None);
        assert_eq!(d.get("x"), Some(BStr::new("1")));
    }

    #[test]
    fn a_nul_byte_ends_the_logical_line_as_in_postfix() {
        let doc = doc("a = b\0c\nf = g\0\n  h\n");
        assert_eq!(doc.get("a"), Some(BStr::new("b")));
        assert_eq!(doc.get("f"), Some(BStr::new("g")));
        assert!(doc.syntax_errors().is_empty());
        let doc = MainCf::parse(b"a = b\n\0x = y\nd\0 = e\n");
        let errors: Vec<(usize, &str, bstr::BString)> = doc
            .syntax_errors()
            .into_iter()
            .map(|error| (error.line, error.reason, error.text))
            .collect();
        assert_eq!(
            errors,
            [
                (2, "missing attribute name", "".into()),
                (3, "missing '=' after attribute name", "d".into())
            ]
        );
        // Edits keep the bytes after a NUL, and match names up to it.
        let mut doc = MainCf::parse(b"a = b\0c\nd\0x = 1\n");
        doc.set("d", "2");
        assert_eq!(doc.to_bytes(), b"a = b\0c\nd = 2\n");
        assert_eq!(doc.nul_line(), Some(1));
        assert_eq!(MainCf::parse(b"a = b\n\n#\0\n").nul_line(), Some(3));
        assert_eq!(MainCf::parse(b"a = b\n").nul_line(), None);
    }

    #[test]
    fn syntax_errors_name_line_and_reason() {
        let d = doc("a = 1\n# c\nbad\n  more\n= x\n");
        let errors = d.syntax_errors();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 3);
        assert_eq!(errors[0].reason, "missing '=' after attribute name");
        assert_eq!(errors[0].text, "bad  more");
        assert_eq!(errors[1].line, 5);
        assert_eq!(errors[1].reason, "missing attribute name");
    }

    #[test]
    fn set_replaces_every_entry_in_place_and_drops_continuations() {
        let mut d = doc("a = b\n  c\n# int\n\n\td\ne=f\nlast = z\na=again\n");
        d.set("a", "1");
        assert_eq!(text(&d), "a = 1\n# int\n\ne=f\nlast = z\na = 1\n");
    }

    #[test]
    fn set_appends_a_new_entry_and_writes_empty_values_with_a_space() {
        let mut d = doc("a = b\n");
        d.set("new", "");
        assert_eq!(text(&d), "a = b\nnew = \n");
        let mut unterminated = doc("a = b");
        unterminated.set("new", "2");
        assert_eq!(text(&unterminated), "a = b\nnew = 2\n");
    }

    #[test]
    fn set_matches_names_up_to_space_or_equals_only() {
        let mut d = doc("ab = 1\na=2\na  = 3\n");
        d.set("a", "x");
        assert_eq!(text(&d), "ab = 1\na = x\na = x\n");
    }

    #[test]
    fn comment_out_prefixes_each_line_of_the_entry() {
        let mut d = doc("a = b\n  c\n# int\n\n\td\ne=f\nlast = z");
        d.comment_out("a");
        d.comment_out("e");
        assert_eq!(text(&d), "#a = b\n#  c\n# int\n\n#\td\n#e=f\nlast = z");
        assert_eq!(d.get("a"), None);
        d.comment_out("nosuch");
        assert_eq!(text(&d), "#a = b\n#  c\n# int\n\n#\td\n#e=f\nlast = z");
    }

    #[test]
    fn set_all_leaves_what_the_sets_one_after_the_other_leave() {
        let text = "a = 1\n# note\nb = 2\n    continued\na = 3\nc = 4";
        let settings: &[(&str, &[u8])] = &[
            ("b", b"x"),
            ("new", b"n1"),
            ("a", b"y"),
            ("new", b"n2"),
            ("z", b""),
        ];
        let mut one_by_one = doc(text);
        for (name, value) in settings {
            one_by_one.set(name, value);
        }
        let mut at_once = doc(text);
        at_once.set_all(settings);
        assert_eq!(at_once.to_bytes(), one_by_one.to_bytes());
        assert_eq!(
            String::from_utf8(at_once.to_bytes()).unwrap(),
            "a = y\n# note\nb = x\na = y\nc = 4\nnew = n2\nz = \n"
        );
    }
}
