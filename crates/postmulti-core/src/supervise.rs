//! A foreground supervisor for containers and process supervisors
//! (`postmulti --supervise`): the master daemon of every selected instance
//! that a start of the host starts runs as its child, in the foreground.
//!
//! Each instance gets the checks `postfix start` makes first (not already
//! running; unless `$queue_directory/quick-start` exists, which is removed,
//! `postfix check`, its integrity check), the `starting the Postfix mail
//! system` record, and then `$daemon_directory/master -s` in list order,
//! each waited for until it has written its pid file. The master keeps the
//! supervisor's stdout and stderr (`-s`), so `maillog_file = /dev/stdout`
//! works, as with `postfix start-fg`; otherwise it logs to syslog as usual.
//!
//! A SIGTERM or SIGINT while a master starts ends the wait for its pid file
//! and starts no other. Then the supervisor waits for signals: SIGTERM or SIGINT stops every
//! master in reverse order (SIGTERM, then SIGKILL to its process group
//! after 5 seconds, as `postfix stop` does, or to the master itself when
//! it has no group of its own yet) and returns; SIGHUP runs
//! `postfix reload` for each instance; SIGCHLD reaps every child that
//! exited (as process 1 of a container, orphans too), and when a master
//! exits that was not asked to, the others are stopped and the run fails
//! naming the instance.

use crate::bytes::{self, BString};
use crate::config::Config;
use crate::error::strerror;
use crate::instance::Instance;
use crate::registry::Registry;
use crate::select::Selection;
use crate::status::master_pid;
use crate::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a master may take to exit after SIGTERM (`postfix stop` waits
/// five times a second).
const STOP_WAIT: Duration = Duration::from_secs(5);

/// How long a new master may take to write its pid file before the next
/// instance is started anyway.
const START_WAIT: Duration = Duration::from_secs(10);

/// How often a starting or stopping master is looked at.
const POLL: Duration = Duration::from_millis(20);

/// A master daemon the supervisor started.
#[derive(Debug)]
struct Master {
    /// `instance DIR (NAME)`, for messages.
    label: String,
    /// The instance's configuration directory.
    config_directory: BString,
    /// Its expanded `syslog_name`, the tag of `postfix-script`'s records.
    syslog_name: BString,
    /// The master's process id.
    pid: Pid,
}

/// The supervisor's state: the shared programs and the running masters.
struct Supervisor<'w> {
    /// `$command_directory/postfix`.
    postfix: PathBuf,
    /// `$command_directory/postlog`.
    postlog: PathBuf,
    /// `$daemon_directory/master`.
    master: PathBuf,
    /// The masters started, in start order.
    masters: Vec<Master>,
    /// Where warnings go.
    warn: &'w dyn Fn(&str),
    /// The signals caught.
    signals: Signals,
    /// Signals that arrived while a master was starting, not yet acted on.
    arrived: Vec<i32>,
}

/// What a signal leads to.
enum Next {
    /// Keep supervising.
    Continue,
    /// Every master was stopped: return this.
    Finish(Result<()>),
}

/// Starts the selected instances' masters and supervises them until a
/// SIGTERM or SIGINT (then `Ok`) or until one exits unexpectedly or cannot
/// be started (then the others are stopped and the error names it).
/// Warnings (a failed reload, a slow start) go to `warn`.
pub fn run(registry: &Registry<'_>, selection: &Selection, warn: &dyn Fn(&str)) -> Result<()> {
    let selection = selection.effective();
    let chosen: Vec<(&Instance, &Config<'_>)> = registry
        .started_with_configs()
        .filter(|(instance, _)| selection.matches(instance))
        .collect();
    if chosen.is_empty() {
        return Err(Error::fatal("No matching enabled instances"));
    }
    let primary = &registry.primary_config;
    let command_directory = bytes::path_buf(primary.expanded("command_directory")?);
    // Registered before the first child, so that no exit goes unnoticed.
    let signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGCHLD])
        .map_err(|e| Error::fatal(format!("cannot catch signals: {}", strerror(&e))))?;
    let mut supervisor = Supervisor {
        postfix: command_directory.join("postfix"),
        postlog: command_directory.join("postlog"),
        master: bytes::path_buf(primary.expanded("daemon_directory")?).join("master"),
        masters: Vec::new(),
        warn,
        signals,
        arrived: Vec::new(),
    };
    for (instance, config) in chosen {
        if let Err(error) = supervisor.start(instance, config) {
            supervisor.stop_all();
            return Err(error);
        }
        supervisor.take_pending();
        for signal in std::mem::take(&mut supervisor.arrived) {
            if let Next::Finish(result) = supervisor.handle(signal) {
                return result;
            }
        }
    }
    loop {
        let arrived: Vec<i32> = supervisor.signals.wait().collect();
        for signal in arrived {
            if let Next::Finish(result) = supervisor.handle(signal) {
                return result;
            }
        }
    }
}

