//! Side by side, fidelity classes (issue 11): the same script runs in a
//! namespace with the real postmulti and in one with ours, and each step
//! must end with the same exit status and output, and the trees the same
//! owners and modes:
//!
//! - a selected broken instance (a secondary in group `mta` that conflicts
//!   with another) makes `-l`, `-x` and `-p` exit 1 whether it is selected
//!   by group, name or name suffix;
//! - a NUL byte ends a main.cf line, as Postfix reads it: a value is cut
//!   there, a line that starts with one has no name and is refused with
//!   Postfix's message;
//! - `-x` and `-p` commands see the environment Postfix gives them
//!   (`MAIL_LOGTAG`, `MAIL_CONFIG`, the instance settings, `PATH`), and a
//!   SIGINT the caller ignored stays ignored and stops nothing;
//! - after an edit, main.cf is a new file owned by root, mode 0644, whatever
//!   owner and mode it had and whatever the caller's umask.
//!
//! Deliberate differences (man page) are checked as such: ours serves the
//! instances that are not broken and only warns about the broken one, where
//! the real postmulti refuses every command.

use postmulti_e2e::namespace::{self, Outcome};

/// Prints the environment a command gets, sorted, one variable a line.
const ENV: &str = "sh -c 'env | LC_ALL=C sort'";

/// The environment postmulti is called with in the environment steps.
const CALLER: &str =
    "env -i PATH=/usr/sbin:/usr/bin:/bin HOME=/root MAIL_LOGTAG=caller LANG=C.UTF-8 TZ=UTC";

/// Shell functions for the steps that are more than one command.
const FUNCTIONS: &str = r#"
add_nul_value() {
    cp /etc/postfix-d/main.cf "$SCRATCH/d.cf" && printf 'multi_instance_group = mta\0x\n' >>/etc/postfix-d/main.cf &&
    cp /etc/postfix-d/main.cf "$SCRATCH/d-nul.cf"
}
add_nul_line() { cp /etc/postfix/main.cf "$SCRATCH/main.cf" && printf '\0x = y\n' >>/etc/postfix/main.cf; }
# A command directory whose postfix prints its arguments and sorted
# environment, the other programs being Postfix's own.
fake_command_directory() {
    mkdir "$SCRATCH/cmd" && for f in /usr/sbin/post*; do ln -s "$f" "$SCRATCH/cmd/"; done &&
    rm "$SCRATCH/cmd/postfix" && printf '#!/bin/sh\necho args "$@"\nenv | LC_ALL=C sort\n' >"$SCRATCH/cmd/postfix" &&
    chmod 755 "$SCRATCH/cmd/postfix" && postconf -e command_directory="$SCRATCH/cmd"
}
real_command_directory() { postconf -X command_directory syslog_name && rm -r "$SCRATCH/cmd"; }
sigint_ignored() {
    bash -c 'trap "" INT; exec postmulti -x sh -c "kill -INT \$PPID; sleep 0.2; echo \$MAIL_CONFIG"'
}
# An existing instance whose sample_directory is written with a reference.
existing_with_reference() {
    mkdir /etc/postfix-q /var/spool/postfix-q /var/lib/postfix-q && cp /etc/postfix/master.cf /etc/postfix-q/ &&
    printf '%s\n' 'queue_directory = /var/spool/postfix-q' 'data_directory = /var/lib/postfix-q' \
        'sample_directory = $config_directory' >/etc/postfix-q/main.cf
}
sgid_bits() { chmod 2710 /var/spool/postfix-s/public && chmod 2755 /var/spool/postfix-s/pid; }
# An existing instance whose main.cf has no data_directory: it would share
# the primary's.
existing_without_data_directory() {
    mkdir /etc/postfix-n /var/spool/postfix-n && cp /etc/postfix/master.cf /etc/postfix-n/ &&
    printf 'queue_directory = /var/spool/postfix-n\n' >/etc/postfix-n/main.cf
}
foreign_owners() {
    chown nobody:nogroup /etc/postfix-a/main.cf /etc/postfix/main.cf &&
    chmod 600 /etc/postfix-a/main.cf && chmod 640 /etc/postfix/main.cf
}
"#;

