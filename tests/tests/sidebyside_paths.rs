//! Side by side, instance directories (issue 20): the same script runs in a
//! namespace with the real postmulti and in one with ours.
//!
//! - A `$` in a `config_directory=`, `queue_directory=` or
//!   `data_directory=` operand of create (`$name`, `${name}`, `$(name)`, a
//!   parameter that does not exist), or in import's `config_directory=`:
//!   Postfix makes the directory as written and then uses the expanded
//!   value; ours refuses before anything is written (a deliberate
//!   difference, man page). The real one's outcome is checked as the man
//!   page describes it: a half-made registered instance, a parent directory
//!   taken over, a directory left behind, a registry no command can read.
//!   `$` references in an imported instance's own main.cf are taken as
//!   Postfix takes them: same exit status and trees.
//! - destroy around symbolic links: a link inside the data, queue or
//!   configuration directory or a queue subdirectory (to a file or to a
//!   directory), and a link in place of the data directory or of a queue
//!   subdirectory, are left as the real one leaves them: same exit status,
//!   same warnings (the real one's syslog records, ours' stderr and syslog),
//!   same trees with owners and modes, the links' targets untouched. A link
//!   in place of the queue or configuration directory, or above the data
//!   directory, is followed by the real one (it removes what the link
//!   points to, which is checked); ours refuses and changes nothing.

use postmulti_e2e::namespace::{self, Outcome};
use postmulti_e2e::tree::Tree;

