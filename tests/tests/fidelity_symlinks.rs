//! Symbolic links and existing instances, end to end in sandboxes:
//!
//! - destroy never follows a symbolic link: a symlinked queue or
//!   configuration directory, or any symlinked component above them or
//!   above the data directory (which Postfix's destroy would follow), stops
//!   it before anything is removed, with a message naming the link; a link
//!   in place of the data directory or of a queue subdirectory is left, as
//!   Postfix leaves it, and reported with Postfix's warning;
//! - a destroy cut short after it unregistered the instance (main.cf left)
//!   or at its final rmdir (an empty configuration directory left) is
//!   finished by running it again, with the name or its short form;
//! - permissions never follow a symbolic link: an existing queue directory
//!   holding links named like queue subdirectories makes create and import
//!   refuse, naming the link, with nothing changed;
//! - create, import and destroy reach an instance's directories, and every
//!   command the primary's, only under `trust::reach`'s rule: a symbolic
//!   link above them, or a directory another user owns or others can
//!   write, is refused with nothing changed (issue 24 items 4 and 5);
//! - `-e create` over an existing main.cf and master.cf takes them as
//!   import does: a symlinked `queue_directory` there is refused, and so is
//!   a `data_directory` another instance has;
//! - import of an instance whose queue directory is missing creates it.

use postmulti_e2e::attacker::{attacker_dir, NOBODY};
use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, owner_and_mode, stderr, stdout, Sandbox,
};
use std::os::unix::fs::{symlink, PermissionsExt};

/// An initialized sandbox with `postfix-a` and `postfix-b` created.
fn two_instances() -> Sandbox {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_success(&sandbox.run(&["-I", "postfix-a", "-e", "create"]));
    assert_success(&sandbox.run(&["-I", "postfix-b", "-e", "create"]));
    sandbox
}

/// Removes a created instance's empty queue tree.
fn remove_queue(sandbox: &Sandbox, queue: &str) {
    let path = sandbox.path(queue);
    for entry in std::fs::read_dir(&path).unwrap() {
        std::fs::remove_dir(entry.unwrap().path()).unwrap();
    }
    std::fs::remove_dir(&path).unwrap();
}

/// The refusal of destroying `postfix-b` because of the link at `link`.
fn refusal(link: &str) -> String {
    format!(
        "cannot destroy instance @ROOT@/etc/postfix-b: @ROOT@/{link} is a symbolic link, \
         and destroy does not follow symbolic links"
    )
}

fn destroy_stops_at_a_symlinked_queue_before_removing_anything() {
    let sandbox = two_instances();
    // b's queue directory becomes a link to a's (empty) queue.
    remove_queue(&sandbox, "spool/postfix-b");
    symlink(
        sandbox.path("spool/postfix-a"),
        sandbox.path("spool/postfix-b"),
    )
    .unwrap();
    sandbox.assert_refused(&["-i", "b", "-e", "destroy"], &refusal("spool/postfix-b"));
    assert!(sandbox.path("spool/postfix-a/maildrop").is_dir());
}

fn destroy_stops_at_a_symlinked_configuration_directory() {
    let sandbox = two_instances();
    // b's configuration directory becomes a link to a copy of it.
    std::fs::rename(sandbox.path("etc/postfix-b"), sandbox.path("etc/copy-b")).unwrap();
    symlink(sandbox.path("etc/copy-b"), sandbox.path("etc/postfix-b")).unwrap();
    sandbox.assert_refused(&["-i", "b", "-e", "destroy"], &refusal("etc/postfix-b"));
    assert!(sandbox.path("etc/copy-b/main.cf").is_file());
    assert!(sandbox.path("etc/copy-b/master.cf").is_file());
}

