//! Sandbox primaries for end-to-end tests: a temporary directory that holds a
//! primary instance's configuration directory (`etc/postfix`), its queue
//! and data directories (`spool/postfix`, `lib/postfix`), optionally a
//! stand-in `postfix` command (`bin/postfix`) that records how it was
//! called, and whatever secondary instances a test writes by hand or has
//! postmulti create. The built binary is run with `-c <primary>`, so the
//! host's own `/etc/postfix` is only ever read (prototypes, `postfix-files`),
//! never written.
//!
//! [`Sandbox::snapshot`] records every entry of the tree (type, mode, owner,
//! inode, modification time and content: a [`Tree`], see `tree.rs`) so that
//! a test can assert that a refused command left the sandbox exactly as it
//! was.
//!
//! Texts handed to the sandbox may use `@ROOT@` for the sandbox's root
//! directory; it is replaced before they are written.

use crate::harness::DEBIAN_MAIN_CF;
/// The snapshot types, where sandbox tests have always found them.
pub use crate::tree::{Content, Node, Tree};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Placeholder for the sandbox root in texts given to [`Sandbox`] methods.
pub const ROOT: &str = "@ROOT@";

/// What the primary's main.cf starts from when [`DEBIAN_MAIN_CF`] is missing.
const MINIMAL_MAIN_CF: &str = "\
# A minimal main.cf for a postmulti sandbox.
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6
";

/// Where a master.cf for sandbox instances is read from, first found wins
/// (read only).
const MASTER_CF_SOURCES: &[&str] = &[
    "/usr/share/postfix/master.cf.dist",
    "/etc/postfix/master.cf",
];

/// What master.cf holds when none of [`MASTER_CF_SOURCES`] exists.
const MINIMAL_MASTER_CF: &str = "\
smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
";

/// The stand-in `postfix` command: appends one line per call to
/// `@ROOT@/postfix.log` (each argument in brackets, then `MAIL_CONFIG`,
/// `MAIL_VERBOSE` and `command_directory`, `<unset>` when absent), and
/// fails when `$MAIL_CONFIG/fail` exists.
const STAND_IN_POSTFIX: &str = r#"#!/bin/sh
{
    printf 'postfix'
    for arg in "$@"; do printf ' [%s]' "$arg"; done
    printf ' MAIL_CONFIG=%s MAIL_VERBOSE=%s command_directory=%s\n' \
        "${MAIL_CONFIG-<unset>}" "${MAIL_VERBOSE-<unset>}" "${command_directory-<unset>}"
} >>'@ROOT@/postfix.log'
if [ -e "$MAIL_CONFIG/fail" ]; then
    exit 3
fi
exit 0
"#;

/// The built `postmulti` binary: `$POSTMULTI_BIN` when set, else the
/// `postmulti` beside the directory of the running test executable
/// (`target/<profile>/deps/TEST` -> `target/<profile>/postmulti`).
///
/// Panics when it does not exist, saying how to build it.
pub fn postmulti_bin() -> PathBuf {
    let path = match std::env::var_os("POSTMULTI_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("the test executable's path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("the test executable lives in target/<profile>/deps");
            profile_dir.join("postmulti")
        }
    };
    assert!(
        path.is_file(),
        "postmulti binary not found at {}: build it with cargo build -p postmulti \
         (same profile as the tests), or set POSTMULTI_BIN",
        path.display()
    );
    path
}

/// A primary instance in a temporary directory; removed on drop.
#[derive(Debug)]
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox::new()
    }
}

impl Sandbox {
    /// A primary whose main.cf is Debian's `main.cf.debian` (or a minimal one
    /// when that is missing) with `queue_directory` and `data_directory` set
    /// to `@ROOT@/spool/postfix` and `@ROOT@/lib/postfix`.
    pub fn new() -> Sandbox {
        let base =
            std::fs::read_to_string(DEBIAN_MAIN_CF).unwrap_or_else(|_| MINIMAL_MAIN_CF.to_string());
        Sandbox::with_main_cf(&format!(
            "{base}queue_directory = {ROOT}/spool/postfix\ndata_directory = {ROOT}/lib/postfix\n"
        ))
    }

