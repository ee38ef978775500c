//! `postmulti`: the Postfix multi-instance manager, a drop-in replacement
//! for Postfix's postmulti(1). This binary is the thin command-line layer:
//! the command line ([`cli`]: parsed, then resolved into one [`HiArgs`]),
//! output ([`listing`], [`dry_run`]) and error reporting ([`report`]);
//! everything that touches the system is in `postmulti-core`. `main` only
//! dispatches each mode and reports.

mod cli;
mod desired;
mod dry_run;
mod listing;
mod metrics_output;
mod report;
mod timestamp;

use anyhow::{bail, Result};
use cli::{HiArgs, Mode, Special};
use listing::ListRequest;
use postmulti_core::bytes::{self, BString};
use postmulti_core::config::Config;
use postmulti_core::defaults::Defaults;
use postmulti_core::doctor;
use postmulti_core::iterate::{self, IterateRequest};
use postmulti_core::lifecycle::{self, EditOptions, EditRequest};
use postmulti_core::registry::{InstancesOnly, Keep, Registry, Strictness};
use postmulti_core::select::Selection;
use report::{fatal_message, report, Level};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    match run(std::env::args_os().collect()) {
        Ok(code) => code,
        Err(error) => {
            report(Level::Fatal, fatal_message(&error));
            ExitCode::FAILURE
        }
    }
}

/// Resolves the command line (bytes, as Postfix takes it) and runs the
/// requested mode.
fn run(args: Vec<OsString>) -> Result<ExitCode> {
    let mail_config = std::env::var_os("MAIL_CONFIG").map(|dir| BString::from(bytes::of_os(&dir)));
    let hi = match cli::parse(args, mail_config.as_ref().map(|dir| dir.as_slice()))? {
        Ok(hi) => hi,
        Err(special) => return Ok(special_mode(special)),
    };
    // The primary's configuration directory names the programs run as
    // root: reached under the trust rule, or refused.
    postmulti_core::trust::require_reachable(
        "config_directory",
        bytes::path(&hi.primary_dir),
        postmulti_core::trust::Last::Trusted,
    )?;
    let defaults = Defaults::reporting(|message| report(Level::Warning, message));
    match &hi.mode {
        Mode::List(request) => list(&hi, &defaults, request),
        Mode::Doctor(selection) => examine(&hi, &defaults, selection),
        Mode::Iterate(request) => iterate(&hi, &defaults, request),
        Mode::Edit(request, options) => edit(&hi, &defaults, request, options),
        Mode::Plan(args) => desired::plan(&hi.primary_dir, &defaults, args),
        Mode::Apply(args) => desired::apply(&hi.primary_dir, &defaults, args),
        Mode::Export(file) => desired::export(&hi.primary_dir, &defaults, file.as_deref()),
        Mode::Metrics(request) => {
            let (registry, selected_broken) =
                load_serving::<InstancesOnly>(&hi, &defaults, &request.selection)?;
            let failed = metrics_output::metrics(&registry, request)?;
            Ok(exit_code(failed || selected_broken))
        }
        Mode::Supervise(selection) => supervise(&hi, &defaults, selection),
        Mode::SystemdGenerator(normal_dir) => systemd_generator(&hi, normal_dir),
    }
}

/// `--help`, `--version`, `--completions`: print and stop.
fn special_mode(special: Special) -> ExitCode {
    match special {
        Special::HelpOrVersion(text) => {
            let _ = text.print();
            let _ = std::io::stdout().flush();
            ExitCode::from(u8::try_from(text.exit_code()).unwrap_or(1))
        }
        Special::Completions(shell) => {
            let stdout = &mut std::io::stdout();
            clap_complete::generate(shell, &mut cli::command(), "postmulti", stdout);
            ExitCode::SUCCESS
        }
    }
}

/// Loads the registry for a mode that serves the usable instances, keeping
/// `K` of each secondary's main.cf, reporting broken secondaries; returns
/// whether `selection` reaches one of them.
fn load_serving<'d, K: Keep<'d>>(
    hi: &HiArgs,
    defaults: &'d Defaults,
    selection: &Selection,
) -> Result<(Registry<'d, K>, bool)> {
    let registry = Registry::load(&hi.primary_dir, defaults, Strictness::Lenient)?;
    let mut selected_broken = false;
    for broken in &registry.broken {
        report(
            Level::Warning,
            postmulti_core::bconcat!(
                "instance ",
                broken.config_directory,
                " skipped: ",
                broken.reason
            ),
        );
        selected_broken |= selection.reaches_broken(broken);
    }
    if hi.verbose {
        report(
            Level::Verbose,
            format!(
                "{} instances, {} broken",
                registry.instances.len(),
                registry.broken.len()
            ),
        );
    }
    Ok((registry, selected_broken))
}

