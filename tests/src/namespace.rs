//! Private mount namespaces with throw-away overlays, where the real postmulti
//! and ours run side by side against the real Postfix.
//!
//! [`run`] executes a bash script as root through `overlay-run`
//! (`src/bin/overlay-run.rs`, the project's one namespace set-up, shared
//! with the bench and `scripts/demo`): a private mount, PID and network
//! namespace with overlays on `/etc`, `/var/spool`, `/var/lib`, `/var/cache`
//! and `/dev` whose upper layers live in a fresh temporary directory.
//! Nothing on the host changes: every process started in the namespace
//! (master daemons included) is killed when the script ends, and its own
//! network namespace (only `lo`, brought up) keeps daemons off the host's
//! ports. With [`Options::host_network`] it shares the host's network
//! instead (for a script that downloads packages).
//!
//! Inside the namespace:
//!
//! - `/etc/postfix/main.cf` is a copy of `/usr/share/postfix/main.cf.debian`
//!   plus `inet_interfaces = loopback-only` and `myhostname =
//!   sandbox.example` (set with `postconf -e`);
//! - `/dev/log` is a datagram socket served by `overlay-run`, so Postfix
//!   never stalls for want of a syslog daemon and every record is captured
//!   ([`Outcome::syslog`]);
//! - with [`Flavour::Ours`], the built postmulti is bind-mounted over
//!   `/usr/sbin/postmulti`, so `postfix start` calls it through
//!   `multi_instance_wrapper`; with [`Flavour::Real`], Postfix's own
//!   postmulti is left in place;
//! - the environment holds `OURS` (the built postmulti,
//!   [`crate::sandbox::postmulti_bin`]), `REAL` (Postfix's
//!   postmulti, reachable in both flavours), `FLAVOUR` (`real` or `ours`) and
//!   `SCRATCH` (a directory of the test's own), and `TREE_SNAPSHOT` (the
//!   program `snapshot` runs).
//!
//! The script is run with a prelude of shell functions:
//!
//! - `step NAME COMMAND...` runs the command between markers, so that its
//!   stdout, stderr, syslog records and exit status can be told apart
//!   afterwards ([`Outcome::step`]); it always returns 0.
//! - `snapshot LABEL` records the trees `/etc/postfix*`,
//!   `/var/spool/postfix*` and `/var/lib/postfix*` with the `tree-snapshot`
//!   program (`src/bin/tree-snapshot.rs`): a [`Tree`] by absolute path, as
//!   a sandbox records its own ([`Outcome::snapshot`]).
//!
//! Real postmulti 3.7 writes fatal errors only to syslog when stderr is not
//! a terminal (`postmulti[PID]: fatal: MSG`), and its helper script logs as
//! `postfix/postmulti-script[PID]: fatal: MSG`; ours prints `postmulti:
//! fatal: MSG` on stderr and logs it too. [`Step::fatals`] picks the right
//! source for the flavour, so the two can be compared.

use crate::tree::Tree;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use crate::harness::REAL_POSTMULTI;

/// How long a namespace may run before it is killed.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Marks the start of a marker line in the captured stdout and stderr.
const MARK: char = '\u{1e}';

/// The syslog tag of step markers.
const STEP_TAG: &str = "e2e-step";

/// Which postmulti `/usr/sbin/postmulti` is inside the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Postfix's postmulti, as installed.
    Real,
    /// The built postmulti of this project, bind-mounted over Postfix's.
    Ours,
}

impl Flavour {
    /// `real` or `ours`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Real => "real",
            Flavour::Ours => "ours",
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to run a namespace.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kill the namespace after this long (the test then panics).
    pub timeout: Duration,
    /// Share the host's network instead of a network namespace of its own
    /// (`overlay-run --host-network`), for a script that downloads
    /// packages; its daemons must then run in namespaces of their own.
    pub host_network: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: DEFAULT_TIMEOUT,
            host_network: false,
        }
    }
}

/// What a namespace run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Which postmulti it ran.
    pub flavour: Flavour,
    /// The script's standard output, markers included.
    pub stdout: String,
    /// The script's standard error, markers included.
    pub stderr: String,
    /// The script's exit status (128 + signal number when killed).
    pub status: i32,
    /// Every syslog record, one per line (newlines inside a record are
    /// kept), in the order they arrived.
    pub syslog: String,
    /// The `step`s, in the order they ran.
    pub steps: Vec<Step>,
    /// The snapshots taken with `snapshot LABEL`.
    pub snapshots: BTreeMap<String, Tree>,
}

