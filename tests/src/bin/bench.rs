//! `bench`: times the real Postfix postmulti and ours side by side on the same
//! multi-instance setups of N secondaries, and prints a markdown table.
//!
//! Usage, as root: `cargo run --release -p postmulti-e2e --bin bench --
//! [--sizes 10,100,1000]`, after `cargo build --release -p postmulti`.
//! Ours is `$POSTMULTI_BIN`, else the `postmulti` next to this executable,
//! else `target/release/postmulti` of this checkout.
//!
//! The program re-executes itself through `overlay-run` (built beside it,
//! see `src/bin/overlay-run.rs`): a private mount, PID and network namespace
//! with throw-away overlays on `/etc`, `/var/spool`, `/var/lib`, `/var/cache`
//! and `/dev`, so nothing outside changes (the host's `/etc/postfix`
//! included), and a listener on `/dev/log`, because Postfix pauses on every
//! log record when nobody listens. The primary gets Debian's `main.cf`;
//! `postmulti -e init` and one real `-e create` of `postfix-tmpl` follow,
//! and the other secondaries are clones of that one (its files,
//! directories, owners and modes, with name, group and paths changed),
//! registered with one `postconf -e`.
//!
//! `bench --queues [--instances 100] [--messages 100,1000]` measures queue
//! counting instead: `postmulti --metrics` and `-l --queues -j` against the
//! real `postmulti -x postqueue -j`, for that many instances each holding
//! that many queued messages (see [`bench_queues`]).
//!
//! `bench --listing [--ours-only] [--sizes 1000,10000]` measures the
//! listings that monitoring runs every few seconds: peak RSS and time of
//! our `-l`, `-l -j`, `-l --status` and `-l --queues` against the real
//! `-l` (left out with `--ours-only`), at up to 10 000 secondaries (see
//! [`bench_listing`]).
//!
//! `bench --generator N` measures `--systemd-generator` against our own
//! `-l` at N secondaries, interleaved run by run so that both see the same
//! machine (see [`bench_generator`]); run it under `chrt -f 50` to keep
//! other jobs of a shared machine off the CPUs meanwhile.

use nix::sys::resource::{getrusage, UsageWho};
use postmulti_core::maincf::MainCf;
use postmulti_e2e::tree::{Content, Tree};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

/// Set in the environment of the re-executed bench inside the namespace.
const IN_NAMESPACE: &str = "POSTMULTI_BENCH_IN_NAMESPACE";
/// The real postmulti.
const REAL: &str = "/usr/sbin/postmulti";
/// The postfix command that `-p` runs (replaced by a stand-in while `-p` is
/// measured).
const POSTFIX: &str = "/usr/sbin/postfix";
/// The template instance, made by the real postmulti.
const TEMPLATE: &str = "postfix-tmpl";
/// The group of the template instance.
const TEMPLATE_GROUP: &str = "g";
/// The group whose members `-l -g` lists (about one tenth of the clones).
const LISTED_GROUP: &str = "g1";
/// The instance that the create and destroy measurements make and remove.
const EXTRA: &str = "postfix-extra";
/// Debian's systemd generator, which asks postconf once per instance.
const DEBIAN_GENERATOR: &str = "/lib/systemd/system-generators/postfix-instance-generator";

/// Any error, as a message.
type Result<T> = std::result::Result<T, String>;

/// How many runs a measurement makes: at least `min`, then more while the
/// time spent stays under `budget`, at most `max`.
#[derive(Debug, Clone, Copy)]
struct Runs {
    /// Runs always made.
    min: usize,
    /// Runs never exceeded.
    max: usize,
    /// Time after which no further run starts (once `min` are done).
    budget: Duration,
}

/// Runs for a quick command.
const QUICK: Runs = Runs {
    min: 5,
    max: 31,
    budget: Duration::from_secs(5),
};
/// Runs for a command that takes seconds (the real postmulti at large N).
const SLOW: Runs = Runs {
    min: 3,
    max: 11,
    budget: Duration::from_secs(20),
};
/// Runs for the real create and destroy (about 3 s each and more).
const SLOWEST: Runs = Runs {
    min: 3,
    max: 3,
    budget: Duration::from_secs(0),
};

/// One row of the result table.
struct Row {
    /// What was measured.
    op: String,
    /// How many secondary instances there were.
    n: usize,
    /// The real postmulti's figure.
    real: Figure,
    /// Ours.
    ours: Figure,
    /// The lower bound, where one is defined.
    floor: Option<Duration>,
}

/// A measured figure, or why there is none.
#[derive(Clone)]
enum Figure {
    /// The median of several timed runs.
    Time(Duration),
    /// Peak resident set size, in KiB.
    Kib(i64),
    /// The command failed.
    Failed(String),
    /// Not measured: the program has no such option.
    Absent,
}

impl Figure {
    /// The figure as a number for ratios (seconds or KiB).
    fn value(&self) -> Option<f64> {
        match self {
            Figure::Time(d) => Some(d.as_secs_f64()),
            Figure::Kib(k) => Some(*k as f64),
            Figure::Failed(_) | Figure::Absent => None,
        }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Figure::Time(d) => f.write_str(&human(*d)),
            Figure::Kib(k) => write!(f, "{k} KiB"),
            Figure::Failed(why) => write!(f, "failed ({why})"),
            Figure::Absent => f.write_str("-"),
        }
    }
}

/// A duration for people: µs, ms or s.
fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1e-3 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// The median of some durations.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--rss-of") {
        return rss_of(&args[2..]);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `bench --rss-of COMMAND...`: runs the command (output discarded) and
/// prints the peak RSS in KiB of it and its descendants.
fn rss_of(command: &[String]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        return ExitCode::FAILURE;
    };
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let Ok(status) = status else {
        return ExitCode::FAILURE;
    };
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(usage) => println!("{}", usage.max_rss()),
        Err(_) => return ExitCode::FAILURE,
    }
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What to measure.
enum Mode {
    /// Listings and life cycle at these numbers of secondaries.
    Lifecycle(Vec<usize>),
    /// Queue counting: this many instances, at these numbers of messages
    /// per instance.
    Queues {
        /// Instances (the template and its clones).
        instances: usize,
        /// Messages per instance, each measured in turn.
        messages: Vec<usize>,
    },
    /// The systemd generator against `-l`, at this many secondaries.
    Generator(usize),
    /// The listings' peak RSS and time at these numbers of secondaries;
    /// the real postmulti's too unless `ours_only`.
    Listing {
        /// The numbers of secondaries.
        sizes: Vec<usize>,
        /// Whether the real postmulti is left out (at 10 000 instances it
        /// takes minutes per run, and its figures do not depend on ours).
        ours_only: bool,
    },
}

