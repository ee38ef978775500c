//! Configuration files an attacker who can write one directory plants
//! (issue 24): a main.cf or master.cf that is a FIFO, a 2 GiB (sparse)
//! main.cf, and symbolic links to files they could not read themselves.
//! Every command that reads main.cf finishes at once: a broken secondary is
//! reported by its directory and the others are served (or, for the
//! life-cycle actions and `--export`, the command fails naming it); a
//! broken primary is fatal. A symbolic link is followed only when it and
//! its directory are root's, so import never shows a line of a file behind
//! another user's link.

use postmulti_e2e::fixtures::{instance_dir, two_instances};
use postmulti_e2e::sandbox::{stderr, stdout, Sandbox};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a command may take here: they all take milliseconds, the
/// reads they once made never ended.
const BOUND: Duration = Duration::from_secs(3);

/// The address space postmulti may use here (it needs some 20 MiB): a
/// command that read a huge main.cf into memory fails instead of taking
/// the machine's.
const ADDRESS_SPACE: u64 = 1 << 30;

/// Runs postmulti on `sandbox` with `args` (`@ROOT@` expanded) as
/// [`Sandbox::command`] does, within [`BOUND`] and [`ADDRESS_SPACE`]
/// (through util-linux's `prlimit`); panics when it is still running then.
fn run_bounded(sandbox: &Sandbox, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| sandbox.expand(arg)).collect();
    let postmulti = sandbox.command(&[]);
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--")
        .arg(postmulti.get_program())
        .args(postmulti.get_args())
        .args(&args)
        .env_remove("MAIL_CONFIG")
        .env_remove("MAIL_VERBOSE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run prlimit postmulti");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("postmulti {args:?} still running after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// `(exit status, stdout, stderr)` of [`run_bounded`], with the sandbox's
/// root shown as `@ROOT@`.
fn outcome(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, String, String) {
    let output = run_bounded(sandbox, args);
    let root = |text: String| text.replace(sandbox.root_str(), "@ROOT@");
    (
        output.status.code(),
        root(stdout(&output)),
        root(stderr(&output)),
    )
}

/// Replaces `@ROOT@/RELATIVE` with a FIFO.
fn plant_fifo(sandbox: &Sandbox, relative: &str) {
    let path = sandbox.path(relative);
    std::fs::remove_file(&path).unwrap();
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
}

/// Replaces `@ROOT@/RELATIVE` with a sparse file of 2 GiB.
fn plant_huge(sandbox: &Sandbox, relative: &str) {
    let file = std::fs::File::create(sandbox.path(relative)).unwrap();
    file.set_len(2 << 30).unwrap();
}

/// Every command that reads the secondaries' main.cf, on a host whose
/// `postfix-a` main.cf cannot be read for `reason`: each finishes at once,
/// names the instance, and serves `postfix-b`.
fn every_command_skips_or_names(sandbox: &Sandbox, reason: &str) {
    let main_cf = "@ROOT@/etc/postfix-a/main.cf";
    let warning =
        format!("postmulti: warning: instance @ROOT@/etc/postfix-a skipped: {main_cf}: {reason}\n");
    let fatal = format!("postmulti: fatal: {main_cf}: {reason}\n");

    let (status, listing, err) = outcome(sandbox, &["-l"]);
    assert_eq!((status, err.as_str()), (Some(1), warning.as_str()));
    assert!(
        listing.contains("postfix-b ") && !listing.contains("postfix-a "),
        "{listing}"
    );

    let (status, out, err) = outcome(sandbox, &["-x", "sh", "-c", "echo $MAIL_CONFIG"]);
    assert_eq!(
        (status, out.as_str(), err.as_str()),
        (
            Some(1),
            "@ROOT@/etc/postfix\n@ROOT@/etc/postfix-b\n",
            warning.as_str()
        )
    );

    let (status, out, _) = outcome(sandbox, &["--doctor"]);
    assert_eq!(status, Some(1));
    let finding = format!("error: @ROOT@/etc/postfix-a: {main_cf}: {reason}\n");
    assert!(out.contains(&finding), "{out}");

    let (status, out, err) = outcome(sandbox, &["--metrics"]);
    assert_eq!((status, err.as_str()), (Some(1), warning.as_str()));
    assert!(
        out.contains("postmulti_scrape_errors{instance=\"@ROOT@/etc/postfix-a\",group=\"\"} 1\n")
            && out.contains("postmulti_instance_enabled{instance=\"postfix-b\",group=\"\"} 0\n"),
        "{out}"
    );

    for dir in ["gen", "gen.early", "gen.late"] {
        std::fs::create_dir_all(sandbox.path(dir)).unwrap();
    }
    let (status, _, err) = outcome(
        sandbox,
        &[
            "--systemd-generator",
            "@ROOT@/gen",
            "@ROOT@/gen.early",
            "@ROOT@/gen.late",
        ],
    );
    // The generator does not fail the boot for one instance.
    assert_eq!((status, err), (Some(0), warning.clone()));

    // Those that need the whole registry refuse, naming it, and change
    // nothing (a snapshot would read the 2 GiB: the files they would
    // write are compared instead).
    let files = ["etc/postfix/main.cf", "etc/postfix-b/main.cf"].map(|file| sandbox.read(file));
    for args in [
        &["--export", "-"][..],
        &["-I", "postfix-c", "-e", "create"],
        &["-i", "postfix-b", "-e", "disable"],
    ] {
        assert_eq!(
            outcome(sandbox, args),
            (Some(1), String::new(), fatal.clone()),
            "{args:?}"
        );
    }
    let after = ["etc/postfix/main.cf", "etc/postfix-b/main.cf"].map(|file| sandbox.read(file));
    assert_eq!(files, after);
    assert!(!sandbox.path("etc/postfix-c").exists());
}

fn a_fifo_main_cf_is_skipped_by_every_command() {
    let sandbox = two_instances();
    plant_fifo(&sandbox, "etc/postfix-a/main.cf");
    every_command_skips_or_names(&sandbox, "is not a regular file");
}

fn a_huge_main_cf_is_skipped_by_every_command() {
    let sandbox = two_instances();
    plant_huge(&sandbox, "etc/postfix-a/main.cf");
    every_command_skips_or_names(&sandbox, "larger than 16777216 bytes");
}

fn a_fifo_or_huge_primary_main_cf_is_fatal() {
    for plant in [plant_fifo, plant_huge] {
        let sandbox = two_instances();
        plant(&sandbox, "etc/postfix/main.cf");
        let reason = match std::fs::metadata(sandbox.path("etc/postfix/main.cf")) {
            Ok(meta) if meta.is_file() => "larger than 16777216 bytes",
            _ => "is not a regular file",
        };
        let fatal = format!("postmulti: fatal: @ROOT@/etc/postfix/main.cf: {reason}\n");
        for args in [&["-l"][..], &["--supervise"], &["--doctor"]] {
            assert_eq!(
                outcome(&sandbox, args),
                (Some(1), String::new(), fatal.clone()),
                "{args:?}"
            );
        }
    }
}

fn a_fifo_master_cf_is_a_doctor_finding() {
    let sandbox = two_instances();
    plant_fifo(&sandbox, "etc/postfix-a/master.cf");
    let (status, out, _) = outcome(&sandbox, &["-i", "postfix-a", "--doctor"]);
    assert_eq!(status, Some(1));
    assert!(
        out.contains(
            "error: @ROOT@/etc/postfix-a: @ROOT@/etc/postfix-a/master.cf: is not a regular file\n"
        ),
        "{out}"
    );
}

/// A file only root may read, holding a password hash.
const SECRET: &str = "root:$6$SECRETHASH:19000:0:99999:7:::\n";

/// Writes [`SECRET`] to `@ROOT@/shadow`, mode 0600.
fn secret_file(sandbox: &Sandbox) -> std::path::PathBuf {
    let secret = sandbox.path("shadow");
    std::fs::write(&secret, SECRET).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    secret
}

/// The uid and gid of `nobody`, the attacker here.
fn nobody() -> (u32, u32) {
    let user = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    (user.uid.as_raw(), user.gid.as_raw())
}

fn import_does_not_read_through_a_link_another_user_planted() {
    let sandbox = two_instances();
    let secret = secret_file(&sandbox);
    let (uid, gid) = nobody();
    // The attacker's own directory, with a master.cf and a link.
    let dir = sandbox.path("srv/mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(sandbox.path("etc/postfix/master.cf"), dir.join("master.cf")).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
    let link = dir.join("main.cf");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(uid), Some(gid)).unwrap();
    let before = sandbox.snapshot();
    let (status, out, err) = outcome(
        &sandbox,
        &["-e", "import", "config_directory=@ROOT@/srv/mail"],
    );
    assert_eq!(
        (status, out, err),
        (
            Some(1),
            String::new(),
            format!(
                "postmulti: fatal: @ROOT@/srv/mail/main.cf: is a symbolic link owned by uid {uid}; \
                 postmulti follows a symbolic link only when it and its directory are root's and \
                 the directory is writable by neither group nor others\n"
            )
        )
    );
    sandbox.assert_unchanged(&before);

    // A link root made in a directory others can write is not followed
    // either: they could have replaced it.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::chown(&dir, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let (status, _, err) = outcome(
        &sandbox,
        &["-e", "import", "config_directory=@ROOT@/srv/mail"],
    );
    assert_eq!(status, Some(1));
    assert!(
        err.contains("@ROOT@/srv/mail/main.cf: is a symbolic link and @ROOT@/srv/mail is writable by others;"),
        "{err}"
    );
    assert!(!err.contains("SECRETHASH"), "{err}");
}

