//! Tree snapshots, the one kind the end-to-end tests take: every entry below
//! one or more roots (type, mode, owner, inode, modification time and
//! content), recorded in-process without following symbolic links.
//!
//! A sandbox records its own root ([`Tree::of`], paths relative to it, see
//! `Sandbox::snapshot`); a namespace script's `snapshot LABEL` runs the
//! `tree-snapshot` program (`src/bin/tree-snapshot.rs`), which records
//! absolute roots ([`Tree::of_roots`]) and writes them with
//! [`Tree::to_bytes`], read back by [`Tree::from_bytes`].
//!
//! [`Tree::differences`] is the one comparison: exact, for a tree against
//! itself later; [`Tree::diff`] applies it to the [`Tree::comparable`]
//! forms, for trees of two different namespaces.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What a directory entry is, with what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A directory.
    Directory,
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A symbolic link and its target.
    Symlink(PathBuf),
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
    /// Anything else (a device).
    Other,
}

impl Content {
    /// The letter that stands for its type in [`Tree::to_bytes`].
    fn letter(&self) -> char {
        match self {
            Content::Directory => 'd',
            Content::File(_) => 'f',
            Content::Symlink(_) => 'l',
            Content::Fifo => 'p',
            Content::Socket => 's',
            Content::Other => 'o',
        }
    }

    /// The bytes it holds: a file's, a link's target; none for the rest.
    fn bytes(&self) -> &[u8] {
        match self {
            Content::File(bytes) => bytes,
            Content::Symlink(target) => target.as_os_str().as_bytes(),
            _ => &[],
        }
    }

    /// The content of type `letter` holding `bytes`.
    fn from_letter(letter: &str, bytes: &[u8]) -> Option<Content> {
        Some(match letter {
            "d" => Content::Directory,
            "f" => Content::File(bytes.to_vec()),
            "l" => Content::Symlink(PathBuf::from(OsStr::from_bytes(bytes))),
            "p" => Content::Fifo,
            "s" => Content::Socket,
            "o" => Content::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Directory => f.write_str("directory"),
            Content::File(bytes) => write!(f, "file of {} bytes", bytes.len()),
            Content::Symlink(target) => write!(f, "symlink to {}", target.display()),
            Content::Fifo => f.write_str("fifo"),
            Content::Socket => f.write_str("socket"),
            Content::Other => f.write_str("special file"),
        }
    }
}

/// One entry of a [`Tree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The type and content.
    pub content: Content,
    /// Permission bits (`st_mode & 07777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Inode number (a file replaced by a rename gets a new one).
    pub ino: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i128,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, mode {:04o}, owner {}:{}, inode {}, mtime {}",
            self.content, self.mode, self.uid, self.gid, self.ino, self.mtime_ns
        )
    }
}

/// Every entry below some roots, by path: relative to the root for
/// [`Tree::of`] (the root itself is `""`), absolute for [`Tree::of_roots`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// The entries.
    pub nodes: BTreeMap<PathBuf, Node>,
}

impl Tree {
    /// `root` and everything below it, by path relative to `root`; panics
    /// when `root` does not exist.
    pub fn of(root: &Path) -> Tree {
        let mut nodes = BTreeMap::new();
        walk(root, Path::new(""), &mut nodes);
        assert!(!nodes.is_empty(), "{}: no such file", root.display());
        Tree { nodes }
    }

    /// Each of `roots` and everything below them, by absolute path; a root
    /// that does not exist is left out.
    pub fn of_roots(roots: &[PathBuf]) -> Tree {
        let mut nodes = BTreeMap::new();
        for root in roots {
            walk(root, root, &mut nodes);
        }
        Tree { nodes }
    }

