//! Hostile input end to end: instance and group names and private paths
//! with white space, commas, newlines, shell and path characters, `.` and
//! `..` components, `$` references in directory operands (which Postfix
//! would expand after making the directory as written), overlong names,
//! symbolic links in place of the instance directory and names that are not UTF-8 (bytes, as Postfix takes them),
//! given to `-I`, `-G`, `-e create`, `-e import`, `-e assign` and `-i`.
//! Each is refused with
//! `postmulti: fatal: ...` and exit status 1, and leaves the sandbox exactly
//! as it was.

use postmulti_e2e::sandbox::{assert_success, stderr, Sandbox};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// An initialized sandbox with the instance `postfix-a` created.
fn with_instance() -> Sandbox {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_success(&sandbox.run(&["-I", "postfix-a", "-G", "mta", "-e", "create"]));
    sandbox
}

/// Names that are refused for `-I`, with the reason.
fn hostile_names() -> Vec<(String, String)> {
    // Messages show control characters as `?`, as Postfix's do.
    let unsafe_name = |name: &str| {
        let shown: String = name
            .chars()
            .map(|c| if c.is_ascii_control() { '?' } else { c })
            .collect();
        (
            name.to_string(),
            format!("Unsafe characters in new instance name: '{shown}'"),
        )
    };
    let slash = |name: &str| {
        (
            name.to_string(),
            format!("Illegal '/' character in new instance name: '{name}'"),
        )
    };
    let prefix = |name: &str| {
        (
            name.to_string(),
            "New instance name must start with 'postfix-'".to_string(),
        )
    };
    vec![
        unsafe_name("postfix-a b"),
        unsafe_name("postfix-a,b"),
        unsafe_name("postfix-a\nb"),
        unsafe_name("postfix-a\tb"),
        unsafe_name("postfix-a;rm -rf"),
        unsafe_name("postfix-$x"),
        unsafe_name("postfix-`id`"),
        unsafe_name("postfix-a\\b"),
        unsafe_name("postfix-'q'"),
        unsafe_name("postfix-é"),
        unsafe_name(" postfix-a"),
        slash("postfix-../x"),
        slash("postfix-a/b"),
        slash("/etc/postfix-x"),
        prefix(".."),
        prefix("."),
        prefix("--"),
        prefix("postfix"),
        prefix("Postfix-a"),
    ]
}

fn hostile_names_are_refused_by_create() {
    let sandbox = with_instance();
    for (name, message) in hostile_names() {
        sandbox.assert_refused(&["-I", &name, "-e", "create"], &message);
    }
}

fn hostile_names_are_refused_by_assign_and_import() {
    let sandbox = with_instance();
    sandbox.write_secondary("postfix-b", "");
    for (name, message) in hostile_names() {
        sandbox.assert_refused(&["-e", "assign", "-i", "a", "-I", &name], &message);
        sandbox.assert_refused(
            &[
                "-I",
                &name,
                "-e",
                "import",
                "config_directory=@ROOT@/etc/postfix-b",
            ],
            &message,
        );
    }
}

fn hostile_groups_are_refused() {
    let sandbox = with_instance();
    for group in ["a b", "a,b", "a\nb", "g;x", "$g", "g\u{7f}", "grüppe", "\t"] {
        let shown: String = group
            .chars()
            .map(|c| if c.is_ascii_control() { '?' } else { c })
            .collect();
        let message = format!("Unsafe characters in '-G {shown}'");
        sandbox.assert_refused(&["-I", "postfix-b", "-G", group, "-e", "create"], &message);
        sandbox.assert_refused(&["-e", "assign", "-i", "a", "-G", group], &message);
    }
}

fn overlong_names_are_refused() {
    let sandbox = with_instance();
    let name = format!("postfix-{}", "a".repeat(300));
    let message = sandbox.refusal(&["-I", &name, "-e", "create"]);
    assert!(message.contains("File name too long"), "{message}");
}

fn io_errors_name_the_path_and_the_error_once() {
    let sandbox = with_instance();
    let name = format!("postfix-{}", "a".repeat(300));
    let message = sandbox.refusal(&["-I", &name, "-e", "create"]);
    assert_eq!(
        message.matches("File name too long").count(),
        1,
        "{message}"
    );
    assert!(!message.contains("os error"), "{message}");
}

// Arguments are bytes, as in Postfix: a name that is not UTF-8 is refused
// by the rule it breaks, and named as Postfix's messages name it (each such
// byte, and each control character, shown as `?`: no fake second line).
fn non_utf8_names_are_refused_by_postfix_rules() {
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let name = OsStr::from_bytes(b"postfix-\xff\x01\nfake: line");
    for (args, message) in [
        (
            [
                OsStr::new("-I"),
                name,
                OsStr::new("-e"),
                OsStr::new("create"),
            ],
            &b"Unsafe characters in new instance name: 'postfix-???fake: line'"[..],
        ),
        (
            [
                OsStr::new("-i"),
                name,
                OsStr::new("-e"),
                OsStr::new("enable"),
            ],
            &b"No instance named postfix-???fake: line"[..],
        ),
    ] {
        let output = sandbox.command(&[]).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert_eq!(
            output.stderr,
            [&b"postmulti: fatal: "[..], message, b"\n"].concat(),
            "{}",
            stderr(&output)
        );
    }
    sandbox.assert_unchanged(&before);
}

