//! A lossless `main.cf` document.
//!
//! Every physical line is kept as it was read (comments, blank lines,
//! continuation lines, odd spacing, CRLF, a missing final newline, bytes that
//! are not UTF-8), so [`MainCf::parse`] followed by [`MainCf::to_bytes`] is
//! byte-identical. Logical lines follow Postfix's `readllines()`: a line that
//! starts with white space continues the previous entry, and comment or blank
//! lines are skipped inside one. Edits follow `postconf -e` and `postconf -#`
//! exactly, so a file edited here is the file `postconf` would have written.

use std::path::Path;

/// A parsed `main.cf` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MainCf {
    // implementation detail: a list of items, each with its original bytes
}

/// A logical line that is not `name = value`, as Postfix would refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based number of the physical line where the logical line starts.
    pub line: usize,
    /// The logical line's text (continuations joined), lossily decoded.
    pub text: String,
}

impl MainCf {
    /// Parses bytes; never fails (malformed lines are kept and reported by
    /// [`MainCf::syntax_errors`]).
    pub fn parse(bytes: &[u8]) -> MainCf {
        todo!()
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> std::io::Result<MainCf> {
        todo!()
    }

    /// The document's bytes: the original ones where nothing was edited.
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!()
    }

    /// The raw (unexpanded) value of the last entry named `name`, as
    /// `postconf -nh name` prints it.
    pub fn get(&self, name: &str) -> Option<&str> {
        todo!()
    }

    /// How many entries are named `name`.
    pub fn count(&self, name: &str) -> usize {
        todo!()
    }

    /// Every `(name, raw value)` entry in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        std::iter::empty()
    }

    /// `postconf -e "name = value"`: each entry of that name is replaced in
    /// place by `name = value` (its continuation lines dropped); when there is
    /// none, the line is appended at the end.
    pub fn set(&mut self, name: &str, value: &str) {
        todo!()
    }

    /// `postconf -# name`: each entry of that name is commented out by
    /// prefixing `#` to each of its lines.
    pub fn comment_out(&mut self, name: &str) {
        todo!()
    }

    /// The logical lines Postfix would reject (no `=`, empty name,
    /// continuation before any entry).
    pub fn syntax_errors(&self) -> Vec<SyntaxError> {
        todo!()
    }
}
