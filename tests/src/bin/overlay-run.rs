//! `overlay-run`: runs a command as root in a throw-away copy of the system's
//! Postfix state, so that real Postfix (and real master daemons) can run
//! without changing anything on the host. The one namespace set-up of the
//! project: the namespace tests (`postmulti_e2e::namespace`), the bench
//! (`src/bin/bench.rs`) and `scripts/demo` all run through it.
//!
//! Usage: `overlay-run [--primary HOSTNAME] [--ours BIN] [--syslog FILE]
//! [--layers DIR] [--host-network] -- COMMAND [ARG...]`
//!
//! It re-executes itself in `unshare --mount --propagation private --fork
//! --pid --mount-proc --net --kill-child`, then:
//!
//! - brings up `lo` (the namespace's only network interface, so daemons stay
//!   off the host's ports); with `--host-network` there is no `--net`: the
//!   command shares the host's network, for one that downloads packages
//!   and starts no daemon outside namespaces of its own (the container
//!   test);
//! - mounts overlays on `/etc`, `/var/spool`, `/var/lib`, `/var/cache` and
//!   `/dev`, whose upper layers live in `--layers DIR` (default: a new
//!   temporary directory, removed at the end);
//! - serves `/dev/log` (a datagram socket read by a thread), appending each
//!   record as one line to `--syslog FILE` (dropped without it), so Postfix
//!   never stalls for want of a syslog daemon;
//! - keeps Postfix's own postmulti reachable as `$REAL` (a file named
//!   `postmulti`, so it logs under that name), and with `--ours BIN` mounts
//!   BIN over `/usr/sbin/postmulti`;
//! - with `--primary HOSTNAME`, makes `/etc/postfix/main.cf` Debian's
//!   `main.cf.debian` plus `inet_interfaces = loopback-only` and `myhostname
//!   = HOSTNAME`;
//! - runs the command, and exits with its status (128 + signal when killed).
//!
//! Every process left in the namespace is killed when the command ends (the
//! namespace has its own PID namespace).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Set in the environment of the re-executed `overlay-run` inside the
/// namespace.
const INSIDE: &str = "POSTMULTI_OVERLAY_RUN_INSIDE";

/// The directories overlaid, in mount order.
const OVERLAID: &[&str] = &["/etc", "/var/spool", "/var/lib", "/var/cache", "/dev"];

/// Postfix's own postmulti.
const REAL_POSTMULTI: &str = "/usr/sbin/postmulti";

/// Debian's main.cf for new installations.
const DEBIAN_MAIN_CF: &str = "/usr/share/postfix/main.cf.debian";

/// Any error, as a message.
type Result<T> = std::result::Result<T, String>;

/// The command line.
#[derive(Debug, Default)]
struct Args {
    /// `--primary HOSTNAME`.
    primary: Option<String>,
    /// `--ours BIN`.
    ours: Option<PathBuf>,
    /// `--syslog FILE`.
    syslog: Option<PathBuf>,
    /// `--layers DIR`.
    layers: Option<PathBuf>,
    /// `--host-network`: no network namespace of its own.
    host_network: bool,
    /// The command and its arguments.
    command: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|parsed| {
        if std::env::var_os(INSIDE).is_none() {
            Err(enter_namespace(&args, parsed.host_network))
        } else {
            inside(&parsed)
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("overlay-run: {message}");
            ExitCode::from(125)
        }
    }
}

/// Reads the options and the command.
fn parse(args: &[String]) -> Result<Args> {
    let usage = "usage: overlay-run [--primary HOSTNAME] [--ours BIN] [--syslog FILE] \
                 [--layers DIR] [--host-network] -- COMMAND [ARG...]";
    let mut parsed = Args::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--primary" => parsed.primary = Some(value()?),
            "--ours" => parsed.ours = Some(value()?.into()),
            "--syslog" => parsed.syslog = Some(value()?.into()),
            "--layers" => parsed.layers = Some(value()?.into()),
            "--host-network" => parsed.host_network = true,
            "--" => {
                parsed.command = args.cloned().collect();
                break;
            }
            other => return Err(format!("unknown option {other}; {usage}")),
        }
    }
    if parsed.command.is_empty() {
        return Err(usage.to_string());
    }
    Ok(parsed)
}

