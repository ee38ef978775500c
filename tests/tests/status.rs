//! `postmulti -l --status` end to end: the table's header, rows, column
//! alignment, selection and `-R` for running (a stand-in master), stopped
//! and broken instances in sandboxes; the option rules of `--status` and
//! `-j`; and, in a private namespace, a real Postfix master for the primary
//! and two secondaries (one made from the outbound relay template, listening
//! on 127.0.0.1:10587): `--status`, `-j` and `--doctor` on the running
//! system, and plain `-l` byte for byte the same as Postfix's postmulti.

use postmulti_e2e::fixtures::{
    four_secondaries, instance_dir, json_line, two_instances, words, TEMPLATES,
};
use postmulti_e2e::namespace::{self, Flavour};
use postmulti_e2e::sandbox::{assert_fatal, assert_success, stderr, stdout, FakeMaster};

fn running_instances_in_json_and_status_table() {
    let sandbox = four_secondaries();
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    let pid = master.pid();
    let json = assert_success(&sandbox.run(&["-l", "-j", "-i", "a"]));
    assert!(
        json.contains(&format!("\"running\": true,\"pid\": {pid},")),
        "{json}"
    );
    let table = assert_success(&sandbox.run(&["-l", "--status"]));
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect();
    let root = sandbox.root_str();
    let row = |words: &[&str]| -> Vec<String> {
        words
            .iter()
            .map(|word| word.replace("@ROOT@", root))
            .collect()
    };
    let running = format!("{pid})");
    assert_eq!(
        rows,
        [
            row(&["NAME", "GROUP", "ENABLED", "STATUS", "CONFIG_DIRECTORY"]),
            row(&["-", "-", "y", "stopped", "@ROOT@/etc/postfix"]),
            row(&[
                "postfix-a",
                "mta",
                "y",
                "running",
                "(pid",
                &running,
                "@ROOT@/etc/postfix-a"
            ]),
            row(&["postfix-b", "-", "n", "stopped", "@ROOT@/etc/postfix-b"]),
            row(&["-", "mta", "n", "stopped", "@ROOT@/etc/postfix-c"]),
            row(&["postfix-d", "relay", "y", "stopped", "@ROOT@/etc/postfix-d"]),
        ],
        "{table}"
    );
    drop(master);
    let table = assert_success(&sandbox.run(&["-l", "--status", "-i", "a"]));
    assert!(table.contains("stopped"), "{table}");
    assert!(!table.contains("running"), "{table}");
}

fn status_table_shows_broken_instances_in_place() {
    let sandbox = four_secondaries();
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).unwrap();
    let output = sandbox.run(&["-l", "--status"]);
    assert_eq!(output.status.code(), Some(1));
    let table = stdout(&output);
    let dirs: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().last())
        .collect();
    let root = sandbox.root_str();
    assert_eq!(
        dirs,
        [
            "postfix",
            "postfix-a",
            "postfix-b",
            "postfix-c",
            "postfix-d"
        ]
        .map(|name| format!("{root}/etc/{name}")),
        "{table}"
    );
    let broken = table.lines().nth(3).unwrap();
    assert!(broken.contains("broken: open"), "{table}");
}

