//! The one end-to-end test binary: each file of `tests/tests/` is a module,
//! one feature each, with its table of tests (`postmulti_e2e::e2e_tests!`);
//! all run in this process on the harness of `src/harness.rs`, named
//! `FILE::NAME` (`cargo test --release -p postmulti-e2e --test main --
//! listing::`). One binary links the core once instead of once per file.
//! A new file is one more line here, in alphabetical order.

postmulti_e2e::e2e_main! {
    ansible,
    container,
    doctor,
    dry_run,
    fidelity_broken,
    fidelity_defaults_cache,
    fidelity_doctor,
    fidelity_symlinks,
    hostile_files,
    hostile_input,
    iteration,
    json,
    lifecycle,
    listing,
    manifest,
    options,
    queues,
    reliability,
    sidebyside_bytes,
    sidebyside_fidelity,
    sidebyside_iteration,
    sidebyside_lifecycle,
    sidebyside_listing,
    sidebyside_paths,
    status,
    supervise,
    systemd,
    templates,
}
