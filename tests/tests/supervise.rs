//! `postmulti --supervise` with real master daemons, in private mount and
//! pid namespaces: every selected enabled instance runs within seconds as
//! a child of the supervisor; SIGHUP reloads them (same pids, reloads
//! logged); SIGTERM stops them all and exits 0; a master killed with
//! SIGKILL stops the rest and fails naming the instance; as process 1 of
//! its own pid namespace it leaves no zombie behind. On a sandbox: a pid
//! file planted as a link to a FIFO is not read, a quick-start link is
//! no shortcut past `postfix check`, and a missing
//! daemon_directory or master fails with its path.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use postmulti_e2e::namespace::{self, Flavour, Outcome};
use postmulti_e2e::sandbox::{assert_success, stderr, stdout, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Sets up four secondaries (`postfix-a`, `-b`, `-c` enabled, `-d`
/// disabled; a, b in group `mta`), and defines `masters`, which prints
/// `INSTANCE PID PARENT` for each running master (outer pids), and
/// `wait_running N`, which waits up to 30 s for N running masters.
const HOST: &str = r#"
postmulti -e init
for n in a b c d; do
    group=; case $n in a|b) group="-G mta";; esac
    postmulti -I postfix-$n $group -e create || exit 1
done
for n in a b c; do postmulti -i postfix-$n -e enable || exit 1; done
masters() {
    for dir in postfix postfix-a postfix-b postfix-c postfix-d; do
        pid=$(cat /var/spool/$dir/pid/master.pid 2>/dev/null | tr -d ' ')
        [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = master ] &&
            echo "$dir $pid $(ps -o ppid= -p "$pid" | tr -d ' ')"
    done
    return 0
}
wait_running() {
    for _ in $(seq 300); do
        [ "$(masters | wc -l)" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
"#;

/// Runs `HOST` and then `script` in a namespace with our postmulti.
fn run(script: &str) -> Outcome {
    namespace::run(Flavour::Ours, &format!("{HOST}\n{script}"))
}

/// The instances in a `masters` listing, each with whether its parent is
/// `parent`.
fn instances_with_parent(listing: &str, parent: &str) -> Vec<(String, bool)> {
    listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields[0].to_string(), fields[2] == parent)
        })
        .collect()
}

