//! The one rule for files postmulti trusts as root, and for files it
//! writes for others to read.
//!
//! A file is trusted when neither it nor its directory is a symbolic link,
//! it is a regular file, and both are owned by root (or by the user running
//! postmulti) and writable by neither group nor others: then nobody else
//! could have put into it what postmulti acts on. The `postconf -d` cache
//! ([`crate::defaults`]), the arrival-time memo ([`crate::arrivals`]), the
//! manifest of `--apply` ([`crate::desired`]) and the prototypes of a
//! `--template` directory are read under it; `--export` writes only where the result would be
//! trusted. Files postmulti writes are never written through a symbolic
//! link nor over something that is not a regular file ([`replaceable`]).
//! The instances' own configuration files, which Postfix reads through
//! symbolic links, are read by [`read_config`]: regular files of a bounded
//! size only, through links that root (or we) made in trusted directories.

use crate::error::{strerror, Op};
use crate::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Why the file at `path` or its directory may not be trusted, if they
/// exist and may not: a symbolic link, not a regular file or directory,
/// another owner than root or us, or group or other write permission, of
/// the file or of any directory on the way to it ([`distrust_dir`]).
pub fn distrust_file(path: &Path) -> Option<String> {
    if let Some(reason) = directory_of(path).and_then(distrust_dir) {
        return Some(reason);
    }
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        return Some("it is a symbolic link".to_string());
    }
    if !meta.is_file() {
        return Some("it is not a regular file".to_string());
    }
    unsafe_ownership(&meta).map(|reason| format!("it is {reason}"))
}

/// Why the directory `dir` may not be trusted, if it may not: a directory
/// on the way to it from `/`, or `dir` itself when it exists, fails the
/// rule of [`reach`] (a symbolic link, not a directory, another owner than
/// root or us, or group or other write permission).
pub fn distrust_dir(dir: &Path) -> Option<String> {
    reach(dir, Last::Trusted).err().map(|why| why.0)
}

/// How `meta` lets someone other than root (or us) change the file, if it
/// does.
fn unsafe_ownership(meta: &std::fs::Metadata) -> Option<String> {
    let uid = meta.uid();
    if uid != 0 && uid != nix::unistd::geteuid().as_raw() {
        return Some(format!("owned by uid {uid}"));
    }
    match meta.mode() & 0o022 {
        0 => None,
        0o020 => Some("writable by its group".to_string()),
        _ => Some("writable by others".to_string()),
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn directory_of(path: &Path) -> Option<&Path> {
    match path.parent() {
        Some(dir) if dir.as_os_str().is_empty() => Some(Path::new(".")),
        other => other,
    }
}

/// The bytes of the regular file `path`, at most `limit` of them: a
/// symbolic link is not followed, and a FIFO, device or directory is
/// refused before anything is read from it.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => Error::fatal(format!(
                "{}: is a symbolic link, which postmulti does not follow",
                path.display()
            )),
            _ => Error::fatal(format!("{}: {}", path.display(), strerror(&e))),
        })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::fatal(format!(
            "{}: is not a regular file",
            path.display()
        )));
    }
    read_limited(file, path, limit)
}

/// Everything `reader` (named `source` in messages) holds, refused when it
/// is more than `limit` bytes.
pub fn read_limited(reader: impl Read, source: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io_op(Op::Read, source, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::fatal(format!(
            "{}: larger than {limit} bytes",
            source.display()
        )));
    }
    Ok(bytes)
}

/// The most bytes an instance's configuration file (main.cf, master.cf,
/// postfix-files) may have: a stock main.cf has some 30 kB, so a larger
/// file is a mistake or an attack, not a configuration.
pub const CONFIG_LIMIT: u64 = 16 << 20;

/// The most symbolic links followed to a configuration file, as the
/// kernel's own limit.
const MAX_LINKS: usize = 40;