fn status_table_shows_running_stopped_and_broken() {
    let sandbox = two_instances();
    let (primary, a, b) = (
        sandbox.primary(),
        instance_dir(&sandbox, "postfix-a"),
        instance_dir(&sandbox, "postfix-b"),
    );
    let master_a = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    let master_p = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix"));
    let (pid_a, pid_p) = (master_a.pid(), master_p.pid());
    let before = sandbox.snapshot();

    let table = assert_success(&sandbox.run(&["-l", "--status"]));
    sandbox.assert_unchanged(&before);
    let header = "NAME GROUP ENABLED STATUS CONFIG_DIRECTORY".to_string();
    let row_p = format!("- - y running (pid {pid_p}) {primary}");
    let row_a = format!("postfix-a mta n running (pid {pid_a}) {a}");
    let row_b = format!("postfix-b - n stopped {b}");
    assert_eq!(
        words(&table),
        [header.clone(), row_p.clone(), row_a.clone(), row_b.clone()],
        "{table}"
    );
    // A table: every column starts at the same offset on every line.
    let lines: Vec<&str> = table.lines().filter(|l| !l.trim().is_empty()).collect();
    for (column, value_of) in [
        ("STATUS", |line: &str| {
            line.find("stopped").or(line.find("running"))
        }),
        ("CONFIG_DIRECTORY", |line: &str| line.find('/')),
    ] as [(&str, fn(&str) -> Option<usize>); 2]
    {
        let at = lines[0].find(column).unwrap();
        for line in &lines[1..] {
            assert_eq!(
                value_of(line),
                Some(at),
                "{column} column of {line:?}\n{table}"
            );
        }
    }

    // -R, -g and -i apply.
    let reversed = assert_success(&sandbox.run(&["-l", "--status", "-R"]));
    assert_eq!(
        words(&reversed),
        [header.clone(), row_b.clone(), row_a.clone(), row_p.clone()]
    );
    let group = assert_success(&sandbox.run(&["-l", "--status", "-g", "mta"]));
    assert_eq!(words(&group), [header.clone(), row_a.clone()]);
    let one = assert_success(&sandbox.run(&["-l", "--status", "-i", "b"]));
    assert_eq!(words(&one), [header.clone(), row_b.clone()]);
    let primary_only = assert_success(&sandbox.run(&["-l", "--status", "-i", "-"]));
    assert_eq!(words(&primary_only), [header.clone(), row_p]);

    // Stopped again.
    drop(master_a);
    let one = assert_success(&sandbox.run(&["-l", "--status", "-i", "a"]));
    assert_eq!(
        words(&one),
        [header.clone(), format!("postfix-a mta n stopped {a}")]
    );

    // A broken instance: its row in place, warned about, exit 1.
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).unwrap();
    let output = sandbox.run(&["-l", "--status"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "postmulti: warning: instance {b} skipped: open {b}/main.cf: No such file or directory\n"
        )
    );
    let table = stdout(&output);
    assert_eq!(
        words(&table)[3],
        format!("? ? ? broken: open {b}/main.cf: No such file or directory {b}"),
        "{table}"
    );
    // Not selected by -g: not shown, not counted.
    let output = sandbox.run(&["-l", "--status", "-g", "mta"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(!stdout(&output).contains("broken"), "{}", stdout(&output));
}

fn status_and_json_option_rules() {
    let sandbox = two_instances();
    assert_fatal(
        &sandbox.run(&["-l", "-j", "--status"]),
        "Specify at most one of '-j' and '--status'",
    );
    assert_fatal(
        &sandbox.run(&["-p", "--status", "status"]),
        "The '--status' option requires '-l'",
    );
    assert_fatal(
        &sandbox.run(&["-x", "-j", "true"]),
        "The '-j' option requires '-l'",
    );
}

fn real_masters_status_json_doctor_and_plain_listing() {
    let script = format!(
        r#"
step init postmulti -e init
step create-a postmulti -I postfix-a -G mta -e create
step create-out postmulti -I postfix-out -G mta -e create --template {TEMPLATES}/outbound-relay
step open-out postmulti -i postfix-out -x postconf -X master_service_disable
step enable-a postmulti -i postfix-a -e enable
step enable-out postmulti -i postfix-out -e enable
step doctor-stopped postmulti --doctor
step start postfix start
step wait sh -c 'for i in $(seq 50); do [ -s /var/spool/postfix-out/pid/master.pid ] && break; sleep 0.1; done'
step pids sh -c 'for d in postfix postfix-a postfix-out; do echo $(cat /var/spool/$d/pid/master.pid); done'
step status postmulti -l --status
step json postmulti -l -j
step list-ours postmulti -l
step list-real "$REAL" -l
step doctor postmulti --doctor
step banner timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10587 && head -n 1 <&3'
step disable-a postmulti -i postfix-a -e disable
step doctor-disabled postmulti --doctor -i a
step destroy-running postmulti -i postfix-a -e destroy --dry-run
step enable-a-again postmulti -i postfix-a -e enable
step stop postfix stop
step status-stopped postmulti -l --status
"#
    );
    let outcome = namespace::run(Flavour::Ours, &script);
    let step = |name: &str| outcome.step(name);
    let ok = |name: &str| {
        let step = step(name);
        assert!(
            step.status == 0 && step.stderr.is_empty(),
            "step {name} failed:\n{step}\n{outcome}"
        );
        step.stdout.clone()
    };
    for name in [
        "init",
        "create-a",
        "create-out",
        "open-out",
        "enable-a",
        "enable-out",
        "start",
        "wait",
        "enable-a-again",
        "stop",
    ] {
        let step = step(name);
        assert_eq!(step.status, 0, "step {name}:\n{step}\n{outcome}");
    }
    // The secondaries postmulti made are clean. The primary is Debian's
    // installation, never started: its data directory may be more open
    // than postfix-files says (Debian makes it 0755) and some queue
    // directories may not exist before the first postfix start; warnings
    // at most.
    let primary_warnings_only = |text: &str| {
        text.lines()
            .all(|line| line.starts_with("warning: /etc/postfix: "))
    };
    let before_start = ok("doctor-stopped");
    assert!(primary_warnings_only(&before_start), "{before_start}");

    let pids: Vec<String> = ok("pids").lines().map(str::to_string).collect();
    assert_eq!(pids.len(), 3, "{outcome}");
    assert!(
        pids.iter().all(|pid| pid.parse::<u32>().is_ok()),
        "{pids:?}"
    );
    let (pid_p, pid_a, pid_out) = (&pids[0], &pids[1], &pids[2]);

    let status = ok("status");
    assert_eq!(
        words(&status),
        [
            "NAME GROUP ENABLED STATUS CONFIG_DIRECTORY".to_string(),
            format!("- - y running (pid {pid_p}) /etc/postfix"),
            format!("postfix-a mta y running (pid {pid_a}) /etc/postfix-a"),
            format!("postfix-out mta y running (pid {pid_out}) /etc/postfix-out"),
        ],
        "{outcome}"
    );
    assert_eq!(
        ok("json"),
        [
            json_line(
                "-",
                "-",
                "y",
                "/etc/postfix",
                "/var/spool/postfix",
                "/var/lib/postfix",
                pid_p.parse().ok(),
                true
            ),
            json_line(
                "postfix-a",
                "mta",
                "y",
                "/etc/postfix-a",
                "/var/spool/postfix-a",
                "/var/lib/postfix-a",
                pid_a.parse().ok(),
                false
            ),
            json_line(
                "postfix-out",
                "mta",
                "y",
                "/etc/postfix-out",
                "/var/spool/postfix-out",
                "/var/lib/postfix-out",
                pid_out.parse().ok(),
                false
            ),
        ]
        .concat(),
        "{outcome}"
    );
    // Plain -l: byte for byte Postfix's, with masters running.
    let real = step("list-real");
    assert_eq!(real.status, 0, "{real}");
    assert_eq!(ok("list-ours"), real.stdout, "{outcome}");
    assert_eq!(ok("list-ours").lines().count(), 3);

    // The running system is clean, and the relay listens.
    let running = ok("doctor");
    assert!(primary_warnings_only(&running), "{running}");
    assert!(!running.contains("is missing"), "{running}");
    assert!(ok("banner").starts_with("220 "), "{outcome}");

    // Disabled while its master runs: a warning, exit 0; destroy refused.
    assert_eq!(
        ok("doctor-disabled"),
        format!(
            "warning: /etc/postfix-a: disabled, but running (master pid {pid_a}): postmulti will not stop it\n"
        ),
        "{outcome}"
    );
    let destroy = step("destroy-running");
    assert_eq!(
        (
            destroy.status,
            destroy.stdout.as_str(),
            destroy.stderr.as_str()
        ),
        (
            1,
            "",
            "postmulti: fatal: Instance '/etc/postfix-a' is not stopped\n"
        ),
        "{outcome}"
    );

    let stopped = ok("status-stopped");
    assert_eq!(
        words(&stopped),
        [
            "NAME GROUP ENABLED STATUS CONFIG_DIRECTORY",
            "- - y stopped /etc/postfix",
            "postfix-a mta y stopped /etc/postfix-a",
            "postfix-out mta y stopped /etc/postfix-out",
        ],
        "{outcome}"
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        running_instances_in_json_and_status_table,
        status_table_shows_broken_instances_in_place,
        status_table_shows_running_stopped_and_broken,
        status_and_json_option_rules,
    ];
    Namespace: [
        real_masters_status_json_doctor_and_plain_listing,
    ];
}