fn hostile_selections_match_nothing() {
    let sandbox = with_instance();
    for name in [
        "@ROOT@/etc/postfix-a/",
        "@ROOT@/etc/../etc/postfix-a",
        "@ROOT@/etc/./postfix-a",
        "../postfix-a",
        "postfix-a ",
        "*",
        "",
    ] {
        let message = format!("No instance named {name}");
        sandbox.assert_refused(&["-e", "enable", "-i", name], &message);
        assert_eq!(
            assert_success(&sandbox.run(&["-l", "-i", name])),
            "",
            "-i {name:?}"
        );
    }
}

fn dangling_symlink_in_place_of_the_instance_directory() {
    let sandbox = with_instance();
    std::os::unix::fs::symlink(sandbox.path("nowhere"), sandbox.path("etc/postfix-b")).unwrap();
    sandbox.refusal(&["-I", "postfix-b", "-e", "create"]);
    assert!(!sandbox.path("nowhere").exists());
}

fn symlink_in_place_of_the_instance_directory() {
    let sandbox = with_instance();
    std::os::unix::fs::symlink(sandbox.path("etc/postfix"), sandbox.path("etc/postfix-b")).unwrap();
    std::fs::create_dir(sandbox.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(sandbox.path("elsewhere"), sandbox.path("etc/postfix-c")).unwrap();
    sandbox.refusal(&["-I", "postfix-b", "-e", "create"]);
    sandbox.refusal(&["-I", "postfix-c", "-e", "create"]);
    sandbox.refusal(&["-I", "postfix-b", "-e", "import"]);
}

fn config_directory_with_list_separators_is_refused() {
    let sandbox = with_instance();
    for dir in ["x y", "x,y", "x\ty", "x\ny"] {
        let setting = format!("config_directory=@ROOT@/etc/{dir}");
        sandbox.refusal(&["-I", "postfix-b", "-e", "create", &setting]);
    }
}

fn private_paths_with_newlines_are_refused() {
    let sandbox = with_instance();
    for param in ["queue_directory", "data_directory", "config_directory"] {
        let setting = format!("{param}=@ROOT@/x\ninet_interfaces = all");
        sandbox.refusal(&["-I", "postfix-b", "-e", "create", &setting]);
    }
}

fn dot_and_dot_dot_components_are_refused() {
    let sandbox = with_instance();
    for setting in [
        "config_directory=@ROOT@/etc/../etc/postfix",
        "config_directory=@ROOT@/etc/./postfix-a",
        "config_directory=@ROOT@/etc/postfix-b/..",
        "queue_directory=@ROOT@/spool/../spool/postfix-a",
        "data_directory=@ROOT@/lib/./postfix",
    ] {
        sandbox.refusal(&["-I", "postfix-b", "-e", "create", setting]);
    }
}

fn references_in_directory_operands_are_refused() {
    let sandbox = with_instance();
    let refusal = |setting: &str| {
        format!(
            "{setting}: '$' is not allowed in an instance directory: Postfix would create the \
             directory as written, but use the one the expanded value names"
        )
    };
    for (param, dir) in [
        ("config_directory", "etc"),
        ("queue_directory", "spool"),
        ("data_directory", "lib"),
    ] {
        for reference in [
            "$multi_instance_name",
            "${multi_instance_name}",
            "$(nosuch)",
            "a$$b",
        ] {
            let setting = format!("{param}=@ROOT@/{dir}/{reference}");
            sandbox.assert_refused(
                &["-I", "postfix-b", "-e", "create", &setting],
                &refusal(&setting),
            );
        }
    }
    let setting = "config_directory=@ROOT@/etc/postfix-$x";
    sandbox.assert_refused(&["-e", "import", setting], &refusal(setting));
    // Over an existing instance, create takes its main.cf's directories, as
    // Postfix does: the queue_directory operand is not used.
    let master_cf = sandbox.read("etc/postfix/master.cf");
    sandbox.write("etc/postfix-e/master.cf", &master_cf);
    sandbox.write(
        "etc/postfix-e/main.cf",
        "queue_directory = @ROOT@/spool/postfix-e\ndata_directory = @ROOT@/lib/postfix-e\n",
    );
    std::fs::create_dir(sandbox.path("lib/postfix-e")).unwrap();
    assert_success(&sandbox.run(&[
        "-I",
        "postfix-e",
        "-e",
        "create",
        "queue_directory=@ROOT@/spool/$multi_instance_name",
    ]));
    assert!(sandbox.path("spool/postfix-e/maildrop").is_dir());
}

postmulti_e2e::e2e_tests! {
    Nothing: [
        non_utf8_names_are_refused_by_postfix_rules,
    ];
    RootAndPostfix: [
        hostile_names_are_refused_by_create,
        hostile_names_are_refused_by_assign_and_import,
        hostile_groups_are_refused,
        overlong_names_are_refused,
        io_errors_name_the_path_and_the_error_once,
        hostile_selections_match_nothing,
        dangling_symlink_in_place_of_the_instance_directory,
        symlink_in_place_of_the_instance_directory,
        references_in_directory_operands_are_refused,
        config_directory_with_list_separators_is_refused,
        private_paths_with_newlines_are_refused,
        dot_and_dot_dot_components_are_refused,
    ];
}
