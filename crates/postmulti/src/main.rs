//! `postmulti`: the Postfix multi-instance manager, a drop-in replacement
//! for Postfix's postmulti(1). This binary is the thin command-line layer:
//! argument grammar ([`cli`]), output ([`listing`]) and error reporting
//! ([`report`]); everything that touches the system is in `postmulti-core`.

mod cli;
mod dry_run;
mod listing;
mod report;

use anyhow::{bail, Result};
use cli::{ListFormat, Mode, Request};
use postmulti_core::defaults::{Defaults, DEFAULT_CONFIG_DIRECTORY};
use postmulti_core::iterate::{self, IterateRequest, Kind};
use postmulti_core::lifecycle::{self, EditOptions, EditRequest};
use postmulti_core::registry::{Registry, Strictness};
use report::{report, Level};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    match arguments().and_then(run) {
        Ok(code) => code,
        Err(error) => {
            report(Level::Fatal, &format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// The command line, which must be UTF-8 text.
fn arguments() -> Result<Vec<String>> {
    std::env::args_os()
        .map(|arg| {
            arg.into_string().map_err(|arg| {
                anyhow::anyhow!("argument is not UTF-8 text: {:?}", arg.to_string_lossy())
            })
        })
        .collect()
}

/// Parses the command line and runs the requested mode.
fn run(args: Vec<String>) -> Result<ExitCode> {
    let request = cli::parse(args)?;
    if let Mode::Completions(shell) = request.mode {
        clap_complete::generate(
            shell,
            &mut cli::command(),
            "postmulti",
            &mut std::io::stdout(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let primary_dir = request
        .config_directory
        .clone()
        .unwrap_or_else(|| DEFAULT_CONFIG_DIRECTORY.to_string());
    if let Ok(mail_config) = std::env::var("MAIL_CONFIG") {
        if mail_config != primary_dir {
            bail!("Non-default configuration directory: MAIL_CONFIG={mail_config}");
        }
    }
    let defaults = Defaults::reporting(|message| report(Level::Warning, message));
    match request.mode {
        Mode::List { format } => list(&request, &primary_dir, &defaults, format),
        Mode::Doctor => doctor(&request, &primary_dir, &defaults),
        Mode::Completions(_) => unreachable!("handled above"),
        Mode::Postfix => iterate(&request, &primary_dir, &defaults, Kind::Postfix),
        Mode::Command => iterate(&request, &primary_dir, &defaults, Kind::Command),
        Mode::Edit(action) => {
            let edit = EditRequest {
                action,
                selection: request.selection.clone(),
                assign_name: request.assign_name.clone(),
                assign_group: request.assign_group.clone(),
                settings: request.operands.clone(),
            };
            let mut options = EditOptions {
                template_directory: request.template.as_ref().map(Into::into),
                ..EditOptions::default()
            };
            if let Some(seconds) = request.lock_timeout {
                options.lock_timeout = std::time::Duration::from_secs(seconds);
            }
            let outcome =
                lifecycle::run(&primary_dir, &defaults, &edit, &options, request.dry_run)?;
            if request.dry_run {
                print!("{}", dry_run::describe(&outcome.plan));
            }
            for warning in &outcome.warnings {
                report(Level::Warning, warning);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads the registry for an iterator mode, reporting broken secondaries;
/// returns whether one of them would have been selected.
fn load_serving<'d>(
    request: &Request,
    primary_dir: &str,
    defaults: &'d Defaults,
) -> Result<(Registry<'d>, bool)> {
    let registry = Registry::load(primary_dir, defaults, Strictness::Lenient)?;
    let mut selected_broken = false;
    for broken in &registry.broken {
        report(
            Level::Warning,
            &format!(
                "instance {} skipped: {}",
                broken.config_directory, broken.reason
            ),
        );
        selected_broken |= request.selection.reaches_broken(broken);
    }
    if request.verbose > 0 {
        report(
            Level::Verbose,
            &format!(
                "{} instances, {} broken",
                registry.instances.len(),
                registry.broken.len()
            ),
        );
    }
    Ok((registry, selected_broken))
}

/// `-l`: list the selected instances.
fn list(
    request: &Request,
    primary_dir: &str,
    defaults: &Defaults,
    format: ListFormat,
) -> Result<ExitCode> {
    let (registry, selected_broken) = load_serving(request, primary_dir, defaults)?;
    let selection = request.selection.effective();

    let out = listing::render(&registry, &selection, request.reverse, format);
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        bail!("error writing output: {error}");
    }
    Ok(exit_code(selected_broken))
}

/// `--doctor`: report every finding; exit 1 when one is an error.
fn doctor(request: &Request, primary_dir: &str, defaults: &Defaults) -> Result<ExitCode> {
    let findings = postmulti_core::doctor::examine(primary_dir, defaults, &request.selection)?;
    let mut errors = false;
    for finding in &findings {
        println!("{finding}");
        errors |= finding.severity == postmulti_core::doctor::Severity::Error;
    }
    Ok(exit_code(errors))
}

/// `-p` and `-x`: run the command for each selected instance.
fn iterate(
    request: &Request,
    primary_dir: &str,
    defaults: &Defaults,
    kind: Kind,
) -> Result<ExitCode> {
    let (registry, selected_broken) = load_serving(request, primary_dir, defaults)?;
    let iterate_request = IterateRequest {
        kind,
        selection: request.selection.clone(),
        reverse: request.reverse,
        verbose: request.verbose > 0,
        args: request.operands.clone(),
    };
    let runs = iterate::plan(&registry, &iterate_request)?;
    if runs.is_empty() {
        if selected_broken {
            return Ok(ExitCode::FAILURE); // the warnings said why
        }
        bail!("No matching instances");
    }
    let command_directory = registry.primary_config.expanded("command_directory")?;
    for run in &runs {
        if request.verbose > 0 {
            report(
                Level::Verbose,
                &format!("{}: {}", run.config_directory, run.argv.join(" ")),
            );
        }
    }
    let outcome = iterate::execute(&runs, &command_directory);
    for error in &outcome.spawn_errors {
        report(Level::Fatal, error);
    }
    if let Some(not_run) = &outcome.not_run {
        report(
            Level::Fatal,
            &format!("interrupted; not run for: {}", not_run.join(" ")),
        );
    }
    Ok(exit_code(outcome.failed || selected_broken))
}

/// Exit status 1 when anything failed, else 0.
fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