/// The mode of the command line.
fn parse_mode(args: &[String]) -> Result<Mode> {
    if args.first().map(String::as_str) == Some("--generator") {
        let usage = "usage: bench --generator N (1 to 9999 secondaries)";
        return match args.get(1).map(|n| n.parse::<usize>()) {
            Some(Ok(n)) if (1..=9999).contains(&n) && args.len() == 2 => Ok(Mode::Generator(n)),
            _ => Err(usage.into()),
        };
    }
    if args.first().map(String::as_str) == Some("--listing") {
        let mut rest = &args[1..];
        let ours_only = rest.first().map(String::as_str) == Some("--ours-only");
        if ours_only {
            rest = &rest[1..];
        }
        let sizes = parse_sizes(rest, &[1000, 10_000], LISTING_MAX)?;
        return Ok(Mode::Listing { sizes, ours_only });
    }
    if args.first().map(String::as_str) != Some("--queues") {
        return Ok(Mode::Lifecycle(parse_sizes(args, &[10, 100, 1000], 9999)?));
    }
    let usage = "usage: bench --queues [--instances N] [--messages M1,M2...]";
    let (mut instances, mut messages) = (100, vec![100, 1000]);
    let mut args = args[1..].iter();
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(usage)?;
        match arg.as_str() {
            "--instances" => instances = value.parse().map_err(|e| format!("{value}: {e}"))?,
            "--messages" => {
                messages = value
                    .split(',')
                    .map(|m| m.trim().parse::<usize>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| format!("--messages {value}: {e}"))?
            }
            _ => return Err(usage.into()),
        }
    }
    if instances == 0 || instances > 9999 || messages.iter().any(|&m| m > 100_000) {
        return Err("instances must be between 1 and 9999, messages at most 100000".into());
    }
    messages.sort_unstable();
    messages.dedup();
    Ok(Mode::Queues {
        instances,
        messages,
    })
}

/// Checks the setup, enters the namespace, and runs the benchmark there.
fn run(args: &[String]) -> Result<()> {
    let mode = parse_mode(&args[1..])?;
    if !nix::unistd::geteuid().is_root() {
        return Err("must run as root (it mounts overlays in a private namespace)".into());
    }
    if !Path::new(REAL).is_file() {
        return Err(format!("{REAL} is missing: run scripts/install-deps"));
    }
    let ours = our_binary()?;
    if std::env::var_os(IN_NAMESPACE).is_none() {
        let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let overlay_run = me.with_file_name("overlay-run");
        let error = Command::new(&overlay_run)
            .args(["--primary", "bench.example", "--"])
            .arg(&me)
            .args(&args[1..])
            .env(IN_NAMESPACE, "1")
            .env("POSTMULTI_BIN", &ours)
            .exec();
        return Err(format!(
            "cannot run {}: {error} (build it with cargo build --release -p postmulti-e2e)",
            overlay_run.display()
        ));
    }
    bench(&mode, &ours)
}

/// `--sizes 10,100,1000`: `default` when not given, each size at most `max`.
fn parse_sizes(args: &[String], default: &[usize], max: usize) -> Result<Vec<usize>> {
    let mut sizes = default.to_vec();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let list = match arg.as_str() {
            "--sizes" => args.next().ok_or("--sizes needs a value")?.clone(),
            other => match other.strip_prefix("--sizes=") {
                Some(list) => list.to_string(),
                None => return Err(format!("usage: bench [--sizes N1,N2...] (not {other})")),
            },
        };
        sizes = list
            .split(',')
            .map(|n| n.trim().parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| format!("--sizes {list}: {e}"))?;
    }
    if sizes.iter().any(|&n| n == 0 || n > max) {
        return Err(format!("sizes must be between 1 and {max}"));
    }
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

/// Ours: `$POSTMULTI_BIN`, the `postmulti` beside this program, or this
/// checkout's `target/release/postmulti`.
fn our_binary() -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("POSTMULTI_BIN") {
        candidates.push(PathBuf::from(path));
    } else {
        if let Ok(me) = std::env::current_exe() {
            candidates.push(me.with_file_name("postmulti"));
        }
        candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/postmulti"));
    }
    candidates
        .iter()
        .find(|path| path.is_file())
        .and_then(|path| path.canonicalize().ok())
        .ok_or_else(|| {
            format!(
                "our postmulti not found (tried {candidates:?}): run \
                 `cargo build --release -p postmulti` or set POSTMULTI_BIN"
            )
        })
}

/// Runs a command to completion; an error when it fails.
fn sh(program: &str, args: &[&str]) -> Result<Output> {
    let output = Command::new(program)
        .args(args)
        .env_remove("MAIL_CONFIG")
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {}: {}\n{}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output)
}

/// The benchmark proper, inside the private namespace.
fn bench(mode: &Mode, ours: &Path) -> Result<()> {
    let scratch = tempfile::Builder::new()
        .prefix("postmulti-bench.")
        .tempdir()
        .map_err(|e| format!("scratch directory: {e}"))?;
    match mode {
        Mode::Lifecycle(sizes) => bench_in_sandbox(sizes, ours, scratch.path()),
        Mode::Queues {
            instances,
            messages,
        } => bench_queues(*instances, messages, ours),
        Mode::Generator(n) => bench_generator(*n, ours, scratch.path()),
        Mode::Listing { sizes, ours_only } => bench_listing(sizes, ours, *ours_only),
    }
}

/// Recreates the directories and regular files of `tree` (recorded with
/// [`Tree::of`]) at `root`, owners and modes included; other entries are
/// left out.
fn restore(tree: &Tree, root: &Path) -> Result<()> {
    // Parents sort before their children.
    for (relative, node) in &tree.nodes {
        let path = root.join(relative);
        let made = match &node.content {
            Content::Directory => fs::create_dir(&path),
            Content::File(bytes) => fs::write(&path, bytes),
            _ => continue,
        };
        made.and_then(|()| std::os::unix::fs::chown(&path, Some(node.uid), Some(node.gid)))
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(node.mode)))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The template instance, read once, from which clones are made.
struct Template {
    /// Its main.cf, line by line.
    main_cf: String,
    /// Its master.cf and that file's mode.
    master_cf: (Vec<u8>, u32),
    /// Its queue directory tree.
    queue: Tree,
    /// Its data directory tree.
    data: Tree,
}