impl Outcome {
    /// The step called `name`; panics (showing the whole run) when missing.
    pub fn step(&self, name: &str) -> &Step {
        self.steps
            .iter()
            .find(|step| step.name == name)
            .unwrap_or_else(|| panic!("{}: no step {name:?}\n{self}", self.flavour))
    }

    /// The snapshot called `label`; panics when missing.
    pub fn snapshot(&self, label: &str) -> &Tree {
        self.snapshots
            .get(label)
            .unwrap_or_else(|| panic!("{}: no snapshot {label:?}\n{self}", self.flavour))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "--- {} namespace, exit status {}",
            self.flavour, self.status
        )?;
        writeln!(f, "--- stdout:\n{}", self.stdout.replace(MARK, ""))?;
        writeln!(f, "--- stderr:\n{}", self.stderr.replace(MARK, ""))?;
        writeln!(f, "--- syslog:\n{}", self.syslog)
    }
}

/// One `step NAME COMMAND...` of a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// The step's name.
    pub name: String,
    /// The command's exit status.
    pub status: i32,
    /// What it wrote on stdout, exactly.
    pub stdout: String,
    /// What it wrote on stderr, exactly.
    pub stderr: String,
    /// The syslog records logged while it ran, one per line.
    pub syslog: String,
    /// The flavour of the namespace it ran in.
    pub flavour: Option<Flavour>,
}

impl Step {
    /// The fatal messages postmulti reported, without any prefix, read where
    /// the namespace's `/usr/sbin/postmulti` puts them: in a
    /// [`Flavour::Real`] namespace those logged (`postmulti[PID]: fatal:
    /// MSG`, `postfix/postmulti-script[PID]: fatal: MSG`), in a
    /// [`Flavour::Ours`] one those on stderr (`postmulti: fatal: MSG`). A
    /// step that calls `$REAL` or `$OURS` explicitly should use
    /// [`Step::syslog_fatals`] or [`Step::stderr_fatals`] instead.
    pub fn fatals(&self) -> Vec<String> {
        match self.flavour {
            Some(Flavour::Real) => self.syslog_fatals(),
            _ => self.stderr_fatals(),
        }
    }

    /// The messages of `postmulti: fatal: MSG` lines on stderr.
    pub fn stderr_fatals(&self) -> Vec<String> {
        self.stderr_messages("fatal")
    }

    /// The messages of `postmulti: LEVEL: MSG` lines on stderr (`fatal`,
    /// `warning`, ...).
    pub fn stderr_messages(&self, level: &str) -> Vec<String> {
        let prefix = format!("postmulti: {level}: ");
        self.stderr
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .map(str::to_string)
            .collect()
    }

    /// The messages of syslog records `...postmulti[PID]: fatal: MSG` or
    /// `...postfix/postmulti-script[PID]: fatal: MSG`.
    pub fn syslog_fatals(&self) -> Vec<String> {
        self.syslog_messages("fatal")
    }

    /// The messages of syslog records of postmulti or its script at the
    /// given `level` (`fatal`, `warning`, ...).
    pub fn syslog_messages(&self, level: &str) -> Vec<String> {
        let needle = format!("]: {level}: ");
        self.syslog
            .lines()
            .filter_map(|record| {
                let at = record.find(&needle)?;
                let tag = record[..at].rsplit(' ').next()?;
                let tag = tag.rsplit_once('[')?.0;
                let tag = tag.rsplit('>').next()?;
                (tag == "postmulti" || tag == "postfix/postmulti-script")
                    .then(|| record[at + needle.len()..].to_string())
            })
            .collect()
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "step {} (exit {})", self.name, self.status)?;
        writeln!(f, "  stdout: {:?}", self.stdout)?;
        writeln!(f, "  stderr: {:?}", self.stderr)?;
        writeln!(f, "  syslog: {:?}", self.syslog)
    }
}

/// Runs `script` (bash) as root in a fresh namespace of the given flavour.
/// Panics when the namespace cannot be set up (no root, no overlayfs, no
/// Postfix) or when it times out; a failing script is not a panic.
pub fn run(flavour: Flavour, script: &str) -> Outcome {
    run_with(flavour, script, &Options::default())
}

