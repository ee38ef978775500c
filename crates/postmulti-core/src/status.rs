//! Whether an instance's master daemon is running, answered natively from
//! `$queue_directory/pid/master.pid` as `postfix status` does.
//!
//! The pid file holds the pid as space-padded text; only a regular file
//! is read (a symbolic link, FIFO or device planted there is not). The pid counts as
//! running when `kill(pid, 0)` finds the process (success or `EPERM`) and,
//! where `/proc` is mounted, the process is named `master` and is not a
//! zombie, so that a pid recycled by another program after a crash, or a
//! master that exited but was not yet reaped (as in a container whose init
//! does not reap), is not taken for a running Postfix.

use crate::trust::read_regular;
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use std::path::Path;

/// The longest pid file read (Postfix writes the pid padded to 10
/// characters and a newline).
const PID_FILE_LIMIT: u64 = 64;

/// The process name (`comm`) of Postfix's master daemon.
const MASTER_NAME: &str = "master";

/// The pid of the running master daemon of the instance whose queue
/// directory is `queue_directory`, or `None` when it is not running (no pid
/// file, an unreadable one, or no live process with that pid).
pub fn master_pid(queue_directory: &Path) -> Option<i32> {
    // A regular file (not a symbolic link, FIFO or device, which could
    // stall or flood the read) of at most PID_FILE_LIMIT bytes.
    let bytes = read_regular(&queue_directory.join("pid/master.pid"), PID_FILE_LIMIT).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    // 0 and negative pids would address process groups.
    if pid <= 0 {
        return None;
    }
    match kill(Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return None,
    }
    is_master(pid).then_some(pid)
}

// Whether live process `pid` is a master daemon that has not exited
// (unknowable without /proc: yes).
fn is_master(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
        Ok(stat) => match (stat.find('('), stat.rfind(')')) {
            (Some(open), Some(close)) if open < close => {
                &stat[open + 1..close] == MASTER_NAME
                    && !stat[close + 1..].trim_start().starts_with(['Z', 'X'])
            }
            _ => false,
        },
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    // A queue directory whose pid file holds `contents`.
    fn queue_with_pid_file(contents: &str) -> tempfile::TempDir {
        let queue = tempfile::tempdir().unwrap();
        std::fs::create_dir(queue.path().join("pid")).unwrap();
        std::fs::write(queue.path().join("pid/master.pid"), contents).unwrap();
        queue
    }

    // Runs a copy of sleep(1) named `master`, so its comm is "master".
    fn spawn_master(dir: &Path, seconds: &str) -> Child {
        let program = dir.join(MASTER_NAME);
        std::fs::copy("/bin/sleep", &program).unwrap();
        // Another test's fork may briefly hold the copy open for writing.
        for _ in 0..50 {
            match Command::new(&program).arg(seconds).spawn() {
                Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                other => return other.unwrap(),
            }
        }
        panic!("{} stayed busy", program.display());
    }

    #[test]
    fn missing_pid_file_is_not_running() {
        let queue = tempfile::tempdir().unwrap();
        assert_eq!(master_pid(queue.path()), None);
        assert_eq!(master_pid(&queue.path().join("missing")), None);
    }

    #[test]
    fn garbage_pid_file_is_not_running() {
        for contents in [
            "",
            "\n",
            "garbage\n",
            "12x\n",
            "0\n",
            "-1\n",
            "99999999999\n",
        ] {
            let queue = queue_with_pid_file(contents);
            assert_eq!(master_pid(queue.path()), None, "{contents:?}");
        }
    }

    #[test]
    fn dead_pid_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn_master(dir.path(), "0");
        let pid = child.id();
        child.wait().unwrap();
        let queue = queue_with_pid_file(&format!("{pid:>11}\n"));
        assert_eq!(master_pid(queue.path()), None);
    }

    #[test]
    fn live_process_not_named_master_is_not_running() {
        let queue = queue_with_pid_file(&format!("{:>11}\n", std::process::id()));
        assert_eq!(master_pid(queue.path()), None);
    }

    #[test]
    fn live_master_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn_master(dir.path(), "30");
        let pid = i32::try_from(child.id()).unwrap();
        let queue = queue_with_pid_file(&format!("{pid:>11}\n"));
        let found = master_pid(queue.path());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, Some(pid));
    }

    #[test]
    fn a_planted_pid_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn_master(dir.path(), "30");
        let pid = i32::try_from(child.id()).unwrap();
        let real = queue_with_pid_file(&format!("{pid:>11}\n"));
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let mut found = Vec::new();
        for target in [real.path().join("pid/master.pid"), fifo, "/dev/zero".into()] {
            let queue = tempfile::tempdir().unwrap();
            std::fs::create_dir(queue.path().join("pid")).unwrap();
            std::os::unix::fs::symlink(&target, queue.path().join("pid/master.pid")).unwrap();
            found.push(master_pid(queue.path()));
        }
        let padded = queue_with_pid_file(&format!("{pid:>11}{}\n", " ".repeat(100)));
        found.push(master_pid(padded.path()));
        found.push(master_pid(real.path()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, [None, None, None, None, Some(pid)]);
    }

    #[test]
    fn exited_but_unreaped_master_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn_master(dir.path(), "0");
        let pid = i32::try_from(child.id()).unwrap();
        // Not reaped yet: a zombie still named master.
        while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .contains(") Z")
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let queue = queue_with_pid_file(&format!("{pid:>11}\n"));
        let found = master_pid(queue.path());
        child.wait().unwrap();
        assert_eq!(found, None);
    }
}