fn destroy_leaves_links_in_place_of_a_queue_subdirectory_and_the_data_directory() {
    let sandbox = two_instances();
    std::fs::remove_dir(sandbox.path("spool/postfix-b/maildrop")).unwrap();
    symlink(
        sandbox.path("spool/postfix-a/maildrop"),
        sandbox.path("spool/postfix-b/maildrop"),
    )
    .unwrap();
    std::fs::remove_dir(sandbox.path("lib/postfix-b")).unwrap();
    symlink(sandbox.path("lib/postfix-a"), sandbox.path("lib/postfix-b")).unwrap();
    let a = |sandbox: &Sandbox| {
        let tree = sandbox.snapshot();
        (tree.under("spool/postfix-a"), tree.under("lib/postfix-a"))
    };
    let before = a(&sandbox);
    let output = sandbox.run(&["-i", "b", "-e", "destroy"]);
    let warning = |dir: &str| {
        sandbox.expand(&format!(
            "postmulti: warning: @ROOT@/{dir}: please verify contents and remove by hand\n"
        ))
    };
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(0),
            String::new(),
            [
                warning("spool/postfix-b/maildrop"),
                warning("lib/postfix-b"),
                warning("spool/postfix-b"),
            ]
            .concat()
        )
    );
    assert!(sandbox.path("spool/postfix-b/maildrop").is_symlink());
    assert!(sandbox.path("lib/postfix-b").is_symlink());
    assert!(!sandbox.path("spool/postfix-b/pid").exists());
    assert!(!sandbox.path("etc/postfix-b").exists());
    assert!(!sandbox.main_cf().contains("postfix-b"));
    assert_eq!(before, a(&sandbox), "postfix-a's directories changed");
}

fn destroy_stops_at_a_symlinked_component_above_the_instance() {
    let sandbox = two_instances();
    // b's queue moves below a link to the spool directory.
    std::fs::rename(
        sandbox.path("spool/postfix-b"),
        sandbox.path("spool/moved-b"),
    )
    .unwrap();
    symlink(sandbox.path("spool"), sandbox.path("spool-link")).unwrap();
    let main_cf = sandbox.read("etc/postfix-b/main.cf");
    let root = sandbox.root_str();
    sandbox.write(
        "etc/postfix-b/main.cf",
        &main_cf.replace(
            &format!("queue_directory = {root}/spool/postfix-b"),
            "queue_directory = @ROOT@/spool-link/moved-b",
        ),
    );
    sandbox.assert_refused(&["-i", "b", "-e", "destroy"], &refusal("spool-link"));
}

fn an_unregistered_destroy_is_finished_by_the_short_form() {
    let sandbox = two_instances();
    let main_cf = sandbox.read("etc/postfix-b/main.cf");
    assert_success(&sandbox.run(&["-i", "postfix-b", "-e", "destroy"]));
    // Cut short after unregistering: only main.cf is left.
    sandbox.write("etc/postfix-b/main.cf", &main_cf);
    assert_success(&sandbox.run(&["-i", "b", "-e", "destroy"]));
    assert!(!sandbox.path("etc/postfix-b").exists());
    // Cut short at the final rmdir: an empty configuration directory.
    for name in ["b", "postfix-b"] {
        std::fs::create_dir(sandbox.path("etc/postfix-b")).unwrap();
        assert_success(&sandbox.run(&["-i", name, "-e", "destroy"]));
        assert!(!sandbox.path("etc/postfix-b").exists(), "-i {name}");
    }
    // A directory that holds something else is not an unfinished destroy.
    sandbox.write("etc/postfix-z/notes", "mine\n");
    sandbox.assert_refused(&["-i", "z", "-e", "destroy"], "No instance named z");
    // Nor is a link in its place.
    symlink(sandbox.path("elsewhere"), sandbox.path("etc/postfix-y")).unwrap();
    sandbox.assert_refused(
        &["-i", "y", "-e", "destroy"],
        "cannot destroy instance @ROOT@/etc/postfix-y: @ROOT@/etc/postfix-y is a symbolic link, \
         and destroy does not follow symbolic links",
    );
}