/// Runs `real_script` with Postfix's postmulti and `ours_script` with ours,
/// in two namespaces at once; returns (real, ours).
pub fn run_side_by_side(real_script: &str, ours_script: &str) -> (Outcome, Outcome) {
    std::thread::scope(|scope| {
        let ours = scope.spawn(|| run(Flavour::Ours, ours_script));
        let real = run(Flavour::Real, real_script);
        (real, ours.join().expect("ours namespace"))
    })
}

/// [`run`] with options.
pub fn run_with(flavour: Flavour, script: &str, options: &Options) -> Outcome {
    let ours = crate::sandbox::postmulti_bin();
    let scratch = tempfile::Builder::new()
        .prefix("pm-ns")
        .tempdir()
        .expect("scratch directory");
    let dir = scratch.path();
    fs::write(dir.join("setup.sh"), SETUP).expect("write setup.sh");
    fs::write(dir.join("prelude.sh"), PRELUDE).expect("write prelude.sh");
    fs::write(dir.join("user.sh"), script).expect("write user.sh");
    fs::create_dir(dir.join("snap")).expect("mkdir snap");

    let setup_out = fs::File::create(dir.join("setup.out")).expect("setup.out");
    let setup_err = setup_out.try_clone().expect("dup setup.out");
    let mut command = Command::new(sibling_bin("overlay-run"));
    command
        .args(["--primary", "sandbox.example", "--syslog"])
        .arg(dir.join("syslog"))
        .arg("--layers")
        .arg(dir.join("layers"));
    if flavour == Flavour::Ours {
        command.arg("--ours").arg(&ours);
    }
    if options.host_network {
        command.arg("--host-network");
    }
    let mut child = command
        .arg("--")
        .arg("bash")
        .arg(dir.join("setup.sh"))
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("LC_ALL", "C")
        .env("SCRATCH", dir)
        .env("OURS", &ours)
        .env("FLAVOUR", flavour.as_str())
        .env("TREE_SNAPSHOT", sibling_bin("tree-snapshot"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(setup_out)
        .stderr(setup_err)
        .spawn()
        .expect("run overlay-run");
    let start = Instant::now();
    let setup_status = loop {
        if let Some(status) = child.try_wait().expect("wait for overlay-run") {
            break status;
        }
        if start.elapsed() > options.timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{flavour} namespace timed out after {:?}\nsetup: {}\nstdout:\n{}\nstderr:\n{}\nsyslog:\n{}",
                options.timeout,
                read_lossy(&dir.join("setup.out")),
                read_lossy(&dir.join("stdout")),
                read_lossy(&dir.join("stderr")),
                read_lossy(&dir.join("syslog")),
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let syslog = read_lossy(&dir.join("syslog"));
    let status_text = read_lossy(&dir.join("status"));
    let Ok(status) = status_text.trim().parse::<i32>() else {
        panic!(
            "{flavour} namespace setup failed ({setup_status}):\n{}",
            read_lossy(&dir.join("setup.out"))
        );
    };
    let stdout = read_lossy(&dir.join("stdout"));
    let stderr = read_lossy(&dir.join("stderr"));
    let steps = split_steps(flavour, &stdout, &stderr, &syslog);
    let snapshots = read_snapshots(&dir.join("snap"));
    Outcome {
        flavour,
        stdout,
        stderr,
        status,
        syslog,
        steps,
        snapshots,
    }
}

/// The program `name` of this crate, built beside the tests
/// (`target/<profile>/NAME`, see `src/bin/NAME.rs`).
pub(crate) fn sibling_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps")
        .join(name);
    assert!(
        path.is_file(),
        "{} not found: build it with cargo build -p postmulti-e2e --bin {name}",
        path.display()
    );
    path
}

/// Runs in the namespace that `overlay-run` set up (overlays, `/dev/log`,
/// the binaries, the primary's main.cf): the user's script.
const SETUP: &str = r#"
cd /
bash -c '. "$SCRATCH/prelude.sh"; . "$SCRATCH/user.sh"' >"$SCRATCH/stdout" 2>"$SCRATCH/stderr" </dev/null
echo $? >"$SCRATCH/status"
"#;

/// Shell functions for the user's script.
const PRELUDE: &str = r#"
__mark() { printf '\036@@%s\n' "$1"; }
step() {
    local name=$1; shift
    __mark "step $name"; __mark "step $name" >&2
    logger -u /dev/log -t e2e-step -- "$name" 2>/dev/null
    "$@"
    local rc=$?
    __mark "rc $rc"; __mark "end" >&2
    logger -u /dev/log -t e2e-step -- "@end" 2>/dev/null
    return 0
}
snapshot() {
    (shopt -s nullglob
     exec "$TREE_SNAPSHOT" "$SCRATCH/snap/$1" /etc/postfix* /var/spool/postfix* /var/lib/postfix*)
}
"#;

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// Splits the captured output into the script's steps.
fn split_steps(flavour: Flavour, stdout: &str, stderr: &str, syslog: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    // stdout: "@@step NAME\n" OUTPUT "@@rc N\n"
    for piece in stdout.split(MARK).skip(1) {
        let (header, body) = piece.split_once('\n').unwrap_or((piece, ""));
        if let Some(name) = header.strip_prefix("@@step ") {
            steps.push(Step {
                name: name.to_string(),
                stdout: body.to_string(),
                flavour: Some(flavour),
                ..Step::default()
            });
        } else if let Some(rc) = header.strip_prefix("@@rc ") {
            if let Some(step) = steps.last_mut() {
                step.status = rc.trim().parse().unwrap_or(-1);
            }
        }
    }
    // stderr: "@@step NAME\n" OUTPUT "@@end\n", in the same order.
    let mut index = 0;
    for piece in stderr.split(MARK).skip(1) {
        let (header, body) = piece.split_once('\n').unwrap_or((piece, ""));
        if header.starts_with("@@step ") {
            if let Some(step) = steps.get_mut(index) {
                step.stderr = body.to_string();
            }
            index += 1;
        }
    }
    // syslog: records between "e2e-step: NAME" and "e2e-step: @end".
    let start = format!("{STEP_TAG}: ");
    let mut current: Option<usize> = None;
    let mut index = 0;
    for record in syslog.lines() {
        if let Some(at) = record.find(&start) {
            let what = &record[at + start.len()..];
            if what == "@end" {
                current = None;
            } else {
                current = Some(index);
                index += 1;
            }
            continue;
        }
        if let Some(step) = current.and_then(|i| steps.get_mut(i)) {
            step.syslog.push_str(record);
            step.syslog.push('\n');
        }
    }
    steps
}

/// Reads the snapshots the script's `snapshot` calls left, one file each
/// (see [`Tree::to_bytes`]).
fn read_snapshots(dir: &Path) -> BTreeMap<String, Tree> {
    let mut snapshots = BTreeMap::new();
    let Ok(labels) = fs::read_dir(dir) else {
        return snapshots;
    };
    for label in labels.flatten() {
        let path = label.path();
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let tree =
            Tree::from_bytes(&bytes).unwrap_or_else(|e| panic!("snapshot {}: {e}", path.display()));
        snapshots.insert(label.file_name().to_string_lossy().into_owned(), tree);
    }
    snapshots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_split_by_markers() {
        let stdout = "pre\n\u{1e}@@step a\nout a\u{1e}@@rc 0\n\u{1e}@@step b\n\u{1e}@@rc 1\n";
        let stderr =
            "\u{1e}@@step a\n\u{1e}@@end\n\u{1e}@@step b\npostmulti: fatal: boom\n\u{1e}@@end\n";
        let syslog = "<13>Jan  1 00:00:00 e2e-step: a\n<13>x e2e-step: @end\n\
                      <13>x e2e-step: b\n<18>Jan  1 00:00:00 postmulti[12]: fatal: boom\n\
                      <13>x e2e-step: @end\n";
        let steps = split_steps(Flavour::Real, stdout, stderr, syslog);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].stdout, "out a");
        assert_eq!(steps[0].status, 0);
        assert_eq!(steps[1].status, 1);
        assert_eq!(steps[1].stderr_fatals(), ["boom"]);
        assert_eq!(steps[1].syslog_fatals(), ["boom"]);
        assert_eq!(steps[1].fatals(), ["boom"]);
        assert!(steps[0].syslog.is_empty());
    }

    #[test]
    fn script_fatals_are_recognised() {
        let step = Step {
            syslog: "<18>Jan  1 00:00:00 postfix/postmulti-script[9]: fatal: x y\n\
                     <18>postmulti[3]: fatal: z\n<18>other[3]: fatal: no\n"
                .into(),
            ..Step::default()
        };
        assert_eq!(step.syslog_fatals(), ["x y", "z"]);
    }
}