    /// A primary whose main.cf is exactly `main_cf` (with `@ROOT@`
    /// replaced); its master.cf, queue and data directories are made as for
    /// [`Sandbox::new`].
    pub fn with_main_cf(main_cf: &str) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("postmulti-e2e.")
            .tempdir()
            .expect("a temporary directory");
        let sandbox = Sandbox { dir };
        for sub in ["etc/postfix", "spool/postfix", "lib/postfix"] {
            std::fs::create_dir_all(sandbox.path(sub)).expect("sandbox directories");
        }
        sandbox.write("etc/postfix/main.cf", main_cf);
        sandbox.write("etc/postfix/master.cf", &master_cf());
        sandbox
    }

    /// The sandbox's root directory (what `@ROOT@` stands for).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The root directory as a string.
    pub fn root_str(&self) -> &str {
        self.root().to_str().expect("a UTF-8 temporary directory")
    }

    /// The primary's configuration directory, `@ROOT@/etc/postfix`.
    pub fn primary(&self) -> String {
        format!("{}/etc/postfix", self.root_str())
    }

    /// A path below the root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    /// `text` with every `@ROOT@` replaced by the root directory.
    pub fn expand(&self, text: &str) -> String {
        text.replace(ROOT, self.root_str())
    }

    /// Writes `text` (with `@ROOT@` replaced) to a file below the root,
    /// making missing parent directories.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent directories");
        }
        std::fs::write(&path, self.expand(text))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// The text of a file below the root.
    pub fn read(&self, relative: &str) -> String {
        let path = self.path(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The primary's main.cf.
    pub fn main_cf(&self) -> String {
        self.read("etc/postfix/main.cf")
    }

    /// Appends `text` (with `@ROOT@` replaced) to the primary's main.cf.
    pub fn append_main_cf(&self, text: &str) {
        let main_cf = self.main_cf();
        self.write("etc/postfix/main.cf", &format!("{main_cf}{text}"));
    }

    /// Writes a secondary instance by hand in `@ROOT@/etc/DIR_NAME`: a
    /// master.cf and a main.cf holding `queue_directory` and
    /// `data_directory` (`@ROOT@/spool/DIR_NAME`, `@ROOT@/lib/DIR_NAME`)
    /// followed by `settings`. Returns its configuration directory. It is
    /// not registered: see [`Sandbox::register`].
    pub fn write_secondary(&self, dir_name: &str, settings: &str) -> String {
        self.write(
            &format!("etc/{dir_name}/main.cf"),
            &format!(
                "queue_directory = {ROOT}/spool/{dir_name}\n\
                 data_directory = {ROOT}/lib/{dir_name}\n{settings}"
            ),
        );
        self.write(&format!("etc/{dir_name}/master.cf"), &master_cf());
        format!("{}/etc/{dir_name}", self.root_str())
    }

    /// Hooks postmulti in as `postmulti -e init` would and lists the given
    /// configuration directories in `multi_instance_directories`.
    pub fn register(&self, config_directories: &[&str]) {
        self.append_main_cf(&format!(
            "multi_instance_wrapper = ${{command_directory}}/postmulti -p --\n\
             multi_instance_enable = yes\n\
             multi_instance_directories = {}\n",
            config_directories.join(" ")
        ));
    }

    /// Installs the stand-in `postfix` command in `@ROOT@/bin` and points
    /// the primary's `command_directory` there.
    pub fn install_stand_in_postfix(&self) {
        self.write("bin/postfix", STAND_IN_POSTFIX);
        std::fs::set_permissions(self.path("bin/postfix"), PermissionsExt::from_mode(0o755))
            .expect("chmod the stand-in postfix");
        self.append_main_cf(&format!("command_directory = {ROOT}/bin\n"));
    }

    /// The calls the stand-in `postfix` recorded, one line each, with the
    /// root directory shown as `@ROOT@`.
    pub fn stand_in_calls(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.path("postfix.log")).unwrap_or_default();
        log.lines()
            .map(|line| line.replace(self.root_str(), ROOT))
            .collect()
    }

    /// A command that runs postmulti with `-c <primary>` and then `args`,
    /// with `MAIL_CONFIG` and `MAIL_VERBOSE` removed from its environment and
    /// standard input closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(postmulti_bin());
        command
            .arg("-c")
            .arg(self.primary())
            .args(args)
            .env_remove("MAIL_CONFIG")
            .env_remove("MAIL_VERBOSE")
            .stdin(Stdio::null());
        command
    }

    /// Runs postmulti with `-c <primary>` and `args` (each with `@ROOT@`
    /// replaced), see [`Sandbox::command`].
    pub fn run(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|arg| self.expand(arg)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.command(&args).output().expect("run postmulti")
    }

    /// Runs postmulti as [`Sandbox::run`] does, with `input` (`@ROOT@`
    /// replaced too) on its standard input.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        let args: Vec<String> = args.iter().map(|arg| self.expand(arg)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = self
            .command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run postmulti");
        child
            .stdin
            .take()
            .expect("standard input")
            .write_all(self.expand(input).as_bytes())
            .expect("write standard input");
        child.wait_with_output().expect("wait for postmulti")
    }

    /// Runs postmulti as [`Sandbox::run`] does, killed after `seconds` (a
    /// read that never ends is then a failed test, not a hung one).
    pub fn run_within(&self, args: &[&str], seconds: u64) -> Output {
        let args: Vec<String> = args.iter().map(|arg| self.expand(arg)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run postmulti");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("postmulti {args:?} still running after {seconds} s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    /// Every entry below the root, by relative path.
    pub fn snapshot(&self) -> Tree {
        Tree::of(self.root())
    }

    /// Asserts that `postmulti ARGS` fails with exit status 1, nothing on
    /// standard output and exactly `postmulti: fatal: MESSAGE` (with
    /// `@ROOT@` expanded) on standard error, and changes nothing.
    pub fn assert_refused(&self, args: &[&str], message: &str) {
        assert_eq!(
            self.refusal(args),
            self.expand(message),
            "postmulti {args:?}"
        );
    }

    /// Asserts that `postmulti ARGS` fails with exit status 1, nothing on
    /// standard output and `postmulti: fatal: MESSAGE` on standard error, and
    /// changes nothing; returns the message.
    pub fn refusal(&self, args: &[&str]) -> String {
        let before = self.snapshot();
        let output = self.run(args);
        let err = stderr(&output);
        assert_eq!(
            (output.status.code(), stdout(&output)),
            (Some(1), String::new()),
            "postmulti {args:?}: {err}"
        );
        let message = err
            .strip_prefix("postmulti: fatal: ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("postmulti {args:?}: not one fatal error: {err:?}"));
        self.assert_unchanged(&before);
        message.to_string()
    }

    /// Panics, naming each difference, unless the tree is exactly as in
    /// `before`.
    pub fn assert_unchanged(&self, before: &Tree) {
        let differences = before.differences(&self.snapshot());
        assert!(
            differences.is_empty(),
            "the sandbox changed:\n{}",
            differences.join("\n")
        );
    }
}

/// A stand-in master daemon: a copy of sleep(1) named `master`, whose pid
/// is in an instance's `pid/master.pid`, so that postmulti takes the
/// instance for running. Killed on drop.
#[derive(Debug)]
pub struct FakeMaster {
    child: std::process::Child,
}

impl FakeMaster {
    /// Starts a process named `master` (a copy of `/bin/sleep`, made in
    /// `program_dir`) and writes its pid, space-padded as Postfix does, to
    /// `queue_directory/pid/master.pid` (making `pid` when missing).
    pub fn start(program_dir: &Path, queue_directory: &Path) -> FakeMaster {
        let program = program_dir.join("master");
        if !program.exists() {
            std::fs::copy("/bin/sleep", &program).expect("copy /bin/sleep");
        }
        // A fork in another test thread may briefly hold the new copy open.
        let mut tries = 0;
        let child = loop {
            match Command::new(&program).arg("60").spawn() {
                Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other.expect("start the fake master"),
            }
        };
        std::fs::create_dir_all(queue_directory.join("pid")).expect("the pid directory");
        std::fs::write(
            queue_directory.join("pid/master.pid"),
            format!("{:>11}\n", child.id()),
        )
        .expect("write master.pid");
        FakeMaster { child }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The master.cf given to sandbox instances (read from the host).
fn master_cf() -> String {
    MASTER_CF_SOURCES
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_else(|| MINIMAL_MASTER_CF.to_string())
}

/// The value of the last `name = value` entry of a main.cf text, as
/// `postconf -nh name` shows it: logical lines are read as Postfix does
/// (a line starting with white space continues the entry, comment and blank
/// lines are skipped), the pieces of a continued entry are joined by one
/// space, and the value is trimmed.
pub fn entry(main_cf: &str, name: &str) -> Option<String> {
    let mut logical: Vec<String> = Vec::new();
    for line in main_cf.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match logical.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(trimmed);
            }
            _ => logical.push(trimmed.to_string()),
        }
    }
    logical.iter().rev().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == name).then(|| value.trim().to_string())
    })
}

