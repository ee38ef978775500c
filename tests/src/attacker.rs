//! The attacker of the trust tests (issue 24): an unprivileged user
//! (`nobody`) who owns one directory and swaps what lies in it while root
//! runs postmulti, through `src/bin/swapper.rs`; and the bounded loop of
//! trials a race is tried in.

use crate::namespace::sibling_bin;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The attacker's user and group id (`nobody`, `nogroup`).
pub const NOBODY: u32 = 65534;

/// Makes the directory `path`, the attacker's: owned by nobody, mode 0755.
pub fn attacker_dir(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Gives everything from `path` down (not following links) to nobody.
pub fn give_to_attacker(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_to_attacker(&entry.unwrap().path());
        }
    }
}

/// The swapper, running as nobody until dropped.
pub struct Swapper(Child);

impl Swapper {
    /// Starts exchanging `dir/a` and `dir/b`: in a tight loop, or each
    /// time `watched` has been read (see `src/bin/swapper.rs`).
    pub fn start(dir: &Path, a: &str, b: &str, watched: Option<&Path>) -> Swapper {
        let mut command = Command::new(sibling_bin("swapper"));
        command.arg(NOBODY.to_string()).arg(dir).arg(a).arg(b);
        command.args(watched);
        let child = command.spawn().expect("start the swapper");
        // Let it drop its privileges and set its watch up.
        std::thread::sleep(Duration::from_millis(100));
        Swapper(child)
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `trial` (given its number) at most `count` times and for at most
/// `limit`, stopping at the first that returns a failure; returns it, or
/// `None` with how many trials ran.
pub fn trials(
    count: usize,
    limit: Duration,
    mut trial: impl FnMut(usize) -> Option<String>,
) -> Result<usize, String> {
    let start = Instant::now();
    let mut ran = 0;
    while ran < count && start.elapsed() < limit {
        if let Some(failure) = trial(ran) {
            return Err(format!("trial {ran}: {failure}"));
        }
        ran += 1;
    }
    Ok(ran)
}
