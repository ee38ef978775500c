//! `postmulti --doctor` end to end, in sandboxes: clean on a freshly
//! initialised sandbox with two instances; one sandbox situation per
//! finding, with the exact line, and exit 1 for errors only; selection with
//! `-i` and `-g`.

use postmulti_e2e::fixtures::{assert_clean, doctor, instance_dir, set_param, two_instances};
use postmulti_e2e::sandbox::{assert_fatal, assert_success, FakeMaster};
use std::os::unix::fs::PermissionsExt;

fn doctor_is_silent_on_a_fresh_setup() {
    let sandbox = two_instances();
    assert_clean(&sandbox, &[]);
    assert_clean(&sandbox, &["-a"]);
    assert_clean(&sandbox, &["-i", "a"]);
    assert_clean(&sandbox, &["-g", "mta"]);
    // Enabling a new instance keeps it clean: its inet services are off.
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    assert_success(&sandbox.run(&["-i", "b", "-e", "enable"]));
    assert_clean(&sandbox, &[]);
    // A selection that matches nothing is an error, not a clean bill.
    assert_fatal(
        &sandbox.run(&["--doctor", "-i", "nosuch"]),
        "No matching instances",
    );
    assert_fatal(
        &sandbox.run(&["--doctor", "-g", "nosuch"]),
        "No matching instances",
    );
    assert_fatal(
        &sandbox.run(&["--doctor", "extra"]),
        "Command not allowed with '-l'",
    );
}

fn doctor_missing_main_cf_or_master_cf() {
    let sandbox = two_instances();
    let (a, b) = (
        instance_dir(&sandbox, "postfix-a"),
        instance_dir(&sandbox, "postfix-b"),
    );
    std::fs::remove_file(sandbox.path("etc/postfix-a/master.cf")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (Some(1), vec![format!("error: {a}: master.cf is missing")])
    );
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).unwrap();
    let main_cf_missing = format!("error: {b}: open {b}/main.cf: No such file or directory");
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![
                main_cf_missing.clone(),
                format!("error: {a}: master.cf is missing")
            ]
        )
    );
    // Selection: each is reported only where selected.
    assert_eq!(
        doctor(&sandbox, &["-i", "a"]),
        (Some(1), vec![format!("error: {a}: master.cf is missing")])
    );
    assert_eq!(
        doctor(&sandbox, &["-i", &b]),
        (Some(1), vec![main_cf_missing])
    );
    assert_clean(&sandbox, &["-i", "-"]);
}

fn doctor_queue_and_data_directories() {
    let sandbox = two_instances();
    let root = sandbox.root_str().to_string();
    let (a, b) = (
        instance_dir(&sandbox, "postfix-a"),
        instance_dir(&sandbox, "postfix-b"),
    );
    let advice = |dir: &str| format!("(postfix -c {dir} set-permissions fixes it)");
    let chmod = |relative: &str, mode: u32| {
        std::fs::set_permissions(sandbox.path(relative), PermissionsExt::from_mode(mode)).unwrap()
    };
    let chown = |relative: &str, uid: Option<u32>, gid: Option<u32>| {
        std::os::unix::fs::chown(sandbox.path(relative), uid, gid).unwrap()
    };

    // A missing queue subdirectory: postfix start makes it, so a warning
    // while the instance is stopped, an error while it runs.
    std::fs::remove_dir(sandbox.path("spool/postfix-a/hold")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {a}: {root}/spool/postfix-a/hold is missing (postfix start creates it)"
            )]
        )
    );
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {a}: {root}/spool/postfix-a/hold is missing"
            )]
        )
    );
    drop(master);
    // A missing queue directory: one line, not one per subdirectory.
    std::fs::rename(
        sandbox.path("spool/postfix-a"),
        sandbox.path("spool-a-moved"),
    )
    .unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {a}: {root}/spool/postfix-a is missing (postfix start creates it)"
            )]
        )
    );
    std::fs::rename(
        sandbox.path("spool-a-moved"),
        sandbox.path("spool/postfix-a"),
    )
    .unwrap();
    std::fs::create_dir(sandbox.path("spool/postfix-a/hold")).unwrap();
    chown("spool/postfix-a/hold", Some(uid_of("postfix")), Some(0));
    chmod("spool/postfix-a/hold", 0o700);
    assert_clean(&sandbox, &[]);

    // A missing data directory.
    std::fs::remove_dir(sandbox.path("lib/postfix-b")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {b}: {root}/lib/postfix-b is missing (postfix start creates it)"
            )]
        )
    );
    std::fs::create_dir(sandbox.path("lib/postfix-b")).unwrap();
    chown("lib/postfix-b", Some(uid_of("postfix")), Some(0));
    chmod("lib/postfix-b", 0o700);
    assert_clean(&sandbox, &[]);

    // Debian's own modes: maildrop sticky, public set-gid, are fine.
    chmod("spool/postfix-b/maildrop", 0o1730);
    chmod("spool/postfix-b/public", 0o2710);
    assert_clean(&sandbox, &[]);

    // More open than postfix-files: a warning; less open, or a wrong owner
    // or group: an error.
    chmod("lib/postfix-b", 0o755);
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {b}: {root}/lib/postfix-b: mode 0755, not 0700 {}",
                advice(&b)
            )]
        )
    );
    chmod("lib/postfix-b", 0o500);
    chown("spool/postfix-a/public", Some(0), None);
    chown("spool/postfix-b/maildrop", None, Some(0));
    chmod("spool/postfix-b/maildrop", 0o1733);
    let expected = vec![
        format!(
            "error: {a}: {root}/spool/postfix-a/public: owner uid 0, not postfix {}",
            advice(&a)
        ),
        format!(
            "error: {b}: {root}/lib/postfix-b: mode 0500, not 0700 {}",
            advice(&b)
        ),
        format!(
            "error: {b}: {root}/spool/postfix-b/maildrop: mode 1733, not 0730, group gid 0, not postdrop {}",
            advice(&b)
        ),
    ];
    assert_eq!(doctor(&sandbox, &[]), (Some(1), expected.clone()));
    assert_eq!(
        doctor(&sandbox, &["-g", "mta"]),
        (Some(1), expected[..1].to_vec())
    );
    assert_eq!(
        doctor(&sandbox, &["-i", "b"]),
        (Some(1), expected[1..].to_vec())
    );
}

