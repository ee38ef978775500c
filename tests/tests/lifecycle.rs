//! The life-cycle actions end to end, in sandboxes, as root against the
//! installed Postfix (its `main.cf.proto`, `master.cf.proto` and
//! `postfix-files` are read from the host's `/etc/postfix`, never written):
//! init, create, import, deport, destroy, enable, disable and assign, each
//! checked for the resulting main.cf entries, files, owners and modes and
//! listing; every refusal checked for its message, exit status 1 and an
//! unchanged sandbox. `--dry-run` is in `dry_run.rs`, `--template` in
//! `templates.rs`.
//!
//! Where Postfix's own postmulti-script edits main.cf with `postconf`, the
//! expected bytes are made by running the real `postconf` the same way.

use postmulti_e2e::fixtures::{assert_instance_permissions, initialized, with_instance};
use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, entry, listing_line, stderr, stdout, FakeMaster, Sandbox,
};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::process::Stdio;

/// Where the installed Postfix keeps its prototypes and `postfix-files`.
const META_DIRECTORY: &str = "/etc/postfix";

/// The shared install parameters that create clones from the primary or
/// comments out.
const SHARED_PARAMETERS: &[&str] = &[
    "command_directory",
    "daemon_directory",
    "meta_directory",
    "mail_owner",
    "setgid_group",
    "sendmail_path",
    "mailq_path",
    "newaliases_path",
    "html_directory",
    "manpage_directory",
    "sample_directory",
    "readme_directory",
    "shlib_directory",
];

/// What the real `postconf -c DIR ARGS...` makes of a main.cf `text`.
fn postconf_edit(text: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), text).unwrap();
    let status = Command::new("/usr/sbin/postconf")
        .arg("-c")
        .arg(dir.path())
        .args(args)
        .env_remove("MAIL_CONFIG")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "postconf {args:?}");
    std::fs::read_to_string(dir.path().join("main.cf")).unwrap()
}

/// Asserts that `actual` is `expected` except for the order of the last
/// `appended` lines: `postconf -e` appends new entries in the order of a
/// hash table with a per-process random seed, so no order is the one.
fn assert_same_up_to_appended_order(actual: &str, expected: &str, appended: usize) {
    let split = |text: &str| {
        let lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
        let at = lines.len().saturating_sub(appended);
        let mut tail = lines[at..].to_vec();
        tail.sort_unstable();
        (lines[..at].concat(), tail)
    };
    let ((actual_body, actual_tail), (expected_body, expected_tail)) =
        (split(actual), split(expected));
    assert!(
        actual_body == expected_body,
        "the files differ before the appended entries:\n{}",
        first_difference(&actual_body, &expected_body)
    );
    assert_eq!(actual_tail, expected_tail, "the appended entries differ");
}

/// The first line where two texts differ, for a readable failure.
fn first_difference(actual: &str, expected: &str) -> String {
    let (mut a, mut e) = (actual.lines(), expected.lines());
    for number in 1.. {
        match (a.next(), e.next()) {
            (None, None) => break,
            (x, y) if x != y => return format!("line {number}: {x:?} != {y:?}"),
            _ => {}
        }
    }
    "none".to_string()
}

fn init_appends_the_wrapper_settings() {
    let sandbox = Sandbox::new();
    let before = sandbox.main_cf();
    assert_success(&sandbox.run(&["-e", "init"]));
    let after = sandbox.main_cf();
    let added = after
        .strip_prefix(before.as_str())
        .expect("init keeps the file and appends");
    let mut added: Vec<&str> = added.lines().collect();
    added.sort_unstable();
    assert_eq!(
        added,
        [
            "multi_instance_enable = yes",
            "multi_instance_wrapper = ${command_directory}/postmulti -p --"
        ]
    );
    // Again: nothing changes.
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_eq!(sandbox.main_cf(), after);
}

fn init_writes_what_postconf_writes() {
    let sandbox = Sandbox::new();
    let expected = postconf_edit(
        &sandbox.main_cf(),
        &[
            "-e",
            "multi_instance_wrapper = ${command_directory}/postmulti -p --",
            "multi_instance_enable = yes",
        ],
    );
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_same_up_to_appended_order(&sandbox.main_cf(), &expected, 2);
}