impl Template {
    /// Reads the template instance made by the real postmulti.
    fn read() -> Result<Template> {
        let config = PathBuf::from(format!("/etc/{TEMPLATE}"));
        let read = |path: &Path| fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
        let master_path = config.join("master.cf");
        let master_mode = fs::metadata(&master_path)
            .map_err(|e| format!("{}: {e}", master_path.display()))?
            .mode()
            & 0o7777;
        Ok(Template {
            main_cf: String::from_utf8(read(&config.join("main.cf"))?)
                .map_err(|_| "template main.cf is not UTF-8".to_string())?,
            master_cf: (read(&master_path)?, master_mode),
            queue: Tree::of(Path::new(&format!("/var/spool/{TEMPLATE}"))),
            data: Tree::of(Path::new(&format!("/var/lib/{TEMPLATE}"))),
        })
    }

    /// Writes the clone `name` in group `group`: what a real create writes.
    fn clone_as(&self, name: &str, group: &str) -> Result<()> {
        let mut replaced = BTreeMap::new();
        let mut main_cf = String::with_capacity(self.main_cf.len());
        for line in self.main_cf.split_inclusive('\n') {
            let key = line.split('=').next().unwrap_or_default().trim();
            let value = match key {
                "queue_directory" => format!("/var/spool/{name}"),
                "data_directory" => format!("/var/lib/{name}"),
                "multi_instance_name" => name.to_string(),
                "multi_instance_group" => group.to_string(),
                _ if key.starts_with("config_directory") => {
                    return Err("template main.cf sets config_directory".into())
                }
                _ => {
                    main_cf.push_str(line);
                    continue;
                }
            };
            if line.starts_with(|c: char| c.is_whitespace() || c == '#') {
                main_cf.push_str(line);
                continue;
            }
            main_cf.push_str(&format!("{key} = {value}\n"));
            replaced.insert(key, ());
        }
        if replaced.len() != 4 {
            return Err(format!(
                "template main.cf lacks some of queue_directory, data_directory, \
                 multi_instance_name, multi_instance_group (found {:?})",
                replaced.keys().collect::<Vec<_>>()
            ));
        }
        let config = PathBuf::from(format!("/etc/{name}"));
        let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
        fs::create_dir(&config).map_err(|e| io(&config, e))?;
        fs::write(config.join("main.cf"), main_cf).map_err(|e| io(&config, e))?;
        let master = config.join("master.cf");
        fs::write(&master, &self.master_cf.0).map_err(|e| io(&master, e))?;
        fs::set_permissions(&master, fs::Permissions::from_mode(self.master_cf.1))
            .map_err(|e| io(&master, e))?;
        restore(&self.queue, Path::new(&format!("/var/spool/{name}")))?;
        restore(&self.data, Path::new(&format!("/var/lib/{name}")))?;
        Ok(())
    }
}

/// The name and group of clone `i`.
fn clone_name(i: usize) -> (String, String) {
    (format!("postfix-b{i:04}"), format!("g{}", i % 10))
}