/// The bytes of the configuration file `path` (an instance's main.cf or
/// master.cf, which root and other users may point at with a symbolic
/// link, as Postfix follows one), at most `limit` of them: only a regular
/// file is read, a FIFO, device or directory is refused before anything
/// is read from it, and a symbolic link is followed only when it is owned
/// by root (or us) in a directory [`distrust_dir`] trusts, each link of a
/// chain alike, so nobody else can point postmulti at a file they could
/// not read themselves. A missing file is an [`Op::Open`] error.
pub fn read_config(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match open_no_follow(&current) {
            Ok(file) => return read_open_regular(file, path, limit),
            Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
                if let Some(why) = distrust_link(&current) {
                    return Err(Error::fatal(format!(
                        "{}: {why}; postmulti follows a symbolic link only when it and its \
                         directory are root's and the directory is writable by neither group \
                         nor others",
                        current.display()
                    )));
                }
                let target = std::fs::read_link(&current).map_err(|e| Error::io(&current, e))?;
                current = directory_of(&current)
                    .unwrap_or(Path::new("/"))
                    .join(target);
            }
            Err(e) => return Err(Error::io_op(Op::Open, path, e)),
        }
    }
    Err(Error::io_op(
        Op::Open,
        path,
        std::io::Error::from_raw_os_error(nix::libc::ELOOP),
    ))
}

/// Opens `path` to read it without following a final symbolic link and
/// without blocking on a FIFO or taking a terminal.
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
}

/// Why the symbolic link `link` may not be followed, if it may not: it is
/// another user's, or its directory is not trusted.
fn distrust_link(link: &Path) -> Option<String> {
    let Ok(meta) = std::fs::symlink_metadata(link) else {
        return Some("cannot be looked at".to_string());
    };
    let uid = meta.uid();
    if uid != 0 && uid != nix::unistd::geteuid().as_raw() {
        return Some(format!("is a symbolic link owned by uid {uid}"));
    }
    directory_of(link)
        .and_then(distrust_dir)
        .map(|why| format!("is a symbolic link and {why}"))
}

/// Reads the open file `file` (named `path` in messages) when it is a
/// regular file of at most `limit` bytes.
fn read_open_regular(file: std::fs::File, path: &Path, limit: u64) -> Result<Vec<u8>> {
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        let error = std::io::Error::from_raw_os_error(nix::libc::EISDIR);
        return Err(Error::io_op(Op::Open, path, error));
    }
    if !meta.is_file() {
        return Err(Error::fatal(format!(
            "{}: is not a regular file",
            path.display()
        )));
    }
    if meta.len() > limit {
        return Err(Error::fatal(format!(
            "{}: larger than {limit} bytes",
            path.display()
        )));
    }
    read_limited(file, path, limit)
}

