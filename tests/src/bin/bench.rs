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

use nix::sys::resource::{getrusage, UsageWho};
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
enum Figure {
    /// The median of several timed runs.
    Time(Duration),
    /// Peak resident set size, in KiB.
    Kib(i64),
    /// The command failed.
    Failed(String),
}

impl Figure {
    /// The figure as a number for ratios (seconds or KiB).
    fn value(&self) -> Option<f64> {
        match self {
            Figure::Time(d) => Some(d.as_secs_f64()),
            Figure::Kib(k) => Some(*k as f64),
            Figure::Failed(_) => None,
        }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Figure::Time(d) => f.write_str(&human(*d)),
            Figure::Kib(k) => write!(f, "{k} KiB"),
            Figure::Failed(why) => write!(f, "failed ({why})"),
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

/// Checks the setup, enters the namespace, and runs the benchmark there.
fn run(args: &[String]) -> Result<()> {
    let sizes = parse_sizes(&args[1..])?;
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
    bench(&sizes, &ours)
}

/// `--sizes 10,100,1000` (the default).
fn parse_sizes(args: &[String]) -> Result<Vec<usize>> {
    let mut sizes = vec![10, 100, 1000];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let list = match arg.as_str() {
            "--sizes" => args.next().ok_or("--sizes needs a value")?.clone(),
            other => match other.strip_prefix("--sizes=") {
                Some(list) => list.to_string(),
                None => return Err(format!("usage: bench [--sizes 10,100,1000] (not {other})")),
            },
        };
        sizes = list
            .split(',')
            .map(|n| n.trim().parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| format!("--sizes {list}: {e}"))?;
    }
    if sizes.iter().any(|&n| n == 0 || n > 9999) {
        return Err("sizes must be between 1 and 9999".into());
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
fn bench(sizes: &[usize], ours: &Path) -> Result<()> {
    let scratch = tempfile::Builder::new()
        .prefix("postmulti-bench.")
        .tempdir()
        .map_err(|e| format!("scratch directory: {e}"))?;
    bench_in_sandbox(sizes, ours, scratch.path())
}

/// One file or directory of an instance's queue or data directory.
struct Entry {
    /// Its path below the copied directory ("" for the directory itself).
    relative: PathBuf,
    /// Its mode bits.
    mode: u32,
    /// Its owner.
    uid: u32,
    /// Its group.
    gid: u32,
    /// A file's contents; `None` for a directory.
    contents: Option<Vec<u8>>,
}

/// Everything below `root` (directories and regular files), parents first.
fn snapshot(root: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let path = root.join(&relative);
        let meta = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let contents = if meta.is_dir() {
            let mut children: Vec<PathBuf> = fs::read_dir(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok())
                .map(|entry| relative.join(entry.file_name()))
                .collect();
            children.sort();
            pending.extend(children.into_iter().rev());
            None
        } else if meta.is_file() {
            Some(fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?)
        } else {
            continue;
        };
        entries.push(Entry {
            relative,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            contents,
        });
    }
    Ok(entries)
}

/// Recreates a snapshot at `root`, owners and modes included.
fn restore(entries: &[Entry], root: &Path) -> Result<()> {
    for entry in entries {
        let path = root.join(&entry.relative);
        let made = match &entry.contents {
            None => fs::create_dir(&path),
            Some(contents) => fs::write(&path, contents),
        };
        made.and_then(|()| std::os::unix::fs::chown(&path, Some(entry.uid), Some(entry.gid)))
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(entry.mode)))
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
    queue: Vec<Entry>,
    /// Its data directory tree.
    data: Vec<Entry>,
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
            queue: snapshot(Path::new(&format!("/var/spool/{TEMPLATE}")))?,
            data: snapshot(Path::new(&format!("/var/lib/{TEMPLATE}")))?,
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
    eprintln!("bench: postmulti -e init; real create of {TEMPLATE}");
    sh(REAL, &["-e", "init"])?;
    sh(
        REAL,
        &["-I", TEMPLATE, "-G", TEMPLATE_GROUP, "-e", "create"],
    )?;
    // Enabled, so that the systemd generators link every clone.
    sh(REAL, &["-i", TEMPLATE, "-e", "enable"])?;
    let template = Template::read()?;
    let standin = scratch.join("postfix-standin");
    fs::write(&standin, "#!/bin/sh\nexit 0\n")
        .and_then(|()| fs::set_permissions(&standin, fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("{}: {e}", standin.display()))?;

    let mut directories = vec![format!("/etc/{TEMPLATE}")];
    let mut rows = Vec::new();
    for &n in sizes {
        while directories.len() < n {
            let (name, group) = clone_name(directories.len());
            template.clone_as(&name, &group)?;
            directories.push(format!("/etc/{name}"));
        }
        let setting = format!("multi_instance_directories = {}", directories.join(" "));
        sh("postconf", &["-e", &setting])?;
        eprintln!("bench: N={n}");
        rows.extend(measure_size(n, ours, &directories, &standin)?);
        rows.push(measure_generator(n, ours, scratch, &rows)?);
    }
    print_table(&rows);
    Ok(())
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
    let me = match std::env::current_exe() {
        Ok(me) => me,
        Err(e) => return Figure::Failed(e.to_string()),
    };
    let mut samples = Vec::new();
    for _ in 0..3 {
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
    Figure::Kib(samples[1])
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
    let once = Runs {
        min: 1,
        max: 1,
        budget: Duration::ZERO,
    };
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