/// Sets up the primary, then measures each size.
fn bench_in_sandbox(sizes: &[usize], ours: &Path, scratch: &Path) -> Result<()> {
    // Enabled, so that the systemd generators link every clone.
    let template = prepare_primary_and_template(true)?;
    let mut rows = create_hundred(ours, scratch)?;
    let standin = scratch.join("postfix-standin");
    fs::write(&standin, "#!/bin/sh\nexit 0\n")
        .and_then(|()| fs::set_permissions(&standin, fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("{}: {e}", standin.display()))?;

    let mut directories = vec![format!("/etc/{TEMPLATE}")];
    for &n in sizes {
        grow(&template, &mut directories, n)?;
        eprintln!("bench: N={n}");
        rows.extend(measure_size(n, ours, &directories, &standin)?);
        rows.extend(measure_manifest(n, ours, scratch)?);
        rows.push(measure_generator(n, ours, scratch, &rows)?);
    }
    print_table(&rows);
    Ok(())
}

/// Clones the template until `directories` lists `n` secondaries, and
/// registers them all: the primary's main.cf edited as `postconf -e` does
/// (not by running it: the list of 10 000 directories is longer than one
/// argument may be).
fn grow(template: &Template, directories: &mut Vec<String>, n: usize) -> Result<()> {
    while directories.len() < n {
        let (name, group) = clone_name(directories.len());
        template.clone_as(&name, &group)?;
        directories.push(format!("/etc/{name}"));
    }
    let primary = "/etc/postfix/main.cf";
    let mut main_cf = MainCf::parse(&fs::read(primary).map_err(|e| format!("{primary}: {e}"))?);
    main_cf.set("multi_instance_directories", directories.join(" "));
    fs::write(primary, main_cf.to_bytes()).map_err(|e| format!("{primary}: {e}"))?;
    Ok(())
}

/// `postmulti -e init` on the primary (Debian's main.cf, from
/// `overlay-run`), and the template instance made by the real postmulti
/// (enabled when `enabled`), read.
fn prepare_primary_and_template(enabled: bool) -> Result<Template> {
    eprintln!("bench: postmulti -e init; real create of {TEMPLATE}");
    sh(REAL, &["-e", "init"])?;
    sh(
        REAL,
        &["-I", TEMPLATE, "-G", TEMPLATE_GROUP, "-e", "create"],
    )?;
    if enabled {
        sh(REAL, &["-i", TEMPLATE, "-e", "enable"])?;
    }
    Template::read()
}

/// Times `argv` (output kept from the last run): at least `runs.min` runs,
/// after one warm-up run when `warm_up`.
fn time_runs(argv: &[&str], runs: Runs, warm_up: bool) -> (Figure, Option<Output>) {
    let run = || {
        Command::new(argv[0])
            .args(&argv[1..])
            .env_remove("MAIL_CONFIG")
            .stdin(Stdio::null())
            .output()
    };
    if warm_up {
        let _ = run();
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut last = None;
    while samples.len() < runs.min || (samples.len() < runs.max && started.elapsed() < runs.budget)
    {
        let begin = Instant::now();
        let output = match run() {
            Ok(output) => output,
            Err(e) => return (Figure::Failed(e.to_string()), None),
        };
        samples.push(begin.elapsed());
        if !output.status.success() {
            let why = failure(&output);
            return (Figure::Failed(why), Some(output));
        }
        last = Some(output);
    }
    (Figure::Time(median(samples)), last)
}

/// A short description of a failed run: how it ended and the start of the
/// first line it printed on stderr.
fn failure(output: &Output) -> String {
    use std::os::unix::process::ExitStatusExt;
    let ended = match (output.status.code(), output.status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "failed".to_string(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let first: String = first.chars().take(48).collect();
    format!("{ended}: {}", first.replace('|', "/"))
}

/// Warns when the real postmulti and ours printed different things.
fn compare(what: &str, real: &Option<Output>, ours: &Option<Output>) {
    if let (Some(real), Some(ours)) = (real, ours) {
        if real.status.success() && ours.status.success() && real.stdout != ours.stdout {
            let real_text = String::from_utf8_lossy(&real.stdout);
            let ours_text = String::from_utf8_lossy(&ours.stdout);
            let diff = real_text
                .lines()
                .zip(ours_text.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("real {a:?}, ours {b:?}"))
                .unwrap_or_else(|| {
                    format!(
                        "{} lines against {}",
                        real_text.lines().count(),
                        ours_text.lines().count()
                    )
                });
            eprintln!("bench: warning: {what}: outputs differ: {diff}");
        }
    }
}

/// The time to read every main.cf in process: the median of 21 rounds.
fn read_floor(directories: &[String]) -> Duration {
    let files: Vec<PathBuf> = std::iter::once("/etc/postfix".to_string())
        .chain(directories.iter().cloned())
        .map(|dir| Path::new(&dir).join("main.cf"))
        .collect();
    let samples = (0..21)
        .map(|_| {
            let begin = Instant::now();
            let mut bytes = 0;
            for file in &files {
                bytes += fs::read(file).map(|b| b.len()).unwrap_or(0);
            }
            std::hint::black_box(bytes);
            begin.elapsed()
        })
        .collect();
    median(samples)
}

/// The time to run the stand-in postfix once per instance, in turn.
fn spawn_floor(standin: &Path, instances: usize) -> Duration {
    let samples = (0..5)
        .map(|_| {
            let begin = Instant::now();
            for _ in 0..instances {
                let _ = Command::new(standin).arg("status").status();
            }
            begin.elapsed()
        })
        .collect();
    median(samples)
}

/// Peak RSS of one run of `argv`, measured by `bench --rss-of`: the median
/// of three runs.
fn peak_rss(argv: &[&str]) -> Figure {
    peak_rss_of_runs(argv, 3)
}

/// Peak RSS of `argv`, measured by `bench --rss-of`: the median of `runs`
/// runs.
fn peak_rss_of_runs(argv: &[&str], runs: usize) -> Figure {
    let me = match std::env::current_exe() {
        Ok(me) => me,
        Err(e) => return Figure::Failed(e.to_string()),
    };
    let mut samples = Vec::new();
    for _ in 0..runs {
        let output = Command::new(&me)
            .arg("--rss-of")
            .args(argv)
            .env_remove("MAIL_CONFIG")
            .output();
        let output = match output {
            Ok(output) if output.status.success() => output,
            Ok(output) => return Figure::Failed(output.status.to_string()),
            Err(e) => return Figure::Failed(e.to_string()),
        };
        match String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<i64>()
        {
            Ok(kib) => samples.push(kib),
            Err(e) => return Figure::Failed(e.to_string()),
        }
    }
    samples.sort_unstable();
    Figure::Kib(samples[samples.len() / 2])
}

/// Removes whatever a create of the extra instance left, so that the next
/// create starts from the same state.
fn clean_extra() {
    for dir in ["/etc", "/var/spool", "/var/lib"] {
        let _ = fs::remove_dir_all(format!("{dir}/{EXTRA}"));
    }
}

/// Times creating and destroying the extra instance with `binary`: returns
/// the create and destroy figures.
fn create_destroy(binary: &str, runs: Runs) -> (Figure, Figure) {
    let create = [binary, "-I", EXTRA, "-G", "x", "-e", "create"];
    let destroy = [binary, "-i", EXTRA, "-e", "destroy"];
    let once = ONCE;
    let (mut creates, mut destroys) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while creates.len() < runs.min || (creates.len() < runs.max && started.elapsed() < runs.budget)
    {
        clean_extra();
        match time_runs(&create, once, false).0 {
            Figure::Time(d) => creates.push(d),
            failed => {
                clean_extra();
                return (failed, Figure::Failed("no instance to destroy".into()));
            }
        }
        match time_runs(&destroy, once, false).0 {
            Figure::Time(d) => destroys.push(d),
            failed => {
                let _ = sh(REAL, &["-i", EXTRA, "-e", "destroy"]);
                clean_extra();
                return (Figure::Time(median(creates)), failed);
            }
        }
    }
    clean_extra();
    (
        Figure::Time(median(creates)),
        Figure::Time(median(destroys)),
    )
}

/// All measurements at one size.
fn measure_size(n: usize, ours: &Path, directories: &[String], standin: &Path) -> Result<Vec<Row>> {
    let ours = ours.to_str().ok_or("our binary's path is not UTF-8")?;
    let mut rows = Vec::new();
    let floor = read_floor(directories);
    let registered = sh("postconf", &["-h", "multi_instance_directories"])?.stdout;

    for (op, extra) in [("-l", vec![]), ("-l -g G", vec!["-g", LISTED_GROUP])] {
        let argv = |binary| {
            let mut argv = vec![binary, "-l"];
            argv.extend(extra.iter().copied());
            argv
        };
        let (real, real_out) = time_runs(&argv(REAL), SLOW, true);
        let (ours_figure, ours_out) = time_runs(&argv(ours), QUICK, true);
        compare(&format!("{op} at N={n}"), &real_out, &ours_out);
        rows.push(Row {
            op: op.to_string(),
            n,
            real,
            ours: ours_figure,
            floor: Some(floor),
        });
    }

    let (real_create, real_destroy) = create_destroy(REAL, SLOWEST);
    let (ours_create, ours_destroy) = create_destroy(ours, QUICK);
    rows.push(Row {
        op: "-e create".into(),
        n,
        real: real_create,
        ours: ours_create,
        floor: None,
    });
    rows.push(Row {
        op: "-e destroy".into(),
        n,
        real: real_destroy,
        ours: ours_destroy,
        floor: None,
    });
    let after = sh("postconf", &["-h", "multi_instance_directories"])?.stdout;
    if after != registered {
        return Err(format!(
            "multi_instance_directories changed by create and destroy at N={n}"
        ));
    }

    let standin_str = standin.to_str().ok_or("scratch path is not UTF-8")?;
    sh("mount", &["--bind", standin_str, POSTFIX])?;
    let (real, _) = time_runs(&[REAL, "-p", "status"], SLOW, true);
    let (ours_figure, _) = time_runs(&[ours, "-p", "status"], QUICK, true);
    let spawn = spawn_floor(standin, n + 1);
    sh("umount", &[POSTFIX])?;
    rows.push(Row {
        op: "-p status".into(),
        n,
        real,
        ours: ours_figure,
        floor: Some(floor + spawn),
    });

    rows.push(Row {
        op: "peak RSS -l".into(),
        n,
        real: peak_rss(&[REAL, "-l"]),
        ours: peak_rss(&[ours, "-l"]),
        floor: None,
    });
    Ok(rows)
}

/// How many instances the manifest measurement creates.
const MANIFEST_CREATES: usize = 100;

/// The instances the manifest measurement creates.
fn created_name(i: usize) -> String {
    format!("postfix-c{i:03}")
}

/// Times creating [`MANIFEST_CREATES`] instances: the real postmulti's
/// `-I NAME -e create` run once per instance, against one `--apply` of a
/// manifest naming them (and the template as it is); the host is put back
/// after each.
fn create_hundred(ours: &Path, scratch: &Path) -> Result<Vec<Row>> {
    let ours = ours.to_str().ok_or("our binary's path is not UTF-8")?;
    let primary = "/etc/postfix/main.cf";
    let saved = fs::read(primary).map_err(|e| format!("{primary}: {e}"))?;
    let undo = || -> Result<()> {
        fs::write(primary, &saved).map_err(|e| format!("{primary}: {e}"))?;
        for i in 0..MANIFEST_CREATES {
            for dir in ["/etc", "/var/spool", "/var/lib"] {
                let _ = fs::remove_dir_all(format!("{dir}/{}", created_name(i)));
            }
        }
        Ok(())
    };
    eprintln!("bench: {MANIFEST_CREATES} real creates");
    let started = Instant::now();
    for i in 0..MANIFEST_CREATES {
        sh(REAL, &["-I", &created_name(i), "-e", "create"])?;
    }
    let real = Figure::Time(started.elapsed());
    undo()?;
    let mut manifest = format!(
        "[[instance]]\nname = \"{TEMPLATE}\"\ngroup = \"{TEMPLATE_GROUP}\"\nenabled = true\n"
    );
    for i in 0..MANIFEST_CREATES {
        manifest.push_str(&format!(
            "[[instance]]\nname = \"{}\"\nenabled = false\n",
            created_name(i)
        ));
    }
    let file = scratch.join("create.toml");
    fs::write(&file, manifest).map_err(|e| format!("{}: {e}", file.display()))?;
    let file = file.to_str().ok_or("scratch path is not UTF-8")?;
    let mut samples = Vec::new();
    for _ in 0..SLOWEST.min {
        let begin = Instant::now();
        sh(ours, &["--apply", file])?;
        samples.push(begin.elapsed());
        undo()?;
    }
    Ok(vec![Row {
        op: format!(
            "create {MANIFEST_CREATES} (real: {MANIFEST_CREATES} × -e create; ours: one --apply)"
        ),
        n: 1,
        real,
        ours: Figure::Time(median(samples)),
        floor: None,
    }])
}

/// Times a no-op `--plan` and `--apply` of the host's exported manifest
/// against our own `-l` (in the "real" column) on the same host.
fn measure_manifest(n: usize, ours: &Path, scratch: &Path) -> Result<Vec<Row>> {
    let ours = ours.to_str().ok_or("our binary's path is not UTF-8")?;
    let file = scratch.join(format!("exported-{n}.toml"));
    let file = file.to_str().ok_or("scratch path is not UTF-8")?;
    sh(ours, &["--export", file])?;
    let (list, _) = time_runs(&[ours, "-l"], QUICK, true);
    let mut rows = Vec::new();
    for mode in ["--plan", "--apply"] {
        let (figure, output) = time_runs(&[ours, mode, file], QUICK, true);
        if output.is_some_and(|output| output.stdout != b"no changes\n") {
            return Err(format!(
                "{mode} of the exported manifest is not a no-op at N={n}"
            ));
        }
        rows.push(Row {
            op: format!("no-op {mode} (real column: ours -l)"),
            n,
            real: list.clone(),
            ours: figure,
            floor: None,
        });
    }
    Ok(rows)
}

/// Debian's systemd generator against ours at N instances, each run into a
/// fresh output directory on a tmpfs (systemd's `/run/systemd/generator` is
/// one); the floor is our `-l` at the same N.
fn measure_generator(n: usize, ours: &Path, scratch: &Path, rows: &[Row]) -> Result<Row> {
    let base = scratch.join("generator");
    fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    let base_str = base.to_str().ok_or("scratch path is not UTF-8")?;
    sh("mount", &["-t", "tmpfs", "tmpfs", base_str])?;
    let dir = base.join("out");
    let dir_str = dir.to_str().ok_or("scratch path is not UTF-8")?;
    let ours = ours.to_str().ok_or("our binary's path is not UTF-8")?;
    let real = time_fresh(&[DEBIAN_GENERATOR, dir_str, dir_str, dir_str], &dir, SLOW);
    let ours_figure = time_fresh(
        &[ours, "--systemd-generator", dir_str, dir_str, dir_str],
        &dir,
        QUICK,
    );
    let linked = fs::read_dir(dir.join("postfix.service.wants"))
        .map_err(|e| format!("{dir_str}: {e}"))?
        .count();
    sh("umount", &[base_str])?;
    if linked != n + 1 {
        return Err(format!("our generator linked {linked} units at N={n}"));
    }
    let list = rows.iter().find(|row| row.op == "-l" && row.n == n);
    Ok(Row {
        op: "--systemd-generator".into(),
        n,
        real,
        ours: ours_figure,
        floor: list.and_then(|row| match row.ours {
            Figure::Time(d) => Some(d),
            _ => None,
        }),
    })
}

/// The most secondaries `bench --listing` makes.
const LISTING_MAX: usize = 10_000;

/// Above this many secondaries the real postmulti (about 6 ms per
/// instance) is run once for its time and once for its peak RSS.
const REAL_REPEATED_UP_TO: usize = 1000;

/// Our listings that `bench --listing` measures, and whether the real
/// postmulti 3.7 has the same one.
const LISTINGS: &[(&str, &[&str], bool)] = &[
    ("-l", &["-l"], true),
    ("-l -j", &["-l", "-j"], false),
    ("-l --status", &["-l", "--status"], false),
    ("-l --queues", &["-l", "--queues"], false),
];

/// `bench --listing`: at each size (clones of a real instance, as for the
/// life-cycle bench: Debian's 27 KB `main.cf`, queue and data
/// directories), the time and peak RSS of each of [`LISTINGS`] for ours,
/// and of the real `-l`; the floor of `-l` is reading every main.cf in
/// process. With `ours_only` the real postmulti is not run.
fn bench_listing(sizes: &[usize], ours: &Path, ours_only: bool) -> Result<()> {
    let ours = ours.to_str().ok_or("our binary's path is not UTF-8")?;
    let template = prepare_primary_and_template(true)?;
    let mut directories = vec![format!("/etc/{TEMPLATE}")];
    let mut rows = Vec::new();
    for &n in sizes {
        let started = Instant::now();
        grow(&template, &mut directories, n)?;
        eprintln!("bench: N={n} (made in {})", human(started.elapsed()));
        let floor = read_floor(&directories);
        let real_runs = if n <= REAL_REPEATED_UP_TO { SLOW } else { ONCE };
        let real_rss_runs = if n <= REAL_REPEATED_UP_TO { 3 } else { 1 };
        for &(op, args, real_has_it) in LISTINGS {
            let argv = |binary| [&[binary][..], args].concat();
            let (ours_time, ours_out) = time_runs(&argv(ours), QUICK, true);
            let ours_rss = peak_rss(&argv(ours));
            let (real_time, real_rss) = if real_has_it && !ours_only {
                let (time, real_out) = time_runs(&argv(REAL), real_runs, n <= REAL_REPEATED_UP_TO);
                compare(&format!("{op} at N={n}"), &real_out, &ours_out);
                (time, peak_rss_of_runs(&argv(REAL), real_rss_runs))
            } else {
                (Figure::Absent, Figure::Absent)
            };
            rows.push(Row {
                op: op.to_string(),
                n,
                real: real_time,
                ours: ours_time,
                floor: (op == "-l").then_some(floor),
            });
            rows.push(Row {
                op: format!("peak RSS {op}"),
                n,
                real: real_rss,
                ours: ours_rss,
                floor: None,
            });
        }
    }
    print_table(&rows);
    Ok(())
}

/// Runs of each command in [`bench_generator`].
const GENERATOR_RUNS: usize = 41;

/// `--systemd-generator` and `-l` of ours at `n` secondaries (the template
/// enabled, so that every clone is linked), one after the other in each
/// round, the generator into a fresh directory on a tmpfs; prints the
/// medians and their ratio.
fn bench_generator(n: usize, ours: &Path, scratch: &Path) -> Result<()> {
    let template = prepare_primary_and_template(true)?;
    let mut directories = vec![format!("/etc/{TEMPLATE}")];
    grow(&template, &mut directories, n)?;
    let base = scratch.join("generator");
    fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    let base_str = base.to_str().ok_or("scratch path is not UTF-8")?;
    sh("mount", &["-t", "tmpfs", "tmpfs", base_str])?;
    let dir = base.join("out");
    let timed = |args: &[&std::ffi::OsStr]| -> Result<Duration> {
        let begin = Instant::now();
        let status = Command::new(ours)
            .args(args)
            .env_remove("MAIL_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("{}: {e}", ours.display()))?;
        let took = begin.elapsed();
        status
            .success()
            .then_some(took)
            .ok_or_else(|| format!("{} {args:?}: {status}", ours.display()))
    };
    let (mut lists, mut generators) = (Vec::new(), Vec::new());
    for round in 0..=GENERATOR_RUNS {
        let list = timed(&["-l".as_ref()])?;
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let generator = timed(&["--systemd-generator".as_ref(), dir.as_os_str()])?;
        if round > 0 {
            lists.push(list);
            generators.push(generator);
        }
    }
    let linked = fs::read_dir(dir.join("postfix.service.wants"))
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .count();
    sh("umount", &[base_str])?;
    if linked != n + 1 {
        return Err(format!("our generator linked {linked} units at N={n}"));
    }
    let (list, generator) = (median(lists), median(generators));
    println!("| op | N | ours median | our `-l` median | ratio |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| --systemd-generator | {n} | {} | {} | {:.2}× |",
        human(generator),
        human(list),
        generator.as_secs_f64() / list.as_secs_f64()
    );
    Ok(())
}

/// Times `argv` as [`time_runs`] does (after one warm-up run), with `dir`
/// made afresh (not timed) before each run.
fn time_fresh(argv: &[&str], dir: &Path, runs: Runs) -> Figure {
    let fresh = || {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir(dir)
    };
    let run = || -> std::io::Result<(Duration, bool)> {
        fresh()?;
        let begin = Instant::now();
        let output = Command::new(argv[0])
            .args(&argv[1..])
            .env_remove("MAIL_CONFIG")
            .stdin(Stdio::null())
            .output()?;
        Ok((
            begin.elapsed(),
            output.status.success() && output.stderr.is_empty(),
        ))
    };
    let _ = run();
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < runs.min || (samples.len() < runs.max && started.elapsed() < runs.budget)
    {
        match run() {
            Ok((took, true)) => samples.push(took),
            Ok((_, false)) => return Figure::Failed(format!("{} failed", argv[0])),
            Err(e) => return Figure::Failed(e.to_string()),
        }
    }
    Figure::Time(median(samples))
}

/// Prints the result table (markdown) and our time per instance.
fn print_table(rows: &[Row]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "| op | N | real median | ours median | ratio (real/ours) | floor |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for row in rows {
        let ratio = match (row.real.value(), row.ours.value()) {
            (Some(real), Some(ours)) if ours > 0.0 => {
                let ratio = real / ours;
                if ratio >= 10.0 {
                    format!("{ratio:.0}×")
                } else {
                    format!("{ratio:.2}×")
                }
            }
            _ => "-".into(),
        };
        let floor = row.floor.map_or("-".into(), human);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {ratio} | {floor} |",
            row.op, row.n, row.real, row.ours
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| op | N | ours per instance | ours marginal per instance | real per instance | real marginal per instance | ours / floor |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for op in ["-l", "-p status"] {
        let mut previous: Option<&Row> = None;
        for row in rows.iter().filter(|r| r.op == op) {
            let instances = row.n as u32 + 1;
            let per = |figure: &Figure| match figure {
                Figure::Time(d) => human(*d / instances),
                _ => "-".into(),
            };
            // The cost of each instance added since the previous size.
            let marginal = |pick: fn(&Row) -> &Figure| match (previous, pick(row)) {
                (Some(before), Figure::Time(now)) => match pick(before) {
                    Figure::Time(then) if row.n > before.n => {
                        let added = (row.n - before.n) as f64;
                        let secs = (now.as_secs_f64() - then.as_secs_f64()) / added;
                        if secs < 0.0 {
                            "~0".to_string()
                        } else {
                            human(Duration::from_secs_f64(secs))
                        }
                    }
                    _ => "-".into(),
                },
                _ => "-".into(),
            };
            let vs_floor = match (&row.ours, row.floor) {
                (Figure::Time(d), Some(floor)) if !floor.is_zero() => {
                    format!("{:.2}×", d.as_secs_f64() / floor.as_secs_f64())
                }
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {vs_floor} |",
                row.op,
                row.n,
                per(&row.ours),
                marginal(|r| &r.ours),
                per(&row.real),
                marginal(|r| &r.real),
            );
            previous = Some(row);
        }
    }
}

/// Where our postmulti remembers the arrival times of deferred messages.
const MEMO: &str = "/var/cache/postmulti/deferred-arrivals";

/// A single run.
const ONCE: Runs = Runs {
    min: 1,
    max: 1,
    budget: Duration::ZERO,
};

/// How many real messages are submitted to seed the queue benchmark.
const SEEDS: usize = 5;

/// One real deferred message of the template: its queue file and defer
/// log, with the queue file's owner, mode and modification time.
struct Seed {
    /// The queue file's bytes.
    queue_file: Vec<u8>,
    /// The defer log's bytes (the reasons postqueue shows).
    defer_log: Vec<u8>,
    /// Owner and group (postfix).
    owner: (u32, u32),
    /// The queue file's mode.
    mode: u32,
    /// The defer log's mode.
    log_mode: u32,
    /// The queue file's modification time (the next retry, in Postfix).
    modified: std::time::SystemTime,
}

/// `bench --queues`: `instances` instances (the template made by the real
/// postmulti and its clones; the primary too, empty), each holding
/// `messages` queued messages per measurement, in turn.
///
/// Submitting 100,000 messages with sendmail would take hours, so a few
/// real ones are made and copied: the template gets authorized submitters,
/// an unreachable relay and `defer_transports = smtp`, its master is started
/// (inside this PID and network namespace), [`SEEDS`] messages are
/// submitted with `sendmail` and wait until `postqueue -j` shows them all
/// deferred; then the master is stopped and the queue files and defer logs
/// are read and removed. Each instance then gets copies under fresh queue
/// ids of Postfix's short form (five hex digits of microseconds, then a hex
/// inode number, all unique), in the hashed subdirectory Postfix would use
/// (`deferred/X/ID`, X the first character of the id), with the seed's
/// owner, mode and modification time and its defer log: nine in ten
/// deferred, one in ten on hold (`postsuper -h` only renames the file). The
/// bench checks that `postqueue -j` lists every copy and that our counts
/// agree, before timing anything.
fn bench_queues(instances: usize, messages: &[usize], ours: &Path) -> Result<()> {
    let template = prepare_primary_and_template(false)?;
    let seeds = seed_messages()?;
    let mut directories = vec![format!("/etc/{TEMPLATE}")];
    grow(&template, &mut directories, instances)?;
    let queue_dirs: Vec<String> = directories
        .iter()
        .map(|dir| dir.replacen("/etc/", "/var/spool/", 1))
        .collect();
    let ours = ours.to_str().ok_or("our binary's path is not UTF-8")?;
    let mut rows = Vec::new();
    let mut held = 0;
    for &m in messages {
        eprintln!("bench: {instances} instances, {m} messages each");
        for dir in &queue_dirs {
            populate(Path::new(dir), held, m, &seeds)?;
        }
        held = m;
        rows.push(measure_queues(instances, m, ours, &queue_dirs)?);
    }
    print_queue_table(&rows);
    Ok(())
}

/// Real deferred messages: submitted to the template, deferred by its
/// master, harvested, then removed from its queue. The primary's master is
/// started and stopped first.
fn seed_messages() -> Result<Vec<Seed>> {
    let config = format!("/etc/{TEMPLATE}");
    sh(
        "postconf",
        &[
            "-c",
            &config,
            "-e",
            "authorized_submit_users = root",
            "relayhost = [127.0.0.1]:9",
            "defer_transports = smtp",
            "minimal_backoff_time = 3600s",
            "maximal_backoff_time = 3600s",
            "queue_run_delay = 3600s",
        ],
    )?;
    // The primary, never started, lacks what showq needs: one start and
    // stop completes its queue directory.
    sh("postfix", &["start"])?;
    sh("postfix", &["stop"])?;
    sh("postfix", &["-c", &config, "start"])?;
    for i in 0..SEEDS {
        let mut child = Command::new("sendmail")
            .args(["-C", &config, "-f", "sender@bench.example"])
            .arg(format!("rcpt{i}@example.com"))
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("sendmail: {e}"))?;
        let body = format!("Subject: bench seed {i}\n\nA queued message for the benchmark.\n");
        child
            .stdin
            .take()
            .ok_or("sendmail's stdin")?
            .write_all(body.as_bytes())
            .map_err(|e| format!("sendmail: {e}"))?;
        let status = child.wait().map_err(|e| format!("sendmail: {e}"))?;
        if !status.success() {
            return Err(format!("sendmail: {status}"));
        }
    }
    let started = Instant::now();
    loop {
        let listed = sh("postqueue", &["-c", &config, "-j"])?.stdout;
        let deferred = String::from_utf8_lossy(&listed)
            .matches("\"queue_name\": \"deferred\"")
            .count();
        if deferred == SEEDS {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("only {deferred} of {SEEDS} seed messages deferred"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    sh("postfix", &["-c", &config, "stop"])?;
    let queue = PathBuf::from(format!("/var/spool/{TEMPLATE}"));
    let mut seeds = Vec::new();
    for relative in queue_files(&queue.join("deferred"))? {
        let path = queue.join("deferred").join(&relative);
        let log = queue.join("defer").join(&relative);
        let queue_file = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let entry = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let read = |path: &Path| fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
        let meta = |path: &Path| {
            fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        seeds.push(Seed {
            queue_file,
            defer_log: read(&log)?,
            owner: (entry.uid(), entry.gid()),
            mode: entry.mode() & 0o7777,
            log_mode: meta(&log)?.mode() & 0o7777,
            modified: meta(&path)?
                .modified()
                .map_err(|e| format!("{}: {e}", path.display()))?,
        });
    }
    if seeds.len() != SEEDS {
        return Err(format!("{} seed queue files, not {SEEDS}", seeds.len()));
    }
    sh("postsuper", &["-c", &config, "-d", "ALL"])?;
    Ok(seeds)
}

/// A short queue id, unique for `k`: five hex digits of a microsecond
/// value, then a hex inode number.
fn queue_id(k: usize) -> String {
    format!("{:05X}{:07X}", (k * 104_729) % 1_000_000, 0x100_0000 + k)
}

/// Adds copies `from..to` of the seeds to the queue directory `queue`.
fn populate(queue: &Path, from: usize, to: usize, seeds: &[Seed]) -> Result<()> {
    let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    for k in from..to {
        let seed = &seeds[k % seeds.len()];
        let id = queue_id(k);
        let hash = &id[..1];
        let deferred = k % 10 != 9;
        let mut files = vec![];
        if deferred {
            files.push((
                queue.join("deferred").join(hash),
                &seed.queue_file,
                seed.mode,
            ));
            files.push((
                queue.join("defer").join(hash),
                &seed.defer_log,
                seed.log_mode,
            ));
        } else {
            files.push((queue.join("hold"), &seed.queue_file, seed.mode));
        }
        for (dir, bytes, mode) in files {
            if !dir.exists() {
                fs::create_dir(&dir)
                    .and_then(|()| {
                        std::os::unix::fs::chown(&dir, Some(seed.owner.0), Some(seed.owner.1))
                    })
                    .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)))
                    .map_err(|e| io(&dir, e))?;
            }
            let path = dir.join(&id);
            let file = fs::File::create(&path).map_err(|e| io(&path, e))?;
            (&file)
                .write_all(bytes)
                .and_then(|()| {
                    std::os::unix::fs::fchown(&file, Some(seed.owner.0), Some(seed.owner.1))
                })
                .and_then(|()| file.set_permissions(fs::Permissions::from_mode(mode)))
                .and_then(|()| file.set_modified(seed.modified))
                .map_err(|e| io(&path, e))?;
        }
    }
    Ok(())
}

/// One measurement of the queue benchmark.
struct QueueRow {
    /// Instances holding messages (the primary, empty, is one more).
    instances: usize,
    /// Messages per instance.
    messages: usize,
    /// The real `postmulti -x postqueue -j`.
    real: Figure,
    /// Our `--metrics`.
    metrics: Figure,
    /// Our `-l --queues -j`.
    listing: Figure,
    /// Our `--metrics` without its memo of arrival times (every deferred
    /// file opened).
    cold: Figure,
    /// Reading every queue directory and examining every file in process.
    floor: Duration,
}

/// Times the real and our queue counts at one size; first checks that
/// postqueue lists every message and that ours counts the same.
fn measure_queues(
    instances: usize,
    messages: usize,
    ours: &str,
    queue_dirs: &[String],
) -> Result<QueueRow> {
    let expected = instances * messages;
    let (real, real_out) = time_runs(&[REAL, "-x", "postqueue", "-j"], SLOW, true);
    if let Some(out) = &real_out {
        let listed = out
            .stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        if listed != expected {
            return Err(format!(
                "postqueue -j listed {listed} messages, not {expected}"
            ));
        }
    }
    let (metrics, metrics_out) = time_runs(&[ours, "--metrics"], QUICK, true);
    let counted: u64 = metrics_out
        .as_ref()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|line| line.starts_with("postmulti_queue_messages{"))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    if counted != expected as u64 {
        return Err(format!(
            "--metrics counted {counted} messages, not {expected}"
        ));
    }
    let (listing, _) = time_runs(&[ours, "-l", "--queues", "-j"], QUICK, true);
    let mut cold = Vec::new();
    for _ in 0..3 {
        let _ = fs::remove_file(MEMO);
        match time_runs(&[ours, "--metrics"], ONCE, false).0 {
            Figure::Time(d) => cold.push(d),
            failed => return Err(format!("--metrics without a memo: {failed}")),
        }
    }
    Ok(QueueRow {
        instances,
        messages,
        real,
        metrics,
        listing,
        cold: Figure::Time(median(cold)),
        floor: walk_floor(queue_dirs),
    })
}

/// The time to list every queue directory and `lstat` every entry in
/// process, on one thread: the median of 5 rounds.
fn walk_floor(queue_dirs: &[String]) -> Duration {
    let samples = (0..5)
        .map(|_| {
            let begin = Instant::now();
            let mut files = 0usize;
            let mut pending: Vec<PathBuf> = queue_dirs
                .iter()
                .flat_map(|dir| {
                    [
                        "incoming", "active", "deferred", "hold", "maildrop", "corrupt",
                    ]
                    .map(|queue| Path::new(dir).join(queue))
                })
                .collect();
            while let Some(dir) = pending.pop() {
                for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                    match fs::symlink_metadata(entry.path()) {
                        Ok(meta) if meta.is_dir() => pending.push(entry.path()),
                        Ok(_) => files += 1,
                        Err(_) => {}
                    }
                }
            }
            std::hint::black_box(files);
            begin.elapsed()
        })
        .collect();
    median(samples)
}

/// Prints the queue benchmark's table (markdown).
fn print_queue_table(rows: &[QueueRow]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "| instances × messages | queue files | real `postmulti -x postqueue -j` | ours `--metrics` | ratio | ours `-l --queues -j` | ours `--metrics`, no memo | ratio | floor | ours per message | ours marginal per message |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut previous: Option<&QueueRow> = None;
    for row in rows {
        let total = row.instances * row.messages;
        let ratio = |ours: &Figure| match (row.real.value(), ours.value()) {
            (Some(real), Some(ours)) if ours > 0.0 => format!("{:.0}×", real / ours),
            _ => "-".into(),
        };
        let per = match &row.metrics {
            Figure::Time(d) if total > 0 => human(*d / total as u32),
            _ => "-".into(),
        };
        let marginal = match (previous, &row.metrics) {
            (Some(before), Figure::Time(now)) => match &before.metrics {
                Figure::Time(then) if row.messages > before.messages => {
                    let added = ((row.messages - before.messages) * row.instances) as f64;
                    let secs = (now.as_secs_f64() - then.as_secs_f64()) / added;
                    human(Duration::from_secs_f64(secs.max(0.0)))
                }
                _ => "-".into(),
            },
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| {} × {} | {total} | {} | {} | {} | {} | {} | {} | {} | {per} | {marginal} |",
            row.instances,
            row.messages,
            row.real,
            row.metrics,
            ratio(&row.metrics),
            row.listing,
            row.cold,
            ratio(&row.cold),
            human(row.floor),
        );
        previous = Some(row);
    }
}

/// The regular files below `dir`, as paths relative to it, sorted.
fn queue_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let path = dir.join(&relative);
        let entries = fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
            let kind = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let child = relative.join(entry.file_name());
            if kind.is_dir() {
                pending.push(child);
            } else if kind.is_file() {
                files.push(child);
            }
        }
    }
    files.sort();
    Ok(files)
}