/// The uid of a user.
fn uid_of(name: &str) -> u32 {
    nix::unistd::User::from_name(name)
        .unwrap()
        .unwrap()
        .uid
        .as_raw()
}

fn doctor_inet_services_that_would_clash() {
    let sandbox = two_instances();
    let (primary, a, b) = (
        sandbox.primary(),
        instance_dir(&sandbox, "postfix-a"),
        instance_dir(&sandbox, "postfix-b"),
    );
    let a_cf = "etc/postfix-a/main.cf";
    // A disabled instance does not bind: no clash.
    set_param(&sandbox, a_cf, "master_service_disable", None);
    assert_clean(&sandbox, &[]);
    // Enabled, its smtp service would bind *:25 as the primary's does.
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    let clash = format!("error: {a}: inet service *:25 would also be bound by {primary}");
    assert_eq!(doctor(&sandbox, &[]), (Some(1), vec![clash.clone()]));
    // Selected on either side of the pair.
    assert_eq!(
        doctor(&sandbox, &["-i", "a"]),
        (Some(1), vec![clash.clone()])
    );
    assert_eq!(
        doctor(&sandbox, &["-i", "-"]),
        (Some(1), vec![clash.clone()])
    );
    assert_clean(&sandbox, &["-i", "b"]);

    // master_service_disable is a first-match list of types and name/type.
    for (value, clean) in [
        ("smtp/inet", true),
        ("inet", true),
        ("unix", false),
        ("smtp", false),
        ("!smtp/inet, inet", false),
        ("!submission/inet, inet", true),
    ] {
        set_param(&sandbox, a_cf, "master_service_disable", Some(value));
        let expected = if clean {
            (Some(0), vec![])
        } else {
            (Some(1), vec![clash.clone()])
        };
        assert_eq!(
            doctor(&sandbox, &[]),
            expected,
            "master_service_disable = {value}"
        );
    }
    set_param(&sandbox, a_cf, "master_service_disable", None);

    // inet_interfaces: different addresses do not clash, the same one does.
    set_param(
        &sandbox,
        "etc/postfix/main.cf",
        "inet_interfaces",
        Some("127.0.0.1"),
    );
    set_param(&sandbox, a_cf, "inet_interfaces", Some("127.0.0.2"));
    assert_clean(&sandbox, &[]);
    set_param(&sandbox, a_cf, "inet_interfaces", Some("loopback-only"));
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {a}: inet service 127.0.0.1:25 would also be bound by {primary}"
            )]
        )
    );
    // A host in master.cf: postfix-b's 127.0.0.2:smtp against a's *:25.
    set_param(&sandbox, a_cf, "inet_interfaces", Some("all"));
    set_param(
        &sandbox,
        "etc/postfix/main.cf",
        "master_service_disable",
        Some("inet"),
    );
    let b_master = sandbox.read("etc/postfix-b/master.cf");
    sandbox.write(
        "etc/postfix-b/master.cf",
        &format!("{b_master}127.0.0.2:smtp inet n - y - - smtpd\n"),
    );
    set_param(
        &sandbox,
        "etc/postfix-b/main.cf",
        "master_service_disable",
        Some("smtp/inet"),
    );
    assert_success(&sandbox.run(&["-i", "b", "-e", "enable"]));
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {b}: inet service 127.0.0.2:25 would also be bound by {a}"
            )]
        )
    );
}