fn init_replaces_existing_entries_in_place() {
    let sandbox = Sandbox::with_main_cf(
        "# primary\n\
         queue_directory = @ROOT@/spool/postfix\n\
         multi_instance_enable =\n    no\n\
         # keep me\n\
         multi_instance_wrapper = old\n\
         data_directory = @ROOT@/lib/postfix\n",
    );
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_eq!(
        sandbox.main_cf(),
        sandbox.expand(
            "# primary\n\
             queue_directory = @ROOT@/spool/postfix\n\
             multi_instance_enable = yes\n\
             # keep me\n\
             multi_instance_wrapper = ${command_directory}/postmulti -p --\n\
             data_directory = @ROOT@/lib/postfix\n"
        )
    );
}

fn actions_before_init_are_refused() {
    let sandbox = Sandbox::new();
    let wrapper = "multi_instance_wrapper is empty, run 'postmulti -e init' first.";
    sandbox.assert_refused(&["-I", "postfix-a", "-e", "create"], wrapper);
    let dir = sandbox.write_secondary("postfix-a", "multi_instance_name = postfix-a\n");
    sandbox.append_main_cf(&format!("multi_instance_directories = {dir}\n"));
    sandbox.assert_refused(&["-e", "enable", "-i", "a"], wrapper);
    sandbox.assert_refused(&["-e", "destroy", "-i", "a"], wrapper);
    sandbox.assert_refused(&["-e", "deport", "-i", "a"], wrapper);
    sandbox.assert_refused(&["-e", "assign", "-i", "a", "-G", "g"], wrapper);
    sandbox.append_main_cf("multi_instance_wrapper = ${command_directory}/postmulti -p --\n");
    let enable = "multi_instance_enable!=yes, run 'postmulti -e init' first.";
    sandbox.assert_refused(&["-I", "postfix-b", "-e", "create"], enable);
    sandbox.assert_refused(&["-e", "disable", "-i", "a"], enable);
    sandbox.append_main_cf("multi_instance_enable = Yes\n");
    sandbox.assert_refused(&["-e", "disable", "-i", "a"], enable);
}

fn create_makes_a_complete_instance() {
    let sandbox = initialized();
    let primary_before = sandbox.main_cf();
    let root = sandbox.root_str().to_string();
    let output = sandbox.run(&["-I", "postfix-out", "-G", "mta", "-e", "create"]);
    assert_eq!(assert_success(&output), "");
    assert_eq!(
        sandbox.main_cf(),
        format!("{primary_before}multi_instance_directories = {root}/etc/postfix-out\n")
    );

    let main_cf = sandbox.read("etc/postfix-out/main.cf");
    let value = |name: &str| entry(&main_cf, name);
    let queue = format!("{root}/spool/postfix-out");
    let data = format!("{root}/lib/postfix-out");
    assert_eq!(value("queue_directory"), Some(queue));
    assert_eq!(value("data_directory"), Some(data));
    assert_eq!(value("authorized_submit_users").as_deref(), Some(""));
    assert_eq!(value("master_service_disable").as_deref(), Some("inet"));
    assert_eq!(value("multi_instance_name").as_deref(), Some("postfix-out"));
    assert_eq!(value("multi_instance_group").as_deref(), Some("mta"));
    assert_eq!(value("multi_instance_enable"), None);
    // The primary sets only readme_directory of the shared parameters.
    assert_eq!(value("readme_directory").as_deref(), Some("no"));
    for param in SHARED_PARAMETERS
        .iter()
        .filter(|p| **p != "readme_directory")
    {
        assert_eq!(value(param), None, "{param} is commented out");
    }
    assert!(main_cf.contains("\n#command_directory = /usr/sbin\n"));

    let proto = Path::new(META_DIRECTORY).join("master.cf.proto");
    let master = sandbox.path("etc/postfix-out/master.cf");
    assert_eq!(
        std::fs::read(&master).unwrap(),
        std::fs::read(&proto).unwrap()
    );
    let (proto_meta, master_meta) = (proto.metadata().unwrap(), master.metadata().unwrap());
    assert_eq!(
        master_meta.mtime(),
        proto_meta.mtime(),
        "master.cf keeps its times"
    );

    assert_instance_permissions(
        &sandbox,
        "etc/postfix-out",
        "spool/postfix-out",
        "lib/postfix-out",
    );
    assert_eq!(
        assert_success(&sandbox.run(&["-l"])),
        format!(
            "{}{}",
            listing_line("-", "-", "y", &sandbox.primary()),
            listing_line(
                "postfix-out",
                "mta",
                "n",
                &format!("{root}/etc/postfix-out")
            )
        )
    );
}

