//! Side by side, life cycle: the same scripted sequence of `-e` actions and
//! refusals runs once in a namespace with the real postmulti and once in a
//! namespace with ours (the two run in parallel). Every step must end with
//! the same exit status, the same stdout (listings) and the same fatal
//! message (the real one's syslog text against ours' stderr), and the trees
//! `/etc/postfix*`, `/var/spool/postfix*` and `/var/lib/postfix*` must
//! match at each snapshot: types, modes, owners, groups, file contents,
//! main.cf compared as a sorted list of lines (postconf appends new
//! parameters in no fixed order).
//!
//! Warnings are compared as messages (the real one's script logs them and
//! lets `rmdir` complain on stderr; ours prints and logs them): what
//! destroy had to leave, `DIR: please verify contents and remove by hand`.

use postmulti_e2e::namespace::{self, Outcome};

/// The sequence: (step name, shell command, exit status of the real
/// postmulti). Names must be unique.
const STEPS: &[(&str, &str, i32)] = &[
    ("create-before-init", "postmulti -I postfix-a -e create", 1),
    ("init", "postmulti -e init", 0),
    ("init-again", "postmulti -e init", 0),
    ("create-a", "postmulti -I postfix-a -G mta -e create", 0),
    ("create-b", "postmulti -I postfix-b -e create", 0),
    ("create-c-first", "postmulti -I postfix-c -G mta -a -e create", 0),
    ("list-created", "postmulti -l", 0),
    ("snapshot-created", "snapshot created", 0),
    // Refusals; none of them may change anything.
    ("create-duplicate", "postmulti -I postfix-a -e create", 1),
    ("create-bad-prefix", "postmulti -I mail-z -e create", 1),
    ("create-slash", "postmulti -I postfix-a/b -e create", 1),
    ("create-bad-char", "postmulti -I 'postfix-a b' -e create", 1),
    ("create-bad-group", "postmulti -I postfix-z -G 'a b' -e create", 1),
    (
        "create-relative",
        "postmulti -I postfix-z -e create config_directory=etc/z",
        1,
    ),
    ("create-root", "postmulti -I postfix-z -e create queue_directory=/", 1),
    ("create-bad-param", "postmulti -I postfix-z -e create foo=bar", 1),
    ("create-malformed", "postmulti -I postfix-z -e create foo", 1),
    ("create-nameless-no-path", "postmulti -e create", 1),
    ("create-before-nosuch", "postmulti -I postfix-z -g nosuch -e create", 1),
    (
        "create-queue-conflict",
        "postmulti -I postfix-z -e create queue_directory=/var/spool/postfix-a",
        1,
    ),
    (
        "import-missing",
        "postmulti -e import config_directory=/etc/postfix-nosuch",
        1,
    ),
    ("destroy-primary", "postmulti -i - -e destroy", 1),
    ("deport-primary", "postmulti -i - -e deport", 1),
    ("assign-conflict", "postmulti -i postfix-b -I postfix-a -e assign", 1),
    ("assign-bad-name", "postmulti -i postfix-b -I bad -e assign", 1),
    ("list-after-refusals", "postmulti -l", 0),
    ("snapshot-refused", "snapshot refused", 0),
    // Placement and creation over existing files.
    ("create-d-before-mta", "postmulti -I postfix-d -g mta -e create", 0),
    ("create-e-before-b", "postmulti -I postfix-e -i postfix-b -e create", 0),
    (
        "prepare-existing",
        "mkdir -p /etc/postfix-x /var/spool/postfix-x /var/lib/postfix-x && cp /etc/postfix/master.cf /etc/postfix-x/ && \
         printf '%s\\n' '# hand-made' 'queue_directory = /var/spool/postfix-x' \
         'data_directory = /var/lib/postfix-x' 'smtpd_banner = hand made' \
         >/etc/postfix-x/main.cf && echo extra >/etc/postfix-x/extra.txt",
        0,
    ),
    (
        "create-existing",
        "postmulti -I postfix-x -G hand -e create",
        0,
    ),
    (
        "create-explicit-paths",
        "postmulti -I postfix-p -e create config_directory=/etc/pp/ \
         queue_directory=/var/spool/pp data_directory=/var/lib/pp",
        0,
    ),
    ("list-placed", "postmulti -l", 0),
    // Enable, disable and what enabled instances refuse.
    ("enable-a", "postmulti -i postfix-a -e enable", 0),
    ("enable-by-suffix", "postmulti -i b -e enable", 0),
    ("destroy-enabled", "postmulti -i postfix-a -e destroy", 1),
    ("deport-enabled", "postmulti -i postfix-a -e deport", 1),
    ("disable-b", "postmulti -i postfix-b -e disable", 0),
    ("enable-primary", "postmulti -i - -e enable", 0),
    ("list-enabled", "postmulti -l", 0),
    // Deport, import.
    ("deport-b", "postmulti -i postfix-b -e deport", 0),
    ("list-deported", "postmulti -l", 0),
    ("deport-again", "postmulti -i postfix-b -e deport", 1),
    (
        "import-b",
        "postmulti -I postfix-b2 -G imported -e import config_directory=/etc/postfix-b",
        0,
    ),
    ("list-imported", "postmulti -l", 0),
    // Assign.
    ("disable-a", "postmulti -i postfix-a -e disable", 0),
    (
        "assign-rename",
        "postmulti -i postfix-a -I postfix-alpha -G - -e assign",
        0,
    ),
    ("assign-no-change", "postmulti -i postfix-alpha -I postfix-alpha -e assign", 0),
    ("assign-group", "postmulti -i c -G newgroup -e assign", 0),
    ("assign-clear-group", "postmulti -i postfix-x -G - -e assign", 0),
    ("assign-clear-name", "postmulti -i postfix-p -I - -e assign", 0),
    ("list-assigned", "postmulti -l", 0),
    ("snapshot-assigned", "snapshot assigned", 0),
    // Destroy.
    ("destroy-d", "postmulti -i postfix-d -e destroy", 0),
    ("destroy-x-with-extra", "postmulti -i postfix-x -e destroy", 0),
    ("destroy-gone", "postmulti -i postfix-d -e destroy", 1),
    ("destroy-nameless", "postmulti -i /etc/pp -e destroy", 0),
    ("list-destroyed", "postmulti -l", 0),
    // The primary disabled: life-cycle actions need init again.
    ("disable-primary", "postmulti -i - -e disable", 0),
    ("create-after-disable", "postmulti -I postfix-q -e create", 1),
    ("init-again-2", "postmulti -e init", 0),
    ("list-final", "postmulti -l", 0),
    ("registry", "postconf -h multi_instance_directories alternate_config_directories", 0),
    ("snapshot-final", "snapshot final", 0),
];