/// The sequence: (step name, shell command, exit status of both, or of
/// the real postmulti and ours where they deliberately differ).
const STEPS: &[(&str, &str, Exit)] = &[
    ("init", "postmulti -e init", Both(0)),
    (
        "create-a",
        "postmulti -I postfix-a -G mta -e create",
        Both(0),
    ),
    (
        "create-b",
        "postmulti -I postfix-b -G mta -e create",
        Both(0),
    ),
    (
        "create-c",
        "postmulti -I postfix-c -G mta -e create",
        Both(0),
    ),
    ("create-d", "postmulti -I postfix-d -e create", Both(0)),
    // c conflicts with b: it shares b's queue directory.
    (
        "break-c",
        "postconf -c /etc/postfix-c -e queue_directory=/var/spool/postfix-b",
        Both(0),
    ),
    ("broken-group-list", "postmulti -g mta -l", Both(1)),
    ("broken-group-x", "postmulti -g mta -x true", Both(1)),
    ("broken-group-p", "postmulti -g mta -p check", Both(1)),
    ("broken-name-list", "postmulti -i postfix-c -l", Both(1)),
    ("broken-suffix-x", "postmulti -i c -x true", Both(1)),
    (
        "broken-path-x",
        "postmulti -i /etc/postfix-c -x true",
        Both(1),
    ),
    ("broken-all-list", "postmulti -a -l", Both(1)),
    (
        "repair-c",
        "postconf -c /etc/postfix-c -e queue_directory=/var/spool/postfix-c",
        Both(0),
    ),
    // NUL bytes in main.cf.
    ("nul-value", "add_nul_value", Both(0)),
    ("nul-value-list", "postmulti -l", Both(0)),
    // postconf -e cuts the line at the NUL, newline included; ours refuses.
    ("nul-value-edit", "postmulti -i d -e enable", Differ(0, 1)),
    (
        "nul-value-kept",
        "cmp -s /etc/postfix-d/main.cf \"$SCRATCH/d-nul.cf\"",
        Differ(1, 0),
    ),
    (
        "nul-value-restore",
        "cp \"$SCRATCH/d.cf\" /etc/postfix-d/main.cf",
        Both(0),
    ),
    (
        "nul-value-x",
        "postmulti -i d -x sh -c 'echo \"[$multi_instance_group]\"'",
        Both(0),
    ),
    ("nul-line", "add_nul_line", Both(0)),
    ("nul-line-list", "postmulti -l", Both(1)),
    (
        "nul-line-create",
        "postmulti -I postfix-e -e create",
        Both(1),
    ),
    (
        "nul-line-restore",
        "cp \"$SCRATCH/main.cf\" /etc/postfix/main.cf",
        Both(0),
    ),
    // The environment of -x and -p commands.
    ("prim-logtag", "postconf -e syslog_name=prim", Both(0)),
    ("env-x", "@CALLER@ postmulti -i a -x @ENV@", Both(0)),
    ("env-x-primary", "@CALLER@ postmulti -i - -x @ENV@", Both(0)),
    (
        "env-x-nopath",
        "env -i /usr/sbin/postmulti -i b -x @ENV@",
        Both(0),
    ),
    ("fake-command-directory", "fake_command_directory", Both(0)),
    ("env-p", "@CALLER@ postmulti -i a -p status", Both(0)),
    ("env-p-start", "@CALLER@ postmulti -i b -p start", Both(0)),
    ("env-p-primary", "@CALLER@ postmulti -i - -p stop", Both(0)),
    ("real-command-directory", "real_command_directory", Both(0)),
    // A SIGINT the caller ignores stays ignored, for postmulti and its commands.
    ("sigint-ignored", "sigint_ignored", Both(0)),
    (
        "sigint-ignored-by-commands",
        "bash -c 'trap \"\" INT; exec postmulti -i a -x grep SigIgn /proc/self/status'",
        Both(0),
    ),
    // main.cf as postconf -e leaves it.
    ("foreign-owners", "foreign_owners", Both(0)),
    (
        "edit-a",
        "sh -c 'umask 077; postmulti -i a -e enable'",
        Both(0),
    ),
    (
        "edit-primary",
        "sh -c 'umask 077; postmulti -I postfix-e -e create'",
        Both(0),
    ),
    (
        "owners",
        "stat -c '%U:%G %a %n' /etc/postfix-a/main.cf /etc/postfix/main.cf",
        Both(0),
    ),
    // set-permissions writes every install parameter into main.cf when one
    // is not written as postfix hands it (import; create cloning the
    // primary's setting).
    ("prepare-q", "existing_with_reference", Both(0)),
    (
        "import-q",
        "postmulti -e import config_directory=/etc/postfix-q",
        Both(0),
    ),
    (
        "primary-reference",
        "postconf -e 'html_directory = $config_directory/html'",
        Both(0),
    ),
    ("create-r", "postmulti -I postfix-r -e create", Both(0)),
    ("primary-plain", "postconf -X html_directory", Both(0)),
    (
        "install-parameters",
        "postconf -c /etc/postfix-q -n",
        Both(0),
    ),
    // set-permissions keeps the set-group-id bits of existing directories.
    ("sgid-create", "postmulti -I postfix-s -e create", Both(0)),
    ("sgid-bits", "sgid_bits", Both(0)),
    ("sgid-deport", "postmulti -i s -e deport", Both(0)),
    (
        "sgid-import",
        "postmulti -e import config_directory=/etc/postfix-s",
        Both(0),
    ),
    (
        "sgid-modes",
        "stat -c '%a %n' /var/spool/postfix-s/public /var/spool/postfix-s/pid",
        Both(0),
    ),
    ("snapshot-final", "snapshot final", Both(0)),
    // Create over an existing instance that would share the primary's data
    // directory: Postfix registers it (and every later action fails on the
    // conflict); ours refuses and changes nothing.
    ("prepare-n", "existing_without_data_directory", Both(0)),
    ("snapshot-before-n", "snapshot before-n", Both(0)),
    ("create-n", "postmulti -I postfix-n -e create", Differ(0, 1)),
    ("after-n", "postmulti -i a -e disable", Differ(1, 0)),
    ("snapshot-after-n", "snapshot after-n", Both(0)),
];