fn create_writes_the_main_cf_postmulti_script_writes() {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", "postfix-out", "-G", "mta", "-e", "create"]));
    let root = sandbox.root_str();
    // postmulti-script: postconf -#, postconf -e, then assign_names.
    let proto = std::fs::read_to_string(Path::new(META_DIRECTORY).join("main.cf.proto")).unwrap();
    let mut comment_out = vec!["-#"];
    comment_out.extend(
        SHARED_PARAMETERS
            .iter()
            .filter(|p| **p != "readme_directory"),
    );
    let text = postconf_edit(&proto, &comment_out);
    let queue = format!("queue_directory = {root}/spool/postfix-out");
    let data = format!("data_directory = {root}/lib/postfix-out");
    let text = postconf_edit(
        &text,
        &[
            "-e",
            &queue,
            &data,
            "authorized_submit_users =",
            "master_service_disable = inet",
            "readme_directory = no",
        ],
    );
    let text = postconf_edit(
        &text,
        &[
            "-e",
            "multi_instance_name = postfix-out",
            "multi_instance_group = mta",
        ],
    );
    // Appended: queue_directory, authorized_submit_users and
    // master_service_disable, then multi_instance_name and _group.
    let actual = sandbox.read("etc/postfix-out/main.cf");
    assert_same_up_to_appended_order(&actual, &text, 5);
    let tail = |text: &str| -> Vec<String> {
        let lines: Vec<String> = text.lines().map(String::from).collect();
        lines[lines.len() - 2..].to_vec()
    };
    let mut names = tail(&actual);
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "multi_instance_group = mta",
            "multi_instance_name = postfix-out"
        ],
        "name and group come last, as assign_names() adds them"
    );
}

fn create_places_new_instances() {
    let sandbox = initialized();
    let create = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-e", "create"]);
        assert_success(&sandbox.run(&all));
    };
    create(&["-I", "postfix-a", "-G", "g1"]);
    create(&["-I", "postfix-b", "-G", "g2"]);
    create(&["-I", "postfix-first", "-a"]);
    create(&["-I", "postfix-beforeb", "-i", "b"]);
    create(&["-I", "postfix-beforeg1", "-g", "g1"]);
    create(&["-I", "postfix-last"]);
    let root = sandbox.root_str();
    let order: Vec<String> = ["first", "beforeg1", "a", "beforeb", "b", "last"]
        .iter()
        .map(|name| format!("{root}/etc/postfix-{name}"))
        .collect();
    assert_eq!(
        entry(&sandbox.main_cf(), "multi_instance_directories"),
        Some(order.join(" "))
    );
    assert_eq!(
        sandbox
            .main_cf()
            .matches("multi_instance_directories")
            .count(),
        1,
        "one entry, replaced in place"
    );
    sandbox.assert_refused(
        &["-I", "postfix-c", "-g", "nosuch", "-e", "create"],
        "No matching secondary instances",
    );
    sandbox.assert_refused(
        &["-I", "postfix-c", "-i", "-", "-e", "create"],
        "No matching secondary instances",
    );
}

