//! Reliability of the life-cycle actions under concurrency, crashes and a
//! stuck lock, in sandbox primaries (`postmulti -c DIR`, root for the
//! owners), where the real postmulti is known to lose updates:
//!
//! - 50 parallel `-e create` register every instance exactly once;
//! - parallel enables, disables, destroys and creates lose nothing;
//! - `kill -9` at random moments of create, destroy and assign (100 trials
//!   each) leaves a primary main.cf that postmulti and postconf read, and
//!   running the same command again converges to what a clean run gives,
//!   with no temp file left behind;
//! - a lock held by a stuck process makes an action wait, and after
//!   `--lock-timeout` seconds (60 by default; that test is ignored for its
//!   length) fail with a clear message, changing nothing.
//!
//! The random delays come from a xorshift generator seeded from the clock;
//! the seed is printed so that a failure can be replayed with
//! `RELIABILITY_SEED=N`.

use postmulti_e2e::sandbox::{self, Sandbox};
use postmulti_e2e::tree::{Content, Tree};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Trials per action in the kill -9 tests.
const TRIALS: usize = 100;

/// A sandbox primary after `postmulti -e init`.
fn initialised() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox::assert_success(&sandbox.run(&["-e", "init"]));
    sandbox
}

/// Starts postmulti with `args` in the background, output captured.
fn spawn(sandbox: &Sandbox, args: &[String]) -> Child {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start postmulti")
}

/// Runs all `commands` at once and waits for all of them.
fn run_parallel(sandbox: &Sandbox, commands: &[Vec<String>]) -> Vec<Output> {
    let children: Vec<Child> = commands.iter().map(|args| spawn(sandbox, args)).collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().expect("wait for postmulti"))
        .collect()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

/// Asserts every output is a success, naming the failures.
fn assert_all_succeeded(what: &str, commands: &[Vec<String>], outputs: &[Output]) {
    let failures: Vec<String> = commands
        .iter()
        .zip(outputs)
        .filter(|(_, output)| !output.status.success())
        .map(|(args, output)| {
            format!(
                "postmulti {}: {} {}",
                args.join(" "),
                output.status,
                sandbox::stderr(output)
            )
        })
        .collect();
    assert!(failures.is_empty(), "{what}:\n{}", failures.join("\n"));
}

/// Runs `postconf -c PRIMARY ARGS`. The primary's main.cf is first given
/// a modification time 10 s in the past: Postfix waits until a
/// configuration file is at least a second old ("file is being
/// written"), which would cost seconds per call right after each change.
fn postconf(sandbox: &Sandbox, words: &[&str]) -> Output {
    let main_cf = sandbox.path("etc/postfix/main.cf");
    std::fs::File::options()
        .write(true)
        .open(&main_cf)
        .and_then(|file| file.set_modified(std::time::SystemTime::now() - Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("backdate {}: {e}", main_cf.display()));
    Command::new("postconf")
        .args(["-c", &sandbox.primary()])
        .args(words)
        .output()
        .expect("run postconf")
}

/// The primary's `multi_instance_directories` as `postconf -h` shows it,
/// split.
fn registered(sandbox: &Sandbox) -> Vec<String> {
    let output = postconf(sandbox, &["-h", "multi_instance_directories"]);
    assert!(output.status.success(), "{}", sandbox::stderr(&output));
    sandbox::stdout(&output)
        .split([' ', ',', '\t', '\n'])
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}

/// Asserts that the primary is readable: `postmulti -l` and `postconf -n`
/// both succeed without a word on stderr, and main.cf has at most one
/// `multi_instance_directories` line.
fn assert_primary_valid(sandbox: &Sandbox, context: &str) {
    let list = sandbox.run(&["-l"]);
    assert!(
        list.status.success() && list.stderr.is_empty(),
        "{context}: postmulti -l: {} {}",
        list.status,
        sandbox::stderr(&list)
    );
    let postconf = postconf(sandbox, &["-n"]);
    assert!(
        postconf.status.success() && postconf.stderr.is_empty(),
        "{context}: postconf -n: {} {}",
        postconf.status,
        sandbox::stderr(&postconf)
    );
    let lines = sandbox
        .main_cf()
        .lines()
        .filter(|line| line.starts_with("multi_instance_directories"))
        .count();
    assert!(
        lines <= 1,
        "{context}: {lines} multi_instance_directories lines"
    );
}

/// The instance's config, queue and data directories (`etc/NAME`,
/// `spool/NAME`, `lib/NAME`) in the form trees compare in
/// ([`Tree::comparable`]: types, modes, owners and contents, main.cf as its
/// sorted lines), by path below the sandbox, with the name shown as
/// `@NAME@` in paths and file contents; temp files of atomic writes
/// included.
fn instance_tree(sandbox: &Sandbox, name: &str) -> Tree {
    let roots: Vec<PathBuf> = ["etc", "spool", "lib"]
        .iter()
        .map(|top| sandbox.path(&format!("{top}/{name}")))
        .collect();
    let nodes = Tree::of_roots(&roots)
        .nodes
        .into_iter()
        .map(|(path, mut node)| {
            if let Content::File(bytes) = &mut node.content {
                *bytes = String::from_utf8_lossy(bytes)
                    .replace(name, "@NAME@")
                    .into_bytes();
            }
            let relative = path
                .strip_prefix(sandbox.root())
                .expect("below the sandbox");
            let shown = relative.to_string_lossy().replace(name, "@NAME@");
            (PathBuf::from(shown), node)
        })
        .collect();
    Tree { nodes }.comparable()
}

/// A xorshift64 generator; no rand crate needed.
struct XorShift(u64);

impl XorShift {
    fn seeded(what: &str) -> XorShift {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970")
                    .as_nanos();
                (nanos as u64) | 1
            });
        eprintln!("{what}: RELIABILITY_SEED={seed}");
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A delay in `0..max`.
    fn delay(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next() % micros)
    }
}

