//! The registry lock: one exclusive `flock` per primary instance, held across
//! each read-modify-write of the instance registry.
//!
//! The lock is taken on the primary instance's configuration directory
//! itself (an open directory descriptor can be `flock`ed), so no lock file is
//! needed and the lock survives `main.cf` being replaced by a rename.

use crate::error::Op;
use crate::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to sleep between two attempts to take a busy lock.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A held lock; released on drop.
#[derive(Debug)]
pub struct RegistryLock {
    /// The open, locked configuration directory; dropping it unlocks.
    _directory: Flock<File>,
}

impl RegistryLock {
    /// Takes the exclusive lock of the primary instance whose configuration
    /// directory is `config_directory`, waiting up to `timeout`. On timeout the
    /// error names the lock and says that another postmulti holds it.
    pub fn acquire(config_directory: &Path, timeout: Duration) -> Result<RegistryLock> {
        let deadline = Instant::now() + timeout;
        let mut directory = open_directory(config_directory)?;
        loop {
            match Flock::lock(directory, FlockArg::LockExclusiveNonblock) {
                Ok(locked) => return Ok(RegistryLock { _directory: locked }),
                Err((file, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    directory = file;
                    let left = deadline.saturating_duration_since(Instant::now());
                    std::thread::sleep(left.min(POLL_INTERVAL));
                }
                Err((file, Errno::EINTR)) => directory = file,
                Err((_, Errno::EWOULDBLOCK)) => {
                    return Err(Error::LockTimeout {
                        path: config_directory.to_path_buf(),
                        waited: timeout,
                    })
                }
                Err((_, errno)) => return Err(Error::errno(Op::Lock, config_directory, errno)),
            }
        }
    }
}

// Opens `dir` read-only; it must be a directory (std adds O_CLOEXEC).
fn open_directory(dir: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY)
        .open(dir)
        .map_err(|e| Error::io_op(Op::Lock, dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    const SHORT: Duration = Duration::from_millis(100);

    #[test]
    fn held_lock_times_out_with_message() {
        let dir = tempfile::tempdir().unwrap();
        let _held = RegistryLock::acquire(dir.path(), SHORT).unwrap();
        let start = Instant::now();
        let err = RegistryLock::acquire(dir.path(), SHORT).unwrap_err();
        assert!(start.elapsed() >= SHORT);
        assert_eq!(
            err.to_string(),
            format!(
                "timed out after 0.1s waiting for the lock on {}: \
                 another postmulti is changing the instance registry",
                dir.path().display()
            )
        );
    }

    #[test]
    fn whole_seconds_are_shown_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let _held = RegistryLock::acquire(dir.path(), SHORT).unwrap();
        let err = RegistryLock::acquire(dir.path(), Duration::ZERO).unwrap_err();
        assert!(err.to_string().starts_with("timed out after 0s "));
    }

    #[test]
    fn dropping_releases_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        drop(RegistryLock::acquire(dir.path(), SHORT).unwrap());
        RegistryLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }

    #[test]
    fn waiter_gets_the_lock_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let held = RegistryLock::acquire(dir.path(), SHORT).unwrap();
        let (started, wait_started) = mpsc::channel();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            started.send(()).unwrap();
            let start = Instant::now();
            let lock = RegistryLock::acquire(&path, Duration::from_secs(5));
            (lock.is_ok(), start.elapsed())
        });
        wait_started.recv().unwrap();
        std::thread::sleep(Duration::from_millis(80));
        drop(held);
        let (locked, waited) = waiter.join().unwrap();
        assert!(locked);
        assert!(waited >= Duration::from_millis(50), "waited {waited:?}");
        assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    }

    #[test]
    fn survives_main_cf_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let main_cf = dir.path().join("main.cf");
        std::fs::write(&main_cf, b"old\n").unwrap();
        let _held = RegistryLock::acquire(dir.path(), SHORT).unwrap();
        crate::fsutil::write_atomic(&main_cf, b"new\n", Default::default()).unwrap();
        assert!(RegistryLock::acquire(dir.path(), Duration::ZERO).is_err());
    }

    #[test]
    fn missing_or_non_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = RegistryLock::acquire(&missing, SHORT).unwrap_err();
        assert!(matches!(err, Error::Io { ref path, .. } if *path == missing));
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            RegistryLock::acquire(&file, SHORT),
            Err(Error::Io { .. })
        ));
    }
}