/// Refuses to replace `path` when it is a symbolic link or exists as
/// something else than a regular file; a file being replaced atomically
/// ([`crate::fsutil::write_atomic`]) must pass this first.
pub fn replaceable(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::fatal(format!(
            "{}: is a symbolic link; postmulti does not write through one",
            path.display()
        ))),
        Ok(meta) if !meta.is_file() => Err(Error::fatal(format!(
            "{}: is not a regular file",
            path.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

// ---------------------------------------------------------------------
// Reaching a path as root: the descriptor walk.
//
// A path is reached from `/` one component at a time: each directory is
// opened with `O_NOFOLLOW | O_DIRECTORY` relative to the descriptor of the
// one above it and checked on its own descriptor (`fstat`), and that
// descriptor, never the path again, is used for the next step and for the
// final open, read or `mkdirat`. Every directory on the way must be owned
// by root (or by the user running postmulti) and writable by neither group
// nor others: then nobody else can rename, replace or add anything on the
// way between the check and the use. A world- or group-writable directory
// with the sticky bit (`/tmp`) is passed only towards a component that
// exists and is owned by root (or us), which nobody else may then rename
// or remove; a component still to be made there is refused, as someone
// else could make it first.
// ---------------------------------------------------------------------

/// Why a path may not be reached as root: the place on it that fails the
/// rule and how (`/srv/x is owned by uid 1000`, `/srv/l is a symbolic
/// link`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted(pub String);

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the last component of a walked path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    /// A directory under the rule, like every one above it (a template
    /// directory, the directory of a manifest, `-c DIR`).
    Trusted,
    /// A directory of any owner and mode (an instance's queue or data
    /// directory, which set-permissions gives their owners): only the
    /// directories above it are under the rule.
    Directory,
}

/// A path reached under the rule: the deepest directory of it that exists,
/// open, and the components below it still to be made.
#[derive(Debug)]
pub struct Reached {
    /// The deepest existing directory, opened and checked.
    dir: OwnedFd,
    /// Its path.
    path: PathBuf,
    /// The components below it that do not exist.
    missing: Vec<OsString>,
}

/// Walks `path` (made absolute from the working directory when relative,
/// `.` and `..` taken lexically) from `/` under the rule, `last` saying
/// what its last component must be.
pub fn reach(path: &Path, last: Last) -> std::result::Result<Reached, Untrusted> {
    let components = absolute_components(path)?;
    let open = |dir: Option<&OwnedFd>, name: &OsStr| {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match dir {
            Some(dir) => openat(dir, name, flags, Mode::empty()),
            None => nix::fcntl::open(name, flags, Mode::empty()),
        }
    };
    let mut at = PathBuf::from("/");
    let mut dir = open(None, OsStr::new("/")).map_err(|errno| refusal(&at, errno))?;
    let mut stat = fstat(&dir).map_err(|errno| refusal(&at, errno))?;
    for (index, name) in components.iter().enumerate() {
        // Checked before anything in it is looked at, except in a sticky
        // directory of ours, which needs the component to be ours.
        let sticky_exception = match check_owner_and_mode(&at, &stat) {
            Ok(()) => false,
            Err(why) if stat.st_mode & 0o1000 == 0 || !ours(stat.st_uid) => return Err(why),
            Err(_) => true,
        };
        let child_path = at.join(name);
        let child = match open(Some(&dir), name) {
            Ok(child) => child,
            Err(Errno::ENOENT) if !sticky_exception => {
                return Ok(Reached {
                    dir,
                    path: at,
                    missing: components[index..].to_vec(),
                });
            }
            Err(Errno::ENOENT) => return Err(sticky_refusal(&at, &child_path)),
            Err(Errno::ENOTDIR) if is_link(&dir, name) => {
                return Err(refusal(&child_path, Errno::ELOOP))
            }
            Err(errno) => return Err(refusal(&child_path, errno)),
        };
        let child_stat = fstat(&child).map_err(|errno| refusal(&child_path, errno))?;
        if sticky_exception && !ours(child_stat.st_uid) {
            return Err(sticky_refusal(&at, &child_path));
        }
        (dir, stat, at) = (child, child_stat, child_path);
    }
    if last == Last::Trusted {
        check_owner_and_mode(&at, &stat)?;
    }
    Ok(Reached {
        dir,
        path: at,
        missing: Vec::new(),
    })
}

impl Reached {
    /// The path of the deepest existing directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the whole path exists.
    pub fn exists(&self) -> bool {
        self.missing.is_empty()
    }

    /// Opens the regular file `name` in the directory reached, without
    /// following a link, and checks it on its descriptor under the rule:
    /// `Ok(None)` when the directory or the file does not exist, a fatal
    /// error for a link or something else than a regular file (worded as
    /// [`read_regular`] words them), [`Trust::Untrusted`] for a file
    /// others own or can write.
    pub fn open_file(&self, name: &str) -> std::result::Result<Option<File>, Trust> {
        self.open_shown(name, &self.path.join(name))
    }

    /// [`Reached::open_file`], naming the file `path` in messages.
    fn open_shown(&self, name: &str, path: &Path) -> std::result::Result<Option<File>, Trust> {
        if !self.exists() {
            return Ok(None);
        }
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = match openat(&self.dir, name, flags, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::ENOENT) => return Ok(None),
            Err(Errno::ELOOP) => return Err(Trust::Fatal(symlink_refused(path))),
            Err(errno) => {
                return Err(Trust::Fatal(Error::fatal(format!(
                    "{}: {}",
                    path.display(),
                    errno.desc()
                ))))
            }
        };
        let meta = file
            .metadata()
            .map_err(|e| Trust::Fatal(Error::io(path, e)))?;
        if !meta.is_file() {
            return Err(Trust::Fatal(not_regular(path)));
        }
        match unsafe_ownership(&meta) {
            Some(reason) => Err(Trust::Untrusted(Untrusted(format!("it is {reason}")))),
            None => Ok(Some(file)),
        }
    }

    /// The open descriptor of the whole path, when it exists.
    pub fn into_directory(self) -> Option<OwnedFd> {
        self.exists().then_some(self.dir)
    }

    /// Makes the missing directories of the path reached, each with `mode`
    /// (the umask applies) by `mkdirat` in the directory made before it,
    /// as `mkdir -p` does.
    pub fn make_missing(mut self, mode: u32) -> Result<()> {
        for name in std::mem::take(&mut self.missing) {
            let path = self.path.join(&name);
            match mkdirat(&self.dir, name.as_os_str(), Mode::from_bits_truncate(mode)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => return Err(Error::errno(Op::MakeDir, &path, errno)),
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            self.dir = openat(&self.dir, name.as_os_str(), flags, Mode::empty())
                .map_err(|errno| Error::errno(Op::MakeDir, &path, errno))?;
            self.path = path;
        }
        Ok(())
    }
}

/// Why a file reached by [`Reached::open_file`] is not read.
#[derive(Debug)]
pub enum Trust {
    /// It is a link, not a regular file, or cannot be opened.
    Fatal(Error),
    /// It is owned by someone else or writable by others.
    Untrusted(Untrusted),
}

/// Opens the regular file `path` for reading as [`Reached::open_file`]
/// does, its directory reached under the rule ([`reach`]): an untrusted
/// directory on the way is [`Trust::Untrusted`], a missing file a fatal
/// error.
pub fn open_trusted(path: &Path) -> std::result::Result<File, Trust> {
    let (dir, name) = match (directory_of(path), path.file_name().and_then(OsStr::to_str)) {
        (Some(dir), Some(name)) => (dir, name),
        _ => return Err(Trust::Fatal(not_regular(path))),
    };
    let reached = reach(dir, Last::Trusted).map_err(Trust::Untrusted)?;
    match reached.open_shown(name, path)? {
        Some(file) => Ok(file),
        None => Err(Trust::Fatal(Error::fatal(format!(
            "{}: {}",
            path.display(),
            Errno::ENOENT.desc()
        )))),
    }
}

/// Refuses to reach the private directory `path` (`param` names it) of
/// an instance through a symbolic link or a directory others could
/// change, `last` saying what the directory itself must be ([`reach`]).
pub fn require_reachable(param: &str, path: &Path, last: Last) -> Result<()> {
    reach(path, last).map(drop).map_err(|why| {
        Error::fatal(format!(
            "{param}={}: {why}; postmulti takes an instance directory only where no \
             symbolic link leads and nobody but root (or you) can change a directory above it",
            path.display()
        ))
    })
}

/// The components of `path` below `/`, made absolute from the working
/// directory, `.` dropped and `..` taken lexically (every component is
/// then opened without following a link, so no link can make `..` mean
/// another place).
fn absolute_components(path: &Path) -> std::result::Result<Vec<OsString>, Untrusted> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Untrusted(format!("the working directory: {}", strerror(&e))))?
            .join(path)
    };
    let mut components = Vec::new();
    for component in absolute.components() {
        match component {
            Component::Normal(name) => components.push(name.to_os_string()),
            Component::ParentDir => {
                components.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(components)
}

/// The refusal of `child` in the sticky directory `at` that others can
/// write: it must exist and be owned by root (or us).
fn sticky_refusal(at: &Path, child: &Path) -> Untrusted {
    Untrusted(format!(
        "{} is writable by others, and {} is not there owned by root (or you)",
        at.display(),
        child.display()
    ))
}

/// Whether `name` in `dir` is a symbolic link.
fn is_link(dir: &OwnedFd, name: &OsStr) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| stat.st_mode & nix::libc::S_IFMT == nix::libc::S_IFLNK)
}