fn doctor_shared_syslog_names() {
    let sandbox = two_instances();
    let primary = sandbox.primary();
    // A nameless instance logs as "postfix", as the primary does.
    assert_success(&sandbox.run(&[
        "-e",
        "create",
        "config_directory=@ROOT@/etc/nameless",
        "queue_directory=@ROOT@/spool/nameless",
        "data_directory=@ROOT@/lib/nameless",
    ]));
    let nameless = instance_dir(&sandbox, "nameless");
    let warning = format!(
        "warning: {nameless}: syslog_name postfix is also used by {primary}: their logs cannot be told apart"
    );
    // A warning: exit 0.
    assert_eq!(doctor(&sandbox, &[]), (Some(0), vec![warning.clone()]));
    assert_eq!(
        doctor(&sandbox, &["-i", &nameless]),
        (Some(0), vec![warning.clone()])
    );
    assert_eq!(doctor(&sandbox, &["-i", "-"]), (Some(0), vec![warning]));
    assert_clean(&sandbox, &["-i", "a"]);
    // Explicit names too.
    set_param(
        &sandbox,
        "etc/nameless/main.cf",
        "syslog_name",
        Some("postfix-nl"),
    );
    assert_clean(&sandbox, &[]);
    set_param(
        &sandbox,
        "etc/postfix-b/main.cf",
        "syslog_name",
        Some("postfix-a"),
    );
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {}: syslog_name postfix-a is also used by {}: their logs cannot be told apart",
                instance_dir(&sandbox, "postfix-b"),
                instance_dir(&sandbox, "postfix-a")
            )]
        )
    );
}

fn doctor_alternate_config_directories_and_repeated_entries() {
    let sandbox = two_instances();
    let (primary, a, b) = (
        sandbox.primary(),
        instance_dir(&sandbox, "postfix-a"),
        instance_dir(&sandbox, "postfix-b"),
    );
    sandbox.append_main_cf(&format!("alternate_config_directories = {b}\n"));
    let alternate = format!(
        "warning: {b}: listed in both multi_instance_directories and alternate_config_directories"
    );
    assert_eq!(doctor(&sandbox, &[]), (Some(0), vec![alternate.clone()]));
    assert_eq!(
        doctor(&sandbox, &["-i", "b"]),
        (Some(0), vec![alternate.clone()])
    );
    assert_clean(&sandbox, &["-i", "a"]);

    // Repeated multi_instance_* entries, in a secondary and in the primary.
    let a_main = sandbox.read("etc/postfix-a/main.cf");
    sandbox.write(
        "etc/postfix-a/main.cf",
        &format!("{a_main}multi_instance_group = mta\nmulti_instance_name = postfix-a\n"),
    );
    sandbox.append_main_cf("multi_instance_enable = yes\nmulti_instance_enable = yes\n");
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![
                format!("warning: {primary}: multi_instance_enable is set 3 times in main.cf; the last one wins"),
                format!("warning: {a}: multi_instance_name is set 2 times in main.cf; the last one wins"),
                format!("warning: {a}: multi_instance_group is set 2 times in main.cf; the last one wins"),
                alternate,
            ]
        )
    );
}

fn doctor_disabled_but_running() {
    let sandbox = two_instances();
    let b = instance_dir(&sandbox, "postfix-b");
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-b"));
    let line = format!(
        "warning: {b}: disabled, but running (master pid {}): postmulti will not stop it",
        master.pid()
    );
    assert_eq!(doctor(&sandbox, &[]), (Some(0), vec![line.clone()]));
    assert_eq!(doctor(&sandbox, &["-i", "b"]), (Some(0), vec![line]));
    // Enabled and running, or disabled and stopped: nothing to say.
    assert_success(&sandbox.run(&["-i", "b", "-e", "enable"]));
    assert_clean(&sandbox, &[]);
    assert_success(&sandbox.run(&["-i", "b", "-e", "disable"]));
    drop(master);
    assert_clean(&sandbox, &[]);
}

fn doctor_reports_errors_and_warnings_together() {
    let sandbox = two_instances();
    let (a, b) = (
        instance_dir(&sandbox, "postfix-a"),
        instance_dir(&sandbox, "postfix-b"),
    );
    sandbox.append_main_cf(&format!("alternate_config_directories = {a}\n"));
    std::fs::remove_file(sandbox.path("etc/postfix-b/master.cf")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![
                format!("warning: {a}: listed in both multi_instance_directories and alternate_config_directories"),
                format!("error: {b}: master.cf is missing"),
            ]
        )
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        doctor_is_silent_on_a_fresh_setup,
        doctor_missing_main_cf_or_master_cf,
        doctor_queue_and_data_directories,
        doctor_inet_services_that_would_clash,
        doctor_shared_syslog_names,
        doctor_alternate_config_directories_and_repeated_entries,
        doctor_disabled_but_running,
        doctor_reports_errors_and_warnings_together,
    ];
}