fn a_secondary_main_cf_linked_by_another_user_is_skipped_and_roots_link_followed() {
    let sandbox = two_instances();
    let secret = secret_file(&sandbox);
    let (uid, gid) = nobody();
    // Root's own link, in root's directory, is followed as Postfix does.
    let main_cf = sandbox.path("etc/postfix-a/main.cf");
    let kept = sandbox.path("etc/postfix-a/main.cf.real");
    std::fs::rename(&main_cf, &kept).unwrap();
    std::os::unix::fs::symlink(&kept, &main_cf).unwrap();
    let (status, listing, err) = outcome(&sandbox, &["-l"]);
    assert_eq!((status, err.as_str()), (Some(0), ""));
    assert!(listing.contains("postfix-a "), "{listing}");
    // Another user's link is not followed, even in root's directory.
    std::fs::remove_file(&main_cf).unwrap();
    std::os::unix::fs::symlink(&secret, &main_cf).unwrap();
    std::os::unix::fs::lchown(&main_cf, Some(uid), Some(gid)).unwrap();
    let (status, _, err) = outcome(&sandbox, &["-l"]);
    assert_eq!(status, Some(1));
    assert_eq!(
        err,
        format!(
            "postmulti: warning: instance {dir} skipped: {dir}/main.cf: is a symbolic link owned by \
             uid {uid}; postmulti follows a symbolic link only when it and its directory are \
             root's and the directory is writable by neither group nor others\n",
            dir = instance_dir(&sandbox, "postfix-a").replace(sandbox.root_str(), "@ROOT@")
        )
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [a_fifo_main_cf_is_skipped_by_every_command, a_huge_main_cf_is_skipped_by_every_command, a_fifo_or_huge_primary_main_cf_is_fatal, a_fifo_master_cf_is_a_doctor_finding, import_does_not_read_through_a_link_another_user_planted, a_secondary_main_cf_linked_by_another_user_is_skipped_and_roots_link_followed];
}
