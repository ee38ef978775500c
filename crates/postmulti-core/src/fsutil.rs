//! Crash-safe file writes: temp file in the same directory, fsync, rename,
//! directory fsync.
//!
//! Every write goes to a fresh temp file (`.<name>.tmp<pid>.<n>`, created
//! with `O_EXCL`) next to the target, which is then renamed over the target.
//! A reader, or a crash, therefore sees the old file or the new one, never a
//! mix, and a failed write leaves no temp file behind; temp files of the
//! same target left by a writer that was killed (its pid is gone) are
//! removed by the next write. When the target is a
//! symbolic link, the rename replaces the link itself, not the file it
//! points to.

use crate::error::Op;
use crate::{Error, Result};
use std::fs::{File, FileTimes, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Ownership and mode for a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileMeta {
    /// Permission bits (e.g. `0o644`); `None` keeps the existing file's, or
    /// `0o644` for a new file.
    pub mode: Option<u32>,
    /// Owner `(uid, gid)`; `None` keeps the existing file's, or the caller's
    /// for a new file.
    pub owner: Option<(u32, u32)>,
}

/// Mode of a new file written without an explicit mode.
const DEFAULT_MODE: u32 = 0o644;

/// How many temp names to try before giving up.
const TEMP_ATTEMPTS: u32 = 100;

/// Distinguishes the temp files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically: a reader (or a crash) sees the
/// old file or the new one, never a mix.
///
/// The mode and owner of an existing file (followed through a symbolic
/// link) are kept unless `meta` gives them.
pub fn write_atomic(path: &Path, bytes: &[u8], meta: FileMeta) -> Result<()> {
    let existing = std::fs::metadata(path).ok();
    let mode = meta
        .mode
        .or_else(|| existing.as_ref().map(|m| m.mode() & 0o7777))
        .unwrap_or(DEFAULT_MODE);
    let owner = meta
        .owner
        .or_else(|| existing.as_ref().map(|m| (m.uid(), m.gid())));
    replace_with(path, |file| {
        file.write_all(bytes)?;
        if let Some((uid, gid)) = owner {
            set_owner(file, uid, gid)?;
        }
        file.set_permissions(Permissions::from_mode(mode))
    })
}

/// A file's bytes with what `cp -p` keeps of it (mode, owner and times),
/// all taken from one open file, so that what is written is what was read
/// and checked, whatever happens to its path afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
    /// Owner `(uid, gid)`.
    pub owner: (u32, u32),
    /// Access time.
    pub accessed: SystemTime,
    /// Modification time.
    pub modified: SystemTime,
}

impl Copied {
    /// Reads the regular file `file` (named `path` in messages), at most
    /// `limit` bytes of it.
    pub fn read(file: File, path: &Path, limit: u64) -> Result<Copied> {
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
            return Err(Error::io(path, e));
        }
        Ok(Copied {
            bytes: crate::trust::read_limited(file, path, limit)?,
            mode: meta.mode() & 0o7777,
            owner: (meta.uid(), meta.gid()),
            accessed: meta.accessed().map_err(|e| Error::io(path, e))?,
            modified: meta.modified().map_err(|e| Error::io(path, e))?,
        })
    }
}

/// Writes `copied` to `dst` atomically with its mode and its access and
/// modification times (as `cp -p` does).
///
/// Like `cp -p`, it also keeps the owner and group where it is allowed to
/// (as root), and silently leaves them otherwise.
pub fn write_copy(dst: &Path, copied: &Copied) -> Result<()> {
    let times = FileTimes::new()
        .set_accessed(copied.accessed)
        .set_modified(copied.modified);
    replace_with(dst, |file| {
        file.write_all(&copied.bytes)?;
        match set_owner(file, copied.owner.0, copied.owner.1) {
            Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => {}
            other => other?,
        }
        file.set_permissions(Permissions::from_mode(copied.mode))?;
        file.set_times(times)
    })
}

/// Flushes a directory so that renames and removals in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io_op(Op::Write, dir, e))
}

// Fills a temp file next to `path` with `fill`, then renames it over `path`.
fn replace_with(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> Result<()> {
    let dir = parent_dir(path);
    remove_stale_temps(path);
    let (temp_path, mut file) = create_temp(path).map_err(|e| Error::io_op(Op::Write, path, e))?;
    let written = fill(&mut file)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temp_path, path));
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp_path);
        return Err(Error::io_op(Op::Write, path, e));
    }
    sync_dir(dir)
}

