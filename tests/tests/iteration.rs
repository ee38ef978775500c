//! Iterator mode end to end: `-p` runs a stand-in `postfix` (it records its
//! arguments and environment) once per selected instance with Postfix
//! postmulti's ordering and skipping rules for start, stop, control and
//! other commands; `-x` runs any command with the instance's settings in its
//! environment and its arguments verbatim; `-v`, failing children, no match,
//! and broken secondaries (warned about, skipped, exit 1), and so are
//! secondaries below a directory another user owns.

use postmulti_e2e::sandbox::{assert_fatal, assert_success, stderr, stdout, Sandbox};

/// A sandbox with the stand-in postfix and three secondaries: `postfix-a`
/// (enabled, group mta), `postfix-b` (disabled, group mta) and `postfix-c`
/// (enabled, no group).
fn three_secondaries() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.install_stand_in_postfix();
    let a = sandbox.write_secondary(
        "postfix-a",
        "multi_instance_name = postfix-a\nmulti_instance_group = mta\nmulti_instance_enable = yes\n",
    );
    let b = sandbox.write_secondary(
        "postfix-b",
        "multi_instance_name = postfix-b\nmulti_instance_group = mta\nmulti_instance_enable = no\n",
    );
    let c = sandbox.write_secondary(
        "postfix-c",
        "multi_instance_name = postfix-c\nmulti_instance_enable = yes\n",
    );
    sandbox.register(&[&a, &b, &c]);
    sandbox
}

/// The line the stand-in records for `postfix ARGS` run for the instance
/// in `@ROOT@/etc/DIR`, without `-v`.
fn call(dir: &str, args: &[&str]) -> String {
    let args: String = args.iter().map(|arg| format!(" [{arg}]")).collect();
    format!(
        "postfix{args} MAIL_CONFIG=@ROOT@/etc/{dir} MAIL_VERBOSE=<unset> command_directory=<unset>"
    )
}

/// Runs `postmulti ARGS` in a fresh [`three_secondaries`] sandbox and
/// returns the stand-in's calls; postmulti must succeed silently.
fn calls_of(args: &[&str]) -> Vec<String> {
    let sandbox = three_secondaries();
    assert_eq!(assert_success(&sandbox.run(args)), "", "postmulti {args:?}");
    sandbox.stand_in_calls()
}

fn start_checks_disabled_instances() {
    assert_eq!(
        calls_of(&["-p", "start"]),
        [
            call("postfix", &["--", "start"]),
            call("postfix-a", &["--", "start"]),
            call("postfix-b", &["--", "check"]),
            call("postfix-c", &["--", "start"]),
        ]
    );
    // Further arguments stay as they are.
    assert_eq!(
        calls_of(&["-g", "mta", "-p", "--", "start", "-v", "x y"]),
        [
            call("postfix-a", &["--", "start", "-v", "x y"]),
            call("postfix-b", &["--", "check", "-v", "x y"]),
        ]
    );
}

fn stop_commands_run_in_reverse_and_skip_disabled_instances() {
    for command in ["stop", "abort", "drain", "quick-stop"] {
        assert_eq!(
            calls_of(&["-p", command]),
            [
                call("postfix-c", &["--", command]),
                call("postfix-a", &["--", command]),
                call("postfix", &["--", command]),
            ],
            "{command}"
        );
    }
    assert_eq!(
        calls_of(&["-g", "mta", "-p", "stop"]),
        [call("postfix-a", &["--", "stop"])]
    );
}

fn control_commands_skip_disabled_instances() {
    for command in ["reload", "flush"] {
        assert_eq!(
            calls_of(&["-p", command]),
            [
                call("postfix", &["--", command]),
                call("postfix-a", &["--", command]),
                call("postfix-c", &["--", command]),
            ],
            "{command}"
        );
    }
}