fn create_with_explicit_paths() {
    let sandbox = initialized();
    assert_success(&sandbox.run(&[
        "-I",
        "postfix-p",
        "-e",
        "create",
        "config_directory=@ROOT@/conf/p//",
        "queue_directory = @ROOT@/q/p/",
        "data_directory=@ROOT@/d/p",
    ]));
    let root = sandbox.root_str();
    assert_eq!(
        entry(&sandbox.main_cf(), "multi_instance_directories"),
        Some(format!("{root}/conf/p"))
    );
    let main_cf = sandbox.read("conf/p/main.cf");
    assert_eq!(
        entry(&main_cf, "queue_directory"),
        Some(format!("{root}/q/p"))
    );
    assert_eq!(
        entry(&main_cf, "data_directory"),
        Some(format!("{root}/d/p"))
    );
    assert_instance_permissions(&sandbox, "conf/p", "q/p", "d/p");
    // A nameless instance needs every path.
    assert_success(&sandbox.run(&[
        "-e",
        "create",
        "config_directory=@ROOT@/conf/x",
        "queue_directory=@ROOT@/q/x",
        "data_directory=@ROOT@/d/x",
    ]));
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-i", "@ROOT@/conf/x"])),
        listing_line("-", "-", "n", &format!("{root}/conf/x"))
    );
}

fn create_refusals() {
    let sandbox = with_instance("a");
    let cases: &[(&[&str], &str)] = &[
        (
            &["-e", "create"],
            "Missing config_directory parameter value",
        ),
        (
            &["-e", "create", "config_directory=@ROOT@/etc/x"],
            "Missing queue_directory parameter value",
        ),
        (
            &["-I", "postfix-b", "-e", "create", "queue_directory=spool/b"],
            "Parameter setting 'queue_directory' is not an absolute path",
        ),
        (
            &["-I", "postfix-b", "-e", "create", "data_directory=//"],
            "Parameter setting 'data_directory' is the root directory",
        ),
        (
            &["-I", "postfix-b", "-e", "create", "mynetworks=/x"],
            "Parameter 'mynetworks' not valid with action create",
        ),
        (
            &["-I", "postfix-b", "-e", "create", "queue_directory"],
            "Malformed parameter setting 'queue_directory'",
        ),
        (
            &["-I", "postfix-a", "-e", "create"],
            "new config_directory=@ROOT@/etc/postfix-a is already in use by instance \
             @ROOT@/etc/postfix-a, config_directory=@ROOT@/etc/postfix-a",
        ),
        (
            &[
                "-I",
                "postfix-b",
                "-e",
                "create",
                "config_directory=@ROOT@/etc/postfix",
            ],
            "new config_directory=@ROOT@/etc/postfix is already in use by instance \
             @ROOT@/etc/postfix, config_directory=@ROOT@/etc/postfix",
        ),
        (
            &[
                "-I",
                "postfix-a",
                "-e",
                "create",
                "config_directory=@ROOT@/etc/other",
            ],
            "instance @ROOT@/etc/other, multi_instance_name=postfix-a conflicts with \
             instance @ROOT@/etc/postfix-a, multi_instance_name=postfix-a",
        ),
        (
            &[
                "-I",
                "postfix-b",
                "-e",
                "create",
                "queue_directory=@ROOT@/spool/postfix",
            ],
            "instance @ROOT@/etc/postfix-b, queue_directory=@ROOT@/spool/postfix conflicts \
             with instance @ROOT@/etc/postfix, queue_directory=@ROOT@/spool/postfix",
        ),
        (
            &[
                "-I",
                "postfix-b",
                "-e",
                "create",
                "data_directory=@ROOT@/spool/postfix-a",
            ],
            "instance @ROOT@/etc/postfix-b, data_directory=@ROOT@/spool/postfix-a conflicts \
             with instance @ROOT@/etc/postfix-a, queue_directory=@ROOT@/spool/postfix-a",
        ),
        (
            &[
                "-I",
                "postfix-b",
                "-e",
                "create",
                "queue_directory=/usr/sbin",
            ],
            "instance @ROOT@/etc/postfix-b, queue_directory=/usr/sbin conflicts \
             with instance @ROOT@/etc/postfix, command_directory=/usr/sbin",
        ),
        (
            &["-I", "postfix-b", "-e", "import", "queue_directory=/x"],
            "Parameter 'queue_directory' not valid with action import",
        ),
        (
            &["-I", "postfix-none", "-e", "import"],
            "open @ROOT@/etc/postfix-none/main.cf: No such file or directory",
        ),
    ];
    for (args, message) in cases {
        sandbox.assert_refused(args, message);
    }
}