impl Supervisor<'_> {
    // Acts on one signal.
    fn handle(&mut self, signal: i32) -> Next {
        match signal {
            SIGTERM | SIGINT => {
                self.stop_all();
                Next::Finish(Ok(()))
            }
            SIGHUP => {
                self.reload_all();
                Next::Continue
            }
            _ => match self.reap() {
                None => Next::Continue,
                Some((master, status)) => {
                    self.stop_all();
                    Next::Finish(Err(Error::fatal(format!(
                        "{}: master exited unexpectedly ({}); the other instances were stopped",
                        master.label,
                        describe(status)
                    ))))
                }
            },
        }
    }

    // Checks and starts one instance's master, waiting for its pid file.
    fn start(&mut self, instance: &Instance, config: &Config<'_>) -> Result<()> {
        let label = label(instance);
        let queue = instance.queue_path();
        if let Some(pid) = master_pid(queue) {
            return Err(Error::fatal(format!(
                "{label}: the Postfix mail system is already running (pid {pid})"
            )));
        }
        let quick_start = queue.join("quick-start");
        // A link planted there is not the shortcut: the checks run.
        if std::fs::symlink_metadata(&quick_start).is_ok_and(|meta| meta.is_file()) {
            let _ = std::fs::remove_file(&quick_start);
        } else {
            let status = Command::new(&self.postfix)
                .arg("check")
                .env("MAIL_CONFIG", instance.config_path())
                .stdin(Stdio::null())
                .status()
                .map_err(|e| spawn_error(&self.postfix, &e))?;
            if !status.success() {
                return Err(Error::fatal(format!(
                    "{label}: Postfix integrity check failed!"
                )));
            }
        }
        let master = Master {
            label,
            config_directory: instance.config_directory.clone(),
            syslog_name: config.expanded("syslog_name")?,
            pid: Pid::from_raw(0),
        };
        self.postlog(&master, "info", "starting the Postfix mail system");
        let child = Command::new(&self.master)
            .arg("-s")
            // The master keeps only its import_environment itself.
            .env("MAIL_CONFIG", instance.config_path())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| spawn_error(&self.master, &e))?;
        // Reaped with waitpid below, never through the Child.
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        self.masters.push(Master { pid, ..master });
        self.wait_started(pid, queue)
    }

    // Adds the signals that arrived since the last look to those not yet
    // acted on; whether SIGTERM or SIGINT is among them.
    fn take_pending(&mut self) -> bool {
        self.arrived.extend(self.signals.pending());
        self.arrived
            .iter()
            .any(|&signal| signal == SIGTERM || signal == SIGINT)
    }

    // Waits until the master `pid` has written its pid file, or until a
    // SIGTERM or SIGINT asks to stop; its exit meanwhile is an error.
    fn wait_started(&mut self, pid: Pid, queue: &Path) -> Result<()> {
        let deadline = Instant::now() + START_WAIT;
        loop {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {}
                Ok(status) => {
                    let master = self.forget(pid).expect("a started master");
                    return Err(Error::fatal(format!(
                        "{}: master exited during start-up ({})",
                        master.label,
                        describe(status)
                    )));
                }
                Err(errno) => return Err(Error::fatal(format!("waitpid: {}", errno.desc()))),
            }
            if master_pid(queue) == Some(pid.as_raw()) || self.take_pending() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let label = &self.masters.last().expect("a started master").label;
                (self.warn)(&format!(
                    "{label}: master (pid {pid}) has not written {}/pid/master.pid after {} s; going on",
                    queue.display(),
                    START_WAIT.as_secs()
                ));
                return Ok(());
            }
            std::thread::sleep(POLL);
        }
    }

    // Reaps every child that exited; returns the first master among them
    // (it is no longer supervised).
    fn reap(&mut self) -> Option<(Master, WaitStatus)> {
        let mut dead = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return dead,
                Err(Errno::EINTR) => {}
                Err(errno) => {
                    (self.warn)(&format!("waitpid: {}", errno.desc()));
                    return dead;
                }
                Ok(status) => {
                    let Some(pid) = status.pid() else { continue };
                    if let Some(master) = self.forget(pid) {
                        dead.get_or_insert((master, status));
                    }
                }
            }
        }
    }

    // Removes the master `pid` from the supervised ones.
    fn forget(&mut self, pid: Pid) -> Option<Master> {
        let at = self.masters.iter().position(|m| m.pid == pid)?;
        Some(self.masters.remove(at))
    }

    // Stops every master, last started first.
    fn stop_all(&mut self) {
        while let Some(master) = self.masters.pop() {
            self.stop(&master);
        }
        self.reap();
    }

    // Stops one master as `postfix stop` does: SIGTERM, then after a while
    // SIGKILL to its process group, or to the master alone when it has no
    // group of its own (it ignored SIGTERM before its setsid()); waits for
    // it, a while again, and goes on with a warning when even SIGKILL did
    // not end it (a process stuck in the kernel), so that the other
    // masters are always stopped.
    fn stop(&self, master: &Master) {
        self.postlog(master, "info", "stopping the Postfix mail system");
        let _ = kill(master.pid, Signal::SIGTERM);
        if exited_within(master.pid, STOP_WAIT) {
            return;
        }
        self.postlog(
            master,
            "warn",
            "stopping the Postfix mail system with force",
        );
        if killpg(master.pid, Signal::SIGKILL) == Err(Errno::ESRCH) {
            let _ = kill(master.pid, Signal::SIGKILL);
        }
        if !exited_within(master.pid, STOP_WAIT) {
            (self.warn)(&format!(
                "{}: master (pid {}) did not exit after SIGKILL; going on",
                master.label, master.pid
            ));
        }
    }

    // Runs `postfix reload` for each master, in start order.
    fn reload_all(&self) {
        for master in &self.masters {
            let status = Command::new(&self.postfix)
                .arg("reload")
                .env("MAIL_CONFIG", bytes::os(&master.config_directory))
                .stdin(Stdio::null())
                .status();
            match status {
                Ok(status) if status.success() => {}
                Ok(status) => (self.warn)(&format!("{}: postfix reload: {status}", master.label)),
                Err(e) => (self.warn)(&spawn_error(&self.postfix, &e).to_string()),
            }
        }
    }

    // Logs as postfix-script does: `postlog -t SYSLOG_NAME/postfix-script`.
    fn postlog(&self, master: &Master, level: &str, text: &str) {
        let status = Command::new(&self.postlog)
            .arg("-t")
            .arg(bytes::os(&crate::bconcat!(
                master.syslog_name,
                "/postfix-script"
            )))
            .args(["-p", level, text])
            .env("MAIL_CONFIG", bytes::os(&master.config_directory))
            .stdin(Stdio::null())
            .status();
        if let Err(e) = status {
            (self.warn)(&spawn_error(&self.postlog, &e).to_string());
        }
    }
}

/// Whether the child `pid` exited (and was reaped) within `wait`.
fn exited_within(pid: Pid, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {}
            _ => return true,
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// `instance DIR (NAME)`, or `instance DIR` for a nameless one.
fn label(instance: &Instance) -> String {
    match &instance.name {
        Some(name) => format!("instance {} ({name})", instance.config_directory),
        None => format!("instance {}", instance.config_directory),
    }
}

/// How a child ended, in words.
fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exit status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("killed by {signal}"),
        other => format!("{other:?}"),
    }
}

/// A program that could not be started.
fn spawn_error(program: &Path, error: &std::io::Error) -> Error {
    Error::fatal(format!("execvp {}: {}", program.display(), strerror(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described() {
        let pid = Pid::from_raw(5);
        assert_eq!(describe(WaitStatus::Exited(pid, 3)), "exit status 3");
        assert_eq!(
            describe(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            "killed by SIGKILL"
        );
    }
}