fn create_and_import_refuse_queue_subdirectories_that_are_links() {
    let sandbox = two_instances();
    let victim = sandbox.path("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(sandbox.path("spool/postfix-c")).unwrap();
    symlink(&victim, sandbox.path("spool/postfix-c/maildrop")).unwrap();
    sandbox.assert_refused(
        &["-I", "postfix-c", "-e", "create"],
        "@ROOT@/spool/postfix-c/maildrop: is a symbolic link; \
         postmulti does not set owners and modes through one",
    );
    // Import of a deported instance whose queue gained a link.
    assert_success(&sandbox.run(&["-i", "b", "-e", "deport"]));
    std::fs::remove_dir(sandbox.path("spool/postfix-b/pid")).unwrap();
    symlink(&victim, sandbox.path("spool/postfix-b/pid")).unwrap();
    sandbox.assert_refused(
        &["-e", "import", "config_directory=@ROOT@/etc/postfix-b"],
        "@ROOT@/spool/postfix-b/pid: is a symbolic link; \
         postmulti does not set owners and modes through one",
    );
    assert_eq!(
        owner_and_mode(&victim),
        ("root".to_string(), "root".to_string(), 0o755)
    );
}

fn a_queue_under_a_directory_others_can_write_is_refused() {
    let sandbox = two_instances();
    std::fs::create_dir(sandbox.path("open")).unwrap();
    std::fs::set_permissions(sandbox.path("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
    sandbox.assert_refused(
        &[
            "-I",
            "postfix-c",
            "-e",
            "create",
            "queue_directory=@ROOT@/open/postfix-c",
        ],
        "queue_directory=@ROOT@/open/postfix-c: @ROOT@/open is writable by others; postmulti \
         takes an instance directory only where no symbolic link leads and nobody but root \
         (or you) can change a directory above it",
    );
    assert!(!sandbox.path("open/postfix-c").exists());
}

/// The refusal of a new instance directory `param=path` because of `why`.
fn unreachable(param: &str, path: &str, why: &str) -> String {
    format!(
        "{param}={path}: {why}; postmulti takes an instance directory only where no symbolic \
         link leads and nobody but root (or you) can change a directory above it"
    )
}

fn create_refuses_directories_below_a_link() {
    let sandbox = two_instances();
    // A root-only directory, and a link to it.
    std::fs::create_dir(sandbox.path("victim")).unwrap();
    std::fs::set_permissions(
        sandbox.path("victim"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    symlink(sandbox.path("victim"), sandbox.path("lnk")).unwrap();
    for (param, dir) in [
        ("data_directory", "@ROOT@/lnk/data"),
        ("queue_directory", "@ROOT@/lnk/queue"),
        ("config_directory", "@ROOT@/lnk/postfix-c"),
    ] {
        sandbox.assert_refused(
            &["-I", "postfix-c", "-e", "create", &format!("{param}={dir}")],
            &unreachable(param, dir, "@ROOT@/lnk is a symbolic link"),
        );
    }
    assert_eq!(
        std::fs::read_dir(sandbox.path("victim")).unwrap().count(),
        0
    );
    // Destroy refused the same path before; now the rules agree.
    assert!(!sandbox.main_cf().contains("lnk"));
}

fn create_refuses_directories_below_another_users_directory() {
    let sandbox = two_instances();
    std::fs::set_permissions(sandbox.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    attacker_dir(&sandbox.path("att"));
    let why = format!("@ROOT@/att is owned by uid {NOBODY}");
    for (param, dir) in [
        ("config_directory", "@ROOT@/att/postfix-c"),
        ("queue_directory", "@ROOT@/att/queue"),
        ("data_directory", "@ROOT@/att/data"),
    ] {
        sandbox.assert_refused(
            &["-I", "postfix-c", "-e", "create", &format!("{param}={dir}")],
            &unreachable(param, dir, &why),
        );
    }
    // An existing configuration directory of another user's, too.
    std::fs::create_dir(sandbox.path("etc/postfix-c")).unwrap();
    std::os::unix::fs::chown(sandbox.path("etc/postfix-c"), Some(NOBODY), None).unwrap();
    sandbox.assert_refused(
        &["-I", "postfix-c", "-e", "create"],
        &unreachable(
            "config_directory",
            "@ROOT@/etc/postfix-c",
            &format!("@ROOT@/etc/postfix-c is owned by uid {NOBODY}"),
        ),
    );
    assert_eq!(std::fs::read_dir(sandbox.path("att")).unwrap().count(), 0);
}

fn destroy_refuses_an_instance_below_another_users_directory() {
    let sandbox = two_instances();
    std::fs::set_permissions(sandbox.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // b's data directory ends up below a directory the attacker owns.
    attacker_dir(&sandbox.path("att"));
    std::fs::rename(sandbox.path("lib/postfix-b"), sandbox.path("att/postfix-b")).unwrap();
    let main_cf = sandbox.read("etc/postfix-b/main.cf");
    sandbox.write(
        "etc/postfix-b/main.cf",
        &main_cf.replace(
            &format!("data_directory = {}/lib/postfix-b", sandbox.root_str()),
            "data_directory = @ROOT@/att/postfix-b",
        ),
    );
    sandbox.assert_refused(
        &["-i", "b", "-e", "destroy"],
        &format!(
            "cannot destroy instance @ROOT@/etc/postfix-b: @ROOT@/att is owned by uid {NOBODY}; \
             destroy reaches an instance's directories only through directories that only \
             root (or you) can change"
        ),
    );
}

fn a_configuration_directory_of_another_user_is_refused() {
    let sandbox = two_instances();
    std::os::unix::fs::chown(sandbox.path("etc/postfix"), Some(NOBODY), None).unwrap();
    for args in [
        &["-l"][..],
        &["-p", "status"],
        &["-I", "postfix-c", "-e", "create"],
    ] {
        sandbox.assert_refused(
            args,
            &unreachable(
                "config_directory",
                "@ROOT@/etc/postfix",
                &format!("@ROOT@/etc/postfix is owned by uid {NOBODY}"),
            ),
        );
    }
}

/// Prepares `etc/DIR` as an existing instance: master.cf and a main.cf
/// holding `settings`.
fn existing(sandbox: &Sandbox, dir: &str, settings: &str) {
    let master_cf = sandbox.read("etc/postfix/master.cf");
    sandbox.write(&format!("etc/{dir}/master.cf"), &master_cf);
    sandbox.write(&format!("etc/{dir}/main.cf"), settings);
}

fn create_over_an_existing_instance_applies_import_checks() {
    let sandbox = two_instances();
    symlink(sandbox.path("spool/postfix-a"), sandbox.path("spool/qlink")).unwrap();
    existing(
        &sandbox,
        "postfix-e",
        "queue_directory = @ROOT@/spool/qlink\ndata_directory = @ROOT@/lib/postfix-e\n",
    );
    sandbox.assert_refused(
        &["-I", "postfix-e", "-e", "create"],
        "queue_directory=@ROOT@/spool/qlink: is a symbolic link; \
         give the directory it points to, if that is meant",
    );
    // The primary's data directory, as a main.cf without data_directory
    // would have on a real host.
    existing(
        &sandbox,
        "postfix-f",
        "queue_directory = @ROOT@/spool/postfix-f\ndata_directory = @ROOT@/lib/postfix\n",
    );
    let before = sandbox.snapshot();
    let output = sandbox.run(&["-I", "postfix-f", "-e", "create"]);
    assert_fatal(
        &output,
        &sandbox.expand(
            "instance @ROOT@/etc/postfix-f, data_directory=@ROOT@/lib/postfix conflicts with \
             instance @ROOT@/etc/postfix, data_directory=@ROOT@/lib/postfix",
        ),
    );
    sandbox.assert_unchanged(&before);
    // Taken as it is: its own queue directory, not the one derived.
    existing(
        &sandbox,
        "postfix-g",
        "queue_directory = @ROOT@/spool/own-g\ndata_directory = @ROOT@/lib/own-g\n",
    );
    std::fs::create_dir(sandbox.path("lib/own-g")).unwrap();
    assert_success(&sandbox.run(&["-I", "postfix-g", "-e", "create"]));
    assert!(sandbox.path("spool/own-g/maildrop").is_dir());
    assert!(!sandbox.path("spool/postfix-g").exists());
}

fn import_of_an_instance_without_its_queue_creates_it() {
    let sandbox = two_instances();
    existing(
        &sandbox,
        "postfix-h",
        "queue_directory = @ROOT@/spool/postfix-h\ndata_directory = @ROOT@/lib/postfix-h\n",
    );
    assert_success(&sandbox.run(&["-e", "import", "config_directory=@ROOT@/etc/postfix-h"]));
    assert_eq!(
        owner_and_mode(&sandbox.path("spool/postfix-h/maildrop")),
        ("postfix".to_string(), "postdrop".to_string(), 0o730)
    );
    assert_eq!(
        owner_and_mode(&sandbox.path("lib/postfix-h")),
        ("postfix".to_string(), "root".to_string(), 0o700)
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [destroy_stops_at_a_symlinked_queue_before_removing_anything, destroy_stops_at_a_symlinked_configuration_directory, destroy_leaves_links_in_place_of_a_queue_subdirectory_and_the_data_directory, destroy_stops_at_a_symlinked_component_above_the_instance, an_unregistered_destroy_is_finished_by_the_short_form, create_and_import_refuse_queue_subdirectories_that_are_links, a_queue_under_a_directory_others_can_write_is_refused, create_over_an_existing_instance_applies_import_checks, import_of_an_instance_without_its_queue_creates_it, create_refuses_directories_below_a_link, create_refuses_directories_below_another_users_directory, destroy_refuses_an_instance_below_another_users_directory, a_configuration_directory_of_another_user_is_refused];
}
