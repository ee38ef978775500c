//! Side by side, iteration with real master daemons: in a namespace where
//! ours is `/usr/sbin/postmulti`, so that `postfix start` and `postfix stop`
//! call it through `multi_instance_wrapper`, a primary and three secondaries
//! (two enabled) are started, stopped and started again per instance as
//! Debian's `postfix@.service` does (`configure-instance.sh NAME`, then
//! `postmulti -i NAME -p start|stop`), with `postfix -c DIR status` telling
//! which masters run.
//!
//! On the same state the real postmulti (kept reachable as `$REAL`) and
//! ours must agree on `-x` (order, environment, `-R`, `-g`), on the order in
//! which `-p status` visits the instances, and on refusing to deport a
//! running instance.
//!
//! Finally one enabled secondary loses its main.cf: the real postmulti
//! refuses every command (`-l`, `-p start`) and starts nothing; ours warns
//! about the broken instance, exits 1, and still starts the others.

use postmulti_e2e::namespace::{self, Flavour, Outcome, Step};

/// Prints one line per instance: what `-x` gives the command.
const SHOW: &str =
    "sh -c 'echo $MAIL_CONFIG $config_directory $queue_directory $data_directory $multi_instance_name $multi_instance_group $multi_instance_enable'";

/// The sequence: (step name, shell command, expected exit status).
const STEPS: &[(&str, &str, i32)] = &[
    ("init", "postmulti -e init", 0),
    ("create-a", "postmulti -I postfix-a -G mta -e create", 0),
    ("create-b", "postmulti -I postfix-b -G mta -e create", 0),
    ("create-c", "postmulti -I postfix-c -e create", 0),
    ("enable-a", "postmulti -i postfix-a -e enable", 0),
    ("enable-b", "postmulti -i postfix-b -e enable", 0),
    ("list", "postmulti -l", 0),
    // Debian's ExecStartPre of postfix@.service, through ours.
    (
        "configure-a",
        "/usr/lib/postfix/configure-instance.sh postfix-a",
        0,
    ),
    (
        "configure-primary",
        "/usr/lib/postfix/configure-instance.sh -",
        0,
    ),
    (
        "configured-a",
        "test -s /var/spool/postfix-a/etc/services",
        0,
    ),
    // -x, real against ours on the same state.
    ("x-real", "\"$REAL\" -x @SHOW@", 0),
    ("x-ours", "postmulti -x @SHOW@", 0),
    ("x-reverse-real", "\"$REAL\" -R -x @SHOW@", 0),
    ("x-reverse-ours", "postmulti -R -x @SHOW@", 0),
    ("x-group-real", "\"$REAL\" -g mta -x @SHOW@", 0),
    ("x-group-ours", "postmulti -g mta -x @SHOW@", 0),
    ("x-suffix-real", "\"$REAL\" -i c -x @SHOW@", 0),
    ("x-suffix-ours", "postmulti -i c -x @SHOW@", 0),
    (
        "x-fail-real",
        "\"$REAL\" -x sh -c 'test $multi_instance_name != postfix-b'",
        1,
    ),
    (
        "x-fail-ours",
        "postmulti -x sh -c 'test $multi_instance_name != postfix-b'",
        1,
    ),
    // postfix start calls ours as the wrapper; c is disabled: checked only.
    ("start", "postfix start", 0),
    ("running-primary", "postfix -c /etc/postfix status", 0),
    ("running-a", "postfix -c /etc/postfix-a status", 0),
    ("running-b", "postfix -c /etc/postfix-b status", 0),
    ("not-running-c", "postfix -c /etc/postfix-c status", 1),
    ("masters", "@MASTERS@", 0),
    // c is not running, so status fails for it: exit 1.
    ("p-status-real", "\"$REAL\" -p status", 1),
    ("p-status-ours", "postmulti -p status", 1),
    // A running instance cannot be deported, even when disabled.
    ("disable-running-a", "postmulti -i postfix-a -e disable", 0),
    ("deport-running-real", "\"$REAL\" -i postfix-a -e deport", 1),
    ("deport-running-ours", "postmulti -i postfix-a -e deport", 1),
    (
        "destroy-running-real",
        "\"$REAL\" -i postfix-a -e destroy",
        1,
    ),
    (
        "destroy-running-ours",
        "postmulti -i postfix-a -e destroy",
        1,
    ),
    ("enable-a-again", "postmulti -i postfix-a -e enable", 0),
    // One instance at a time, as postfix@.service does.
    ("unit-stop-a", "postmulti -i postfix-a -p stop", 0),
    ("stopped-a", "postfix -c /etc/postfix-a status", 1),
    ("still-running-b", "postfix -c /etc/postfix-b status", 0),
    ("still-running-primary", "postfix -c /etc/postfix status", 0),
    ("unit-start-a", "postmulti -i postfix-a -p start", 0),
    ("restarted-a", "postfix -c /etc/postfix-a status", 0),
    ("unit-reload-b", "postmulti -i postfix-b -p reload", 0),
    // postfix stop stops them all.
    ("stop", "postfix stop", 0),
    ("stopped-primary", "postfix -c /etc/postfix status", 1),
    ("stopped-all-a", "postfix -c /etc/postfix-a status", 1),
    ("stopped-all-b", "postfix -c /etc/postfix-b status", 1),
    ("no-masters", "@NO-MASTERS@", 0),
    // A broken secondary: b loses its main.cf.
    ("break-b", "rm /etc/postfix-b/main.cf", 0),
    ("broken-list-real", "\"$REAL\" -l", 1),
    ("broken-start-real", "\"$REAL\" -p start", 1),
    (
        "broken-nothing-started",
        "postfix -c /etc/postfix status",
        1,
    ),
    ("broken-list-ours", "postmulti -l", 1),
    ("broken-start-ours", "postfix start", 1),
    (
        "broken-running-primary",
        "postfix -c /etc/postfix status",
        0,
    ),
    ("broken-running-a", "postfix -c /etc/postfix-a status", 0),
    ("broken-stop-ours", "postfix stop", 1),
    (
        "broken-stopped-primary",
        "postfix -c /etc/postfix status",
        1,
    ),
    ("broken-stopped-a", "postfix -c /etc/postfix-a status", 1),
];