fn runs_all_enabled_instances_reloads_on_hup_and_stops_on_term() {
    let outcome = run(r#"
        postmulti --supervise >"$SCRATCH/sup.out" 2>"$SCRATCH/sup.err" &
        sup=$!
        start=$(date +%s%N)
        step wait wait_running 4
        step seconds echo $(( ($(date +%s%N) - start) / 1000000000 ))
        step supervisor echo $sup
        step running masters
        step reload sh -c "kill -HUP $sup; sleep 3"
        step after-reload masters
        kill -TERM $sup
        wait $sup; echo "status $?" >"$SCRATCH/status-term"
        step term-status cat "$SCRATCH/status-term"
        step after-stop masters
        step sup-err cat "$SCRATCH/sup.err"
        step left ps -e -o comm=
    "#);
    assert_eq!(outcome.step("wait").status, 0, "{outcome}");
    let seconds: u64 = outcome.step("seconds").stdout.trim().parse().unwrap();
    assert!(seconds <= 20, "{seconds} s to start\n{outcome}");
    let supervisor = outcome.step("supervisor").stdout.trim().to_string();
    let running = &outcome.step("running").stdout;
    assert_eq!(
        instances_with_parent(running, &supervisor),
        [
            ("postfix".to_string(), true),
            ("postfix-a".to_string(), true),
            ("postfix-b".to_string(), true),
            ("postfix-c".to_string(), true),
        ],
        "{outcome}"
    );
    // Reload: the same masters, each logged its reload.
    assert_eq!(&outcome.step("after-reload").stdout, running, "{outcome}");
    let reload_log = &outcome.step("reload").syslog;
    for tag in ["postfix", "postfix-a", "postfix-b", "postfix-c"] {
        assert!(
            reload_log
                .lines()
                .any(|record| record.contains(&format!(" {tag}/master["))
                    && record.contains("reload")),
            "no reload logged by {tag}/master\n{outcome}"
        );
    }
    assert!(!reload_log.contains("postfix-d/"), "{outcome}");
    assert_eq!(
        outcome.step("term-status").stdout,
        "status 0\n",
        "{outcome}"
    );
    assert_eq!(outcome.step("after-stop").stdout, "", "{outcome}");
    assert_eq!(outcome.step("sup-err").stdout, "", "{outcome}");
    assert!(
        !outcome
            .step("left")
            .stdout
            .lines()
            .any(|comm| comm == "master"),
        "{outcome}"
    );
    // Stopped in reverse order, as postfix stop would.
    let stops: Vec<&str> = outcome
        .syslog
        .lines()
        .filter(|record| record.contains("stopping the Postfix mail system"))
        .filter_map(|record| {
            record
                .split(' ')
                .find(|word| word.contains("/postfix-script["))
        })
        .map(|tag| tag.split('/').next().unwrap())
        .collect();
    assert_eq!(
        stops,
        ["postfix-c", "postfix-b", "postfix-a", "postfix"],
        "{outcome}"
    );
}

fn a_master_killed_stops_the_others_and_fails_naming_it() {
    let outcome = run(r#"
        postmulti --supervise -g mta >"$SCRATCH/sup.out" 2>"$SCRATCH/sup.err" &
        sup=$!
        step wait wait_running 2
        step running masters
        kill -KILL "$(cat /var/spool/postfix-b/pid/master.pid)"
        wait $sup; echo "status $?" >"$SCRATCH/status"
        step status cat "$SCRATCH/status"
        step after masters
        step sup-err cat "$SCRATCH/sup.err"
    "#);
    assert_eq!(outcome.step("wait").status, 0, "{outcome}");
    let running: Vec<String> = instances_with_parent(&outcome.step("running").stdout, "")
        .into_iter()
        .map(|(instance, _)| instance)
        .collect();
    assert_eq!(running, ["postfix-a", "postfix-b"], "{outcome}");
    assert_eq!(outcome.step("status").stdout, "status 1\n", "{outcome}");
    assert_eq!(outcome.step("after").stdout, "", "{outcome}");
    assert_eq!(
        outcome.step("sup-err").stdout,
        "postmulti: fatal: instance /etc/postfix-b (postfix-b): master exited unexpectedly \
         (killed by SIGKILL); the other instances were stopped\n",
        "{outcome}"
    );
}

fn as_process_one_it_reaps_every_orphan() {
    // The supervisor is process 1 of a new pid namespace; orphans there
    // become its children: the postsuper that postfix reload leaves in the
    // background, and a sleep whose shell exits at once.
    let outcome = run(r#"
        unshare --pid --fork --mount-proc postmulti --supervise -g mta \
            >"$SCRATCH/sup.out" 2>"$SCRATCH/sup.err" &
        outer=$!
        for _ in $(seq 100); do
            inner=$(ps -o pid= --ppid $outer | tr -d ' ')
            [ -n "$inner" ] && break
            sleep 0.1
        done
        children() { ps -e -o ppid=,stat=,comm= | awk -v p="$inner" '$1 == p { print $2, $3 }'; }
        masters_of_inner() { children | awk '$2 == "master"' | wc -l; }
        step nspid sh -c "grep NSpid /proc/$inner/status | awk '{ print \$NF }'"
        for _ in $(seq 300); do [ "$(masters_of_inner)" -ge 2 ] && break; sleep 0.1; done
        step masters masters_of_inner
        kill -HUP $inner
        nsenter -t $inner -p -- sh -c 'sleep 1 & exit 0'
        step orphan sh -c "ps -e -o ppid=,comm= | awk -v p=$inner '\$1 == p && \$2 == \"sleep\"' | wc -l"
        sleep 4
        step zombies sh -c "ps -e -o ppid=,stat=,comm= | awk -v p=$inner '\$1 == p && \$2 ~ /^Z/'"
        kill -TERM $inner
        wait $outer; echo "status $?" >"$SCRATCH/status"
        step status cat "$SCRATCH/status"
        step sup-err cat "$SCRATCH/sup.err"
    "#);
    assert_eq!(outcome.step("nspid").stdout, "1\n", "{outcome}");
    assert_eq!(outcome.step("masters").stdout, "2\n", "{outcome}");
    assert_eq!(outcome.step("orphan").stdout, "1\n", "{outcome}");
    assert_eq!(outcome.step("zombies").stdout, "", "{outcome}");
    assert!(
        outcome.syslog.contains("postfix-a/postfix-script")
            && outcome
                .syslog
                .matches("refreshing the Postfix mail system")
                .count()
                == 2,
        "{outcome}"
    );
    assert_eq!(outcome.step("status").stdout, "status 0\n", "{outcome}");
    assert_eq!(outcome.step("sup-err").stdout, "", "{outcome}");
}

fn the_container_recipe_logs_to_stdout() {
    // The steps of contrib/container/Dockerfile after COPY, then its CMD.
    let outcome = namespace::run(
        Flavour::Ours,
        r#"
        postmulti -e init &&
            postmulti -I postfix-out -e create &&
            postmulti -i postfix-out -e enable &&
            postmulti -x postconf -F '*/*/chroot = n' &&
            postmulti -x postconf -e myhostname=mail.example.com maillog_file=/dev/stdout || exit 1
        postmulti --supervise >"$SCRATCH/sup.out" 2>"$SCRATCH/sup.err" &
        sup=$!
        for _ in $(seq 300); do
            [ "$(grep -c 'daemon started' "$SCRATCH/sup.out")" -ge 2 ] && break
            sleep 0.1
        done
        kill -TERM $sup
        wait $sup; echo "status $?" >"$SCRATCH/status"
        step status cat "$SCRATCH/status"
        step out cat "$SCRATCH/sup.out"
        step err cat "$SCRATCH/sup.err"
        "#,
    );
    assert_eq!(outcome.step("status").stdout, "status 0\n", "{outcome}");
    let out = &outcome.step("out").stdout;
    for tag in ["postfix", "postfix-out"] {
        assert!(
            out.lines()
                .any(|line| line.contains(&format!(" {tag}/master["))
                    && line.contains("daemon started")),
            "no start of {tag} on stdout\n{outcome}"
        );
    }
    assert_eq!(outcome.step("err").stdout, "", "{outcome}");
}

fn a_planted_pid_file_and_a_missing_master_fail_cleanly() {
    let sandbox = Sandbox::new();
    sandbox.install_stand_in_postfix();
    std::fs::create_dir(sandbox.path("daemon")).unwrap();
    sandbox.append_main_cf("daemon_directory = @ROOT@/daemon\n");
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_success(&sandbox.run(&["-I", "postfix-h", "-e", "create"]));
    assert_success(&sandbox.run(&["-i", "postfix-h", "-e", "enable"]));
    // The instance's pid file is a link to a FIFO nobody writes: reading
    // it would never end.
    let fifo = sandbox.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::os::unix::fs::symlink(&fifo, sandbox.path("spool/postfix-h/pid/master.pid")).unwrap();
    // Nor is a quick-start shortcut that is a link: the checks run.
    sandbox.write("started", "");
    std::os::unix::fs::symlink(
        sandbox.path("started"),
        sandbox.path("spool/postfix-h/quick-start"),
    )
    .unwrap();
    // A daemon_directory that is gone: refused before anything runs.
    std::fs::rename(sandbox.path("daemon"), sandbox.path("daemon.gone")).unwrap();
    sandbox.assert_refused(
        &["--supervise", "-i", "postfix-h"],
        "daemon_directory = '@ROOT@/daemon': directory not found: No such file or directory",
    );
    std::fs::rename(sandbox.path("daemon.gone"), sandbox.path("daemon")).unwrap();
    let output = sandbox.run_within(&["--supervise", "-i", "postfix-h"], 20);
    let root = sandbox.root_str();
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (
            Some(1),
            format!(
                "postmulti: warning: execvp {root}/bin/postlog: No such file or directory\n\
                 postmulti: fatal: execvp {root}/daemon/master: No such file or directory\n"
            )
        )
    );
    // It ran `postfix check`, not a master, and left the link alone.
    assert_eq!(
        sandbox.stand_in_calls(),
        ["postfix [check] MAIL_CONFIG=@ROOT@/etc/postfix-h MAIL_VERBOSE=<unset> command_directory=<unset>"]
    );
    assert!(
        std::fs::symlink_metadata(sandbox.path("spool/postfix-h/pid/master.pid"))
            .unwrap()
            .is_symlink()
    );
}

/// A stand-in master daemon: writes its pid to its instance's pid file and
/// becomes a process named `master` (sleep(1)) that sleeps 30 s;
/// when `$MAIL_CONFIG/ignore-term` exists it ignores SIGTERM first, as a
/// master stuck before its setsid() would, in the supervisor's process
/// group; when `$MAIL_CONFIG/no-pid-file` exists it writes no pid file, as
/// a master stuck in its start-up.
const STAND_IN_MASTER: &str = r#"#!/bin/sh
[ -e "$MAIL_CONFIG/ignore-term" ] && trap '' TERM
queue=$(sed -n 's/^queue_directory = //p' "$MAIL_CONFIG/main.cf" | tail -1)
[ -e "$MAIL_CONFIG/no-pid-file" ] || printf '%10d\n' $$ >"$queue/pid/master.pid"
exec @ROOT@/daemon/sleep/master 30
"#;

/// A sandbox whose primary and `postfix-h` are enabled, with the stand-in
/// postfix (its `check` passes), a postlog that logs nothing and
/// [`STAND_IN_MASTER`] as their master daemon.
fn stand_in_host() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.install_stand_in_postfix();
    sandbox.write("bin/postlog", "#!/bin/sh\nexit 0\n");
    sandbox.write("daemon/master", STAND_IN_MASTER);
    for program in ["bin/postlog", "daemon/master"] {
        std::fs::set_permissions(sandbox.path(program), PermissionsExt::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir(sandbox.path("daemon/sleep")).unwrap();
    // A link: its name, not its target's, becomes the process name.
    std::os::unix::fs::symlink("/bin/sleep", sandbox.path("daemon/sleep/master")).unwrap();
    sandbox.append_main_cf("daemon_directory = @ROOT@/daemon\n");
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_success(&sandbox.run(&["-I", "postfix-h", "-e", "create"]));
    assert_success(&sandbox.run(&["-i", "postfix-h", "-e", "enable"]));
    for queue in ["spool/postfix", "spool/postfix-h"] {
        std::fs::create_dir_all(sandbox.path(&format!("{queue}/pid"))).unwrap();
    }
    sandbox
}

/// The pid in `@ROOT@/QUEUE/pid/master.pid`, once it is there (10 s at most).
fn written_pid(sandbox: &Sandbox, queue: &str) -> i32 {
    let path = sandbox.path(&format!("{queue}/pid/master.pid"));
    for _ in 0..500 {
        if let Ok(pid) = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .trim()
            .parse()
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no pid in {}", path.display());
}

/// Whether process `pid` still exists (a zombie counts).
fn exists(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

/// `postmulti --supervise` on `sandbox`, its output captured.
fn spawn_supervisor(sandbox: &Sandbox) -> std::process::Child {
    sandbox
        .command(&["--supervise"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn a_master_that_ignores_sigterm_is_killed_and_the_others_stopped() {
    let sandbox = stand_in_host();
    sandbox.write("etc/postfix-h/ignore-term", "");
    let mut supervisor = spawn_supervisor(&sandbox);
    let primary = written_pid(&sandbox, "spool/postfix");
    let stubborn = written_pid(&sandbox, "spool/postfix-h");
    // Both run in the supervisor's process group: there is no group
    // `stubborn` to kill.
    assert_eq!(
        nix::unistd::getpgid(Some(Pid::from_raw(stubborn))).unwrap(),
        nix::unistd::getpgid(Some(Pid::from_raw(supervisor.id() as i32))).unwrap()
    );
    let start = Instant::now();
    kill(Pid::from_raw(supervisor.id() as i32), Signal::SIGTERM).unwrap();
    // SIGTERM, 5 s, then SIGKILL to postfix-h; the primary stops at once.
    while supervisor.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(15) {
            let _ = supervisor.kill();
            let _ = kill(Pid::from_raw(stubborn), Signal::SIGKILL);
            let _ = kill(Pid::from_raw(primary), Signal::SIGKILL);
            panic!(
                "the supervisor still runs 15 s after SIGTERM; primary master stopped: {}",
                !exists(primary)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = supervisor.wait_with_output().unwrap();
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (Some(0), String::new())
    );
    assert!(start.elapsed() >= Duration::from_secs(5));
    assert!(!exists(stubborn) && !exists(primary));
}

fn sigterm_while_a_master_starts_stops_at_once() {
    let sandbox = stand_in_host();
    sandbox.write("etc/postfix-h/no-pid-file", "");
    let mut supervisor = spawn_supervisor(&sandbox);
    let primary = written_pid(&sandbox, "spool/postfix");
    // postfix-h's master runs, but never says so: the supervisor waits up
    // to 10 s for its pid file, which a SIGTERM ends.
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    kill(Pid::from_raw(supervisor.id() as i32), Signal::SIGTERM).unwrap();
    while supervisor.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(4) {
            let _ = supervisor.kill();
            let _ = kill(Pid::from_raw(primary), Signal::SIGKILL);
            panic!("the supervisor still runs 4 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = supervisor.wait_with_output().unwrap();
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (Some(0), String::new())
    );
    assert!(!exists(primary));
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("{}/daemon", sandbox.root_str())])
        .output()
        .unwrap();
    assert_eq!(stdout(&left), "", "masters left running");
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [a_planted_pid_file_and_a_missing_master_fail_cleanly, a_master_that_ignores_sigterm_is_killed_and_the_others_stopped, sigterm_while_a_master_starts_stops_at_once];
    Namespace: [
        runs_all_enabled_instances_reloads_on_hup_and_stops_on_term,
        a_master_killed_stops_the_others_and_fails_naming_it,
        as_process_one_it_reaps_every_orphan,
        the_container_recipe_logs_to_stdout,
    ];
}