/// Checks that `at` (`stat` of its descriptor) is owned by root or us and
/// writable by neither group nor others.
fn check_owner_and_mode(at: &Path, stat: &FileStat) -> std::result::Result<(), Untrusted> {
    let reason = if !ours(stat.st_uid) {
        format!("owned by uid {}", stat.st_uid)
    } else {
        match stat.st_mode & 0o022 {
            0 => return Ok(()),
            0o020 => "writable by its group".to_string(),
            _ => "writable by others".to_string(),
        }
    };
    Err(Untrusted(format!("{} is {reason}", at.display())))
}

/// Whether `uid` is root or the user running postmulti.
fn ours(uid: u32) -> bool {
    uid == 0 || uid == nix::unistd::geteuid().as_raw()
}

/// Why opening or looking at the directory `path` failed on the walk.
fn refusal(path: &Path, errno: Errno) -> Untrusted {
    Untrusted(match errno {
        Errno::ELOOP => format!("{} is a symbolic link", path.display()),
        Errno::ENOTDIR => format!("{} is not a directory", path.display()),
        _ => format!("{}: {}", path.display(), errno.desc()),
    })
}

/// The refusal of a symbolic link where a regular file is read.
fn symlink_refused(path: &Path) -> Error {
    Error::fatal(format!(
        "{}: is a symbolic link, which postmulti does not follow",
        path.display()
    ))
}