/// Steps whose output is compared byte for byte.
const SAME_OUTPUT: &[&str] = &[
    "nul-value-list",
    "nul-value-x",
    "env-x",
    "env-x-primary",
    "env-x-nopath",
    "env-p",
    "env-p-start",
    "env-p-primary",
    "sigint-ignored",
    "sigint-ignored-by-commands",
    "owners",
    "sgid-modes",
    "install-parameters",
];

/// The exit status a step must have.
#[derive(Debug, Clone, Copy)]
enum Exit {
    /// The same for both.
    Both(i32),
    /// The real postmulti's, then ours (a deliberate difference, man page).
    Differ(i32, i32),
}
use Exit::{Both, Differ};

fn script() -> String {
    let steps: String = STEPS
        .iter()
        .map(|(name, command, _)| {
            let command = command.replace("@CALLER@", CALLER).replace("@ENV@", ENV);
            format!("step {name} {command}\n")
        })
        .collect();
    format!("{FUNCTIONS}{steps}")
}

fn fidelity_classes_match_the_real_postmulti() {
    let script = script();
    let (real, ours) = namespace::run_side_by_side(&script, &script);
    let mut failures = Vec::new();
    compare(&real, &ours, &mut failures);
    check_broken(&real, &ours, &mut failures);
    check_nul(&real, &ours, &mut failures);
    check_environment(&real, &mut failures);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// Exit statuses, outputs and the final trees.
fn compare(real: &Outcome, ours: &Outcome, failures: &mut Vec<String>) {
    for (name, command, expected) in STEPS {
        let (r, o) = (real.step(name), ours.step(name));
        let expected = match *expected {
            Both(status) => (status, status),
            Differ(real, ours) => (real, ours),
        };
        if (r.status, o.status) != expected {
            failures.push(format!(
                "{name} `{command}`: exit {} (real) and {} (ours) instead of {expected:?}\n{r}{o}",
                r.status, o.status
            ));
        }
        if SAME_OUTPUT.contains(name) && r.stdout != o.stdout {
            failures.push(format!(
                "{name} `{command}`: stdout differs\n  real: {:?}\n  ours: {:?}",
                r.stdout, o.stdout
            ));
        }
    }
    let (r, o) = (real.snapshot("final"), ours.snapshot("final"));
    for difference in r.diff(o) {
        failures.push(format!(
            "snapshot final: {difference} (left real, right ours)"
        ));
    }
    let written = &real.step("install-parameters").stdout;
    if !written.contains("\nsample_directory = /etc/postfix-q\n")
        || !written.contains("\nshlib_directory = /usr/lib/postfix\n")
    {
        failures.push(format!(
            "install-parameters: the real one writes {written:?}"
        ));
    }
    let sgid = &real.step("sgid-modes").stdout;
    if sgid != "2710 /var/spool/postfix-s/public\n2755 /var/spool/postfix-s/pid\n" {
        failures.push(format!("sgid-modes: the real one leaves {sgid:?}"));
    }
    // Ours refused create-n with the conflict and changed nothing (the
    // later disable of postfix-a only rewrote its main.cf).
    let conflict = ours.step("create-n").stderr_fatals();
    if conflict.len() != 1
        || !conflict[0].starts_with("instance /etc/postfix-n, data_directory=/var/lib/postfix conflicts with instance /etc/postfix, ")
    {
        failures.push(format!("create-n: ours says {conflict:?}"));
    }
    let before = ours.snapshot("before-n");
    let after = ours
        .snapshot("after-n")
        .without(|path| path == "/etc/postfix-a/main.cf");
    for difference in before
        .without(|path| path == "/etc/postfix-a/main.cf")
        .diff(&after)
    {
        failures.push(format!("create-n changed the tree: {difference}"));
    }
}

// The broken instance: the real postmulti refuses everything; ours names
// it in a warning and serves the rest.
fn check_broken(real: &Outcome, ours: &Outcome, failures: &mut Vec<String>) {
    let warning = "postmulti: warning: instance /etc/postfix-c skipped: ";
    for name in [
        "broken-group-list",
        "broken-group-x",
        "broken-group-p",
        "broken-name-list",
        "broken-suffix-x",
        "broken-path-x",
        "broken-all-list",
    ] {
        let (r, o) = (real.step(name), ours.step(name));
        if !r.stdout.is_empty() || r.syslog_fatals().is_empty() {
            failures.push(format!("{name}: the real postmulti did not refuse\n{r}"));
        }
        if !o.stderr.starts_with(warning) || !o.stderr_fatals().is_empty() {
            failures.push(format!("{name}: ours does not warn about postfix-c\n{o}"));
        }
    }
    // Both log as syslog(3) stamps records: `<PRI>Mmm dd hh:mm:ss TAG[PID]: `.
    for (flavour, step) in [
        ("real", real.step("broken-group-list")),
        ("ours", ours.step("broken-group-list")),
    ] {
        let records: Vec<&str> = step.syslog.lines().collect();
        if records.is_empty() || !records.iter().all(|record| stamped(record)) {
            failures.push(format!("broken-group-list: {flavour} logs {records:?}"));
        }
    }
    let listed = &ours.step("broken-group-list").stdout;
    if listed.lines().count() != 2 || listed.contains("postfix-c") {
        failures.push(format!("broken-group-list: ours lists {listed:?}"));
    }
}

/// Whether a syslog record is `<PRI>Mmm dd hh:mm:ss postmulti[PID]: ...`.
fn stamped(record: &str) -> bool {
    let Some((priority, rest)) = record.split_once('>') else {
        return false;
    };
    let Some(stamp) = rest.get(..16) else {
        return false;
    };
    let bytes = stamp.as_bytes();
    let digit = |i: usize| bytes[i].is_ascii_digit();
    priority.starts_with('<')
        && priority[1..].bytes().all(|b| b.is_ascii_digit())
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && bytes[3] == b' '
        && (bytes[4] == b' ' || digit(4))
        && digit(5)
        && [7, 8, 10, 11, 13, 14].into_iter().all(digit)
        && bytes[6] == b' '
        && bytes[9] == b':'
        && bytes[12] == b':'
        && bytes[15] == b' '
        && rest[16..].starts_with("postmulti[")
}

// A NUL byte: the listing shows the group cut at it; a line that starts
// with one is Postfix's fatal error, with its message.
fn check_nul(real: &Outcome, ours: &Outcome, failures: &mut Vec<String>) {
    let listing = &real.step("nul-value-list").stdout;
    if !listing.contains("postfix-d       mta ") {
        failures.push(format!("nul-value-list: real lists {listing:?}"));
    }
    let refused = ours.step("nul-value-edit").stderr_fatals();
    let expected = "/etc/postfix-d/main.cf, line ";
    if refused.len() != 1
        || !refused[0].starts_with(expected)
        || !refused[0]
            .ends_with(": NUL byte: not editing this file (postconf -e would cut the line there)")
    {
        failures.push(format!("nul-value-edit: ours says {refused:?}"));
    }
    for name in ["nul-line-list", "nul-line-create"] {
        let (r, o) = (real.step(name), ours.step(name));
        let expected = r.syslog_fatals();
        if expected.len() != 1 || !expected[0].ends_with(": missing attribute name: \"\"") {
            failures.push(format!("{name}: the real postmulti says\n{r}"));
        }
        if o.stderr_fatals() != expected {
            failures.push(format!(
                "{name}: ours says {:?}, real {expected:?}",
                o.stderr
            ));
        }
    }
}

// The facts behind the compared environments.
fn check_environment(real: &Outcome, failures: &mut Vec<String>) {
    let env = &real.step("env-x").stdout;
    for line in [
        "MAIL_LOGTAG=prim",
        "MAIL_CONFIG=/etc/postfix-a",
        "PATH=/usr/sbin:/usr/sbin:/usr/bin:/bin",
        "multi_instance_name=postfix-a",
    ] {
        if !env.lines().any(|l| l == line) {
            failures.push(format!("env-x: the real -x gives no {line}: {env:?}"));
        }
    }
    let env = &real.step("env-p").stdout;
    if !env.starts_with("args -- status\n") || !env.contains("\nMAIL_LOGTAG=prim\n") {
        failures.push(format!("env-p: the real -p gives {env:?}"));
    }
    let run = &real.step("sigint-ignored").stdout;
    if run != "/etc/postfix\n/etc/postfix-a\n/etc/postfix-b\n/etc/postfix-c\n/etc/postfix-d\n" {
        failures.push(format!("sigint-ignored: the real one ran {run:?}"));
    }
    let owners = &real.step("owners").stdout;
    if owners != "root:root 644 /etc/postfix-a/main.cf\nroot:root 644 /etc/postfix/main.cf\n" {
        failures.push(format!("owners: the real one leaves {owners:?}"));
    }
}

postmulti_e2e::e2e_tests! {
    Namespace: [fidelity_classes_match_the_real_postmulti];
}
