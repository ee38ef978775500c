//! The test harness of the end-to-end tests: each file's tests are named
//! and gated in one table ([`e2e_tests!`](crate::e2e_tests)); the files are
//! the modules of one test binary, `tests/tests/main.rs`
//! ([`e2e_main!`](crate::e2e_main)), whose tests, named `FILE::NAME`, are
//! run by `libtest-mimic`, whose summary is libtest's (`test result: ok. N
//! passed; 0 failed; M ignored ...`).
//!
//! A test that needs what this machine lacks (root, Postfix, the tools of a
//! private namespace) is reported as *ignored*, counted in the summary, and
//! the missing pieces are printed once before the run. With `CI=true` it is
//! run anyway and fails, saying what is missing: CI must run every test.

use libtest_mimic::{Arguments, Failed, Trial};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

/// Postfix's own postmulti on Debian.
pub const REAL_POSTMULTI: &str = "/usr/sbin/postmulti";

/// Debian's main.cf for new installations.
pub const DEBIAN_MAIN_CF: &str = "/usr/share/postfix/main.cf.debian";

/// What a test needs of the machine it runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: it runs anywhere.
    Nothing,
    /// Root and an installed Postfix (`/usr/sbin/postconf`): sandbox tests.
    RootAndPostfix,
    /// [`Needs::RootAndPostfix`], plus Postfix's own postmulti, Debian's
    /// main.cf, `unshare` and `ip`: tests in a private mount namespace
    /// ([`crate::namespace`]).
    Namespace,
    /// [`Needs::Namespace`], plus podman, runc and debootstrap: images
    /// built and run in a namespace (`tests/tests/container.rs`;
    /// `scripts/install-deps containers`).
    Container,
    /// [`Needs::Namespace`], plus ansible-core and ansible-test's sanity
    /// environments in [`TEST_VENV`]: the Ansible collection's tests
    /// (`tests/tests/ansible.rs`; `scripts/install-deps ansible`).
    Ansible,
}

/// The virtual environment of the tests' Python tools
/// (`scripts/install-deps`).
pub const TEST_VENV: &str = "/opt/postmulti-test-venv";

/// The programs a [`Needs::Container`] test runs besides the namespace's.
const CONTAINER_TOOLS: &[&str] = &["/usr/bin/podman", "/usr/sbin/runc", "/usr/sbin/debootstrap"];

/// What a [`Needs::Ansible`] test uses besides the namespace's: ansible-core,
/// and the mark of ansible-test's prepared sanity environments.
const ANSIBLE_TOOLS: &[&str] = &[
    "/opt/postmulti-test-venv/bin/ansible-playbook",
    "/opt/postmulti-test-venv/ansible-test-home/primed",
];

impl Needs {
    /// What is missing here for a test with these needs (empty when it can
    /// run).
    pub fn missing(self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self == Needs::Nothing {
            return missing;
        }
        if !nix::unistd::geteuid().is_root() {
            missing.push("root");
        }
        if !Path::new("/usr/sbin/postconf").is_file() {
            missing.push("/usr/sbin/postconf");
        }
        if matches!(self, Needs::Namespace | Needs::Container | Needs::Ansible) {
            for path in [REAL_POSTMULTI, DEBIAN_MAIN_CF, "/usr/bin/unshare"] {
                if !Path::new(path).exists() {
                    missing.push(path);
                }
            }
            let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];
            if !ip.iter().any(|path| Path::new(path).exists()) {
                missing.push("ip");
            }
        }
        let tools = match self {
            Needs::Container => CONTAINER_TOOLS,
            Needs::Ansible => ANSIBLE_TOOLS,
            _ => &[],
        };
        missing.extend(tools.iter().filter(|path| !Path::new(path).exists()));
        missing
    }

    /// `Ok` when a test with these needs can run here, else what it needs
    /// and what is missing.
    pub fn check(self) -> Result<(), String> {
        let missing = self.missing();
        if missing.is_empty() {
            return Ok(());
        }
        let what = match self {
            Needs::Namespace => "root, Postfix and a private namespace",
            Needs::Container => "root, Postfix, a private namespace and podman",
            Needs::Ansible => "root, Postfix, a private namespace and ansible-core",
            _ => "root and Postfix",
        };
        Err(format!("needs {what} (missing: {})", missing.join(", ")))
    }
}

/// Whether `CI=true`: then every test must run.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// One registered test.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    /// Its name in its file (filters and the summary show `FILE::NAME`).
    pub name: &'static str,
    /// What it needs of the machine.
    pub needs: Needs,
    /// Why it is ignored unless asked for (`--ignored`,
    /// `--include-ignored`), as `#[ignore = "..."]`.
    pub ignore: Option<&'static str>,
    /// The test: passes unless it panics.
    pub run: fn(),
}

