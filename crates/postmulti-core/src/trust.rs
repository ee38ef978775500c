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
}