fn create_refuses_the_primarys_shared_directories() {
    let sandbox = with_instance("a");
    std::fs::create_dir(sandbox.path("html")).unwrap();
    sandbox.append_main_cf("html_directory = @ROOT@/html\n");
    for param in ["config_directory", "queue_directory", "data_directory"] {
        sandbox.assert_refused(
            &[
                "-I",
                "postfix-s",
                "-e",
                "create",
                &format!("{param}=@ROOT@/html"),
            ],
            &format!(
                "{param}=@ROOT@/html: is the primary's html_directory, which all instances share"
            ),
        );
    }
}

fn create_takes_an_existing_instance_as_it_is() {
    let sandbox = initialized();
    sandbox.write_secondary("postfix-x", "# hand-made\nmyhostname = x.example\n");
    let main_cf = sandbox.read("etc/postfix-x/main.cf");
    let master_cf = sandbox.read("etc/postfix-x/master.cf");
    assert_success(&sandbox.run(&["-I", "postfix-x", "-G", "grp", "-e", "create"]));
    let after = sandbox.read("etc/postfix-x/main.cf");
    let added = after.strip_prefix(main_cf.as_str()).expect("only appended");
    let mut added: Vec<&str> = added.lines().collect();
    added.sort_unstable();
    assert_eq!(
        added,
        [
            "multi_instance_group = grp",
            "multi_instance_name = postfix-x"
        ]
    );
    assert_eq!(sandbox.read("etc/postfix-x/master.cf"), master_cf);
    assert_instance_permissions(
        &sandbox,
        "etc/postfix-x",
        "spool/postfix-x",
        "lib/postfix-x",
    );

    // A create cut short before registration is completed by a re-run.
    let primary = sandbox.main_cf();
    let unregistered = primary.replace(
        &format!(
            "multi_instance_directories = {}/etc/postfix-x\n",
            sandbox.root_str()
        ),
        "",
    );
    assert_ne!(unregistered, primary);
    sandbox.write("etc/postfix/main.cf", &unregistered);
    assert_success(&sandbox.run(&["-I", "postfix-x", "-G", "grp", "-e", "create"]));
    assert_eq!(sandbox.main_cf(), primary);
    assert_eq!(sandbox.read("etc/postfix-x/main.cf"), after);
}

fn import_registers_an_existing_instance() {
    let sandbox = initialized();
    sandbox.append_main_cf(
        "alternate_config_directories = @ROOT@/etc/postfix-imp, @ROOT@/etc/other\n",
    );
    sandbox.write_secondary(
        "postfix-imp",
        "queue_directory = @ROOT@/var/imp-queue\ndata_directory = @ROOT@/var/imp-data\n\
         multi_instance_enable = yes\n",
    );
    std::fs::create_dir(sandbox.path("var")).unwrap();
    let main_cf = sandbox.read("etc/postfix-imp/main.cf");
    assert_success(&sandbox.run(&["-I", "postfix-imp", "-G", "grp", "-e", "import"]));
    let root = sandbox.root_str();
    let primary = sandbox.main_cf();
    assert_eq!(
        entry(&primary, "multi_instance_directories"),
        Some(format!("{root}/etc/postfix-imp"))
    );
    assert_eq!(
        entry(&primary, "alternate_config_directories"),
        Some(format!("{root}/etc/other"))
    );
    let after = sandbox.read("etc/postfix-imp/main.cf");
    assert!(after.starts_with(&main_cf), "{after}");
    assert_eq!(
        entry(&after, "multi_instance_name").as_deref(),
        Some("postfix-imp")
    );
    assert_eq!(
        entry(&after, "multi_instance_group").as_deref(),
        Some("grp")
    );
    assert_instance_permissions(&sandbox, "etc/postfix-imp", "var/imp-queue", "var/imp-data");
    assert!(!sandbox.path("spool/postfix-imp").exists());
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-g", "grp"])),
        listing_line(
            "postfix-imp",
            "grp",
            "y",
            &format!("{root}/etc/postfix-imp")
        )
    );
}