/// Runs the test files' tests in one process as libtest does (same
/// arguments and output), each named `FILE::NAME`, ignoring those whose
/// needs are not met here unless `CI=true`, where they fail. `files` are
/// the modules of `tests/tests/main.rs` ([`e2e_main!`](crate::e2e_main)),
/// each with its table; one more test checks that every file of
/// `tests/tests/` is among them.
pub fn run(files: Vec<(&'static str, Vec<Test>)>) -> ExitCode {
    let args = Arguments::from_args();
    let _cache = private_cache_directory();
    let ci = in_ci();
    let modules: Vec<&'static str> = files.iter().map(|(module, _)| *module).collect();
    let mut skipped = Vec::new();
    let mut trials: Vec<Trial> = Vec::new();
    for (module, tests) in files {
        for test in tests {
            let name = format!("{module}::{}", test.name);
            let unmet = test.needs.check().err();
            let ignored = test.ignore.is_some() || (unmet.is_some() && !ci);
            let why = unmet.clone();
            let context = name.clone();
            let trial = Trial::test(name, move || match unmet {
                Some(why) if ci => Err(Failed::from(format!(
                    "{context}: {why}, and CI=true requires it to run"
                ))),
                Some(why) => Err(Failed::from(format!("{context}: {why}"))),
                None => {
                    (test.run)();
                    Ok(())
                }
            })
            .with_ignored_flag(ignored);
            if let (Some(why), false) = (why, ci) {
                if !args.is_filtered_out(&trial) {
                    skipped.push(format!("{}: {why}", trial.name()));
                }
            }
            trials.push(trial);
        }
    }
    trials.push(Trial::test(
        "main::every_test_file_is_a_module",
        move || every_test_file_is_a_module(&modules),
    ));
    if !skipped.is_empty() && !args.list {
        eprintln!(
            "ignored here (CI=true would fail them):\n  {}",
            skipped.join("\n  ")
        );
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Fails unless every `*.rs` file of `tests/tests/` but `main.rs` is one of
/// `modules`: a file left out of `main.rs` would never run.
fn every_test_file_is_a_module(modules: &[&str]) -> Result<(), Failed> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let entries = std::fs::read_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut missing = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| format!("{}: {error}", dir.display()))?
            .path();
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default();
        let rust = path.extension().is_some_and(|extension| extension == "rs");
        if rust && stem != "main" && !modules.contains(&stem) {
            missing.push(path.display().to_string());
        }
    }
    missing.sort();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "not a module of tests/tests/main.rs, so never run (add it to its e2e_main! list): {}",
        missing.join(", ")
    )
    .into())
}

/// Points every postmulti the tests start outside a namespace at a cache
/// directory of this test process (root's, mode 0755, removed when the
/// returned guard is dropped), so that no test writes the host's
/// `/var/cache/postmulti`. Set before any test thread starts.
fn private_cache_directory() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("postmulti-e2e-cache.")
        .tempdir()
        .expect("a temporary cache directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod the temporary cache directory");
    std::env::set_var(postmulti_core::cache::CACHE_DIRECTORY_VARIABLE, dir.path());
    dir
}

/// The table of an end-to-end test file (a module of `tests/tests/main.rs`,
/// listed in its [`e2e_main!`](crate::e2e_main)): its tests by what they
/// need (`Nothing`, `RootAndPostfix`, `Namespace`, `Container` or
/// `Ansible`, see [`Needs`]), each group optionally ignored unless asked
/// for, as `#[ignore]` does:
///
/// ```text
/// postmulti_e2e::e2e_tests! {
///     Nothing: [line_format_is_fixed_width];
///     RootAndPostfix: [list_all_in_registry_order, reverse_order];
///     #[ignore = "takes 60 s"] RootAndPostfix: [slow_one];
/// }
/// ```
///
/// It defines the module's `pub fn tests() -> Vec<Test>`; each test is a
/// plain `fn NAME()` that panics on failure.
#[macro_export]
macro_rules! e2e_tests {
    (@why) => { None };
    (@why $why:literal) => { Some($why) };
    (@group [$($why:literal)?] $needs:ident [$($test:ident),*]) => {{
        let ignore: Option<&'static str> = $crate::e2e_tests!(@why $($why)?);
        vec![$(
            $crate::harness::Test {
                name: stringify!($test),
                needs: $crate::harness::Needs::$needs,
                ignore,
                run: $test,
            },
        )*]
    }};
    ($($(#[ignore = $why:literal])? $needs:ident: [$($test:ident),* $(,)?];)*) => {
        /// This file's tests, from its table.
        pub fn tests() -> ::std::vec::Vec<$crate::harness::Test> {
            [$($crate::e2e_tests!(@group [$($why)?] $needs [$($test),*])),*].concat()
        }
    };
}

/// The `main` of the one end-to-end test binary, `tests/tests/main.rs`:
/// declares each listed file of `tests/tests/` as a module and runs all
/// their tables ([`e2e_tests!`](crate::e2e_tests)) on [`run`], each test
/// named `FILE::NAME`:
///
/// ```text
/// postmulti_e2e::e2e_main! {
///     json,
///     listing,
/// }
/// ```
#[macro_export]
macro_rules! e2e_main {
    ($($file:ident),* $(,)?) => {
        $(mod $file;)*

        fn main() -> ::std::process::ExitCode {
            $crate::harness::run(vec![$((stringify!($file), $file::tests())),*])
        }
    };
}