fn other_commands_run_for_every_selected_instance() {
    assert_eq!(
        calls_of(&["-p", "status"]),
        [
            call("postfix", &["--", "status"]),
            call("postfix-a", &["--", "status"]),
            call("postfix-b", &["--", "status"]),
            call("postfix-c", &["--", "status"]),
        ]
    );
    assert_eq!(
        calls_of(&["-i", "b", "-p", "set-permissions"]),
        [call("postfix-b", &["--", "set-permissions"])]
    );
    assert_eq!(
        calls_of(&["-i", "-", "-p", "status"]),
        [call("postfix", &["--", "status"])]
    );
}

fn command_classes_come_from_the_primary() {
    let sandbox = three_secondaries();
    sandbox.append_main_cf(
        "postmulti_start_commands = start, go\n\
         postmulti_stop_commands = $halt_words\nhalt_words = halt\n\
         postmulti_control_commands =\n",
    );
    for args in [
        ["-p", "go"],
        ["-p", "halt"],
        ["-p", "reload"],
        ["-p", "stop"],
    ] {
        assert_success(&sandbox.run(&args));
    }
    let expected: Vec<String> = [
        call("postfix", &["--", "go"]),
        call("postfix-a", &["--", "go"]),
        call("postfix-b", &["--", "check"]),
        call("postfix-c", &["--", "go"]),
        call("postfix-c", &["--", "halt"]),
        call("postfix-a", &["--", "halt"]),
        call("postfix", &["--", "halt"]),
    ]
    .into_iter()
    .chain(["reload", "stop"].into_iter().flat_map(|word| {
        ["postfix", "postfix-a", "postfix-b", "postfix-c"].map(|dir| call(dir, &["--", word]))
    }))
    .collect();
    assert_eq!(sandbox.stand_in_calls(), expected);
}