/// The standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that postmulti exited 0 with nothing on standard error, and
/// returns its standard output.
pub fn assert_success(output: &Output) -> String {
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

/// Asserts that postmulti failed with exit status 1, printed nothing on
/// standard output and exactly `postmulti: fatal: MESSAGE` on standard
/// error.
pub fn assert_fatal(output: &Output, message: &str) {
    assert_eq!(
        (output.status.code(), stdout(output), stderr(output)),
        (
            Some(1),
            String::new(),
            format!("postmulti: fatal: {message}\n")
        ),
        "expected the fatal error {message:?}"
    );
}

/// The owner name, group name and permission bits of `path` (not
/// followed when it is a symbolic link); numbers stand in for unknown ids.
pub fn owner_and_mode(path: &Path) -> (String, String, u32) {
    let meta =
        std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()));
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(meta.uid()))
        .ok()
        .flatten()
        .map_or_else(|| meta.uid().to_string(), |user| user.name);
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(meta.gid()))
        .ok()
        .flatten()
        .map_or_else(|| meta.gid().to_string(), |group| group.name);
    (user, group, meta.mode() & 0o7777)
}

/// One line of `postmulti -l`: `%-15s %-15s %-9s %s\n`.
pub fn listing_line(name: &str, group: &str, enabled: &str, config_directory: &str) -> String {
    format!("{name:<15} {group:<15} {enabled:<9} {config_directory}\n")
}
