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

use std::borrow::Cow;
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
    /// The logical line's text (continuations joined), lossily decoded.
    pub text: String,
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
    name: String,
    value: String,
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

/// The physical lines of `bytes`, each with its terminator.
fn lines(bytes: &[u8]) -> impl Iterator<Item = Line> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let end = match memchr::memchr(b'\n', &bytes[start..]) {
            Some(i) => start + i + 1,
            None => bytes.len(),
        };
        let line = Line {
            start,
            end,
            kind: classify(&bytes[start..end]),
        };
        start = end;
        Some(line)
    })
}

/// Postfix's `split_nameval()`: the name and the trimmed value of a logical
/// line, or the reason it is malformed.
fn split_name_value(text: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let name_start = text
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(text.len());
    let rest = &text[name_start..];
    if rest.is_empty() || rest[0] == b'=' {
        return Err("missing attribute name");
    }
    let name_len = rest
        .iter()
        .position(|&b| is_space(b) || b == b'=')
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_len);
    let after = trim_start(after);
    if after.first() != Some(&b'=') {
        return Err("missing '=' after attribute name");
    }
    Ok((name, trim_end(trim_start(&after[1..]))))
}

/// `bytes` without leading white space.
fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// `bytes` without trailing white space.
fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// A physical line without its line terminator.
fn without_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// The name `postconf -e` matches a logical line's first physical line by:
/// its text up to the first white space or `=`.
fn edit_key(line: &[u8]) -> &[u8] {
    let len = line
        .iter()
        .position(|&b| is_space(b) || b == b'=')
        .unwrap_or(line.len());
    &line[..len]
}

/// How an edit treats the entries it matches.
#[derive(Clone, Copy)]
enum Edit<'a> {
    /// `postconf -e name=value`.
    Set(&'a str),
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
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|entry| entry.name == name)
            .map(|entry| entry.value.as_str())
    }

    /// How many entries are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.entries
            .iter()
            .filter(|entry| entry.name == name)
            .count()
    }

    /// Every `(name, raw value)` entry in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|entry| (entry.name.as_str(), entry.value.as_str()))
    }

    /// `postconf -e "name = value"`: each entry of that name is replaced in
    /// place by `name = value` (its continuation lines dropped); when there is
    /// none, the line is appended at the end.
    pub fn set(&mut self, name: &str, value: &str) {
        self.edit(name, Edit::Set(value));
    }

    /// `postconf -# name`: each entry of that name is commented out by
    /// prefixing `#` to each of its lines (comment and blank lines inside it
    /// are left as they are).
    pub fn comment_out(&mut self, name: &str) {
        self.edit(name, Edit::CommentOut);
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
        // The logical line being read: its first line number and its text,
        // borrowed while it is a single physical line.
        let mut current: Option<(usize, Cow<'_, [u8]>)> = None;
        for (index, line) in lines(&self.bytes).enumerate() {
            let text = without_newline(&self.bytes[line.start..line.end]);
            match line.kind {
                LineKind::Ignored => {}
                LineKind::Continuation => {
                    if let Some((_, logical)) = current.as_mut() {
                        logical.to_mut().extend_from_slice(text);
                    }
                }
                LineKind::Start => {
                    if let Some((first, logical)) = current.take() {
                        Self::add_logical(&mut self.entries, &mut self.errors, first, &logical);
                    }
                    current = Some((index + 1, Cow::Borrowed(text)));
                }
            }
        }
        if let Some((first, logical)) = current {
            Self::add_logical(&mut self.entries, &mut self.errors, first, &logical);
        }
    }

    // Records one logical line as an entry or a syntax error.
    fn add_logical(
        entries: &mut Vec<Entry>,
        errors: &mut Vec<SyntaxError>,
        line: usize,
        text: &[u8],
    ) {
        match split_name_value(text) {
            Ok((name, value)) => entries.push(Entry {
                name: String::from_utf8_lossy(name).into_owned(),
                value: String::from_utf8_lossy(value).into_owned(),
            }),
            Err(reason) => errors.push(SyntaxError {
                line,
                reason,
                text: String::from_utf8_lossy(text).into_owned(),
            }),
        }
    }

    // Rewrites the document as postconf's edit_parameters() does: line by
    // line, comment and blank lines always copied, the lines of each matching
    // entry replaced or commented out.
    fn edit(&mut self, name: &str, edit: Edit<'_>) {
        let mut out = Vec::with_capacity(self.bytes.len() + name.len() + 8);
        let mut in_match = false;
        let mut found = false;
        for line in lines(&self.bytes) {
            let bytes = &self.bytes[line.start..line.end];
            match line.kind {
                LineKind::Ignored => out.extend_from_slice(bytes),
                LineKind::Continuation => match (in_match, edit) {
                    (false, _) => out.extend_from_slice(bytes),
                    (true, Edit::Set(_)) => {}
                    (true, Edit::CommentOut) => {
                        out.push(b'#');
                        out.extend_from_slice(bytes);
                    }
                },
                LineKind::Start => {
                    in_match = edit_key(bytes) == name.as_bytes();
                    if !in_match {
                        out.extend_from_slice(bytes);
                        continue;
                    }
                    found = true;
                    match edit {
                        Edit::Set(value) => push_entry(&mut out, name, value),
                        Edit::CommentOut => {
                            out.push(b'#');
                            out.extend_from_slice(bytes);
                        }
                    }
                }
            }
        }
        if let (false, Edit::Set(value)) = (found, edit) {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            push_entry(&mut out, name, value);
        }
        *self = MainCf::from_bytes(out);
    }
}

/// Appends `name = value\n`, as postconf writes an entry.
fn push_entry(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b" = ");
    out.extend_from_slice(value.as_bytes());
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
        assert_eq!(d.get("a"), Some("b  c\td"));
        assert_eq!(d.get("e"), Some("f"));
        assert_eq!(d.entries().count(), 2);
    }

    #[test]
    fn last_entry_wins_and_count_counts_all() {
        let d = doc("x = 1\nx= 2\ny =\n");
        assert_eq!(d.get("x"), Some("2"));
        assert_eq!(d.count("x"), 2);
        assert_eq!(d.get("y"), Some(""));
        assert_eq!(d.get("z"), None);
    }

    #[test]
    fn leading_continuation_is_ignored_not_an_error() {
        let d = doc("  lead = 1\n   more\nx = 1\n");
        assert!(d.syntax_errors().is_empty());
        assert_eq!(d.get("lead"), None);
        assert_eq!(d.get("x"), Some("1"));
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
}