/// `-l`: list the selected instances.
fn list(hi: &HiArgs, defaults: &Defaults, request: &ListRequest) -> Result<ExitCode> {
    let (registry, selected_broken) =
        load_serving::<InstancesOnly>(hi, defaults, &request.selection)?;
    if request.queues {
        let failed = metrics_output::queue_listing(&registry, request)?;
        return Ok(exit_code(failed || selected_broken));
    }
    write_stdout(&listing::render(&registry, request))?;
    Ok(exit_code(selected_broken))
}

/// Writes `out` (bytes, as the listing holds them) to stdout and flushes it.
fn write_stdout(out: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_all(out).and_then(|()| stdout.flush()) {
        bail!("error writing output: {error}");
    }
    Ok(())
}

/// `--doctor`: report every finding; exit 1 when one is an error.
fn examine(hi: &HiArgs, defaults: &Defaults, selection: &Selection) -> Result<ExitCode> {
    let findings = doctor::examine(&hi.primary_dir, defaults, selection)?;
    let mut errors = false;
    for finding in &findings {
        println!("{finding}");
        errors |= finding.severity == doctor::Severity::Error;
    }
    Ok(exit_code(errors))
}

/// `-p` and `-x`: run the command for each selected instance.
fn iterate(hi: &HiArgs, defaults: &Defaults, request: &IterateRequest) -> Result<ExitCode> {
    let (registry, selected_broken) =
        load_serving::<InstancesOnly>(hi, defaults, &request.selection)?;
    let iterate::Plan { runs, unreachable } = iterate::plan(&registry, request)?;
    for warning in &unreachable {
        report(Level::Warning, warning);
    }
    let selected_broken = selected_broken || !unreachable.is_empty();
    if runs.is_empty() {
        if selected_broken {
            return Ok(ExitCode::FAILURE); // the warnings said why
        }
        bail!("No matching instances");
    }
    if hi.verbose {
        for run in &runs {
            let line =
                postmulti_core::bconcat!(run.config_directory, ": ", bytes::join(" ", &run.argv));
            report(Level::Verbose, line);
        }
    }
    let outcome = iterate::execute(&runs);
    for error in &outcome.spawn_errors {
        report(Level::Fatal, error);
    }
    if let Some(not_run) = &outcome.not_run {
        report(
            Level::Fatal,
            postmulti_core::bconcat!("interrupted; not run for: ", bytes::join(" ", not_run)),
        );
    }
    Ok(exit_code(outcome.failed || selected_broken))
}

/// `-e`: carry out (or with `--dry-run` describe) a life-cycle action.
fn edit(
    hi: &HiArgs,
    defaults: &Defaults,
    request: &EditRequest,
    options: &EditOptions,
) -> Result<ExitCode> {
    let outcome = lifecycle::run(&hi.primary_dir, defaults, request, options)?;
    if options.dry_run {
        print!("{}", dry_run::describe(&outcome.plan));
    }
    for warning in &outcome.warnings {
        report(Level::Warning, warning);
    }
    Ok(ExitCode::SUCCESS)
}

/// `--supervise`: run the selected masters until SIGTERM or SIGINT.
fn supervise(hi: &HiArgs, defaults: &Defaults, selection: &Selection) -> Result<ExitCode> {
    let (registry, _) = load_serving::<Config>(hi, defaults, selection)?;
    postmulti_core::supervise::run(&registry, selection, &|warning| {
        report(Level::Warning, warning)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `--systemd-generator`: link the units into `normal_dir`; only failing to
/// write there is fatal. No `postconf` is run: compiled-in defaults come
/// from the cache or the built-in values.
fn systemd_generator(hi: &HiArgs, normal_dir: &[u8]) -> Result<ExitCode> {
    use postmulti_core::systemd;
    let defaults = Defaults::cache_only();
    let generation = systemd::plan(&hi.primary_dir, &defaults);
    for warning in &generation.warnings {
        report(Level::Warning, warning);
    }
    systemd::write(bytes::path(normal_dir), &generation)?;
    Ok(ExitCode::SUCCESS)
}

/// Exit status 1 when anything failed, else 0.
fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
