//! The test harness of the end-to-end test files: each file's tests are
//! named and gated in one table ([`e2e_tests!`](crate::e2e_tests)), and run
//! by `libtest-mimic`, whose summary is libtest's (`test result: ok. N
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
    /// Its name, as filters and the summary show it.
    pub name: &'static str,
    /// What it needs of the machine.
    pub needs: Needs,
    /// Why it is ignored unless asked for (`--ignored`,
    /// `--include-ignored`), as `#[ignore = "..."]`.
    pub ignore: Option<&'static str>,
    /// The test: passes unless it panics.
    pub run: fn(),
}

/// Runs the tests as libtest does (same arguments and output), ignoring
/// those whose needs are not met here unless `CI=true`, where they fail.
pub fn run(tests: Vec<Test>) -> ExitCode {
    let args = Arguments::from_args();
    let _cache = private_cache_directory();
    let ci = in_ci();
    let mut skipped = Vec::new();
    let trials = tests
        .into_iter()
        .map(|test| {
            let unmet = test.needs.check().err();
            if let (Some(why), false) = (&unmet, ci) {
                skipped.push(format!("{}: {why}", test.name));
            }
            let ignored = test.ignore.is_some() || (unmet.is_some() && !ci);
            Trial::test(test.name, move || match unmet {
                Some(why) if ci => Err(Failed::from(format!(
                    "{}: {why}, and CI=true requires it to run",
                    test.name
                ))),
                Some(why) => Err(Failed::from(format!("{}: {why}", test.name))),
                None => {
                    (test.run)();
                    Ok(())
                }
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    if !skipped.is_empty() && !args.list {
        eprintln!(
            "ignored here (CI=true would fail them):\n  {}",
            skipped.join("\n  ")
        );
    }
    libtest_mimic::run(&args, trials).exit_code()
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

/// The `main` of an end-to-end test file: a table of its tests by what
/// they need (`Nothing`, `RootAndPostfix`, `Namespace`, `Container` or
/// `Ansible`, see
/// [`Needs`]), each group optionally ignored unless asked for, as
/// `#[ignore]` does:
///
/// ```text
/// postmulti_e2e::e2e_tests! {
///     Nothing: [line_format_is_fixed_width];
///     RootAndPostfix: [list_all_in_registry_order, reverse_order];
///     #[ignore = "takes 60 s"] RootAndPostfix: [slow_one];
/// }
/// ```
///
/// The test file is declared in `tests/Cargo.toml` with `harness = false`;
/// each test is a plain `fn NAME()` that panics on failure.
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
        fn main() -> ::std::process::ExitCode {
            $crate::harness::run(
                [$($crate::e2e_tests!(@group [$($why)?] $needs [$($test),*])),*].concat(),
            )
        }
    };
}
