//! Option errors end to end: every one of Postfix postmulti's option errors
//! (and those of our own options) is `postmulti: fatal: MESSAGE` on
//! standard error with exit status 1 and changes nothing in the sandbox;
//! usage for unknown options; `--help`, `--version`, `-c`, `MAIL_CONFIG`
//! and `--completions bash|zsh|fish`.

use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, postmulti_bin, stderr, stdout, Sandbox,
};
use std::process::{Command, Output, Stdio};

/// Postfix's usage message, as the fatal message of a getopt error.
const USAGE: &str = "Usage:postmulti -l [-v] [-a] [-g group] [-i instance] | \
postmulti -p [-v] [-a] [-g group] [-i instance] command... | \
postmulti -x [-v] [-a] [-i name] [-g group] command... | \
postmulti -e action [-v] [-a] [-i name] [-g group] [-I name] [-G group] [param=value ...]";

/// Runs each command line in a fresh initialized sandbox with one
/// secondary, asserting the fatal `message` and an unchanged tree.
fn assert_refused_in_fresh_sandboxes(cases: &[(&[&str], &str)]) {
    for (args, message) in cases {
        let sandbox = Sandbox::new();
        let dir = sandbox.write_secondary(
            "postfix-a",
            "multi_instance_name = postfix-a\nmulti_instance_group = mta\n",
        );
        sandbox.register(&[&dir]);
        sandbox.assert_refused(args, message);
    }
}

fn mode_errors() {
    let exactly_one = "Specify exactly one of '-e', '-l', '-p', '-x'";
    assert_refused_in_fresh_sandboxes(&[
        (&[], exactly_one),
        (&["-v"], exactly_one),
        (&["-a"], exactly_one),
        (&["-l", "-p", "start"], exactly_one),
        (&["-l", "-x", "true"], exactly_one),
        (&["-p", "-x", "true"], exactly_one),
        (&["-e", "init", "-l"], exactly_one),
        (&["-e", "init", "-e", "create"], exactly_one),
        (&["-e", "enable", "-x", "true"], exactly_one),
    ]);
}

fn selection_errors() {
    let no_more_than_one = "Specity no more than one of '-a', '-g', '-i'";
    assert_refused_in_fresh_sandboxes(&[
        (&["-l", "-a", "-g", "mta"], no_more_than_one),
        (&["-l", "-a", "-i", "a"], no_more_than_one),
        (&["-l", "-g", "mta", "-i", "a"], no_more_than_one),
        (&["-l", "-i", "a", "-i", "b"], no_more_than_one),
        (&["-l", "-g", "a", "-g", "b"], no_more_than_one),
        (&["-p", "-a", "-i", "a", "start"], no_more_than_one),
        (&["-e", "enable", "-a", "-i", "a"], no_more_than_one),
    ]);
}

fn command_errors() {
    assert_refused_in_fresh_sandboxes(&[
        (&["-l", "start"], "Command not allowed with '-l'"),
        (
            &["-l", "-i", "a", "--", "x"],
            "Command not allowed with '-l'",
        ),
        (&["-p"], "Command required with '-p' or '-x' option"),
        (&["-x"], "Command required with '-p' or '-x' option"),
        (
            &["-x", "-i", "a"],
            "Command required with '-p' or '-x' option",
        ),
        (&["-p", "--"], "Command required with '-p' or '-x' option"),
    ]);
}

fn reverse_errors() {
    let preclude = "The '-p' and '-e' options preclude the use of '-R'";
    assert_refused_in_fresh_sandboxes(&[
        (&["-p", "-R", "status"], preclude),
        (&["-pR", "stop"], preclude),
        (&["-e", "init", "-R"], preclude),
        (&["-e", "disable", "-i", "a", "-R"], preclude),
    ]);
}

