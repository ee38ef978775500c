//! Fixtures shared by the end-to-end test files: sandboxes in the states
//! several features' tests start from, and the helpers that read what
//! postmulti made of them.

use crate::sandbox::{assert_success, owner_and_mode, stderr, stdout, Sandbox};
use std::os::unix::fs::PermissionsExt;

/// The project's `templates/` directory.
pub const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");

/// The queue subdirectories that `postfix-files` gives `postfix:root 0700`.
pub const PRIVATE_QUEUE_SUBDIRS: &[&str] = &[
    "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private",
    "saved", "trace",
];

/// A sandbox where `postmulti -e init` has run.
pub fn initialized() -> Sandbox {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run(&["-e", "init"]));
    sandbox
}

/// An initialized sandbox with the instance `postfix-NAME` created.
pub fn with_instance(name: &str) -> Sandbox {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", &format!("postfix-{name}"), "-e", "create"]));
    sandbox
}

/// An initialized sandbox with `postfix-a` (group `mta`) and `postfix-b`
/// created, and the primary's queue and data directories made as
/// `postfix-files` gives them (a sandbox primary starts without them).
pub fn two_instances() -> Sandbox {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", "postfix-a", "-G", "mta", "-e", "create"]));
    assert_success(&sandbox.run(&["-I", "postfix-b", "-e", "create"]));
    settle_primary(&sandbox);
    sandbox
}

/// Makes the primary's private queue and data directories with the owners
/// and modes of `postfix-files`, as a Postfix installation has them.
pub fn settle_primary(sandbox: &Sandbox) {
    let uid = |name: &str| {
        nix::unistd::User::from_name(name)
            .unwrap()
            .unwrap_or_else(|| panic!("no user {name}"))
            .uid
            .as_raw()
    };
    let gid = |name: &str| {
        nix::unistd::Group::from_name(name)
            .unwrap()
            .unwrap_or_else(|| panic!("no group {name}"))
            .gid
            .as_raw()
    };
    let make = |relative: &str, owner: &str, group: &str, mode: u32| {
        let path = sandbox.path(relative);
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid(owner)), Some(gid(group))).unwrap();
        std::fs::set_permissions(&path, PermissionsExt::from_mode(mode)).unwrap();
    };
    for subdir in PRIVATE_QUEUE_SUBDIRS {
        make(&format!("spool/postfix/{subdir}"), "postfix", "root", 0o700);
    }
    make("spool/postfix/maildrop", "postfix", "postdrop", 0o730);
    make("spool/postfix/public", "postfix", "postdrop", 0o710);
    make("spool/postfix/pid", "root", "root", 0o755);
    make("lib/postfix", "postfix", "root", 0o700);
}

/// `@ROOT@/etc/NAME`.
pub fn instance_dir(sandbox: &Sandbox, name: &str) -> String {
    format!("{}/etc/{name}", sandbox.root_str())
}