fn import_needs_both_files() {
    let sandbox = initialized();
    sandbox.write_secondary("postfix-half", "");
    std::fs::remove_file(sandbox.path("etc/postfix-half/master.cf")).unwrap();
    sandbox.assert_refused(
        &["-I", "postfix-half", "-e", "import"],
        "'@ROOT@/etc/postfix-half' lacks a master.cf file",
    );
}

fn deport_moves_the_instance_to_alternate_directories() {
    let sandbox = with_instance("out");
    let root = sandbox.root_str().to_string();
    let before = sandbox.snapshot();
    assert_success(&sandbox.run(&["-e", "deport", "-i", "out"]));
    let after = sandbox.snapshot();
    for dir in ["etc/postfix-out", "spool/postfix-out", "lib/postfix-out"] {
        assert_eq!(
            before.under(dir).differences(&after.under(dir)),
            Vec::<String>::new(),
            "deport touches no file of the instance"
        );
    }
    let primary = sandbox.main_cf();
    assert_eq!(
        entry(&primary, "multi_instance_directories").as_deref(),
        Some("")
    );
    assert_eq!(
        entry(&primary, "alternate_config_directories"),
        Some(format!("{root}/etc/postfix-out"))
    );
    assert_eq!(
        assert_success(&sandbox.run(&["-l"])),
        listing_line("-", "-", "y", &sandbox.primary())
    );
    // And back again.
    assert_success(&sandbox.run(&["-e", "import", "config_directory=@ROOT@/etc/postfix-out"]));
    let primary = sandbox.main_cf();
    assert_eq!(
        entry(&primary, "multi_instance_directories"),
        Some(format!("{root}/etc/postfix-out"))
    );
    assert_eq!(
        entry(&primary, "alternate_config_directories").as_deref(),
        Some("")
    );
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-i", "out"])),
        listing_line("postfix-out", "-", "n", &format!("{root}/etc/postfix-out"))
    );
}

fn destroy_removes_what_create_made() {
    let sandbox = initialized();
    let initial = sandbox.snapshot();
    assert_success(&sandbox.run(&["-I", "postfix-out", "-e", "create"]));
    assert_eq!(
        assert_success(&sandbox.run(&["-e", "destroy", "-i", "out"])),
        ""
    );
    for dir in ["etc/postfix-out", "spool/postfix-out", "lib/postfix-out"] {
        assert!(!sandbox.path(dir).exists(), "{dir} is gone");
    }
    assert_eq!(
        entry(&sandbox.main_cf(), "multi_instance_directories").as_deref(),
        Some("")
    );
    let differences = initial.differences(&sandbox.snapshot());
    assert!(
        differences
            .iter()
            .all(|d| d.starts_with("changed etc/postfix/main.cf")
                || d.starts_with("changed etc/postfix:")
                || d.starts_with("changed etc:")
                || d.starts_with("changed spool:")
                || d.starts_with("changed lib:")),
        "{differences:#?}"
    );
}

fn destroy_cut_short_after_unregistering_is_finished_by_a_rerun() {
    let sandbox = with_instance("out");
    // What a destroy killed between unregistering and removing main.cf
    // leaves: an unlisted directory holding only main.cf.
    std::fs::remove_file(sandbox.path("etc/postfix-out/master.cf")).unwrap();
    for dir in ["spool/postfix-out", "lib/postfix-out"] {
        std::fs::remove_dir_all(sandbox.path(dir)).unwrap();
    }
    let primary = sandbox.main_cf().replace(
        &format!(
            "multi_instance_directories = {}",
            sandbox.expand("@ROOT@/etc/postfix-out")
        ),
        "multi_instance_directories =",
    );
    sandbox.write("etc/postfix/main.cf", &primary);
    assert!(!sandbox.main_cf().contains("postfix-out"), "unregistered");
    assert_success(&sandbox.run(&["-e", "destroy", "-i", "postfix-out"]));
    assert!(!sandbox.path("etc/postfix-out").exists());
    // Cut short after main.cf went: the empty directory is removed too.
    std::fs::create_dir(sandbox.path("etc/postfix-out")).unwrap();
    assert_success(&sandbox.run(&["-e", "destroy", "-i", "postfix-out"]));
    assert!(!sandbox.path("etc/postfix-out").exists());
    // Nothing left to finish: the usual refusal, nothing changed.
    let before = sandbox.snapshot();
    assert_fatal(
        &sandbox.run(&["-e", "destroy", "-i", "postfix-out"]),
        "No instance named postfix-out",
    );
    sandbox.assert_unchanged(&before);
}

