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
//! ports.
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
//!   `SCRATCH` (a directory of the test's own).
//!
//! The script is run with a prelude of shell functions:
//!
//! - `step NAME COMMAND...` runs the command between markers, so that its
//!   stdout, stderr, syslog records and exit status can be told apart
//!   afterwards ([`Outcome::step`]); it always returns 0.
//! - `snapshot LABEL` records the trees `/etc/postfix*`,
//!   `/var/spool/postfix*` and `/var/lib/postfix*` ([`Outcome::snapshot`]).
//!
//! Real postmulti 3.7 writes fatal errors only to syslog when stderr is not
//! a terminal (`postmulti[PID]: fatal: MSG`), and its helper script logs as
//! `postfix/postmulti-script[PID]: fatal: MSG`; ours prints `postmulti:
//! fatal: MSG` on stderr and logs it too. [`Step::fatals`] picks the right
//! source for the flavour, so the two can be compared.

use crate::harness::Needs;
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

/// Whether a namespace test on the default libtest harness called `name`
/// can run here ([`Needs::Namespace`]); see
/// [`crate::sandbox::require_root_and_postfix`].
pub fn require_root_and_postfix(name: &str) -> bool {
    crate::harness::require(name, Needs::Namespace)
}

/// How to run a namespace.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kill the namespace after this long (the test then panics).
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: DEFAULT_TIMEOUT,
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
    pub snapshots: BTreeMap<String, Snapshot>,
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
    pub fn snapshot(&self, label: &str) -> &Snapshot {
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
        self.stderr
            .lines()
            .filter_map(|line| line.strip_prefix("postmulti: fatal: "))
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

/// The type of a file system entry, as `find -printf %y` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `f`
    File,
    /// `d`
    Directory,
    /// `l`
    Symlink,
    /// `p`
    Fifo,
    /// `s`
    Socket,
    /// Anything else (`b`, `c`, ...).
    Other(char),
}

impl Kind {
    fn from_find(letter: &str) -> Kind {
        match letter {
            "f" => Kind::File,
            "d" => Kind::Directory,
            "l" => Kind::Symlink,
            "p" => Kind::Fifo,
            "s" => Kind::Socket,
            other => Kind::Other(other.chars().next().unwrap_or('?')),
        }
    }
}

/// What a snapshot knows of an entry's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Directories, fifos, sockets.
    None,
    /// A symbolic link's target.
    Link(String),
    /// The SHA-256 of a regular file.
    Digest(String),
    /// The text of a `main.cf` or `master.cf`.
    Text(String),
}

/// One entry of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its type.
    pub kind: Kind,
    /// Permission bits (with set-id and sticky bits).
    pub mode: u32,
    /// Owner name (or number).
    pub owner: String,
    /// Group name (or number).
    pub group: String,
    /// Its content.
    pub content: Content,
}

impl Entry {
    /// The content in comparable form: a `main.cf` as its lines sorted
    /// (`postconf` appends new parameters in no fixed order), anything else
    /// as it is.
    pub fn comparable_content(&self, path: &str) -> Content {
        match &self.content {
            Content::Text(text) if path.ends_with("/main.cf") => {
                Content::Text(main_cf_lines(text).join("\n"))
            }
            other => other.clone(),
        }
    }
}

/// The lines of a main.cf, sorted: the normal form side-by-side tests
/// compare, as `postconf -e` appends new parameters in no fixed order.
pub fn main_cf_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The trees `/etc/postfix*`, `/var/spool/postfix*` and `/var/lib/postfix*`
/// at one moment, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every entry, by absolute path.
    pub entries: BTreeMap<String, Entry>,
}

impl Snapshot {
    /// The entry at `path`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// The text of the `main.cf` or `master.cf` at `path`.
    pub fn text(&self, path: &str) -> Option<&str> {
        match &self.entries.get(path)?.content {
            Content::Text(text) => Some(text),
            _ => None,
        }
    }

    /// A copy without the entries for which `ignore(path)` holds.
    pub fn without(&self, ignore: impl Fn(&str) -> bool) -> Snapshot {
        Snapshot {
            entries: self
                .entries
                .iter()
                .filter(|(path, _)| !ignore(path))
                .map(|(path, entry)| (path.clone(), entry.clone()))
                .collect(),
        }
    }

    /// Every difference from `other`, one human-readable line each (empty
    /// when they match): missing and extra entries, and differences of
    /// type, mode, owner, group and content, `main.cf` compared as sorted
    /// lines (with the lines only one side has).
    pub fn diff(&self, other: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (path, mine) in &self.entries {
            let Some(theirs) = other.entries.get(path) else {
                out.push(format!("{path}: only on the left ({:?})", mine.kind));
                continue;
            };
            if mine.kind != theirs.kind {
                out.push(format!("{path}: type {:?} vs {:?}", mine.kind, theirs.kind));
                continue;
            }
            if mine.mode != theirs.mode {
                out.push(format!("{path}: mode {:o} vs {:o}", mine.mode, theirs.mode));
            }
            if mine.owner != theirs.owner || mine.group != theirs.group {
                out.push(format!(
                    "{path}: owner {}:{} vs {}:{}",
                    mine.owner, mine.group, theirs.owner, theirs.group
                ));
            }
            let (left, right) = (
                mine.comparable_content(path),
                theirs.comparable_content(path),
            );
            if left != right {
                out.push(describe_content_difference(path, &left, &right));
            }
        }
        for (path, theirs) in &other.entries {
            if !self.entries.contains_key(path) {
                out.push(format!("{path}: only on the right ({:?})", theirs.kind));
            }
        }
        out
    }
}