fn verbose_exports_mail_verbose() {
    let sandbox = three_secondaries();
    let output = sandbox.run(&["-v", "-i", "a", "-p", "status"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        sandbox.stand_in_calls(),
        [
            "postfix [--] [status] MAIL_CONFIG=@ROOT@/etc/postfix-a MAIL_VERBOSE= \
             command_directory=<unset>"
        ]
    );
    // -v also reports what is run, on standard error.
    let root = sandbox.root_str();
    assert!(
        stderr(&output).contains(&format!(
            "postmulti: {root}/etc/postfix-a: {root}/bin/postfix -- status\n"
        )),
        "{}",
        stderr(&output)
    );
}

fn a_failing_child_fails_the_run_but_not_the_others() {
    let sandbox = three_secondaries();
    sandbox.write("etc/postfix-a/fail", "");
    let output = sandbox.run(&["-p", "status"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (Some(1), String::new(), String::new())
    );
    assert_eq!(sandbox.stand_in_calls().len(), 4);
    let output = sandbox.run(&["-i", "c", "-p", "status"]);
    assert_eq!(output.status.code(), Some(0));
}

fn no_matching_instance_is_fatal() {
    let sandbox = three_secondaries();
    let before = sandbox.snapshot();
    for args in [
        &["-g", "nosuch", "-p", "status"][..],
        &["-i", "nosuch", "-x", "true"],
        // The only selected instance is disabled, and stop skips it.
        &["-i", "b", "-p", "stop"],
        &["-i", "b", "-p", "reload"],
    ] {
        assert_fatal(&sandbox.run(args), "No matching instances");
    }
    sandbox.assert_unchanged(&before);
}

fn command_environment() {
    let sandbox = three_secondaries();
    let out = assert_success(&sandbox.run(&["-i", "a", "-x", "env"]));
    let root = sandbox.root_str();
    let daemon_directory = postconf_default("daemon_directory");
    for variable in [
        format!("MAIL_CONFIG={root}/etc/postfix-a"),
        format!("command_directory={root}/bin"),
        format!("daemon_directory={daemon_directory}"),
        format!("config_directory={root}/etc/postfix-a"),
        format!("queue_directory={root}/spool/postfix-a"),
        format!("data_directory={root}/lib/postfix-a"),
        "multi_instance_name=postfix-a".to_string(),
        "multi_instance_group=mta".to_string(),
        "multi_instance_enable=yes".to_string(),
    ] {
        assert!(
            out.lines().any(|line| line == variable),
            "{variable} not in\n{out}"
        );
    }
    let path = out
        .lines()
        .find_map(|line| line.strip_prefix("PATH="))
        .expect("PATH is set");
    assert!(path.starts_with(&format!("{root}/bin:")), "{path}");
    assert!(!out.lines().any(|line| line.starts_with("MAIL_VERBOSE=")));

    // Empty name and group, and a disabled instance.
    let out = assert_success(&sandbox.run(&["-i", "-", "-x", "env"]));
    for variable in [
        "multi_instance_name=",
        "multi_instance_group=",
        "multi_instance_enable=yes",
    ] {
        assert!(out.lines().any(|line| line == variable), "{variable}");
    }
    let output = sandbox.run(&["-v", "-i", "b", "-x", "env"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.lines().any(|line| line == "multi_instance_enable=no"));
    assert!(out.lines().any(|line| line == "MAIL_VERBOSE="));
}

/// The compiled-in default of a parameter, from the installed Postfix.
fn postconf_default(name: &str) -> String {
    let output = std::process::Command::new("/usr/sbin/postconf")
        .args(["-dh", name])
        .env_remove("MAIL_CONFIG")
        .output()
        .unwrap();
    assert!(output.status.success());
    stdout(&output).trim_end().to_string()
}

fn command_arguments_pass_verbatim() {
    let sandbox = three_secondaries();
    let out = assert_success(&sandbox.run(&[
        "-g", "mta", "-x", "printf", "%s|", "a b", "$x", "*", "-v", "--", "",
    ]));
    assert_eq!(out, "a b|$x|*|-v|--||".repeat(2));
    // Every instance in order, -R reverses; the command may fail.
    let order = |args: &[&str]| {
        let out = stdout(&sandbox.run(args));
        let names: Vec<String> = out.lines().map(String::from).collect();
        names
    };
    let script = ["sh", "-c", "echo \"${multi_instance_name:--}\""];
    let forward = order(&[&["-x"][..], &script].concat());
    assert_eq!(forward, ["-", "postfix-a", "postfix-b", "postfix-c"]);
    let reverse = order(&[&["-R", "-x"][..], &script].concat());
    assert_eq!(reverse, ["postfix-c", "postfix-b", "postfix-a", "-"]);
    let output = sandbox.run(&["-i", "c", "-x", "sh", "-c", "exit 7"]);
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (Some(1), String::new())
    );
}

fn command_search_path_starts_with_command_directory() {
    let sandbox = three_secondaries();
    assert_success(&sandbox.run(&["-i", "c", "-x", "postfix", "flush"]));
    assert_eq!(
        sandbox.stand_in_calls(),
        [
            "postfix [flush] MAIL_CONFIG=@ROOT@/etc/postfix-c MAIL_VERBOSE=<unset> \
          command_directory=@ROOT@/bin"
        ]
    );
    let output = sandbox.run(&["-i", "c", "-x", "no-such-command-here"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(1),
            String::new(),
            "postmulti: fatal: execvp no-such-command-here: No such file or directory\n"
                .to_string()
        )
    );
}

fn broken_secondaries_are_skipped() {
    let sandbox = three_secondaries();
    std::fs::remove_file(sandbox.path("etc/postfix-a/main.cf")).unwrap();
    let dir = format!("{}/etc/postfix-a", sandbox.root_str());
    let warning = format!(
        "postmulti: warning: instance {dir} skipped: open {dir}/main.cf: No such file or directory\n"
    );
    let output = sandbox.run(&["-p", "start"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (Some(1), String::new(), warning.clone())
    );
    assert_eq!(
        sandbox.stand_in_calls(),
        [
            call("postfix", &["--", "start"]),
            call("postfix-b", &["--", "check"]),
            call("postfix-c", &["--", "start"]),
        ]
    );
    // Not selected: served, warned about, exit 0.
    let output = sandbox.run(&["-i", "c", "-p", "stop"]);
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (Some(0), warning.clone())
    );
    let output = sandbox.run(&["-i", "c", "-x", "true"]);
    assert_eq!((output.status.code(), stderr(&output)), (Some(0), warning));
    assert_eq!(sandbox.stand_in_calls().len(), 4);
}

fn instances_below_a_directory_others_can_change_are_skipped() {
    let sandbox = Sandbox::new();
    sandbox.install_stand_in_postfix();
    let a = sandbox.write_secondary("postfix-a", "multi_instance_name = postfix-a\n");
    let d = sandbox.write_secondary("theirs/postfix-d", "multi_instance_name = postfix-d\n");
    sandbox.register(&[&a, &d]);
    // Registered while root's; then another user's, who could swap
    // postfix-d for a directory whose postfix-script they wrote.
    std::os::unix::fs::chown(sandbox.path("etc/theirs"), Some(65534), Some(65534)).unwrap();
    let warning = format!(
        "postmulti: warning: instance {d} skipped: {}/etc/theirs is owned by uid 65534; \
         postmulti runs a command for an instance only when nobody but root (or you) can \
         change its configuration directory or one above it\n",
        sandbox.root_str()
    );
    let output = sandbox.run(&["-p", "status"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (Some(1), String::new(), warning.clone())
    );
    let calls = |dir: &str| {
        format!(
            "postfix [--] [status] MAIL_CONFIG={dir} MAIL_VERBOSE=<unset> command_directory=<unset>"
        )
        .replace(sandbox.root_str(), "@ROOT@")
    };
    assert_eq!(
        sandbox.stand_in_calls(),
        [calls(&sandbox.primary()), calls(&a)]
    );
    // Selected alone, with -x too: nothing runs, exit 1.
    let output = sandbox.run(&["-i", "postfix-d", "-x", "touch", "@ROOT@/ran"]);
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (Some(1), warning)
    );
    assert!(!sandbox.path("ran").exists());
    // Not selected: no warning, the others run.
    let output = sandbox.run(&["-i", "postfix-a", "-p", "status"]);
    assert_eq!((output.status.code(), stderr(&output)), (Some(0), String::new()));
    assert_eq!(sandbox.stand_in_calls().len(), 3);
}

fn mail_config_must_name_the_primary() {
    let sandbox = three_secondaries();
    let output = sandbox
        .command(&["-p", "start"])
        .env("MAIL_CONFIG", sandbox.path("etc/postfix-a"))
        .output()
        .unwrap();
    assert_fatal(
        &output,
        &format!(
            "Non-default configuration directory: MAIL_CONFIG={}/etc/postfix-a",
            sandbox.root_str()
        ),
    );
    assert_eq!(sandbox.stand_in_calls(), Vec::<String>::new());
    // As the multi_instance_wrapper of `postfix start` calls it.
    let output = sandbox
        .command(&["-p", "--", "start"])
        .env("MAIL_CONFIG", sandbox.primary())
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(sandbox.stand_in_calls().len(), 4);
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        start_checks_disabled_instances,
        stop_commands_run_in_reverse_and_skip_disabled_instances,
        control_commands_skip_disabled_instances,
        other_commands_run_for_every_selected_instance,
        command_classes_come_from_the_primary,
        verbose_exports_mail_verbose,
        a_failing_child_fails_the_run_but_not_the_others,
        no_matching_instance_is_fatal,
        command_environment,
        command_arguments_pass_verbatim,
        command_search_path_starts_with_command_directory,
        broken_secondaries_are_skipped,
        mail_config_must_name_the_primary,
        instances_below_a_directory_others_can_change_are_skipped,
    ];
}