/// Replaces every `name = ...` line of a main.cf below the root with
/// `name = value` at the end, or just removes them when `value` is `None`.
pub fn set_param(sandbox: &Sandbox, main_cf: &str, name: &str, value: Option<&str>) {
    let text = sandbox.read(main_cf);
    let mut kept: String = text
        .lines()
        .filter(|line| {
            line.split_once('=')
                .is_none_or(|(key, _)| key.trim() != name || line.starts_with(' '))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    if let Some(value) = value {
        kept.push_str(&format!("{name} = {value}\n"));
    }
    sandbox.write(main_cf, &kept);
}

/// Each line with its runs of white space made single spaces, trimmed.
pub fn words(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// One expected JSON line.
#[allow(clippy::too_many_arguments)]
pub fn json_line(
    name: &str,
    group: &str,
    enabled: &str,
    config: &str,
    queue: &str,
    data: &str,
    pid: Option<u32>,
    primary: bool,
) -> String {
    format!(
        "{{\"name\": \"{name}\",\"group\": \"{group}\",\"enabled\": \"{enabled}\",\
         \"config_directory\": \"{config}\",\"queue_directory\": \"{queue}\",\
         \"data_directory\": \"{data}\",\"running\": {},\"pid\": {},\"primary\": {primary}}}\n",
        pid.is_some(),
        pid.map_or("null".to_string(), |pid| pid.to_string()),
    )
}

/// Runs `--doctor ARGS` and asserts it changed nothing; returns (exit
/// status, stdout lines); stderr must be empty.
pub fn doctor(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let before = sandbox.snapshot();
    let mut all = vec!["--doctor"];
    all.extend_from_slice(args);
    let output = sandbox.run(&all);
    sandbox.assert_unchanged(&before);
    assert_eq!(stderr(&output), "", "--doctor {args:?}");
    let lines = stdout(&output).lines().map(str::to_string).collect();
    (output.status.code(), lines)
}

/// Asserts that `--doctor` finds nothing: no output, exit 0.
pub fn assert_clean(sandbox: &Sandbox, args: &[&str]) {
    assert_eq!(
        doctor(sandbox, args),
        (Some(0), vec![]),
        "--doctor {args:?}"
    );
}

/// Asserts the owners and modes `postfix set-permissions` gives a new
/// instance's private files.
pub fn assert_instance_permissions(sandbox: &Sandbox, config: &str, queue: &str, data: &str) {
    let check = |relative: &str, owner: &str, group: &str, mode: u32| {
        let (o, g, m) = owner_and_mode(&sandbox.path(relative));
        assert_eq!(
            (o.as_str(), g.as_str(), format!("{m:04o}")),
            (owner, group, format!("{mode:04o}")),
            "owner, group and mode of {relative}"
        );
    };
    check(config, "root", "root", 0o755);
    check(&format!("{config}/main.cf"), "root", "root", 0o644);
    check(&format!("{config}/master.cf"), "root", "root", 0o644);
    check(queue, "root", "root", 0o755);
    for subdir in PRIVATE_QUEUE_SUBDIRS {
        check(&format!("{queue}/{subdir}"), "postfix", "root", 0o700);
    }
    check(&format!("{queue}/maildrop"), "postfix", "postdrop", 0o730);
    check(&format!("{queue}/public"), "postfix", "postdrop", 0o710);
    check(&format!("{queue}/pid"), "root", "root", 0o755);
    check(data, "postfix", "root", 0o700);
}

/// The primary of most tests: four secondaries, listed with a continuation
/// line, a comment and a blank line inside the entry, empty list elements
/// and three kinds of `$` reference.
pub const PRIMARY: &str = "\
# Hand-written primary for the listing tests.
queue_directory = @ROOT@/spool/postfix
data_directory = @ROOT@/lib/postfix
parent = @ROOT@/etc
multi_instance_wrapper = ${command_directory}/postmulti -p --
multi_instance_enable = Yes
multi_instance_directories = $parent/postfix-a,
    ${parent}/postfix-b ,,
# a comment line inside the entry

\t@ROOT@/etc/postfix-c,$(parent)/postfix-d
";

/// A sandbox with [`PRIMARY`] and its four secondaries.
pub fn four_secondaries() -> Sandbox {
    let sandbox = Sandbox::with_main_cf(PRIMARY);
    sandbox.write_secondary(
        "postfix-a",
        "multi_instance_name = postfix-a\nmulti_instance_group = mta\nmulti_instance_enable = YES\n",
    );
    sandbox.write_secondary(
        "postfix-b",
        "multi_instance_name = postfix-b\nmulti_instance_enable = nO\n",
    );
    sandbox.write_secondary(
        "postfix-c",
        "multi_instance_group = mta\nmulti_instance_enable = NO\n",
    );
    sandbox.write_secondary(
        "postfix-d",
        "grp = relay\nme = d\n\
         multi_instance_name = postfix-$me\n\
         multi_instance_group = ${grp}\n\
         multi_instance_enable =\n    yes\n",
    );
    sandbox
}
