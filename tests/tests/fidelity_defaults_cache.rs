//! The `postconf -d` cache (`/var/cache/postmulti/postconf-defaults`) names
//! programs that run as root: in a namespace (whose `/var/cache` is a
//! throw-away overlay) a cache whose directory others can write, or that is
//! owned by another user, or that is a symbolic link, is rewritten to name
//! an attacker's `command_directory`; postmulti must ignore it, say so
//! once, ask `postconf -d`, and never run the attacker's program.

use postmulti_e2e::namespace::{self, Flavour};

const CACHE: &str = "/var/cache/postmulti/postconf-defaults";

/// Shell functions: the attacker's program (in the test's own scratch
/// directory), and poisoning the cache.
const FUNCTIONS: &str = r#"
evil() {
    mkdir -p "$SCRATCH/evil" && printf '#!/bin/sh\ntouch %s\n' "$SCRATCH/pwned" >"$SCRATCH/evil/postfix" &&
        chmod 755 "$SCRATCH/evil/postfix"
}
poison() {
    sed -i "s|^command_directory = .*|command_directory = $SCRATCH/evil|" "$1" &&
        grep -q "^command_directory = $SCRATCH/evil\$" "$1"
}
pwned() { test -e "$SCRATCH/pwned"; }
"#;

/// (step name, command, expected exit status).
const STEPS: &[(&str, &str, i32)] = &[
    ("init", "postmulti -e init", 0),
    (
        "cached",
        "test -f @CACHE@ -a ! -w /var/cache/postmulti/. -o -O @CACHE@",
        0,
    ),
    ("evil", "evil", 0),
    // A directory anyone can write. (Postfix is not running: status is 1.)
    ("open-dir", "chmod 777 /var/cache/postmulti", 0),
    ("poison-open-dir", "poison @CACHE@", 0),
    ("run-open-dir", "postmulti -i - -p status", 1),
    ("safe-open-dir", "pwned", 1),
    ("still-poisoned", "grep -q \"$SCRATCH/evil\" @CACHE@", 0),
    ("close-dir", "chmod 755 /var/cache/postmulti", 0),
    // A file owned by another user (in a trusted directory).
    ("foreign-file", "chown nobody @CACHE@", 0),
    ("run-foreign-file", "postmulti -i - -p status", 1),
    ("safe-foreign-file", "pwned", 1),
    ("renewed", "stat -c '%U %a' @CACHE@", 0),
    ("run-renewed", "postmulti -i - -p status", 1),
    // A symbolic link to a poisoned copy.
    (
        "link",
        "cp @CACHE@ \"$SCRATCH/copy\" && poison \"$SCRATCH/copy\" && ln -sf \"$SCRATCH/copy\" @CACHE@",
        0,
    ),
    ("run-link", "postmulti -i - -p status", 1),
    ("safe-link", "pwned", 1),
];

fn an_untrusted_defaults_cache_is_ignored_with_one_warning() {
    let steps: String = STEPS
        .iter()
        .map(|(name, command, _)| format!("step {name} {}\n", command.replace("@CACHE@", CACHE)))
        .collect();
    let outcome = namespace::run(Flavour::Ours, &format!("{FUNCTIONS}{steps}"));
    let mut failures = Vec::new();
    for (name, command, expected) in STEPS {
        let step = outcome.step(name);
        if step.status != *expected {
            failures.push(format!("{name} `{command}`: exit {}\n{step}", step.status));
        }
    }
    for (name, reason) in [
        ("run-open-dir", "/var/cache/postmulti is writable by others"),
        ("run-foreign-file", "it is owned by uid 65534"),
        ("run-link", "it is a symbolic link"),
    ] {
        let expected =
            format!("postmulti: warning: ignoring {CACHE}: {reason}; asking postconf -d instead\n");
        let step = outcome.step(name);
        if step.stderr != expected {
            failures.push(format!("{name}: expected {expected:?}\n{step}"));
        }
    }
    let renewed = outcome.step("renewed");
    if renewed.stdout != "root 644\n" {
        failures.push(format!("the cache was not renewed as root's\n{renewed}"));
    }
    if !outcome.step("run-renewed").stderr.is_empty() {
        failures.push(format!(
            "a renewed cache is trusted\n{}",
            outcome.step("run-renewed")
        ));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}\n{outcome}",
        failures.len(),
        failures.join("\n")
    );
}

postmulti_e2e::e2e_tests! {
    Namespace: [an_untrusted_defaults_cache_is_ignored_with_one_warning];
}