// Creates a new, empty temp file (mode 0600) in the directory of `path`.
fn create_temp(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let dir = parent_dir(path);
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp{}.{n}", std::process::id()));
        let temp_path = dir.join(temp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

// Removes the temp files of `path` whose writer process no longer exists
// (killed before it could rename or unlink them): regular files of the
// running user's only. Best effort.
fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!(".{name}.tmp");
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let gone = pid > 0
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                == Err(nix::errno::Errno::ESRCH);
        // Only a regular file of ours is our temp file: in a directory
        // others can write (a sticky textfile directory), another user's
        // file of that name is theirs, root or not.
        let ours = entry
            .metadata()
            .is_ok_and(|meta| meta.is_file() && meta.uid() == nix::unistd::geteuid().as_raw());
        if gone && ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

// Gives `file` the owner `uid:gid`, calling fchown only when that changes it.
fn set_owner(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    let current = file.metadata()?;
    if (current.uid(), current.gid()) == (uid, gid) {
        return Ok(());
    }
    fchown(file, Some(uid), Some(gid))
}

// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn temps_of_dead_writers_are_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("main.cf");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".main.cf.tmp{dead}.0"));
        let live = dir
            .path()
            .join(format!(".main.cf.tmp{}.999", std::process::id()));
        let other = dir.path().join(format!(".master.cf.tmp{dead}.0"));
        for path in [&stale, &live, &other] {
            std::fs::write(path, "").unwrap();
        }
        write_atomic(&target, b"x = 1\n", FileMeta::default()).unwrap();
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn another_users_file_named_as_a_stale_temp_is_left_alone() {
        if !crate::test_support::runs_as_root(
            "another_users_file_named_as_a_stale_temp_is_left_alone",
        ) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o1777)).unwrap();
        let target = dir.path().join("postfix.prom");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let theirs = dir.path().join(format!(".postfix.prom.tmp{dead}.0"));
        std::fs::write(&theirs, "theirs").unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let ours = dir.path().join(format!(".postfix.prom.tmp{dead}.1"));
        std::fs::write(&ours, "").unwrap();
        write_atomic(&target, b"x 1\n", FileMeta::default()).unwrap();
        assert!(theirs.exists() && !ours.exists());
    }

    // The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn new_file_gets_content_and_default_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.cf");
        write_atomic(&path, b"a = b\n", FileMeta::default()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a = b\n");
        assert_eq!(mode_of(&path), 0o644);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
        assert_eq!(names(dir.path()), ["main.cf"]);
    }

    #[test]
    fn new_file_gets_requested_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.cf");
        let meta = FileMeta {
            mode: Some(0o640),
            owner: None,
        };
        write_atomic(&path, b"x", meta).unwrap();
        assert_eq!(mode_of(&path), 0o640);
    }

    #[test]
    fn existing_mode_and_owner_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.cf");
        std::fs::write(&path, b"old contents that are longer").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        let before = std::fs::metadata(&path).unwrap();
        write_atomic(&path, b"new", FileMeta::default()).unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(after.mode() & 0o7777, 0o600);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(after.ino(), before.ino(), "replaced by rename");
    }

    #[test]
    fn explicit_mode_overrides_existing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        let meta = FileMeta {
            mode: Some(0o644),
            owner: None,
        };
        write_atomic(&path, b"new", meta).unwrap();
        assert_eq!(mode_of(&path), 0o644);
    }

    #[test]
    fn owner_is_set_when_root() {
        if !crate::test_support::runs_as_root("owner_is_set_when_root") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let meta = FileMeta {
            mode: Some(0o640),
            owner: Some((4321, 8765)),
        };
        write_atomic(&path, b"x", meta).unwrap();
        let got = std::fs::metadata(&path).unwrap();
        assert_eq!((got.uid(), got.gid()), (4321, 8765));
        assert_eq!(got.mode() & 0o7777, 0o640);
        // A rewrite without an owner keeps the foreign one.
        write_atomic(&path, b"y", FileMeta::default()).unwrap();
        let got = std::fs::metadata(&path).unwrap();
        assert_eq!((got.uid(), got.gid()), (4321, 8765));
    }

    #[test]
    fn symlink_at_path_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::fs::write(&target, b"target").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new", FileMeta::default()).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"target");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("main.cf");
        let err = write_atomic(&path, b"x", FileMeta::default()).unwrap_err();
        assert!(err.to_string().starts_with(&path.display().to_string()));
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn failed_rename_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file.
        let path = dir.path().join("busy");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"x").unwrap();
        let err = write_atomic(&path, b"x", FileMeta::default()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert_eq!(names(dir.path()), ["busy"]);
    }

    #[test]
    fn only_a_regular_file_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let err = Copied::read(File::open(&src).unwrap(), &src, 100).unwrap_err();
        assert!(err.to_string().contains("not a regular file"));
        assert_eq!(names(dir.path()), ["src"]);
    }

    #[test]
    fn copy_keeps_bytes_mode_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("master.cf");
        let dst = dir.path().join("copy.cf");
        std::fs::write(&src, b"smtp inet n - y - - smtpd\n").unwrap();
        std::fs::set_permissions(&src, Permissions::from_mode(0o640)).unwrap();
        let atime = SystemTime::UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789);
        let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_100_000_000, 987_654_321);
        File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_times(FileTimes::new().set_accessed(atime).set_modified(mtime))
            .unwrap();
        std::fs::write(&dst, b"to be replaced").unwrap();
        let copied = Copied::read(File::open(&src).unwrap(), &src, 100).unwrap();
        std::fs::write(&src, b"changed after the read").unwrap();
        write_copy(&dst, &copied).unwrap();
        let (s, d) = (
            std::fs::metadata(&src).unwrap(),
            std::fs::metadata(&dst).unwrap(),
        );
        assert_eq!(std::fs::read(&dst).unwrap(), b"smtp inet n - y - - smtpd\n");
        assert_eq!(d.mode() & 0o7777, 0o640);
        assert_eq!(d.modified().unwrap(), mtime);
        assert_eq!(d.accessed().unwrap(), atime);
        assert_eq!((d.uid(), d.gid()), (s.uid(), s.gid()));
        assert_eq!(names(dir.path()), ["copy.cf", "master.cf"]);
    }

    #[test]
    fn sync_dir_works_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        sync_dir(dir.path()).unwrap();
        assert!(sync_dir(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn concurrent_writers_never_tear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.cf");
        let size = 64 * 1024;
        write_atomic(&path, &vec![b'0'; size], FileMeta::default()).unwrap();
        std::thread::scope(|scope| {
            for writer in 1..=4u8 {
                let path = &path;
                scope.spawn(move || {
                    let bytes = vec![b'0' + writer; size];
                    for _ in 0..20 {
                        write_atomic(path, &bytes, FileMeta::default()).unwrap();
                    }
                });
            }
            for _ in 0..200 {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(bytes.len(), size);
                assert!(bytes.iter().all(|&b| b == bytes[0]), "torn file");
            }
        });
        assert_eq!(names(dir.path()), ["main.cf"]);
    }
}