    /// The entry at `path`.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(Path::new(path))
    }

    /// The text of the regular file at `path` (when it is UTF-8).
    pub fn text(&self, path: &str) -> Option<&str> {
        match &self.get(path)?.content {
            Content::File(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// The entries at or below `path`.
    pub fn under(&self, path: &str) -> Tree {
        let prefix = Path::new(path);
        self.filtered(|path| path.starts_with(prefix))
    }

    /// A copy without the entries for which `ignore(path)` holds.
    pub fn without(&self, ignore: impl Fn(&str) -> bool) -> Tree {
        self.filtered(|path| !ignore(&path.to_string_lossy()))
    }

    /// A copy of the entries for which `keep(path)` holds.
    fn filtered(&self, keep: impl Fn(&Path) -> bool) -> Tree {
        Tree {
            nodes: self
                .nodes
                .iter()
                .filter(|(path, _)| keep(path))
                .map(|(path, node)| (path.clone(), node.clone()))
                .collect(),
        }
    }

    /// The tree as it compares with one recorded elsewhere: inode numbers
    /// and modification times cleared, each `main.cf` as its lines sorted
    /// ([`main_cf_lines`]: `postconf` appends new parameters in no fixed
    /// order).
    pub fn comparable(&self) -> Tree {
        let nodes = self
            .nodes
            .iter()
            .map(|(path, node)| {
                let content = match &node.content {
                    Content::File(bytes) if path.ends_with("main.cf") => Content::File(
                        main_cf_lines(&String::from_utf8_lossy(bytes))
                            .join("\n")
                            .into_bytes(),
                    ),
                    other => other.clone(),
                };
                let node = Node {
                    content,
                    ino: 0,
                    mtime_ns: 0,
                    ..node.clone()
                };
                (path.clone(), node)
            })
            .collect();
        Tree { nodes }
    }

    /// One line per path that differs between `self` and `after`: `removed
    /// PATH: ...`, `added PATH: ...` or `changed PATH: ...` naming each
    /// attribute that changed (for text files, the lines only one side
    /// has). Empty when they are the same.
    pub fn differences(&self, after: &Tree) -> Vec<String> {
        let mut lines = Vec::new();
        for (path, node) in &self.nodes {
            match after.nodes.get(path) {
                None => lines.push(format!("removed {}: {node}", path.display())),
                Some(now) if now != node => lines.push(format!(
                    "changed {}: {}",
                    path.display(),
                    describe_change(node, now)
                )),
                Some(_) => {}
            }
        }
        for (path, node) in &after.nodes {
            if !self.nodes.contains_key(path) {
                lines.push(format!("added {}: {node}", path.display()));
            }
        }
        lines
    }

    /// [`Tree::differences`] between the [`Tree::comparable`] forms of
    /// `self` and `other`: what differs between trees recorded in two
    /// namespaces (types, modes, owners and contents).
    pub fn diff(&self, other: &Tree) -> Vec<String> {
        self.comparable().differences(&other.comparable())
    }

    /// The tree serialised for [`Tree::from_bytes`]: per entry, the line
    /// `TYPE MODE UID GID INODE MTIME PATH_LENGTH CONTENT_LENGTH` (type a
    /// letter, mode octal, lengths in bytes), then the path's bytes, then
    /// the content's (a file's bytes, a link's target).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, node) in &self.nodes {
            let path = path.as_os_str().as_bytes();
            let content = node.content.bytes();
            out.extend_from_slice(
                format!(
                    "{} {:o} {} {} {} {} {} {}\n",
                    node.content.letter(),
                    node.mode,
                    node.uid,
                    node.gid,
                    node.ino,
                    node.mtime_ns,
                    path.len(),
                    content.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(path);
            out.extend_from_slice(content);
        }
        out
    }

    /// Reads what [`Tree::to_bytes`] wrote; says where it is malformed.
    pub fn from_bytes(mut bytes: &[u8]) -> Result<Tree, String> {
        let mut nodes = BTreeMap::new();
        while !bytes.is_empty() {
            let at = nodes.len();
            let end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .ok_or(format!("entry {at}: no header line"))?;
            let header = std::str::from_utf8(&bytes[..end])
                .map_err(|_| format!("entry {at}: header is not UTF-8"))?;
            let fields: Vec<&str> = header.split(' ').collect();
            let [letter, mode, uid, gid, ino, mtime_ns, path_len, content_len] = fields[..] else {
                return Err(format!("entry {at}: bad header {header:?}"));
            };
            let bad = |what: &str| format!("entry {at}: bad {what} in {header:?}");
            let number = |text: &str, what: &str| text.parse::<usize>().map_err(|_| bad(what));
            let (path_len, content_len) =
                (number(path_len, "length")?, number(content_len, "length")?);
            let rest = &bytes[end + 1..];
            if rest.len() < path_len + content_len {
                return Err(format!("entry {at}: truncated"));
            }
            let path = PathBuf::from(OsStr::from_bytes(&rest[..path_len]));
            let content = Content::from_letter(letter, &rest[path_len..path_len + content_len])
                .ok_or_else(|| bad("type"))?;
            let node = Node {
                content,
                mode: u32::from_str_radix(mode, 8).map_err(|_| bad("mode"))?,
                uid: uid.parse().map_err(|_| bad("owner"))?,
                gid: gid.parse().map_err(|_| bad("group"))?,
                ino: ino.parse().map_err(|_| bad("inode"))?,
                mtime_ns: mtime_ns.parse().map_err(|_| bad("mtime"))?,
            };
            nodes.insert(path, node);
            bytes = &rest[path_len + content_len..];
        }
        Ok(Tree { nodes })
    }
}

/// The lines of a main.cf, sorted: the normal form side-by-side tests
/// compare, as `postconf -e` appends new parameters in no fixed order.
pub fn main_cf_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// What changed from `was` to `now`, attribute by attribute.
fn describe_change(was: &Node, now: &Node) -> String {
    let mut parts = Vec::new();
    if was.content != now.content {
        parts.push(describe_content_change(&was.content, &now.content));
    }
    if was.mode != now.mode {
        parts.push(format!("mode {:04o} -> {:04o}", was.mode, now.mode));
    }
    if (was.uid, was.gid) != (now.uid, now.gid) {
        parts.push(format!(
            "owner {}:{} -> {}:{}",
            was.uid, was.gid, now.uid, now.gid
        ));
    }
    if was.ino != now.ino {
        parts.push(format!("inode {} -> {}", was.ino, now.ino));
    }
    if was.mtime_ns != now.mtime_ns {
        parts.push(format!("mtime {} -> {}", was.mtime_ns, now.mtime_ns));
    }
    parts.join("; ")
}

/// How `was` became `now`: for two text files, the lines only one of them
/// has; otherwise both described.
fn describe_content_change(was: &Content, now: &Content) -> String {
    if let (Content::File(was), Content::File(now)) = (was, now) {
        if let (Ok(was), Ok(now)) = (std::str::from_utf8(was), std::str::from_utf8(now)) {
            let (was, now): (Vec<&str>, Vec<&str>) = (was.lines().collect(), now.lines().collect());
            let only_was: Vec<&&str> = was.iter().filter(|line| !now.contains(line)).collect();
            let only_now: Vec<&&str> = now.iter().filter(|line| !was.contains(line)).collect();
            return format!("content: lines only before {only_was:?}, only after {only_now:?}");
        }
    }
    format!("{was} -> {now}")
}

/// Records `path` (at `key`) and everything below it, never following a
/// symbolic link; an entry that vanishes meanwhile (a daemon's) is left out.
fn walk(path: &Path, key: &Path, nodes: &mut BTreeMap<PathBuf, Node>) {
    let vanished = |e: &std::io::Error| e.kind() == ErrorKind::NotFound;
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if vanished(&e) => return,
        other => other.unwrap_or_else(|e| panic!("lstat {}: {e}", path.display())),
    };
    let file_type = meta.file_type();
    let content = if file_type.is_dir() {
        Content::Directory
    } else if file_type.is_file() {
        match std::fs::read(path) {
            Err(e) if vanished(&e) => return,
            other => {
                Content::File(other.unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
            }
        }
    } else if file_type.is_symlink() {
        match std::fs::read_link(path) {
            Err(e) if vanished(&e) => return,
            other => Content::Symlink(
                other.unwrap_or_else(|e| panic!("readlink {}: {e}", path.display())),
            ),
        }
    } else if file_type.is_fifo() {
        Content::Fifo
    } else if file_type.is_socket() {
        Content::Socket
    } else {
        Content::Other
    };
    nodes.insert(
        key.to_path_buf(),
        Node {
            content,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            ino: meta.ino(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        },
    );
    if file_type.is_dir() {
        let entries = match std::fs::read_dir(path) {
            Err(e) if vanished(&e) => return,
            other => other.unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
        };
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            walk(&entry.path(), &key.join(entry.file_name()), nodes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node of `content`, root's, mode 0644.
    fn node(content: Content) -> Node {
        Node {
            content,
            mode: 0o644,
            uid: 0,
            gid: 0,
            ino: 1,
            mtime_ns: 2,
        }
    }

    #[test]
    fn serialisation_round_trips() {
        let mut tree = Tree::default();
        for (path, content) in [
            ("/e", Content::Directory),
            ("/e/main.cf", Content::File(b"a = 1\n\nb\xff".to_vec())),
            ("/e/link\nname", Content::Symlink(PathBuf::from("../t a"))),
            ("/e/pickup", Content::Fifo),
            ("/e/smtp", Content::Socket),
            ("/e/null", Content::Other),
        ] {
            tree.nodes.insert(PathBuf::from(path), node(content));
        }
        assert_eq!(Tree::from_bytes(&tree.to_bytes()), Ok(tree));
        assert!(Tree::from_bytes(b"f 644 0 0 1 2 3 9\n/e/x12").is_err());
    }

    #[test]
    fn main_cf_compares_as_sorted_lines() {
        let text = |path: &str, text: &str, ino: u64| {
            let mut tree = Tree::default();
            let node = Node {
                ino,
                ..node(Content::File(text.into()))
            };
            tree.nodes.insert(path.into(), node);
            tree
        };
        let (left, right) = (
            text("/e/main.cf", "a = 1\nb = 2\n", 1),
            text("/e/main.cf", "b = 2\na = 1\n", 2),
        );
        assert!(left.diff(&right).is_empty());
        assert_eq!(left.differences(&right).len(), 1);
        let (left, right) = (
            text("/e/master.cf", "a\nb\n", 1),
            text("/e/master.cf", "b\na\n", 1),
        );
        assert_eq!(left.diff(&right).len(), 1);
    }
}
