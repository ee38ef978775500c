//! Bytes are bytes (issue 11): Postfix keeps paths, parameter values,
//! instance names, groups and arguments as bytes, and so must we.
//!
//! Side by side with the real postmulti, in namespaces: an
//! `alternate_config_directories` entry with a Latin-1 byte survives deport
//! and import (the primary's main.cf ends byte for byte the same); an
//! instance whose configuration directory has a Latin-1 byte is created,
//! listed, selected, enabled, disabled, deported, imported and destroyed;
//! a group with such bytes is listed (padded by bytes), selected with `-g`
//! and handed to `-x` commands; arguments that are not UTF-8 are taken
//! (`-i`, `-g`, `-G`, `-e`, the `-x` command words) and refusals name them
//! as Postfix does (its syslog records show each such byte as `?`). Outputs
//! go through `od -c`, so that they are compared byte for byte, and the
//! primary's main.cf through a checksum of its sorted lines.
//!
//! In sandboxes, the formats that must be UTF-8 (man page, DIFFERENCES): `-l -j`
//! and the metrics labels show such bytes as U+FFFD, `--export` and
//! `--plan` refuse an instance a manifest cannot hold, and the systemd
//! generator skips an instance whose directory cannot be written in a unit
//! file, with a warning.

use postmulti_core::systemd::WANTS_DIRECTORY;
use postmulti_e2e::fixtures::initialized;
use postmulti_e2e::namespace::{self, Outcome};
use postmulti_e2e::sandbox::{assert_success, stderr, stdout, Sandbox};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Shell functions for the steps that are more than one command.
const FUNCTIONS: &str = r#"
# The command's standard output as od shows its bytes; its exit status.
bytes() { ( set -o pipefail; "$@" | od -An -c ); }
latin_alternate() { postconf -e "alternate_config_directories = /etc/postfix-$(printf '\350')"; }
# The primary's main.cf lines, sorted (the namespaces' set-up writes its
# first lines in different orders), as a checksum; the alternates as bytes.
primary_main_cf() {
    LC_ALL=C sort /etc/postfix/main.cf | sha256sum && postconf -h alternate_config_directories | od -An -c
}
latin_group() { postconf -c "/etc/postfix-$(printf '\351')" -e "multi_instance_group = $(printf '\351t\351')"; }
instance_dirs() { ls -d /etc/postfix* /var/spool/postfix* /var/lib/postfix* | od -An -c; }
env_x() { env -i PATH=/usr/sbin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 TZ=UTC postmulti "$@" sh -c 'env | LC_ALL=C sort' | od -An -c; }
"#;

/// The sequence: (step name, shell command, exit status of both).
const STEPS: &[(&str, &str, i32)] = &[
    ("init", "postmulti -e init", 0),
    ("latin-alternate", "latin_alternate", 0),
    ("create-b", "postmulti -I postfix-b -e create", 0),
    ("deport-b", "postmulti -i b -e deport", 0),
    ("deported", "primary_main_cf", 0),
    (
        "import-b",
        "postmulti -e import config_directory=/etc/postfix-b",
        0,
    ),
    ("imported", "primary_main_cf", 0),
    (
        "create-l",
        "postmulti -I postfix-l -e create config_directory=$'/etc/postfix-\\xe9'",
        0,
    ),
    ("latin-group", "latin_group", 0),
    ("list", "bytes postmulti -l", 0),
    ("list-group", "bytes postmulti -g $'\\xe9t\\xe9' -l", 0),
    ("list-dir", "bytes postmulti -i $'/etc/postfix-\\xe9' -l", 0),
    ("env-x", "env_x -g $'\\xe9t\\xe9' -x", 0),
    (
        "x-words",
        "bytes postmulti -i l -x printf '[%s]' $'\\xe9' $'a\\xe8b'",
        0,
    ),
    ("assign-refused", "postmulti -i l -G $'\\xe9' -e assign", 1),
    (
        "create-refused",
        "postmulti -I $'postfix-\\xe9' -e create",
        1,
    ),
    ("action-refused", "postmulti -e $'cr\\xe9'", 1),
    ("name-unknown", "postmulti -i $'nosuch\\xe9' -e enable", 1),
    (
        "enable-l",
        "postmulti -i $'/etc/postfix-\\xe9' -e enable",
        0,
    ),
    ("list-enabled", "bytes postmulti -l", 0),
    ("snapshot-enabled", "snapshot enabled", 0),
    ("disable-l", "postmulti -i l -e disable", 0),
    ("deport-l", "postmulti -i l -e deport", 0),
    ("deported-l", "primary_main_cf", 0),
    (
        "import-l",
        "postmulti -e import config_directory=$'/etc/postfix-\\xe9'",
        0,
    ),
    ("imported-l", "primary_main_cf", 0),
    ("list-imported", "bytes postmulti -l", 0),
    ("destroy-l", "postmulti -i l -e destroy", 0),
    ("destroyed", "instance_dirs", 0),
    ("snapshot-final", "snapshot final", 0),
    ("final", "primary_main_cf", 0),
];