fn destroy_leaves_foreign_files_and_warns() {
    let sandbox = with_instance("out");
    sandbox.write("etc/postfix-out/notes.txt", "mine\n");
    sandbox.write("spool/postfix-out/hold/msg", "queued\n");
    sandbox.write("outside/keep", "keep\n");
    std::os::unix::fs::symlink(
        sandbox.path("outside"),
        sandbox.path("lib/postfix-out/link"),
    )
    .unwrap();
    let outside = sandbox.snapshot().under("outside");
    let output = sandbox.run(&["-e", "destroy", "-i", "out"]);
    let root = sandbox.root_str();
    let hint = "please verify contents and remove by hand";
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(0),
            String::new(),
            format!(
                "postmulti: warning: {root}/spool/postfix-out/hold: {hint}\n\
                 postmulti: warning: {root}/lib/postfix-out: {hint}\n\
                 postmulti: warning: {root}/spool/postfix-out: {hint}\n\
                 postmulti: warning: {root}/etc/postfix-out: {hint}\n"
            )
        )
    );
    assert_eq!(sandbox.read("etc/postfix-out/notes.txt"), "mine\n");
    assert!(!sandbox.path("etc/postfix-out/main.cf").exists());
    assert!(!sandbox.path("etc/postfix-out/master.cf").exists());
    assert!(!sandbox.path("spool/postfix-out/active").exists());
    assert_eq!(sandbox.read("spool/postfix-out/hold/msg"), "queued\n");
    assert_eq!(outside, sandbox.snapshot().under("outside"));
    assert!(sandbox.path("lib/postfix-out/link").is_symlink());
}

fn remove_refusals() {
    let sandbox = with_instance("out");
    for action in ["destroy", "deport"] {
        sandbox.assert_refused(
            &["-e", action, "-i", "-"],
            "Cannot remove the primary instance",
        );
    }
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-out"));
    for action in ["destroy", "deport"] {
        sandbox.assert_refused(
            &["-e", action, "-i", "out"],
            "Instance '@ROOT@/etc/postfix-out' is not stopped",
        );
    }
    drop(master);
    assert_success(&sandbox.run(&["-e", "enable", "-i", "out"]));
    for action in ["destroy", "deport"] {
        sandbox.assert_refused(
            &["-e", action, "-i", "postfix-out"],
            "Cannot remove enabled instances",
        );
    }
    sandbox.assert_refused(
        &["-e", "destroy", "-i", "nosuch"],
        "No instance named nosuch",
    );
}

fn enable_and_disable() {
    let sandbox = with_instance("out");
    let main_cf = sandbox.read("etc/postfix-out/main.cf");
    let root = sandbox.root_str().to_string();
    let listed = |enabled: &str| {
        assert_eq!(
            assert_success(&sandbox.run(&["-l", "-i", "out"])),
            listing_line(
                "postfix-out",
                "-",
                enabled,
                &format!("{root}/etc/postfix-out")
            )
        );
    };
    assert_success(&sandbox.run(&["-e", "enable", "-i", "out"]));
    assert_eq!(
        sandbox.read("etc/postfix-out/main.cf"),
        format!("{main_cf}multi_instance_enable = yes\n")
    );
    listed("y");
    assert_success(&sandbox.run(&["-e", "disable", "-i", "@ROOT@/etc/postfix-out"]));
    assert_eq!(
        sandbox.read("etc/postfix-out/main.cf"),
        format!("{main_cf}multi_instance_enable = no\n")
    );
    listed("n");
    // Disabling an instance twice changes nothing.
    let before = sandbox.snapshot();
    assert_success(&sandbox.run(&["-e", "disable", "-i", "out"]));
    assert_eq!(
        before
            .under("etc/postfix-out/main.cf")
            .nodes
            .values()
            .map(|n| &n.content)
            .collect::<Vec<_>>(),
        sandbox
            .snapshot()
            .under("etc/postfix-out/main.cf")
            .nodes
            .values()
            .map(|n| &n.content)
            .collect::<Vec<_>>()
    );
    // The primary too, with -i -; then every action but init is refused.
    assert_success(&sandbox.run(&["-e", "disable", "-i", "-"]));
    assert_eq!(
        entry(&sandbox.main_cf(), "multi_instance_enable").as_deref(),
        Some("no")
    );
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-i", "-"])),
        listing_line("-", "-", "n", &sandbox.primary())
    );
    sandbox.assert_refused(
        &["-e", "enable", "-i", "-"],
        "multi_instance_enable!=yes, run 'postmulti -e init' first.",
    );
}