/// Re-executes this program in a new mount, PID and (unless
/// `host_network`) network namespace; returns only on failure.
fn enter_namespace(args: &[String], host_network: bool) -> String {
    if !nix::unistd::geteuid().is_root() {
        return "must run as root (it mounts overlays in a private namespace)".into();
    }
    let me = match std::env::current_exe() {
        Ok(me) => me,
        Err(e) => return format!("cannot find this program: {e}"),
    };
    let network: &[&str] = if host_network { &[] } else { &["--net"] };
    let error = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--fork",
            "--pid",
            "--mount-proc",
        ])
        .args(network)
        .arg("--kill-child")
        .arg(me)
        .args(args)
        .env(INSIDE, "1")
        // Inside, /var/cache is an overlay: postmulti uses its own default.
        .env_remove(postmulti_core::cache::CACHE_DIRECTORY_VARIABLE)
        .exec();
    format!("cannot run unshare: {error}")
}

/// Runs a set-up command; an error naming it when it fails.
fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .env_remove("MAIL_CONFIG")
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{program} {}: {}\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A path as a `&str` for command arguments.
fn text(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// Inside the namespace: sets it up, runs the command, cleans up.
fn inside(args: &Args) -> Result<u8> {
    let (layers, _temporary) = match &args.layers {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("overlay-run.")
                .tempdir()
                .map_err(|e| format!("temporary directory: {e}"))?;
            (dir.path().to_path_buf(), Some(dir))
        }
    };
    if !args.host_network {
        run("ip", &["link", "set", "lo", "up"])?;
    }
    for dir in OVERLAID {
        let layer = layers.join(dir.trim_start_matches('/').replace('/', "_"));
        let (upper, work) = (layer.join("up"), layer.join("work"));
        for d in [&upper, &work] {
            fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let options = format!(
            "lowerdir={dir},upperdir={},workdir={}",
            text(&upper)?,
            text(&work)?
        );
        run("mount", &["-t", "overlay", "overlay", "-o", &options, dir])?;
    }
    let syslog = Listener::start(args.syslog.as_deref())?;
    let real_dir = layers.join("real");
    fs::create_dir_all(&real_dir).map_err(|e| format!("{}: {e}", real_dir.display()))?;
    let real = real_dir.join("postmulti");
    fs::write(&real, "").map_err(|e| format!("{}: {e}", real.display()))?;
    run("mount", &["--bind", REAL_POSTMULTI, text(&real)?])?;
    if let Some(ours) = &args.ours {
        run("mount", &["--bind", text(ours)?, REAL_POSTMULTI])?;
    }
    if let Some(hostname) = &args.primary {
        fs::copy(DEBIAN_MAIN_CF, "/etc/postfix/main.cf")
            .map_err(|e| format!("copy {DEBIAN_MAIN_CF} to /etc/postfix/main.cf: {e}"))?;
        run(
            "postconf",
            &[
                "-e",
                "inet_interfaces = loopback-only",
                &format!("myhostname = {hostname}"),
            ],
        )?;
    }
    let status = Command::new(&args.command[0])
        .args(&args.command[1..])
        .env("REAL", &real)
        .status()
        .map_err(|e| format!("{}: {e}", args.command[0]));
    if std::process::id() == 1 {
        // The namespace's init: end whatever the command left running.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-1), nix::sys::signal::SIGKILL);
    }
    syslog.finish();
    for dir in OVERLAID.iter().rev() {
        let _ = Command::new("umount").args(["-l", dir]).status();
    }
    let status = status?;
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        _ => 125,
    };
    Ok(u8::try_from(code).unwrap_or(125))
}

/// Serves `/dev/log`: a datagram socket read by a thread, which appends
/// each record as one line to a file (or drops it).
struct Listener {
    /// Set to stop once the records already queued are read.
    stop: Arc<AtomicBool>,
    /// The reading thread.
    thread: thread::JoinHandle<()>,
}

impl Listener {
    /// Binds `/dev/log` (on the overlay) and starts reading.
    fn start(log: Option<&Path>) -> Result<Listener> {
        let mut out = match log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let _ = fs::remove_file("/dev/log");
        let socket = UnixDatagram::bind("/dev/log").map_err(|e| format!("bind /dev/log: {e}"))?;
        fs::set_permissions("/dev/log", fs::Permissions::from_mode(0o666))
            .map_err(|e| format!("chmod /dev/log: {e}"))?;
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(|e| format!("/dev/log: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                match socket.recv(&mut buffer) {
                    Ok(n) => {
                        if let Some(out) = out.as_mut() {
                            let record = String::from_utf8_lossy(&buffer[..n]);
                            let line = format!("{}\n", record.trim_end_matches(['\n', '\0']));
                            let _ = out.write_all(line.as_bytes());
                        }
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        if stopping.load(Ordering::SeqCst) {
                            return;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
        Ok(Listener { stop, thread })
    }

    /// Stops after the records already queued.
    fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}