/// The refusal of something else than a regular file where one is read.
fn not_regular(path: &Path) -> Error {
    Error::fatal(format!("{}: is not a regular file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_of_ours_in_a_directory_of_ours_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, PermissionsExt::from_mode(0o644)).unwrap();
        assert_eq!(distrust_file(&file), None);
        assert_eq!(distrust_file(&dir.path().join("missing")), None);
        std::fs::set_permissions(&file, PermissionsExt::from_mode(0o664)).unwrap();
        assert_eq!(
            distrust_file(&file).as_deref(),
            Some("it is writable by its group")
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            distrust_file(&link).as_deref(),
            Some("it is a symbolic link")
        );
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o777)).unwrap();
        assert_eq!(
            distrust_file(&file),
            Some(format!("{} is writable by others", dir.path().display()))
        );
    }

    #[test]
    fn a_directory_below_one_others_can_change_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join("theirs");
        let ours = theirs.join("ours");
        std::fs::create_dir_all(&ours).unwrap();
        std::fs::set_permissions(&ours, PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(ours.join("f"), "x").unwrap();
        std::fs::set_permissions(ours.join("f"), PermissionsExt::from_mode(0o644)).unwrap();
        assert_eq!(distrust_file(&ours.join("f")), None);
        std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
        let why = Some(format!("{} is owned by uid 65534", theirs.display()));
        assert_eq!(distrust_dir(&ours), why);
        assert_eq!(distrust_file(&ours.join("f")), why);
        assert_eq!(distrust_file(&ours.join("missing")), why);
    }

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_regular(&file, 5).unwrap(), b"12345");
        assert_eq!(
            read_regular(&file, 4).unwrap_err().to_string(),
            format!("{}: larger than 4 bytes", file.display())
        );
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(
            read_regular(&fifo, 5).unwrap_err().to_string(),
            format!("{}: is not a regular file", fifo.display())
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            read_regular(&link, 5).unwrap_err().to_string(),
            format!(
                "{}: is a symbolic link, which postmulti does not follow",
                link.display()
            )
        );
        assert!(replaceable(&link).is_err());
        assert!(replaceable(&fifo).is_err());
        assert!(replaceable(&file).is_ok());
        assert!(replaceable(&dir.path().join("new")).is_ok());
    }

    #[test]
    fn a_configuration_is_read_only_from_a_regular_file_through_trusted_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = root.join("main.cf");
        std::fs::write(&file, "a = b\n").unwrap();
        assert_eq!(read_config(&file, 6).unwrap(), b"a = b\n");
        assert_eq!(
            read_config(&file, 5).unwrap_err().to_string(),
            format!("{}: larger than 5 bytes", file.display())
        );
        let sparse = root.join("sparse");
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(1 << 31)
            .unwrap();
        assert_eq!(
            read_config(&sparse, CONFIG_LIMIT).unwrap_err().to_string(),
            format!("{}: larger than {CONFIG_LIMIT} bytes", sparse.display())
        );
        let fifo = root.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(
            read_config(&fifo, 5).unwrap_err().to_string(),
            format!("{}: is not a regular file", fifo.display())
        );
        assert_eq!(
            read_config(root, 5).unwrap_err().to_string(),
            format!("open {}: Is a directory", root.display())
        );
        let missing = root.join("missing");
        assert!(matches!(
            read_config(&missing, 5),
            Err(Error::Io { op: Op::Open, ref error, .. }) if error.kind() == std::io::ErrorKind::NotFound
        ));
        // Our own links in our own directory are followed, a chain too.
        let link = root.join("link");
        std::os::unix::fs::symlink("main.cf", &link).unwrap();
        let chain = root.join("chain");
        std::os::unix::fs::symlink(&link, &chain).unwrap();
        assert_eq!(read_config(&chain, 6).unwrap(), b"a = b\n");
        let to_fifo = root.join("to-fifo");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        assert_eq!(
            read_config(&to_fifo, 5).unwrap_err().to_string(),
            format!("{}: is not a regular file", to_fifo.display())
        );
        // A link in a directory others can write is not, nor a chain
        // through one.
        let open = root.join("open");
        std::fs::create_dir(&open).unwrap();
        let planted = open.join("main.cf");
        std::os::unix::fs::symlink(&file, &planted).unwrap();
        std::fs::set_permissions(&open, PermissionsExt::from_mode(0o1777)).unwrap();
        let refusal = format!(
            "{}: is a symbolic link and {} is writable by others; postmulti follows a symbolic \
             link only when it and its directory are root's and the directory is writable by \
             neither group nor others",
            planted.display(),
            open.display()
        );
        assert_eq!(read_config(&planted, 6).unwrap_err().to_string(), refusal);
        let through = root.join("through");
        std::os::unix::fs::symlink(&planted, &through).unwrap();
        assert_eq!(read_config(&through, 6).unwrap_err().to_string(), refusal);
    }

    #[test]
    fn the_walk_refuses_links_other_owners_and_writable_directories() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::write(base.join("a/b/f"), "x").unwrap();
        let reached = reach(&base.join("a/b"), Last::Trusted).unwrap();
        assert!(reached.exists());
        let mut text = String::new();
        reached
            .open_file("f")
            .unwrap()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "x");
        // Missing components are left to make, in the last directory reached.
        let missing = reach(&base.join("a/b/c/d"), Last::Directory).unwrap();
        assert_eq!(
            (missing.path(), missing.exists()),
            (base.join("a/b").as_path(), false)
        );
        missing.make_missing(0o755).unwrap();
        assert!(base.join("a/b/c/d").is_dir());
        std::os::unix::fs::symlink(base.join("a"), base.join("l")).unwrap();
        assert_eq!(
            reach(&base.join("l/b"), Last::Directory).unwrap_err().0,
            format!("{} is a symbolic link", base.join("l").display())
        );
        std::fs::set_permissions(base.join("a"), PermissionsExt::from_mode(0o777)).unwrap();
        assert_eq!(
            reach(&base.join("a/b"), Last::Directory).unwrap_err().0,
            format!("{} is writable by others", base.join("a").display())
        );
        // Sticky: passed towards a component of ours, not a missing one.
        std::fs::set_permissions(base.join("a"), PermissionsExt::from_mode(0o1777)).unwrap();
        assert!(reach(&base.join("a/b"), Last::Trusted).is_ok());
        assert!(reach(&base.join("a/new"), Last::Directory).is_err());
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        std::os::unix::fs::chown(base.join("a/b"), Some(65534), None).unwrap();
        assert!(reach(&base.join("a/b"), Last::Directory).is_err());
        std::fs::set_permissions(base.join("a"), PermissionsExt::from_mode(0o755)).unwrap();
        assert!(reach(&base.join("a/b"), Last::Directory).is_ok());
        assert_eq!(
            reach(&base.join("a/b/c"), Last::Directory).unwrap_err().0,
            format!("{} is owned by uid 65534", base.join("a/b").display())
        );
    }
}