fn assignment_errors() {
    assert_refused_in_fresh_sandboxes(&[
        (
            &["-l", "-I", "postfix-b"],
            "Cannot assign instance name or group without '-e assign'",
        ),
        (
            &["-p", "-G", "mta", "status"],
            "Cannot assign instance name or group without '-e assign'",
        ),
        (
            &["-x", "-I", "postfix-b", "true"],
            "Cannot assign instance name or group without '-e assign'",
        ),
        (
            &["-e", "enable", "-i", "a", "-I", "postfix-b"],
            "Cannot assign instance name or group with '-e enable'",
        ),
        (
            &["-e", "destroy", "-i", "a", "-G", "x"],
            "Cannot assign instance name or group with '-e destroy'",
        ),
        (
            &["-e", "init", "-G", "x"],
            "Cannot assign instance name or group with '-e init'",
        ),
        (
            &["-e", "assign", "-i", "a"],
            "Specify new instance name or group with '-e assign'",
        ),
        (
            &["-e", "create", "-I", "postfix-b", "-I", "postfix-c"],
            "Specify at most one '-I' option",
        ),
        (
            &["-e", "assign", "-i", "a", "-G", "x", "-G", "y"],
            "Specify at most one '-G' option",
        ),
    ]);
}

fn parameter_override_errors() {
    assert_refused_in_fresh_sandboxes(&[
        (
            &["-e", "enable", "-i", "a", "foo=bar"],
            "Parameter overrides not valid with '-e enable'",
        ),
        (
            &["-e", "init", "queue_directory=/x"],
            "Parameter overrides not valid with '-e init'",
        ),
        (
            &["-e", "assign", "-i", "a", "-G", "g", "x=y"],
            "Parameter overrides not valid with '-e assign'",
        ),
    ]);
}

fn invalid_edit_action() {
    let invalid = |word: &str| {
        format!(
            "Invalid '-e' edit action '{word}'. Specify 'create', 'destroy', 'import', \
             'deport', 'enable', 'disable', 'assign' or 'init'"
        )
    };
    let (frob, upper, empty) = (invalid("frob"), invalid("INIT"), invalid(""));
    assert_refused_in_fresh_sandboxes(&[
        (&["-e", "frob"], &frob),
        (&["-e", "INIT"], &upper),
        (&["-e", ""], &empty),
    ]);
}

fn our_options_need_their_modes() {
    assert_refused_in_fresh_sandboxes(&[
        (&["-p", "-j", "status"], "The '-j' option requires '-l'"),
        (&["-e", "init", "-j"], "The '-j' option requires '-l'"),
        (
            &["-x", "--status", "true"],
            "The '--status' option requires '-l'",
        ),
        (
            &["-l", "-j", "--status"],
            "Specify at most one of '-j' and '--status'",
        ),
        (&["-l", "--dry-run"], "The '--dry-run' option requires '-e'"),
        (
            &["-p", "--dry-run", "start"],
            "The '--dry-run' option requires '-e'",
        ),
        (
            &["-e", "init", "--template", "/tmp"],
            "The '--template' option requires '-e create'",
        ),
        (
            &["-l", "--template", "/tmp"],
            "The '--template' option requires '-e create'",
        ),
    ]);
}

fn instance_selection_errors() {
    let select = "Select an instance via '-i name'";
    assert_refused_in_fresh_sandboxes(&[
        (&["-e", "enable"], select),
        (&["-e", "disable", "-g", "mta"], select),
        (&["-e", "destroy", "-a"], select),
        (&["-e", "deport"], select),
        (&["-e", "assign", "-G", "x"], select),
        (
            &["-e", "enable", "-i", "nosuch"],
            "No instance named nosuch",
        ),
        (
            &["-e", "destroy", "-i", "postfix-b"],
            "No instance named postfix-b",
        ),
        (
            &["-e", "assign", "-i", "x", "-G", "g"],
            "No instance named x",
        ),
    ]);
}

fn unknown_option_prints_usage() {
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let output = sandbox.run(&["-z"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(1),
            String::new(),
            format!("postmulti: invalid option -- 'z'\npostmulti: fatal: {USAGE}\n")
        )
    );
    let output = sandbox.run(&["-l", "-i"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).ends_with(&format!("postmulti: fatal: {USAGE}\n")),
        "{}",
        stderr(&output)
    );
    sandbox.assert_unchanged(&before);
}

fn relative_config_directory_is_refused() {
    let output = std::process::Command::new(postmulti_bin())
        .args(["-c", "etc/postfix", "-l"])
        .env_remove("MAIL_CONFIG")
        .output()
        .unwrap();
    assert_fatal(
        &output,
        "Specify an absolute pathname with '-c': 'etc/postfix'",
    );
}

