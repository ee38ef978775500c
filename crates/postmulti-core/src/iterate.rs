//! Iterator mode: `-p` runs a postfix(1) command and `-x` any command once
//! per selected instance, with Postfix postmulti's ordering, skipping and
//! environment rules; a Ctrl-C stops further launches.
//!
//! Each command's environment is ours plus, as Postfix's postmulti gives it,
//! `MAIL_LOGTAG` (the primary's `syslog_name`) and `MAIL_CONFIG`, and with
//! `-x` the instance's settings and `$command_directory` first in `PATH`.
//! A signal the caller ignored (a background job's SIGINT, `trap "" TERM`)
//! stays ignored, for us and the commands: only a signal the caller could
//! deliver stops the loop.
//!
//! A command runs for an instance only when its configuration directory
//! is reached under [`crate::trust::reach`]'s rule: else someone who can
//! change a directory above it could make root run their postfix-script.

use crate::bytes::{self, BString};
use crate::instance::Instance;
use crate::registry::{split_list, Registry};
use crate::select::Selection;
use crate::trust::{reach, Last};
use crate::Result;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `PATH` used when the caller has none, as Postfix's `ROOT_PATH`.
const ROOT_PATH: &str = "/bin:/usr/bin:/sbin:/usr/sbin";

/// How a `-p` command word treats the instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandClass {
    /// `postmulti_start_commands`: disabled instances run `check` instead.
    Start,
    /// `postmulti_stop_commands`: reverse order, disabled instances skipped.
    Stop,
    /// `postmulti_control_commands`: disabled instances skipped.
    Control,
    /// Anything else: every selected instance, in order.
    Other,
}

/// The two iterator modes that run commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `-p`: `$command_directory/postfix -- ARGS...`.
    Postfix,
    /// `-x`: the command itself, with the instance's settings in its
    /// environment.
    Command,
}

/// One command to run for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The instance's configuration directory.
    pub config_directory: BString,
    /// The program and its arguments.
    pub argv: Vec<BString>,
    /// Variables set in its environment (on top of ours).
    pub env: Vec<(String, BString)>,
    /// Prepended to `PATH` (with a `:`): `$command_directory` for `-x`.
    pub path_prefix: Option<BString>,
}

/// What an iteration comes to before anything runs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The runs, in order.
    pub runs: Vec<Run>,
    /// The selected instances skipped because their configuration
    /// directory is not reached under the rule: a warning for each.
    pub unreachable: Vec<BString>,
}

/// What an iteration asks for.
#[derive(Debug, Clone)]
pub struct IterateRequest {
    /// `-p` or `-x`.
    pub kind: Kind,
    /// `-a`, `-g`, `-i` (unspecified means all).
    pub selection: Selection,
    /// `-R` (only `-x`; `-p` stop commands reverse by themselves).
    pub reverse: bool,
    /// `-v`: export `MAIL_VERBOSE`.
    pub verbose: bool,
    /// The command words.
    pub args: Vec<BString>,
}

/// How a `-p` command word is classified by the primary's word lists.
pub fn classify<K>(registry: &Registry<'_, K>, word: &[u8]) -> Result<CommandClass> {
    let listed = |param: &str| -> Result<bool> {
        let list = registry.primary_config.expanded(param)?;
        Ok(split_list(&list).iter().any(|w| w == word))
    };
    Ok(if listed("postmulti_start_commands")? {
        CommandClass::Start
    } else if listed("postmulti_stop_commands")? {
        CommandClass::Stop
    } else if listed("postmulti_control_commands")? {
        CommandClass::Control
    } else {
        CommandClass::Other
    })
}