/// Steps where ours deliberately differs (man page, "DIFFERENCES FROM
/// POSTFIX'S POSTMULTI"): what the real one prints on stderr (from
/// postconf) and the one fatal message ours gives instead.
fn deliberate(step: &str) -> Option<(&'static str, &'static str)> {
    match step {
        "import-missing" => Some((
            "postconf: fatal: open /etc/postfix-nosuch/main.cf: No such file or directory",
            "open /etc/postfix-nosuch/main.cf: No such file or directory",
        )),
        _ => None,
    }
}

fn script() -> String {
    STEPS
        .iter()
        .map(|(name, command, _)| format!("step {name} {command}\n"))
        .collect()
}

/// Entries that legitimately differ between two runs.
fn volatile(path: &str) -> bool {
    // The real create's temporary directory is removed again; nothing else
    // is expected to differ.
    path.ends_with("/.tmp")
}

fn life_cycle_matches_the_real_postmulti() {
    let script = script();
    let (real, ours) = namespace::run_side_by_side(&script, &script);
    compare(&real, &ours);
}

fn compare(real: &Outcome, ours: &Outcome) {
    let mut failures = Vec::new();
    for (name, command, expected) in STEPS {
        let r = real.step(name);
        let o = ours.step(name);
        if r.status != *expected {
            failures.push(format!(
                "{name} `{command}`: the real postmulti exits {} instead of {expected}\n{r}",
                r.status
            ));
        }
        if r.status != o.status {
            failures.push(format!(
                "{name} `{command}`: exit {} (real) vs {} (ours); real fatal {:?}; ours stderr {:?}",
                r.status,
                o.status,
                r.fatals(),
                o.stderr
            ));
            continue;
        }
        if r.stdout != o.stdout {
            failures.push(format!(
                "{name} `{command}`: stdout differs\n  real:\n{}  ours:\n{}",
                r.stdout, o.stdout
            ));
        }
        if let Some((real_stderr, ours_fatal)) = deliberate(name) {
            // A documented difference (man page): check both sides as such.
            if !r.stderr.contains(real_stderr) || o.fatals() != [ours_fatal] {
                failures.push(format!(
                    "{name} `{command}`: expected real stderr {real_stderr:?} and ours \
                     {ours_fatal:?}\n{r}{o}"
                ));
            }
            continue;
        }
        if o.syslog_fatals() != o.stderr_fatals() {
            failures.push(format!(
                "{name} `{command}`: ours logged {:?} but printed {:?}",
                o.syslog_fatals(),
                o.stderr_fatals()
            ));
        }
        if r.status != 0 && r.fatals() != o.fatals() {
            failures.push(format!(
                "{name} `{command}`: fatal {:?} (real) vs {:?} (ours)",
                r.fatals(),
                o.fatals()
            ));
        }
        if r.syslog_messages("warning") != o.stderr_messages("warning") {
            failures.push(format!(
                "{name} `{command}`: warnings {:?} (real) vs {:?} (ours)",
                r.syslog_messages("warning"),
                o.stderr_messages("warning")
            ));
        }
        if r.status == 0 && !o.stderr_fatals().is_empty() {
            failures.push(format!("{name} `{command}`: ours: {}", o.stderr));
        }
    }
    for label in ["created", "refused", "assigned", "final"] {
        let r = real.snapshot(label).without(volatile);
        let o = ours.snapshot(label).without(volatile);
        for difference in r.diff(&o) {
            failures.push(format!(
                "snapshot {label}: {difference} (left real, right ours)"
            ));
        }
    }
    // The snapshots hold what the sequence made.
    let last = real.snapshot("final");
    for path in [
        "/etc/postfix-a/main.cf",
        "/etc/postfix-b/master.cf",
        "/var/spool/postfix-c/maildrop",
        "/var/lib/postfix-e",
    ] {
        assert!(last.get(path).is_some(), "{path} missing from {last:#?}");
    }
    assert!(last.get("/etc/postfix-d").is_none());
    // Refusals change nothing.
    let created = real.snapshot("created").without(volatile);
    let refused = real.snapshot("refused").without(volatile);
    assert_eq!(
        created.diff(&refused),
        Vec::<String>::new(),
        "real refusals changed the tree"
    );
    let created = ours.snapshot("created").without(volatile);
    let refused = ours.snapshot("refused").without(volatile);
    for difference in created.diff(&refused) {
        failures.push(format!("ours: a refusal changed the tree: {difference}"));
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// System directories the real postmulti takes as a new instance's own
/// (only those inside the namespace's overlays are tried), each with the
/// owner and mode it leaves them with; ours refuses them (a documented
/// difference).
const SYSTEM_DIRECTORIES: &[(&str, &str, &str)] = &[
    ("data-var-lib", "data_directory=/var/lib", "/var/lib"),
    (
        "queue-var-spool",
        "queue_directory=/var/spool",
        "/var/spool",
    ),
    ("data-etc", "data_directory=/etc", "/etc"),
];

fn system_directories_are_refused_where_the_real_postmulti_takes_them() {
    let mut script = String::from("postmulti -e init\n");
    for (index, (name, setting, dir)) in SYSTEM_DIRECTORIES.iter().enumerate() {
        script.push_str(&format!(
            "step {name} postmulti -I postfix-s{index} -e create {setting}\n\
             step {name}-after stat -c '%U %a' {dir}\n"
        ));
    }
    let (real, ours) = namespace::run_side_by_side(&script, &script);
    for (name, setting, dir) in SYSTEM_DIRECTORIES {
        let (r, o) = (real.step(name), ours.step(name));
        assert_eq!(r.status, 0, "the real postmulti takes {setting}: {r}");
        assert_eq!(
            real.step(&format!("{name}-after")).stdout,
            if setting.starts_with("data") {
                "postfix 700\n"
            } else {
                "root 755\n"
            },
            "{dir} after the real postmulti"
        );
        let param = setting.split('=').next().unwrap();
        assert_eq!(
            (o.status, o.fatals()),
            (
                1,
                vec![format!(
                    "{setting}: is a system directory; an instance's directories must be its own"
                )]
            ),
            "ours refuses {param}"
        );
        assert_eq!(ours.step(&format!("{name}-after")).stdout, "root 755\n");
    }
}

postmulti_e2e::e2e_tests! {
    Namespace: [
        life_cycle_matches_the_real_postmulti,
        system_directories_are_refused_where_the_real_postmulti_takes_them,
    ];
}
