//! What the crate's unit tests share: the rule for a test that needs root.

/// Whether the running test, `name`, can run as root here. Outside CI a
/// test that cannot says so on stderr and is skipped; with `CI=true` it
/// fails, as every test must run in CI.
pub(crate) fn runs_as_root(name: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: {name} needs root");
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"));
    false
}