/// The runs for `request`, in order (none when nothing matched), and the
/// selected instances skipped as unreachable.
pub fn plan<K>(registry: &Registry<'_, K>, request: &IterateRequest) -> Result<Plan> {
    let selection = request.selection.effective();

    let command_directory = registry.primary_config.expanded("command_directory")?;
    let class = match request.kind {
        Kind::Postfix => classify(registry, &request.args[0])?,
        Kind::Command => CommandClass::Other,
    };
    let reverse = request.reverse ^ (class == CommandClass::Stop);
    let skip_disabled = matches!(class, CommandClass::Stop | CommandClass::Control);
    let log_tag = registry.primary_config.expanded("syslog_name")?;
    let mut instances: Vec<&Instance> = registry.instances.iter().collect();
    if reverse {
        instances.reverse();
    }
    let mut plan = Plan::default();
    for instance in instances {
        if (skip_disabled && !instance.enabled) || !selection.matches(instance) {
            continue;
        }
        if let Err(why) = reach(bytes::path(&instance.config_directory), Last::Trusted) {
            plan.unreachable.push(crate::bconcat!(
                "instance ",
                instance.config_directory,
                " skipped: ",
                why.0,
                "; postmulti runs a command for an instance only when nobody but root \
                 (or you) can change its configuration directory or one above it"
            ));
            continue;
        }
        let mut env = vec![
            ("MAIL_LOGTAG".to_string(), log_tag.clone()),
            ("MAIL_CONFIG".to_string(), instance.config_directory.clone()),
        ];
        if request.verbose {
            env.push(("MAIL_VERBOSE".to_string(), BString::default()));
        }
        let argv = match request.kind {
            Kind::Postfix => {
                let mut argv = vec![
                    crate::bconcat!(command_directory, "/postfix"),
                    BString::from("--"),
                ];
                argv.extend(request.args.iter().cloned());
                if class == CommandClass::Start && !instance.enabled {
                    argv[2] = BString::from("check");
                }
                argv
            }
            Kind::Command => {
                env.extend(instance_environment(
                    registry,
                    instance,
                    &command_directory,
                )?);
                request.args.clone()
            }
        };
        plan.runs.push(Run {
            config_directory: instance.config_directory.clone(),
            argv,
            env,
            path_prefix: (request.kind == Kind::Command).then(|| command_directory.clone()),
        });
    }
    Ok(plan)
}

/// The settings `-x` exports for an instance; `command_directory` is the
/// primary's, expanded.
fn instance_environment<K>(
    registry: &Registry<'_, K>,
    instance: &Instance,
    command_directory: &[u8],
) -> Result<Vec<(String, BString)>> {
    let primary = &registry.primary_config;
    let pairs = [
        ("daemon_directory", primary.expanded("daemon_directory")?),
        ("command_directory", command_directory.into()),
        ("config_directory", instance.config_directory.clone()),
        ("queue_directory", instance.queue_directory.clone()),
        ("data_directory", instance.data_directory.clone()),
        (
            "multi_instance_name",
            instance.name.clone().unwrap_or_default(),
        ),
        (
            "multi_instance_group",
            instance.group.clone().unwrap_or_default(),
        ),
        (
            "multi_instance_enable",
            BString::from(if instance.enabled { "yes" } else { "no" }),
        ),
    ];
    Ok(pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect())
}

/// The signals ignored by this process (as the caller left them), as the
/// `SigIgn` mask of `/proc/self/status`; none when it cannot be read.
fn ignored_signals() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let mask = status
                .lines()
                .find_map(|line| line.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .unwrap_or(0)
}

/// The bit of `signal` in a `SigIgn` mask.
fn signal_bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

/// What running the commands came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Whether any command failed (non-zero exit, killed, or not started).
    pub failed: bool,
    /// Commands that could not be started, with the reason.
    pub spawn_errors: Vec<BString>,
    /// Set when an interrupt stopped the iteration: the instances whose
    /// command was not run.
    pub not_run: Option<Vec<BString>>,
}

/// Runs each command in turn, children sharing our stdin, stdout and
/// stderr; an interrupt (SIGINT, SIGTERM) stops launching further ones,
/// unless the caller ignored it.
pub fn execute(runs: &[Run]) -> Report {
    let interrupted = Arc::new(AtomicBool::new(false));
    let ignored = ignored_signals();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if ignored & signal_bit(signal) == 0 {
            // Registration only fails for forbidden signals, not these.
            let _ = signal_hook::flag::register(signal, Arc::clone(&interrupted));
        }
    }
    let path = match std::env::var_os("PATH") {
        Some(path) if !path.is_empty() => BString::from(bytes::of_os(&path)),
        _ => BString::from(ROOT_PATH),
    };
    let mut report = Report::default();
    for (index, run) in runs.iter().enumerate() {
        if interrupted.load(Ordering::SeqCst) {
            report.failed = true;
            report.not_run = Some(
                runs[index..]
                    .iter()
                    .map(|r| r.config_directory.clone())
                    .collect(),
            );
            break;
        }
        let mut command = Command::new(bytes::os(&run.argv[0]));
        command
            .args(run.argv[1..].iter().map(|arg| bytes::os(arg)))
            .envs(run.env.iter().map(|(name, value)| (name, bytes::os(value))));
        if let Some(prefix) = &run.path_prefix {
            command.env("PATH", bytes::os(&crate::bconcat!(prefix, ":", path)));
        }
        match command.status() {
            Ok(status) if status.success() => {}
            Ok(_) => report.failed = true,
            Err(error) => {
                report.failed = true;
                report.spawn_errors.push(crate::bconcat!(
                    "execvp ",
                    run.argv[0],
                    ": ",
                    crate::error::strerror(&error)
                ));
            }
        }
    }
    report
}
