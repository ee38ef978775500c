//! Side by side, listing and option errors: in one private namespace, the
//! real postmulti builds a multi-instance host (init; instances with and
//! without groups, enabled and disabled, a nameless one and a deported one),
//! then every `-l` selection and every option error of the reference page is
//! run with the real postmulti and with ours on that same state.
//!
//! Listings must agree byte for byte with the same exit status. Fatal
//! errors must carry the same text and exit 1: the real postmulti 3.7 logs
//! them only to syslog when stderr is not a terminal, ours writes them on
//! stderr (and to syslog, which is checked too).

use postmulti_e2e::namespace::{self, Flavour, Outcome};
use std::sync::OnceLock;

/// `-l` selections: (step name, arguments).
const LISTINGS: &[(&str, &str)] = &[
    ("list", "-l"),
    ("list-all", "-l -a"),
    ("list-group-mta", "-l -g mta"),
    ("list-group-other", "-l -g other"),
    ("list-group-nosuch", "-l -g nosuch"),
    ("list-name", "-l -i postfix-b"),
    ("list-suffix", "-l -i b"),
    ("list-suffix-nosuch", "-l -i nosuch"),
    ("list-primary", "-l -i -"),
    ("list-config-directory", "-l -i /etc/postfix-c"),
    ("list-nameless", "-l -i /etc/nameless"),
    ("list-deported", "-l -i postfix-e"),
    ("list-reverse", "-lR"),
    ("list-reverse-all", "-l -R -a"),
    ("list-reverse-group", "-l -R -g mta"),
    ("list-verbose", "-l -v"),
    ("list-long-options-end", "-l --"),
];

/// Option errors: (step name, arguments). Every one is fatal.
const ERRORS: &[(&str, &str)] = &[
    ("no-mode", ""),
    ("two-modes-lp", "-l -p status"),
    ("two-modes-ex", "-e init -x true"),
    ("two-selections-ag", "-l -a -g mta"),
    ("two-selections-gi", "-l -g mta -i postfix-a"),
    ("two-selections-ai", "-p -a -i postfix-a status"),
    ("command-with-list", "-l status"),
    ("no-command-p", "-p"),
    ("no-command-x", "-x"),
    ("reverse-with-p", "-p -R status"),
    ("reverse-with-e", "-e init -R"),
    ("assign-name-with-list", "-l -I postfix-x"),
    ("assign-group-with-p", "-p -G g status"),
    ("assign-with-enable", "-e enable -i postfix-a -G x"),
    ("assign-nothing", "-e assign -i postfix-a"),
    (
        "overrides-with-enable",
        "-e enable -i postfix-a queue_directory=/x",
    ),
    ("two-names", "-e create -I postfix-x -I postfix-y"),
    ("enable-without-i", "-e enable"),
    ("destroy-all", "-e destroy -a"),
    ("enable-nosuch", "-e enable -i nosuch"),
    ("invalid-action", "-e frobnicate"),
    ("no-matching-instances", "-g nosuch -p status"),
];

/// The shared namespace run (both tests read it; it runs once).
fn world() -> &'static Outcome {
    static WORLD: OnceLock<Outcome> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut script = String::from(
            r#"
set -e
postmulti -e init
postmulti -I postfix-a -G mta -e create
postmulti -I postfix-b -G mta -e create
postmulti -I postfix-c -G other -e create
postmulti -I postfix-d -e create
postmulti -I - -G other -e create config_directory=/etc/nameless \
    queue_directory=/var/spool/nameless data_directory=/var/lib/nameless
postmulti -I postfix-e -G mta -e create
postmulti -i postfix-e -e deport
postmulti -i postfix-a -e enable
postmulti -i postfix-c -e enable
set +e
"#,
        );
        for (name, args) in LISTINGS.iter().chain(ERRORS) {
            script.push_str(&format!("step 'real {name}' \"$REAL\" {args}\n"));
            script.push_str(&format!("step 'ours {name}' \"$OURS\" {args}\n"));
        }
        script.push_str("step 'real mail-config' env MAIL_CONFIG=/etc/postfix-a \"$REAL\" -l\n");
        script.push_str("step 'ours mail-config' env MAIL_CONFIG=/etc/postfix-a \"$OURS\" -l\n");
        let outcome = namespace::run(Flavour::Real, &script);
        assert_eq!(outcome.status, 0, "setting up the host failed:\n{outcome}");
        outcome
    })
}

fn every_listing_matches_the_real_postmulti() {
    let world = world();
    // The host is what it should be: six secondaries created, one deported.
    let all = &world.step("real list").stdout;
    assert_eq!(all.lines().count(), 6, "{all}");
    let mut failures = Vec::new();
    for (name, args) in LISTINGS {
        let real = world.step(&format!("real {name}"));
        let ours = world.step(&format!("ours {name}"));
        assert_eq!(real.status, 0, "real postmulti {args} failed:\n{real}");
        if (ours.status, &ours.stdout) != (real.status, &real.stdout) {
            failures.push(format!(
                "postmulti {args}:\n  real (exit {}):\n{}  ours (exit {}):\n{}  ours stderr: {}",
                real.status, real.stdout, ours.status, ours.stdout, ours.stderr
            ));
        }
        if !ours.stderr.is_empty() && !args.contains("-v") {
            failures.push(format!(
                "postmulti {args}: ours wrote on stderr: {}",
                ours.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn every_option_error_matches_the_real_postmulti() {
    let world = world();
    let mut failures = Vec::new();
    for (name, args) in ERRORS
        .iter()
        .copied()
        .chain([("mail-config", "-l with MAIL_CONFIG=/etc/postfix-a")])
    {
        let real = world.step(&format!("real {name}"));
        let ours = world.step(&format!("ours {name}"));
        let real_fatals = real.syslog_fatals();
        assert_eq!(
            real.status, 1,
            "real postmulti {args} did not fail:\n{real}"
        );
        assert_eq!(real_fatals.len(), 1, "real postmulti {args}:\n{real}");
        let ours_fatals = ours.stderr_fatals();
        if ours.status != 1 || ours_fatals != real_fatals || !ours.stdout.is_empty() {
            failures.push(format!(
                "postmulti {args}:\n  real (exit {}): {real_fatals:?}\n  ours (exit {}): {ours_fatals:?}, stdout {:?}",
                real.status, ours.status, ours.stdout
            ));
        }
        if ours.syslog_fatals() != ours_fatals {
            failures.push(format!(
                "postmulti {args}: ours logged {:?} but printed {ours_fatals:?}",
                ours.syslog_fatals()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

postmulti_e2e::e2e_tests! {
    Namespace: [
        every_listing_matches_the_real_postmulti,
        every_option_error_matches_the_real_postmulti,
    ];
}