/// Runs postmulti with `args`, killing it with SIGKILL after `delay` if it
/// is still running. Returns whether it was killed before it finished.
fn run_and_kill(sandbox: &Sandbox, args: &[String], delay: Duration) -> bool {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = sandbox
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postmulti");
    thread::sleep(delay);
    let finished = child.try_wait().expect("poll postmulti").is_some();
    if !finished {
        child.kill().expect("kill -9 postmulti");
    }
    let status = child.wait().expect("wait for postmulti");
    !finished && !status.success()
}

/// How long a clean run of `args` takes; the kill delays range over twice
/// that.
fn clean_duration(sandbox: &Sandbox, args: &[&str]) -> Duration {
    let start = Instant::now();
    sandbox::assert_success(&sandbox.run(args));
    start.elapsed()
}

fn fifty_parallel_creates_register_each_instance_once() {
    let sandbox = initialised();
    let names: Vec<String> = (0..50).map(|i| format!("postfix-p{i:02}")).collect();
    let commands: Vec<Vec<String>> = names
        .iter()
        .map(|name| args(&["-I", name, "-G", "par", "-e", "create"]))
        .collect();
    let outputs = run_parallel(&sandbox, &commands);
    assert_all_succeeded("parallel creates", &commands, &outputs);

    let dirs = registered(&sandbox);
    let expected: BTreeSet<String> = names
        .iter()
        .map(|name| format!("{}/etc/{name}", sandbox.root_str()))
        .collect();
    assert_eq!(dirs.len(), 50, "registered: {dirs:?}");
    assert_eq!(dirs.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_primary_valid(&sandbox, "after parallel creates");
    let listing = sandbox::assert_success(&sandbox.run(&["-l", "-g", "par"]));
    assert_eq!(listing.lines().count(), 50, "{listing}");
    for name in &names {
        let main_cf = sandbox.read(&format!("etc/{name}/main.cf"));
        assert_eq!(
            sandbox::entry(&main_cf, "multi_instance_name").as_deref(),
            Some(name.as_str())
        );
        assert!(sandbox.path(&format!("spool/{name}/pid")).is_dir());
    }
}

fn parallel_enables_disables_destroys_and_creates_lose_nothing() {
    let sandbox = initialised();
    let old: Vec<String> = (0..30).map(|i| format!("postfix-o{i:02}")).collect();
    let new: Vec<String> = (0..15).map(|i| format!("postfix-n{i:02}")).collect();
    let (doomed, kept) = old.split_at(15);
    let each = |names: &[String], words: &[&str]| -> Vec<Vec<String>> {
        names
            .iter()
            .map(|name| {
                let mut command = args(&["-i", name]);
                command.extend(args(words));
                command
            })
            .collect()
    };

    let creates: Vec<Vec<String>> = old
        .iter()
        .map(|name| args(&["-I", name, "-e", "create"]))
        .collect();
    assert_all_succeeded("creates", &creates, &run_parallel(&sandbox, &creates));
    let enables = each(&old, &["-e", "enable"]);
    assert_all_succeeded("enables", &enables, &run_parallel(&sandbox, &enables));
    let disables = each(doomed, &["-e", "disable"]);
    assert_all_succeeded("disables", &disables, &run_parallel(&sandbox, &disables));

    // Destroys and new creates, all at once.
    let mut mixed = each(doomed, &["-e", "destroy"]);
    mixed.extend(new.iter().map(|name| args(&["-I", name, "-e", "create"])));
    assert_all_succeeded(
        "destroys and creates",
        &mixed,
        &run_parallel(&sandbox, &mixed),
    );

    assert_primary_valid(&sandbox, "after parallel destroys and creates");
    let dirs: BTreeSet<String> = registered(&sandbox).into_iter().collect();
    let expected: BTreeSet<String> = kept
        .iter()
        .chain(&new)
        .map(|name| format!("{}/etc/{name}", sandbox.root_str()))
        .collect();
    assert_eq!(dirs, expected);
    assert_eq!(registered(&sandbox).len(), 30);
    for name in doomed {
        for top in ["etc", "spool", "lib"] {
            let path = sandbox.path(&format!("{top}/{name}"));
            assert!(!path.exists(), "{} was not removed", path.display());
        }
    }
    let listing = sandbox::assert_success(&sandbox.run(&["-l"]));
    for name in kept {
        assert!(
            listing
                .lines()
                .any(|line| line.starts_with(name.as_str()) && line.contains(" y ")),
            "{name} is not listed as enabled:\n{listing}"
        );
    }
    for name in &new {
        assert!(
            listing
                .lines()
                .any(|line| line.starts_with(name.as_str()) && line.contains(" n ")),
            "{name} is not listed:\n{listing}"
        );
    }
}

/// Kills `-e create` at random moments, `TRIALS` times (a new name each
/// time), and checks that the primary stays valid and that running the
/// same create again registers the instance exactly once and leaves what a
/// clean create leaves, temp files included.
fn create_trials(test: &str) {
    let sandbox = initialised();
    let mut random = XorShift::seeded(test);
    let clean = clean_duration(&sandbox, &["-I", "postfix-ref", "-G", "g", "-e", "create"]);
    let reference = instance_tree(&sandbox, "postfix-ref");
    let max = (clean * 2).max(Duration::from_millis(2));
    let mut killed = 0;
    let mut failures = Vec::new();
    for trial in 0..TRIALS {
        let name = format!("postfix-k{trial:03}");
        let command = args(&["-I", &name, "-G", "g", "-e", "create"]);
        let delay = random.delay(max);
        killed += usize::from(run_and_kill(&sandbox, &command, delay));
        let context = format!("create {name} killed after {delay:?}");
        assert_primary_valid(&sandbox, &context);

        // Running it again completes it, or finds it complete.
        let again = sandbox.run(&command.iter().map(String::as_str).collect::<Vec<_>>());
        let again = format!("{} {}", again.status, sandbox::stderr(&again).trim());
        let dir = format!("{}/etc/{name}", sandbox.root_str());
        let count = registered(&sandbox).iter().filter(|d| **d == dir).count();
        assert_eq!(
            count, 1,
            "{context}: the re-run ({again}) left it registered {count} times"
        );
        let differences = reference.differences(&instance_tree(&sandbox, &name));
        if !differences.is_empty() {
            failures.push(format!(
                "{context}: the re-run ({again}) did not give what a clean run gives \
                 (from the clean run to this one):\n{}",
                differences.join("\n")
            ));
        }
    }
    eprintln!(
        "{test}: {killed} of {TRIALS} runs killed before they finished (clean run {clean:?})"
    );
    assert!(killed > 0, "no run was killed: the delays are too long");
    assert_primary_valid(&sandbox, "after all trials");
    let listing = sandbox::assert_success(&sandbox.run(&["-l", "-g", "g"]));
    assert_eq!(listing.lines().count(), TRIALS + 1);
    assert!(
        failures.is_empty(),
        "{} of {TRIALS} trials did not converge:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn create_killed_at_random_moments_leaves_no_temp_file() {
    create_trials("create_killed_at_random_moments_leaves_no_temp_file");
}

/// Kills `-e destroy` at random moments, `TRIALS` times (a new instance
/// each time), and checks that the primary stays valid, that running the
/// same destroy again leaves the instance unregistered and its directories
/// gone, as after a clean destroy.
fn destroy_trials(test: &str) {
    let sandbox = initialised();
    let mut random = XorShift::seeded(test);
    let names: Vec<String> = (0..TRIALS).map(|i| format!("postfix-d{i:03}")).collect();
    for name in &names {
        sandbox::assert_success(&sandbox.run(&["-I", name, "-e", "create"]));
    }
    sandbox::assert_success(&sandbox.run(&["-I", "postfix-keep", "-e", "create"]));
    let kept = instance_tree(&sandbox, "postfix-keep");
    let clean = clean_duration(&sandbox, &["-i", "postfix-keep", "-e", "destroy"]);
    assert!(instance_tree(&sandbox, "postfix-keep").nodes.is_empty());
    sandbox::assert_success(&sandbox.run(&["-I", "postfix-keep", "-e", "create"]));
    let max = (clean * 2).max(Duration::from_millis(2));
    let mut killed = 0;
    let mut unfinished = Vec::new();
    for name in &names {
        let command = args(&["-i", name, "-e", "destroy"]);
        let delay = random.delay(max);
        killed += usize::from(run_and_kill(&sandbox, &command, delay));
        let context = format!("destroy {name} killed after {delay:?}");
        assert_primary_valid(&sandbox, &context);

        let again = sandbox.run(&command.iter().map(String::as_str).collect::<Vec<_>>());
        let again = format!("{} {}", again.status, sandbox::stderr(&again).trim());
        let dir = format!("{}/etc/{name}", sandbox.root_str());
        assert!(
            !registered(&sandbox).contains(&dir),
            "{context}: still registered after the re-run ({again})"
        );
        let left: Vec<PathBuf> = ["etc", "spool", "lib"]
            .iter()
            .map(|top| sandbox.path(&format!("{top}/{name}")))
            .filter(|path| path.exists())
            .collect();
        if !left.is_empty() {
            unfinished.push(format!("{context}: the re-run ({again}) left {left:?}"));
        }
    }
    eprintln!(
        "{test}: {killed} of {TRIALS} runs killed before they finished (clean run {clean:?})"
    );
    assert!(killed > 0, "no run was killed: the delays are too long");
    assert_primary_valid(&sandbox, "after all trials");
    assert_eq!(instance_tree(&sandbox, "postfix-keep"), kept);
    assert_eq!(registered(&sandbox).len(), 1);
    assert!(
        unfinished.is_empty(),
        "{} of {TRIALS} destroys did not converge:\n{}",
        unfinished.len(),
        unfinished.join("\n")
    );
}

fn destroy_killed_at_random_moments_converges() {
    destroy_trials("destroy_killed_at_random_moments_converges");
}

fn assign_killed_at_random_moments_converges() {
    let sandbox = initialised();
    let mut random = XorShift::seeded("assign_killed_at_random_moments_converges");
    let names: Vec<String> = (0..TRIALS).map(|i| format!("postfix-a{i:03}")).collect();
    for name in &names {
        sandbox::assert_success(&sandbox.run(&["-I", name, "-G", "old", "-e", "create"]));
    }
    sandbox::assert_success(&sandbox.run(&["-I", "postfix-ref", "-G", "old", "-e", "create"]));
    let clean = clean_duration(
        &sandbox,
        &[
            "-i",
            "postfix-ref",
            "-I",
            "postfix-bref",
            "-G",
            "new",
            "-e",
            "assign",
        ],
    );
    let reference = sandbox.read("etc/postfix-ref/main.cf");
    let max = (clean * 2).max(Duration::from_millis(2));
    let mut killed = 0;
    for (trial, name) in names.iter().enumerate() {
        let renamed = format!("postfix-b{trial:03}");
        let command = args(&["-i", name, "-I", &renamed, "-G", "new", "-e", "assign"]);
        let delay = random.delay(max);
        killed += usize::from(run_and_kill(&sandbox, &command, delay));
        let context = format!("assign {name} killed after {delay:?}");
        assert_primary_valid(&sandbox, &context);

        let again = sandbox.run(&command.iter().map(String::as_str).collect::<Vec<_>>());
        let listing = sandbox::assert_success(&sandbox.run(&["-l", "-i", &renamed]));
        assert_eq!(
            listing,
            sandbox::listing_line(
                &renamed,
                "new",
                "n",
                &format!("{}/etc/{name}", sandbox.root_str())
            ),
            "{context}: the re-run ({}: {})",
            again.status,
            sandbox::stderr(&again)
        );
        let main_cf = sandbox.read(&format!("etc/{name}/main.cf"));
        assert_eq!(
            main_cf
                .replace(name.as_str(), "postfix-ref")
                .replace(&renamed, "postfix-bref"),
            reference,
            "{context}: main.cf differs from a clean run's"
        );
    }
    eprintln!(
        "assign: {killed} of {TRIALS} runs killed before they finished (clean run {clean:?})"
    );
    assert!(killed > 0, "no run was killed: the delays are too long");
}

/// `flock -o DIR sleep SECONDS` in its own process group, once it holds
/// the lock; killed (group and all) on drop.
struct LockHolder(Child);

impl LockHolder {
    fn hold(dir: &str, seconds: u32) -> LockHolder {
        let child = Command::new("flock")
            .args(["--exclusive", "--close", dir, "sleep", &seconds.to_string()])
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .expect("run flock");
        let holder = LockHolder(child);
        let start = Instant::now();
        loop {
            let probe = Command::new("flock")
                .args(["--nonblock", "--exclusive", dir, "true"])
                .status()
                .expect("run flock");
            if !probe.success() {
                return holder;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "flock never took {dir}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

fn an_action_waits_for_the_lock_and_a_listing_does_not() {
    let sandbox = initialised();
    let holder = LockHolder::hold(&sandbox.primary(), 60);
    let start = Instant::now();
    let create = spawn(&sandbox, &args(&["-I", "postfix-w", "-e", "create"]));
    let listing = sandbox.run(&["-l"]);
    assert!(listing.status.success(), "{}", sandbox::stderr(&listing));
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "-l waited for the lock: {:?}",
        start.elapsed()
    );
    thread::sleep(Duration::from_millis(1500));
    assert!(
        registered(&sandbox).is_empty(),
        "create did not wait for the lock"
    );
    drop(holder);
    let output = create.wait_with_output().expect("wait for create");
    assert!(output.status.success(), "{}", sandbox::stderr(&output));
    assert!(start.elapsed() >= Duration::from_millis(1500));
    assert_eq!(
        registered(&sandbox),
        [format!("{}/etc/postfix-w", sandbox.root_str())]
    );
}

/// Runs `-e create` with the lock held by a stuck process, with
/// `extra` options; asserts the clear timeout error after `seconds` and an
/// untouched sandbox.
fn stuck_lock(extra: &[&str], seconds: u64) {
    let sandbox = initialised();
    let before = sandbox.snapshot();
    let _holder = LockHolder::hold(&sandbox.primary(), seconds as u32 + 30);
    let mut words = extra.to_vec();
    words.extend(["-I", "postfix-t", "-e", "create"]);
    let start = Instant::now();
    let output = sandbox.run(&words);
    let waited = start.elapsed();
    sandbox::assert_fatal(
        &output,
        &format!(
            "timed out after {seconds}s waiting for the lock on {}: \
             another postmulti is changing the instance registry",
            sandbox.primary()
        ),
    );
    let limit = Duration::from_secs(seconds);
    assert!(
        (limit..limit + Duration::from_secs(5)).contains(&waited),
        "waited {waited:?}"
    );
    sandbox.assert_unchanged(&before);
}

fn a_stuck_lock_gives_a_clear_timeout_error() {
    stuck_lock(&["--lock-timeout", "2"], 2);
}

fn a_stuck_lock_times_out_after_60_seconds_by_default() {
    stuck_lock(&[], 60);
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        fifty_parallel_creates_register_each_instance_once,
        parallel_enables_disables_destroys_and_creates_lose_nothing,
        create_killed_at_random_moments_leaves_no_temp_file,
        destroy_killed_at_random_moments_converges,
        assign_killed_at_random_moments_converges,
        an_action_waits_for_the_lock_and_a_listing_does_not,
        a_stuck_lock_gives_a_clear_timeout_error,
    ];
    #[ignore = "takes 60 s, the default lock timeout"] RootAndPostfix: [
        a_stuck_lock_times_out_after_60_seconds_by_default,
    ];
}