fn describe_content_difference(path: &str, left: &Content, right: &Content) -> String {
    match (left, right) {
        (Content::Text(left), Content::Text(right)) => {
            let left: Vec<&str> = left.lines().collect();
            let right: Vec<&str> = right.lines().collect();
            let only_left: Vec<&&str> = left.iter().filter(|l| !right.contains(l)).collect();
            let only_right: Vec<&&str> = right.iter().filter(|l| !left.contains(l)).collect();
            format!(
                "{path}: content differs; lines only on the left: {only_left:?}; \
                 only on the right: {only_right:?}"
            )
        }
        _ => format!("{path}: content {left:?} vs {right:?}"),
    }
}

/// Runs `script` (bash) as root in a fresh namespace of the given flavour.
/// Panics when the namespace cannot be set up (no root, no overlayfs, no
/// Postfix) or when it times out; a failing script is not a panic.
pub fn run(flavour: Flavour, script: &str) -> Outcome {
    run_with(flavour, script, &Options::default())
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
    let mut command = Command::new(overlay_run_bin());
    command
        .args(["--primary", "sandbox.example", "--syslog"])
        .arg(dir.join("syslog"))
        .arg("--layers")
        .arg(dir.join("layers"));
    if flavour == Flavour::Ours {
        command.arg("--ours").arg(&ours);
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

/// The `overlay-run` program built beside the tests
/// (`target/<profile>/overlay-run`, see `src/bin/overlay-run.rs`).
fn overlay_run_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps")
        .join("overlay-run");
    assert!(
        path.is_file(),
        "{} not found: build it with cargo build -p postmulti-e2e --bin overlay-run",
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
    local out=$SCRATCH/snap/$1 roots
    mkdir -p "$out/files"
    roots=$(ls -d /etc/postfix* /var/spool/postfix* /var/lib/postfix* 2>/dev/null)
    # shellcheck disable=SC2086
    find $roots -printf '%y\t%m\t%u\t%g\t%p\t%l\n' >"$out/tree"
    find $roots -type f -print0 | xargs -0 -r sha256sum >"$out/sums"
    find $roots -type f \( -name main.cf -o -name master.cf \) -print0 |
        while IFS= read -r -d '' file; do
            cp "$file" "$out/files/$(printf %s "$file" | tr / '%')"
        done
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

/// Reads the snapshots the script's `snapshot` calls left.
fn read_snapshots(dir: &Path) -> BTreeMap<String, Snapshot> {
    let mut snapshots = BTreeMap::new();
    let Ok(labels) = fs::read_dir(dir) else {
        return snapshots;
    };
    for label in labels.flatten() {
        let base = label.path();
        let mut digests = BTreeMap::new();
        for line in read_lossy(&base.join("sums")).lines() {
            if let Some((sum, path)) = line.split_once("  ") {
                digests.insert(path.to_string(), sum.to_string());
            }
        }
        let mut entries = BTreeMap::new();
        for line in read_lossy(&base.join("tree")).lines() {
            let fields: Vec<&str> = line.splitn(6, '\t').collect();
            let [kind, mode, owner, group, path, target] = fields[..] else {
                continue;
            };
            let kind = Kind::from_find(kind);
            let content = match kind {
                Kind::Symlink => Content::Link(target.to_string()),
                Kind::File if path.ends_with("/main.cf") || path.ends_with("/master.cf") => {
                    Content::Text(read_lossy(&base.join("files").join(path.replace('/', "%"))))
                }
                Kind::File => Content::Digest(digests.get(path).cloned().unwrap_or_default()),
                _ => Content::None,
            };
            entries.insert(
                path.to_string(),
                Entry {
                    kind,
                    mode: u32::from_str_radix(mode, 8).unwrap_or(u32::MAX),
                    owner: owner.to_string(),
                    group: group.to_string(),
                    content,
                },
            );
        }
        snapshots.insert(
            label.file_name().to_string_lossy().into_owned(),
            Snapshot { entries },
        );
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

    #[test]
    fn main_cf_compares_as_sorted_lines() {
        let entry = |text: &str| Entry {
            kind: Kind::File,
            mode: 0o644,
            owner: "root".into(),
            group: "root".into(),
            content: Content::Text(text.into()),
        };
        let mut left = Snapshot::default();
        let mut right = Snapshot::default();
        left.entries
            .insert("/e/main.cf".into(), entry("a = 1\nb = 2\n"));
        right
            .entries
            .insert("/e/main.cf".into(), entry("b = 2\na = 1\n"));
        assert!(left.diff(&right).is_empty());
        left.entries.insert("/e/master.cf".into(), entry("a\nb\n"));
        right.entries.insert("/e/master.cf".into(), entry("b\na\n"));
        assert_eq!(left.diff(&right).len(), 1);
    }
}