/// Shell functions of the reference script.
const REFERENCE_FUNCTIONS: &str = r#"
save_primary() { cp /etc/postfix/main.cf "$SCRATCH/primary.cf"; }
restore_primary() { cp "$SCRATCH/primary.cf" /etc/postfix/main.cf; }
# What lies outside the instance trees: directories named with a '$',
# queue subdirectories in /var/spool itself, the parents' owners and modes.
outside() {
    (shopt -s nullglob
     for p in /etc/*'$'* /var/spool/*'$'* /var/lib/*'$'* /var/spool/maildrop /etc /var/spool /var/lib; do
         stat -c '%U:%G %a %n' "$p"
     done)
}
# A complete instance in a directory whose name holds a '$'.
prepare_literal() {
    mkdir '/etc/postfix-$x' /var/spool/postfix-x /var/lib/postfix-x &&
    cp /etc/postfix/master.cf '/etc/postfix-$x/' &&
    printf '%s\n' 'queue_directory = /var/spool/postfix-x' 'data_directory = /var/lib/postfix-x' \
        >'/etc/postfix-$x/main.cf'
}
# A deported instance whose main.cf names its directories with references.
prepare_import() {
    postmulti -I postfix-i -e create >/dev/null 2>&1 && postmulti -i postfix-i -e deport &&
    postconf -c /etc/postfix-i -e 'queue_directory = /var/spool/$multi_instance_name' \
        'data_directory = /var/lib/${multi_instance_name}'
}
"#;

/// The create and import commands with a `$` in a directory operand:
/// (label, command, the real one's exit status, the setting ours refuses
/// with the message of [`refusal`]).
const REFERENCES: &[(&str, &str, i32, &str)] = &[
    (
        "queue-name",
        "postmulti -I postfix-d -G dd -e create 'queue_directory=/var/spool/$multi_instance_name' \
         'data_directory=/var/lib/${multi_instance_name}'",
        1,
        "queue_directory=/var/spool/$multi_instance_name",
    ),
    (
        "queue-paren",
        "postmulti -I postfix-d2 -e create 'queue_directory=/var/spool/$(multi_instance_name)'",
        1,
        "queue_directory=/var/spool/$(multi_instance_name)",
    ),
    (
        "queue-unknown",
        "postmulti -I postfix-d3 -e create 'queue_directory=/var/spool/$nosuch'",
        0,
        "queue_directory=/var/spool/$nosuch",
    ),
    (
        "data-name",
        "postmulti -I postfix-d4 -e create 'data_directory=/var/lib/$multi_instance_name'",
        0,
        "data_directory=/var/lib/$multi_instance_name",
    ),
    (
        "data-unknown",
        "postmulti -I postfix-d5 -e create 'data_directory=/var/lib/${nosuch}'",
        0,
        "data_directory=/var/lib/${nosuch}",
    ),
    (
        "config-name",
        "postmulti -I postfix-d6 -e create 'config_directory=/etc/$multi_instance_name'",
        0,
        "config_directory=/etc/$multi_instance_name",
    ),
    (
        "config-unknown",
        "postmulti -I postfix-d7 -e create 'config_directory=/etc/postfix-$(nosuch)'",
        0,
        "config_directory=/etc/postfix-$(nosuch)",
    ),
    (
        "import-config",
        "postmulti -e import 'config_directory=/etc/postfix-$x'",
        0,
        "config_directory=/etc/postfix-$x",
    ),
];

/// Ours' fatal message for a `$` in `setting` (`param=value`).
fn refusal(setting: &str) -> String {
    format!(
        "{setting}: '$' is not allowed in an instance directory: Postfix would create the \
         directory as written, but use the one the expanded value names"
    )
}

/// The reference script: each case, then a listing, what lies outside the
/// trees and a snapshot, then the primary's main.cf restored so that the
/// next case starts from a registry holding only the primary.
fn reference_script() -> String {
    let mut script = String::from(REFERENCE_FUNCTIONS);
    script.push_str(
        "step init postmulti -e init\nstep prepare-literal prepare_literal\nstep save save_primary\n\
         step start-list postmulti -l\nstep start-outside outside\nsnapshot start\n",
    );
    for (label, command, _, _) in REFERENCES {
        script.push_str(&format!(
            "step {label} {command}\nstep {label}-list postmulti -l\n\
             step {label}-outside outside\nsnapshot {label}\nstep {label}-restore restore_primary\n"
        ));
    }
    script.push_str("step prepare-import prepare_import\nstep import-refs postmulti -e import config_directory=/etc/postfix-i\nsnapshot import\n");
    script
}

fn references_in_directory_operands() {
    let script = reference_script();
    let (real, ours) = namespace::run_side_by_side(&script, &script);
    let mut failures = Vec::new();
    for (label, command, real_status, setting) in REFERENCES {
        let (r, o) = (real.step(label), ours.step(label));
        if r.status != *real_status {
            failures.push(format!(
                "{label} `{command}`: the real one exits {}\n{r}",
                r.status
            ));
        }
        let expected = vec![refusal(setting)];
        if o.status != 1 || o.stderr_fatals() != expected || o.syslog_fatals() != expected {
            failures.push(format!(
                "{label} `{command}`: ours did not refuse with {expected:?}\n{o}"
            ));
        }
        // Ours changed nothing: the same listing, parents and trees.
        for (what, start) in [("list", "start-list"), ("outside", "start-outside")] {
            let step = ours.step(&format!("{label}-{what}"));
            if step.stdout != ours.step(start).stdout {
                failures.push(format!("{label}: ours changed {what}: {:?}", step.stdout));
            }
        }
        for difference in ours.snapshot("start").diff(ours.snapshot(label)) {
            failures.push(format!("{label}: ours changed the tree: {difference}"));
        }
    }
    check_real_references(&real, &mut failures);
    // References in an imported instance's main.cf: the same for both.
    for name in ["prepare-import", "import-refs"] {
        let (r, o) = (real.step(name), ours.step(name));
        if (r.status, o.status) != (0, 0) {
            failures.push(format!(
                "{name}: exit {} (real) and {} (ours)\n{r}{o}",
                r.status, o.status
            ));
        }
    }
    for dir in [
        "/etc/postfix-i",
        "/var/spool/postfix-i",
        "/var/lib/postfix-i",
    ] {
        let (r, o) = (
            real.snapshot("import").under(dir),
            ours.snapshot("import").under(dir),
        );
        for difference in r.diff(&o) {
            failures.push(format!(
                "import {dir}: {difference} (left real, right ours)"
            ));
        }
    }
    if real
        .snapshot("import")
        .get("/var/spool/postfix-i/maildrop")
        .is_none()
    {
        failures.push("import-refs: the real one's queue is missing".to_string());
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// What the real postmulti leaves, as the man page describes it.
fn check_real_references(real: &Outcome, failures: &mut Vec<String>) {
    let mut expect = |label: &str, holds: bool, what: &str| {
        if !holds {
            failures.push(format!(
                "{label}: the real one did not leave {what}\n{}",
                real.step(label)
            ));
        }
    };
    let listed = |label: &str, name: &str| {
        real.step(&format!("{label}-list"))
            .stdout
            .lines()
            .any(|line| line.starts_with(name))
    };
    let outside = |label: &str, line: &str| {
        real.step(&format!("{label}-outside"))
            .stdout
            .lines()
            .any(|l| l == line)
    };
    let step = real.step("queue-name");
    expect(
        "queue-name",
        step.syslog.contains("postfix[")
            && step
                .syslog
                .contains(": fatal: chdir(/var/spool/postfix-d): No such file or directory"),
        "postfix's chdir failure",
    );
    expect(
        "queue-name",
        listed("queue-name", "postfix-d "),
        "postfix-d registered",
    );
    expect(
        "queue-name",
        outside(
            "queue-name",
            "root:root 755 /var/spool/$multi_instance_name",
        ) && outside(
            "queue-name",
            "root:root 700 /var/lib/${multi_instance_name}",
        ),
        "the directories named with '$'",
    );
    expect(
        "queue-name",
        real.snapshot("queue-name")
            .get("/etc/postfix-d/master.cf")
            .is_some(),
        "a half-made /etc/postfix-d",
    );
    expect(
        "queue-paren",
        listed("queue-paren", "postfix-d2 "),
        "postfix-d2 registered",
    );
    expect(
        "queue-unknown",
        outside("queue-unknown", "postfix:postdrop 730 /var/spool/maildrop"),
        "a maildrop in /var/spool itself",
    );
    expect(
        "data-name",
        outside("data-name", "root:root 700 /var/lib/$multi_instance_name")
            && real
                .snapshot("data-name")
                .get("/var/lib/postfix-d4")
                .is_some(),
        "the directory named with '$' beside the one used",
    );
    expect(
        "data-unknown",
        outside("data-unknown", "postfix:root 700 /var/lib"),
        "/var/lib owned by postfix, mode 0700",
    );
    for label in ["config-name", "config-unknown", "import-config"] {
        expect(
            label,
            real.step(&format!("{label}-list")).status == 1,
            "a registry -l cannot read",
        );
    }
}

/// Shell functions of the destroy script.
const DESTROY_FUNCTIONS: &str = r#"
T=/var/lib/postfix-targets
V=/var/lib/postfix-victims
targets() {
    mkdir -p $T/dir $T/empty-b4 $T/empty-b5 $V/copy-b7 $V/parent &&
    echo secret >$T/file && echo kept >$T/dir/f && chmod 640 $T/file
}
links_b1() { ln -s $T/file /var/lib/postfix-b1/link; }
links_b2() {
    ln -s $T/file /var/spool/postfix-b2/link && ln -s $T/file /var/spool/postfix-b2/maildrop/link &&
    ln -s $T/file /var/spool/postfix-b2/pid/link
}
links_b3() {
    ln -s $T/file /etc/postfix-b3/link && ln -s $T/dir /var/lib/postfix-b3/dlink &&
    ln -s $T/dir /var/spool/postfix-b3/dlink
}
links_b4() { rmdir /var/lib/postfix-b4 && ln -s $T/empty-b4 /var/lib/postfix-b4; }
links_b5() { rmdir /var/spool/postfix-b5/maildrop && ln -s $T/empty-b5 /var/spool/postfix-b5/maildrop; }
# The queue directory a link to a queue elsewhere (its empty subdirectories).
links_b6() { mv /var/spool/postfix-b6 $V/queue-b6 && ln -s $V/queue-b6 /var/spool/postfix-b6; }
# The configuration directory a link to a copy elsewhere.
links_b7() { mv /etc/postfix-b7/* $V/copy-b7/ && rmdir /etc/postfix-b7 && ln -s $V/copy-b7 /etc/postfix-b7; }
# The data directory below a link.
links_b8() {
    mv /var/lib/postfix-b8 $V/parent/ && ln -s $V/parent /var/lib/postfix-above &&
    postconf -c /etc/postfix-b8 -e data_directory=/var/lib/postfix-above/postfix-b8
}
"#;

/// The destroy cases: instance, and whether the real one and ours both
/// destroy it (otherwise the real one follows the link and ours refuses).
const DESTROYS: &[(&str, bool)] = &[
    ("b1", true),
    ("b2", true),
    ("b3", true),
    ("b4", true),
    ("b5", true),
    ("b6", false),
    ("b7", false),
    ("b8", false),
];

/// Where the deliberately different cases' files are.
fn deliberate_path(path: &str) -> bool {
    [
        "postfix-b6",
        "postfix-b7",
        "postfix-b8",
        "postfix-victims",
        "postfix-above",
    ]
    .iter()
    .any(|name| path.contains(name))
}

fn destroy_script() -> String {
    let mut script = String::from(DESTROY_FUNCTIONS);
    script.push_str("step init postmulti -e init\nstep targets targets\n");
    for (name, _) in DESTROYS {
        script.push_str(&format!(
            "step create-{name} postmulti -I postfix-{name} -e create\n\
             step disable-{name} postmulti -i postfix-{name} -e disable\n\
             step links-{name} links_{name}\n"
        ));
    }
    script.push_str("snapshot before\n");
    for (name, _) in DESTROYS {
        script.push_str(&format!(
            "step destroy-{name} postmulti -i postfix-{name} -e destroy\n"
        ));
    }
    script.push_str("step list postmulti -l\nsnapshot after\n");
    script
}

fn destroy_around_symbolic_links() {
    let script = destroy_script();
    let (real, ours) = namespace::run_side_by_side(&script, &script);
    let mut failures = Vec::new();
    for step in real.steps.iter().chain(&ours.steps) {
        if !step.name.starts_with("destroy-") && step.status != 0 {
            failures.push(format!("{:?}: {step}", step.flavour));
        }
    }
    for (name, same) in DESTROYS {
        let step = format!("destroy-{name}");
        let (r, o) = (real.step(&step), ours.step(&step));
        if !same {
            let refused = format!(
                "cannot destroy instance /etc/postfix-{name}: {} is a symbolic link, and destroy \
                 does not follow symbolic links",
                match *name {
                    "b6" => "/var/spool/postfix-b6",
                    "b7" => "/etc/postfix-b7",
                    _ => "/var/lib/postfix-above",
                }
            );
            if r.status != 0 || o.status != 1 || o.stderr_fatals() != [refused.clone()] {
                failures.push(format!("{step}: expected the real one to destroy and ours to refuse with {refused:?}\n{r}{o}"));
            }
            continue;
        }
        let warnings = r.syslog_messages("warning");
        if r.status != 0 || o.status != 0 || warnings.is_empty() {
            failures.push(format!(
                "{step}: exit {} (real) and {} (ours)\n{r}{o}",
                r.status, o.status
            ));
        }
        if o.stderr_messages("warning") != warnings || o.syslog_messages("warning") != warnings {
            failures.push(format!("{step}: warnings differ: real {warnings:?}\n{o}"));
        }
        // The real one's stderr holds rmdir's complaints, ours only the warnings.
        if !r
            .stderr
            .lines()
            .all(|line| line.starts_with("rmdir: failed to remove '"))
            || o.stderr.lines().count() != warnings.len()
        {
            failures.push(format!("{step}: stderr\n{r}{o}"));
        }
    }
    // The primary's main.cf lists the refused instances in ours only.
    let same =
        |tree: &Tree| tree.without(|path| deliberate_path(path) || path == "/etc/postfix/main.cf");
    for label in ["before", "after"] {
        for difference in same(real.snapshot(label)).diff(&same(ours.snapshot(label))) {
            failures.push(format!(
                "snapshot {label}: {difference} (left real, right ours)"
            ));
        }
    }
    // The links' targets are untouched, and ours left the refused instances
    // as they were.
    let targets =
        |outcome: &Outcome, label: &str| outcome.snapshot(label).under("/var/lib/postfix-targets");
    for outcome in [&real, &ours] {
        if targets(outcome, "before") != targets(outcome, "after") {
            failures.push(format!("{}: a link's target changed", outcome.flavour));
        }
    }
    if targets(&ours, "after")
        .get("/var/lib/postfix-targets/file")
        .is_none()
    {
        failures.push("the targets are missing from the snapshot".to_string());
    }
    let refused = |tree: &Tree| tree.without(|path| !deliberate_path(path));
    for difference in refused(ours.snapshot("before")).diff(&refused(ours.snapshot("after"))) {
        failures.push(format!("ours changed a refused instance: {difference}"));
    }
    // What the real one removed through the links.
    let after = real.snapshot("after");
    for gone in [
        "/var/lib/postfix-victims/queue-b6/maildrop",
        "/var/lib/postfix-victims/copy-b7/main.cf",
        "/var/lib/postfix-victims/parent/postfix-b8",
    ] {
        if after.get(gone).is_some() || real.snapshot("before").get(gone).is_none() {
            failures.push(format!("the real one did not remove {gone} through a link"));
        }
    }
    let listed = &ours.step("list").stdout;
    if !listed.contains("postfix-b6") || listed.contains("postfix-b1 ") {
        failures.push(format!("ours lists {listed:?}"));
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

postmulti_e2e::e2e_tests! {
    Namespace: [references_in_directory_operands, destroy_around_symbolic_links];
}