fn mail_config_must_be_the_primary() {
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let output = sandbox
        .command(&["-e", "init"])
        .env("MAIL_CONFIG", "/etc/postfix-elsewhere")
        .output()
        .unwrap();
    assert_fatal(
        &output,
        "Non-default configuration directory: MAIL_CONFIG=/etc/postfix-elsewhere",
    );
    let output = sandbox
        .command(&["-l"])
        .env("MAIL_CONFIG", format!("{}/", sandbox.primary()))
        .output()
        .unwrap();
    assert_fatal(
        &output,
        &format!(
            "Non-default configuration directory: MAIL_CONFIG={}/",
            sandbox.primary()
        ),
    );
    sandbox.assert_unchanged(&before);
    // The primary itself is accepted.
    let output = sandbox
        .command(&["-l"])
        .env("MAIL_CONFIG", sandbox.primary())
        .output()
        .unwrap();
    assert_eq!(
        assert_success(&output),
        format!(
            "-               -               y         {}\n",
            sandbox.primary()
        )
    );
}

fn help_and_version() {
    let run = |arg: &str| {
        std::process::Command::new(postmulti_bin())
            .arg(arg)
            .env_remove("MAIL_CONFIG")
            .output()
            .unwrap()
    };
    let help = assert_success(&run("--help"));
    for needle in [
        "postmulti",
        "-l",
        "-p",
        "-x",
        "-e <ACTION>",
        "-c <DIR>",
        "--dry-run",
        "--version",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let version = assert_success(&run("--version"));
    assert_eq!(
        version,
        format!("postmulti {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs the binary without `-c`.
fn run_bare(args: &[&str]) -> Output {
    Command::new(postmulti_e2e::sandbox::postmulti_bin())
        .args(args)
        .env_remove("MAIL_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn completions_for_bash_zsh_and_fish() {
    let bash = assert_success(&run_bare(&["--completions", "bash"]));
    assert!(
        bash.contains("--status") && bash.contains("--doctor"),
        "{bash}"
    );
    assert!(bash.contains("complete -F _postmulti"), "{bash}");
    let mut check = Command::new("bash")
        .args(["-n"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
    }
    let checked = check.wait_with_output().unwrap();
    assert!(checked.status.success(), "bash -n: {}", stderr(&checked));
    // The script loads and completes the long options.
    let output = Command::new("bash")
        .args([
            "-c",
            "eval \"$1\"; COMP_WORDS=(postmulti --stat); COMP_CWORD=1; \
             COMP_LINE='postmulti --stat'; COMP_POINT=${#COMP_LINE}; \
             _postmulti postmulti --stat postmulti; printf '%s\\n' \"${COMPREPLY[@]}\"",
            "bash",
            &bash,
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "--status\n", "{}", stderr(&output));

    for shell in ["zsh", "fish"] {
        let script = assert_success(&run_bare(&["--completions", shell]));
        assert!(!script.is_empty());
        assert!(script.contains("status"), "{shell}: {script}");
        assert!(script.contains("dry-run"), "{shell}: {script}");
    }
    let zsh = assert_success(&run_bare(&["--completions", "zsh"]));
    assert!(zsh.starts_with("#compdef postmulti"), "{zsh}");
    assert!(zsh.contains("--status"), "{zsh}");
    let fish = assert_success(&run_bare(&["--completions", "fish"]));
    assert!(fish.contains("complete -c postmulti -l status"), "{fish}");

    // An unknown shell: fatal, exit 1, nothing on stdout.
    let output = run_bare(&["--completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("\npostmulti: fatal: Usage:postmulti -l"),
        "{}",
        stderr(&output)
    );
}

postmulti_e2e::e2e_tests! {
    Nothing: [
        mode_errors,
        selection_errors,
        command_errors,
        reverse_errors,
        assignment_errors,
        parameter_override_errors,
        invalid_edit_action,
        our_options_need_their_modes,
        unknown_option_prints_usage,
        relative_config_directory_is_refused,
        help_and_version,
        completions_for_bash_zsh_and_fish,
    ];
    RootAndPostfix: [
        instance_selection_errors,
        mail_config_must_be_the_primary,
    ];
}
