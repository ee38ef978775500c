//! A broken secondary that is selected makes the exit status 1 (the man
//! page's DIFFERENCES), whether `-g`, `-i NAME`, the short `-i` form, a
//! path, `-a` or no selection picks it, in `-l`, `-x`, `-p` and
//! `--doctor`; one that is not selected only costs a warning. Its name and
//! group count when its main.cf parsed (a conflict with another instance);
//! when main.cf cannot be read, they are unknown and only `-a`, no
//! selection, or `-i` with its configuration directory select it.

use postmulti_e2e::sandbox::{listing_line, stderr, stdout, Sandbox};

/// A primary with three secondaries in group `mta` (`postfix-a`,
/// `postfix-b`, `postfix-c`) and a stand-in postfix command; `postfix-c`
/// shares `postfix-b`'s queue directory.
fn conflicting() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.install_stand_in_postfix();
    let dirs: Vec<String> = ["postfix-a", "postfix-b", "postfix-c"]
        .iter()
        .map(|name| {
            sandbox.write_secondary(
                name,
                &format!("multi_instance_name = {name}\nmulti_instance_group = mta\n"),
            )
        })
        .collect();
    sandbox.append_main_cf("");
    sandbox.write(
        "etc/postfix-c/main.cf",
        "queue_directory = @ROOT@/spool/postfix-b\ndata_directory = @ROOT@/lib/postfix-c\n\
         multi_instance_name = postfix-c\nmulti_instance_group = mta\n",
    );
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    sandbox.register(&dirs);
    sandbox
}

/// `(exit status, stdout, stderr)` of postmulti with `args`.
fn outcome(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, String, String) {
    let output = sandbox.run(args);
    (output.status.code(), stdout(&output), stderr(&output))
}

fn a_conflicting_instance_selected_by_name_or_group_fails_the_command() {
    let sandbox = conflicting();
    let root = sandbox.root_str().to_string();
    let warning = format!(
        "postmulti: warning: instance {root}/etc/postfix-c skipped: instance {root}/etc/postfix-c, \
         queue_directory={root}/spool/postfix-b conflicts with instance {root}/etc/postfix-b, \
         queue_directory={root}/spool/postfix-b\n"
    );
    let a_and_b = format!(
        "{}{}",
        listing_line("postfix-a", "mta", "n", &format!("{root}/etc/postfix-a")),
        listing_line("postfix-b", "mta", "n", &format!("{root}/etc/postfix-b"))
    );
    assert_eq!(
        outcome(&sandbox, &["-g", "mta", "-l"]),
        (Some(1), a_and_b, warning.clone())
    );
    assert_eq!(
        outcome(&sandbox, &["-i", "postfix-c", "-l"]),
        (Some(1), String::new(), warning.clone())
    );
    for args in [
        ["-g", "mta", "-x", "true"],
        ["-i", "c", "-x", "true"],
        ["-i", "postfix-c", "-x", "true"],
        ["-g", "mta", "-p", "check"],
    ] {
        assert_eq!(
            outcome(&sandbox, &args),
            (Some(1), String::new(), warning.clone()),
            "{args:?}"
        );
    }
    // The others still ran: -p check reached a and b (disabled: check).
    let calls = sandbox.stand_in_calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(
        calls[0].contains("MAIL_CONFIG=@ROOT@/etc/postfix-a"),
        "{calls:#?}"
    );
    assert!(
        calls[1].contains("MAIL_CONFIG=@ROOT@/etc/postfix-b"),
        "{calls:#?}"
    );
    // Not selected: a warning only.
    assert_eq!(
        outcome(&sandbox, &["-i", "a", "-x", "true"]),
        (Some(0), String::new(), warning.clone())
    );
    // The doctor reports it as an error of the group.
    let (status, out, err) = outcome(&sandbox, &["--doctor", "-g", "mta"]);
    assert_eq!((status, err.as_str()), (Some(1), ""), "{out}");
    assert!(
        out.lines().any(|line| line.starts_with(&format!(
            "error: {root}/etc/postfix-c: instance {root}/etc/postfix-c, queue_directory="
        ))),
        "{out}"
    );
}

fn an_unreadable_instance_is_selected_only_by_all_or_its_directory() {
    let sandbox = conflicting();
    let root = sandbox.root_str().to_string();
    // c's main.cf is a directory: it cannot be read, so its name and group
    // are unknown.
    std::fs::remove_file(sandbox.path("etc/postfix-c/main.cf")).unwrap();
    std::fs::create_dir(sandbox.path("etc/postfix-c/main.cf")).unwrap();
    let warning = format!(
        "postmulti: warning: instance {root}/etc/postfix-c skipped: \
         open {root}/etc/postfix-c/main.cf: Is a directory\n"
    );
    let (status, out, err) = outcome(&sandbox, &["-g", "mta", "-l"]);
    assert_eq!(
        (status, out.lines().count(), err),
        (Some(0), 2, warning.clone())
    );
    assert_eq!(
        outcome(&sandbox, &["-g", "mta", "-x", "true"]),
        (Some(0), String::new(), warning.clone())
    );
    // By name it is not found.
    assert_eq!(
        outcome(&sandbox, &["-i", "c", "-x", "true"]),
        (
            Some(1),
            String::new(),
            format!("{warning}postmulti: fatal: No matching instances\n")
        )
    );
    for args in [
        vec!["-l"],
        vec!["-a", "-l"],
        vec!["-x", "true"],
        vec!["-i", &format!("{root}/etc/postfix-c"), "-x", "true"],
        vec!["--doctor"],
    ] {
        let (status, _, err) = outcome(&sandbox, &args);
        assert_eq!(status, Some(1), "{args:?}: {err}");
        if args[0] != "--doctor" {
            assert!(err.starts_with(&warning), "{args:?}: {err}");
        }
    }
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [a_conflicting_instance_selected_by_name_or_group_fails_the_command, an_unreadable_instance_is_selected_only_by_all_or_its_directory];
}