fn script() -> String {
    let masters = "test \"$(ps -eo comm= | grep -cx master)\" = 3";
    let no_masters = "sleep 1; ! ps -eo comm= | grep -qx master";
    STEPS
        .iter()
        .map(|(name, command, _)| {
            let command = command
                .replace("@SHOW@", SHOW)
                .replace("@MASTERS@", masters)
                .replace("@NO-MASTERS@", no_masters);
            format!("step {name} {command}\n")
        })
        .collect()
}

/// The syslog records of `postfix-script` runs in a step, as
/// `TAG: MESSAGE` without process ids: which instance said what, in order.
fn script_records(step: &Step) -> Vec<String> {
    step.syslog
        .lines()
        .filter_map(|record| {
            let at = record.find("/postfix-script[")?;
            let tag_start = record[..at].rfind(' ').map_or(0, |i| i + 1);
            let message = &record[record[at..].find("]: ")? + at + 3..];
            let message = message.split(" PID: ").next().unwrap_or(message);
            Some(format!("{}: {message}", &record[tag_start..at]))
        })
        .collect()
}

fn real_daemons_start_and_stop_through_ours() {
    let outcome = namespace::run(Flavour::Ours, &script());
    let mut failures = Vec::new();
    for (name, command, expected) in STEPS {
        let step = outcome.step(name);
        if step.status != *expected {
            failures.push(format!(
                "{name} `{command}`: exit {} instead of {expected}\n{step}",
                step.status
            ));
        }
    }
    compare_real_and_ours(&outcome, &mut failures);
    check_broken_instance(&outcome, &mut failures);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}\n{outcome}",
        failures.len(),
        failures.join("\n")
    );
}

fn compare_real_and_ours(outcome: &Outcome, failures: &mut Vec<String>) {
    let x = outcome.step("x-real");
    assert_eq!(
        x.stdout.lines().count(),
        4,
        "the real -x did not visit four instances:\n{x}"
    );
    for pair in ["x", "x-reverse", "x-group", "x-suffix", "x-fail"] {
        let real = outcome.step(&format!("{pair}-real"));
        let ours = outcome.step(&format!("{pair}-ours"));
        if (real.status, &real.stdout) != (ours.status, &ours.stdout) {
            failures.push(format!("{pair}: real and ours differ:\n{real}{ours}"));
        }
    }
    let (real, ours) = (outcome.step("p-status-real"), outcome.step("p-status-ours"));
    if real.status != ours.status {
        failures.push(format!(
            "-p status: exit {} (real) vs {} (ours)",
            real.status, ours.status
        ));
    }
    let real = script_records(real);
    let ours = script_records(ours);
    assert_eq!(real.len(), 4, "real -p status:\n{real:#?}");
    if real != ours {
        failures.push(format!("-p status: real {real:#?}\nours {ours:#?}"));
    }
    for action in ["deport-running", "destroy-running"] {
        let real = outcome.step(&format!("{action}-real"));
        let ours = outcome.step(&format!("{action}-ours"));
        assert_eq!(
            real.syslog_fatals(),
            ["Instance '/etc/postfix-a' is not stopped"],
            "{real}"
        );
        if ours.stderr_fatals() != real.syslog_fatals() {
            failures.push(format!(
                "{action}: real {:?} ours {ours}",
                real.syslog_fatals()
            ));
        }
    }
}

fn check_broken_instance(outcome: &Outcome, failures: &mut Vec<String>) {
    // The real postmulti refuses everything once one secondary is broken.
    let real = outcome.step("broken-list-real");
    assert!(real.stdout.is_empty(), "{real}");
    assert!(
        real.syslog_fatals()
            .iter()
            .any(|message| message.contains("/etc/postfix-b/main.cf")),
        "{real}"
    );
    // Ours lists the others and names the broken one.
    let ours = outcome.step("broken-list-ours");
    let listed: Vec<&str> = ours
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .collect();
    if listed != ["/etc/postfix", "/etc/postfix-a", "/etc/postfix-c"] {
        failures.push(format!("broken-list-ours lists {listed:?}\n{ours}"));
    }
    let start = outcome.step("broken-start-ours");
    for step in [ours, start] {
        if !step
            .stderr
            .contains("postmulti: warning: instance /etc/postfix-b skipped: ")
        {
            failures.push(format!(
                "{}: no warning about /etc/postfix-b\n{step}",
                step.name
            ));
        }
    }
}

postmulti_e2e::e2e_tests! {
    Namespace: [
        real_daemons_start_and_stop_through_ours,
    ];
}
