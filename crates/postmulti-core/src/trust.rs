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

use crate::error::{strerror, Op};
use crate::{Error, Result};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Why the file at `path` or its directory may not be trusted, if they
/// exist and may not: a symbolic link, not a regular file or directory,
/// another owner than root or us, or group or other write permission.
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

/// Why the directory `dir` may not be trusted, if it exists and may not.
pub fn distrust_dir(dir: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(dir).ok()?;
    if meta.file_type().is_symlink() {
        return Some(format!("{} is a symbolic link", dir.display()));
    }
    if !meta.is_dir() {
        return Some(format!("{} is not a directory", dir.display()));
    }
    unsafe_ownership(&meta).map(|reason| format!("{} is {reason}", dir.display()))
}

/// Why the prototypes of the template directory `dir` (`--template`, a
/// manifest's `template`) may not be trusted, if they may not: the
/// directory or a prototype in it fails the rule. They become a new
/// instance's main.cf and master.cf, which name the programs it runs.
pub fn distrust_template(dir: &Path) -> Option<String> {
    distrust_dir(dir).or_else(|| {
        ["main.cf.proto", "master.cf.proto"]
            .iter()
            .find_map(|name| distrust_file(&dir.join(name)).map(|why| format!("{name}: {why}")))
    })
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
}