fn assign_renames_and_regroups() {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", "postfix-a", "-G", "g", "-e", "create"]));
    assert_success(&sandbox.run(&["-I", "postfix-b", "-e", "create"]));
    let main_cf = sandbox.read("etc/postfix-a/main.cf");
    let root = sandbox.root_str().to_string();
    let dir = format!("{root}/etc/postfix-a");

    assert_success(&sandbox.run(&["-e", "assign", "-i", "a", "-I", "postfix-new"]));
    let renamed = sandbox.read("etc/postfix-a/main.cf");
    assert_eq!(
        renamed,
        main_cf.replace(
            "multi_instance_name = postfix-a\n",
            "multi_instance_name = postfix-new\n"
        )
    );
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-i", "new"])),
        listing_line("postfix-new", "g", "n", &dir)
    );
    assert_eq!(assert_success(&sandbox.run(&["-l", "-i", "a"])), "");

    // No change is no work, and succeeds.
    let before = sandbox.snapshot();
    assert_success(&sandbox.run(&["-e", "assign", "-i", "new", "-I", "postfix-new", "-G", "g"]));
    sandbox.assert_unchanged(&before);

    // - clears.
    assert_success(&sandbox.run(&["-e", "assign", "-i", "new", "-G", "-"]));
    let cleared = sandbox.read("etc/postfix-a/main.cf");
    assert_eq!(entry(&cleared, "multi_instance_group").as_deref(), Some(""));
    assert_eq!(cleared.matches("multi_instance_group").count(), 1);
    assert_success(&sandbox.run(&["-e", "assign", "-i", "new", "-I", "-", "-G", "h"]));
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-g", "h"])),
        listing_line("-", "h", "n", &dir)
    );
    // A nameless instance is selected by its directory; names must be free.
    sandbox.assert_refused(
        &["-e", "assign", "-i", &dir, "-I", "postfix-b"],
        "instance @ROOT@/etc/postfix-a, multi_instance_name=postfix-b conflicts with \
         instance @ROOT@/etc/postfix-b, multi_instance_name=postfix-b",
    );
    sandbox.assert_refused(
        &["-e", "assign", "-i", &dir, "-I", "other"],
        "New instance name must start with 'postfix-'",
    );
    assert_success(&sandbox.run(&["-e", "assign", "-i", "-", "-I", "postfix-primary"]));
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-i", "primary"])),
        listing_line("postfix-primary", "-", "y", &sandbox.primary())
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        init_appends_the_wrapper_settings,
        init_writes_what_postconf_writes,
        init_replaces_existing_entries_in_place,
        actions_before_init_are_refused,
        create_makes_a_complete_instance,
        create_writes_the_main_cf_postmulti_script_writes,
        create_places_new_instances,
        create_with_explicit_paths,
        create_refusals,
        create_refuses_the_primarys_shared_directories,
        create_takes_an_existing_instance_as_it_is,
        import_registers_an_existing_instance,
        import_needs_both_files,
        deport_moves_the_instance_to_alternate_directories,
        destroy_removes_what_create_made,
        destroy_cut_short_after_unregistering_is_finished_by_a_rerun,
        destroy_leaves_foreign_files_and_warns,
        remove_refusals,
        enable_and_disable,
        assign_renames_and_regroups,
    ];
}