/// Steps whose standard output is compared byte for byte.
const SAME_OUTPUT: &[&str] = &[
    "deported",
    "imported",
    "list",
    "list-group",
    "list-dir",
    "env-x",
    "x-words",
    "list-enabled",
    "deported-l",
    "imported-l",
    "list-imported",
    "destroyed",
    "final",
];

/// Steps whose fatal message is compared (the real postmulti's syslog
/// record with ours).
const SAME_FATAL: &[&str] = &[
    "assign-refused",
    "create-refused",
    "action-refused",
    "name-unknown",
];

fn script() -> String {
    let steps: String = STEPS
        .iter()
        .map(|(name, command, _)| format!("step {name} {command}\n"))
        .collect();
    format!("{FUNCTIONS}{steps}")
}

fn bytes_match_the_real_postmulti() {
    let script = script();
    let (real, ours) = namespace::run_side_by_side(&script, &script);
    let mut failures = Vec::new();
    compare(&real, &ours, &mut failures);
    check_facts(&real, &mut failures);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// Exit statuses, outputs, fatal messages and trees.
fn compare(real: &Outcome, ours: &Outcome, failures: &mut Vec<String>) {
    for (name, command, expected) in STEPS {
        let (r, o) = (real.step(name), ours.step(name));
        if (r.status, o.status) != (*expected, *expected) {
            failures.push(format!(
                "{name} `{command}`: exit {} (real) and {} (ours) instead of {expected}\n{r}{o}",
                r.status, o.status
            ));
        }
        if SAME_OUTPUT.contains(name) && r.stdout != o.stdout {
            failures.push(format!(
                "{name} `{command}`: stdout differs\n  real: {:?}\n  ours: {:?}",
                r.stdout, o.stdout
            ));
        }
        if SAME_FATAL.contains(name) {
            let (rf, of) = (r.syslog_fatals(), o.syslog_fatals());
            if rf.len() != 1 || rf != of {
                failures.push(format!(
                    "{name} `{command}`: fatal messages differ\n  real: {rf:?}\n  ours: {of:?}"
                ));
            }
        }
    }
    for label in ["enabled", "final"] {
        for difference in real.snapshot(label).diff(ours.snapshot(label)) {
            failures.push(format!(
                "snapshot {label}: {difference} (left real, right ours)"
            ));
        }
    }
}

// What the real postmulti does, so that the comparison means what it says.
fn check_facts(real: &Outcome, failures: &mut Vec<String>) {
    // od -c shows the byte 0350 as such in both lists.
    for name in ["deported", "imported", "final"] {
        let out = &real.step(name).stdout;
        if !out.contains("350") {
            failures.push(format!("{name}: the real one keeps {out:?}"));
        }
    }
    // The group is 3 bytes, padded to 15 by bytes: 12 spaces follow it.
    let listed = &real.step("list-group").stdout;
    if !listed.contains("351   t 351") || !listed.contains("/   e   t   c   /   p") {
        failures.push(format!("list-group: the real one lists {listed:?}"));
    }
    let env = &real.step("env-x").stdout;
    if !env.contains("351   t\n 351") || !env.contains("p   o   s   t   f   i   x\n   - 351") {
        failures.push(format!("env-x: the real one gives {env:?}"));
    }
    let refused = real.step("assign-refused").syslog_fatals();
    if refused != ["Unsafe characters in '-G ?'"] {
        failures.push(format!("assign-refused: the real one says {refused:?}"));
    }
    let gone = &real.step("destroyed").stdout;
    if gone.contains("351") {
        failures.push(format!("destroyed: the real one leaves {gone:?}"));
    }
}

/// An initialized sandbox with the instance `postfix-l` in
/// `@ROOT@/etc/postfix-\xe9`, in the group `\xe9t\xe9`; returns its
/// configuration directory.
fn latin_instance() -> (Sandbox, Vec<u8>) {
    let sandbox = initialized();
    let dir = [sandbox.root_str().as_bytes(), b"/etc/postfix-\xe9"].concat();
    let setting = [&b"config_directory="[..], &dir].concat();
    let output = sandbox
        .command(&["-I", "postfix-l", "-e", "create"])
        .arg(OsStr::from_bytes(&setting))
        .output()
        .expect("run postmulti");
    assert_success(&output);
    let main_cf = std::path::Path::new(OsStr::from_bytes(&dir)).join("main.cf");
    let mut text = std::fs::read(&main_cf).expect("the new main.cf");
    text.extend_from_slice(b"multi_instance_group = \xe9t\xe9\n");
    std::fs::write(&main_cf, text).expect("write main.cf");
    (sandbox, dir)
}

fn json_shows_bytes_that_are_not_utf8_as_replacement_characters() {
    let (sandbox, _) = latin_instance();
    let output = sandbox.run(&["-l", "-j", "-i", "l"]);
    let line = assert_success(&output);
    let root = sandbox.root_str();
    assert!(
        line.starts_with(&format!(
            "{{\"name\": \"postfix-l\",\"group\": \"\u{fffd}t\u{fffd}\",\"enabled\": \"n\",\
             \"config_directory\": \"{root}/etc/postfix-\u{fffd}\","
        )),
        "{line}"
    );
    // The plain listing keeps the bytes, padded by bytes.
    let output = sandbox.run(&["-l", "-i", "l"]);
    let expected = [
        &b"postfix-l       \xe9t\xe9             n         "[..],
        root.as_bytes(),
        b"/etc/postfix-\xe9\n",
    ]
    .concat();
    assert_eq!(output.stdout, expected, "{}", stderr(&output));
}

fn metrics_labels_show_bytes_that_are_not_utf8_as_replacement_characters() {
    let (sandbox, _) = latin_instance();
    let output = sandbox.run(&["--metrics", "-i", "l"]);
    let text = assert_success(&output);
    let enabled = text
        .lines()
        .find(|line| line.starts_with("postmulti_instance_enabled{"))
        .unwrap_or_else(|| panic!("no postmulti_instance_enabled in {text}"));
    assert_eq!(
        enabled,
        "postmulti_instance_enabled{instance=\"postfix-l\",group=\"\u{fffd}t\u{fffd}\"} 0"
    );
}

fn manifests_refuse_what_they_cannot_hold() {
    let (sandbox, dir) = latin_instance();
    sandbox.write("manifest.toml", "[[instance]]\nname = \"postfix-m\"\n");
    let before = sandbox.snapshot();
    let output = sandbox.run(&["--export"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(
        output.stderr,
        b"postmulti: fatal: group '?t?' is not UTF-8: a manifest (TOML) cannot represent it\n"
    );
    let output = sandbox.run(&["--plan", "@ROOT@/manifest.toml"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    // Messages show each byte that is not UTF-8 as `?`, as Postfix's do.
    let shown: Vec<u8> = dir
        .iter()
        .map(|&b| if b.is_ascii() { b } else { b'?' })
        .collect();
    let expected = [
        &b"postmulti: fatal: config_directory '"[..],
        &shown,
        b"' is not UTF-8: a manifest (TOML) cannot represent it\n",
    ]
    .concat();
    assert_eq!(output.stderr, expected, "{}", stderr(&output));
    sandbox.assert_unchanged(&before);
}

fn the_generator_skips_an_instance_a_unit_file_cannot_name() {
    let (sandbox, _) = latin_instance();
    let output = sandbox.run(&["-i", "l", "-e", "enable"]);
    assert_success(&output);
    std::fs::create_dir(sandbox.path("units")).expect("mkdir units");
    let output = sandbox.run(&["--systemd-generator", "@ROOT@/units"]);
    let warning = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{warning}");
    assert!(
        warning.contains("instance ")
            && warning.contains("skipped: directory '")
            && warning.contains("cannot be written in a unit file (not absolute, not UTF-8,"),
        "{warning}"
    );
    let wants = sandbox.path(&format!("units/{}", WANTS_DIRECTORY));
    let links: Vec<String> = std::fs::read_dir(&wants)
        .map(|dir| {
            dir.map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
        })
        .unwrap_or_default();
    assert!(
        !links.iter().any(|link| link.contains("postfix-l")),
        "{links:?}"
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        json_shows_bytes_that_are_not_utf8_as_replacement_characters,
        metrics_labels_show_bytes_that_are_not_utf8_as_replacement_characters,
        manifests_refuse_what_they_cannot_hold,
        the_generator_skips_an_instance_a_unit_file_cannot_name,
    ];
    Namespace: [bytes_match_the_real_postmulti];
}
