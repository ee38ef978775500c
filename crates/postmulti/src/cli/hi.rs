//! The resolved command line: Postfix postmulti's option rules, in its order
//! and wording, turn [`LowArgs`] into one complete [`HiArgs`] (primary
//! directory, selection, and the core request of the mode), so that nothing
//! after this step decides anything about the command line.

use super::low::LowArgs;
use super::Special;
use crate::listing::{ListFormat, ListRequest};
use crate::metrics_output::MetricsRequest;
use anyhow::{bail, Result};
use postmulti_core::bconcat;
use postmulti_core::bytes::{BString, ByteSlice};
use postmulti_core::defaults::DEFAULT_CONFIG_DIRECTORY;
use postmulti_core::desired::planner::Options;
use postmulti_core::iterate::{IterateRequest, Kind};
use postmulti_core::lifecycle::{Action, EditOptions, EditRequest};
use postmulti_core::select::Selection;
use std::time::Duration;

/// What postmulti was asked to do, with every option checked and resolved.
#[derive(Debug)]
pub struct HiArgs {
    /// The primary instance's configuration directory (`-c`, else the
    /// default), checked against `MAIL_CONFIG`.
    pub primary_dir: BString,
    /// `-v` given (any number of times).
    pub verbose: bool,
    /// What to do.
    pub mode: Mode,
}

/// The modes of operation, each with the complete request it runs.
#[derive(Debug)]
pub enum Mode {
    /// `-l`, with `-j` for JSON lines or `--status` for a table.
    List(ListRequest),
    /// `--doctor`: check the instances of the selection.
    Doctor(Selection),
    /// `-p` and `-x`: run a command for each selected instance.
    Iterate(IterateRequest),
    /// `-e action`: a life-cycle action.
    Edit(EditRequest, EditOptions),
    /// `--plan FILE`: what `--apply` would change.
    Plan(DesiredArgs),
    /// `--apply FILE`: converge the host to the manifest.
    Apply(DesiredArgs),
    /// `--export [FILE]`: the manifest of the host.
    Export(Option<String>),
    /// `--metrics` or `--metrics-file PATH`: Prometheus metrics.
    Metrics(MetricsRequest),
    /// `--supervise`: run the selection's masters in the foreground.
    Supervise(Selection),
    /// `--systemd-generator NORMAL_DIR [EARLY_DIR LATE_DIR]`: write units
    /// into NORMAL_DIR.
    SystemdGenerator(BString),
}

/// What `--plan` and `--apply` need.
#[derive(Debug)]
pub struct DesiredArgs {
    /// The manifest (`-` for standard input).
    pub file: String,
    /// `-j`: one JSON document.
    pub json: bool,
    /// `--reload`, `--start`.
    pub options: Options,
    /// How long `--apply` waits for the registry lock.
    pub lock_timeout: Duration,
}

/// The mode words given, before their options are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    List,
    Doctor,
    Postfix,
    Command,
    Edit(Action),
    Plan,
    Apply,
    Export,
    Metrics,
    Supervise,
    SystemdGenerator,
}

/// Applies Postfix postmulti's option rules, in its order, to `low`;
/// `mail_config` is the `MAIL_CONFIG` environment variable, if set.
pub fn resolve(low: LowArgs, mail_config: Option<&[u8]>) -> Result<Result<HiArgs, Special>> {
    let mut actions: Vec<Action> = Vec::new();
    for edit in &low.edits {
        let Some(action) = edit.to_str().ok().and_then(Action::from_word) else {
            return Err(postmulti_core::Error::fatal(bconcat!(
                "Invalid '-e' edit action '",
                edit,
                "'. Specify 'create', 'destroy', 'import', \
                 'deport', 'enable', 'disable', 'assign' or 'init'"
            ))
            .into());
        };
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    if low.assign_groups.len() > 1 {
        bail!("Specify at most one '-G' option");
    }
    if low.assign_names.len() > 1 {
        bail!("Specify at most one '-I' option");
    }
    if usize::from(low.all) + low.groups.len() + low.names.len() > 1 {
        bail!("Specity no more than one of '-a', '-g', '-i'");
    }
    if let Some(shell) = low.completions {
        return Ok(Err(Special::Completions(shell)));
    }
    let mut words: Vec<Word> = actions.iter().map(|&a| Word::Edit(a)).collect();
    let format = match (low.json, low.status) {
        (true, true) if low.list => bail!("Specify at most one of '-j' and '--status'"),
        (true, _) => ListFormat::Json,
        (_, true) => ListFormat::Status,
        _ => ListFormat::Text,
    };
    for (given, word) in [
        (low.list, Word::List),
        (low.doctor, Word::Doctor),
        (low.postfix, Word::Postfix),
        (low.command, Word::Command),
        (low.plan.is_some(), Word::Plan),
        (low.apply.is_some(), Word::Apply),
        (low.export.is_some(), Word::Export),
        (low.metrics || low.metrics_file.is_some(), Word::Metrics),
        (low.supervise, Word::Supervise),
        (low.systemd_generator, Word::SystemdGenerator),
    ] {
        if given {
            words.push(word);
        }
    }
    let [word] = words[..] else {
        bail!("Specify exactly one of '-e', '-l', '-p', '-x'");
    };
    let reverse = low.reverse % 2 == 1;
    let clear_dash = |value: &BString| match value.as_slice() {
        b"-" => BString::default(),
        _ => value.clone(),
    };
    let assign_name = low.assign_names.first().map(clear_dash);
    let assign_group = low.assign_groups.first().map(clear_dash);
    check_mode_rules(word, &low.operands, reverse, &assign_name, &assign_group)?;
    let selecting = low.all || !low.groups.is_empty() || !low.names.is_empty();
    check_boot_rules(word, &low.operands, selecting)?;
    let action = match word {
        Word::Edit(action) => Some(action),
        _ => None,
    };
    let desired = matches!(word, Word::Plan | Word::Apply | Word::Export);
    if desired && (selecting || !low.operands.is_empty()) {
        bail!(
            "The '--plan', '--apply' and '--export' options take no '-a', '-g', '-i' or operands"
        );
    }
    if (low.reload || low.start) && !matches!(word, Word::Plan | Word::Apply) {
        bail!("The '--reload' and '--start' options require '--apply' or '--plan'");
    }
    if low.json && !matches!(word, Word::List | Word::Plan | Word::Apply) {
        bail!("The '-j' option requires '-l'");
    }
    if low.status && word != Word::List {
        bail!("The '--status' option requires '-l'");
    }
    if low.queues && word != Word::List {
        bail!("The '--queues' option requires '-l'");
    }
    if low.dry_run && action.is_none() {
        bail!("The '--dry-run' option requires '-e'");
    }
    if low.template.is_some() && action != Some(Action::Create) {
        bail!("The '--template' option requires '-e create'");
    }
    if low.lock_timeout.is_some() && action.is_none() && word != Word::Apply {
        bail!("The '--lock-timeout' option requires '-e'");
    }
    let selection = match (low.all, low.groups.first(), low.names.first()) {
        (true, _, _) => Selection::All,
        (_, Some(group), _) => Selection::Group(group.clone()),
        (_, _, Some(name)) => Selection::Name(name.clone()),
        _ => Selection::Unspecified,
    };
    if let Some(dir) = &low.config_directory {
        if !dir.starts_with(b"/") {
            return Err(postmulti_core::Error::fatal(bconcat!(
                "Specify an absolute pathname with '-c': '",
                dir,
                "'"
            ))
            .into());
        }
    }
    let primary_dir = low
        .config_directory
        .unwrap_or_else(|| DEFAULT_CONFIG_DIRECTORY.into());
    if let Some(mail_config) = mail_config.filter(|dir| *dir != primary_dir.as_slice()) {
        return Err(postmulti_core::Error::fatal(bconcat!(
            "Non-default configuration directory: MAIL_CONFIG=",
            mail_config
        ))
        .into());
    }
    let verbose = low.verbose > 0;
    let iterate = |kind| {
        Mode::Iterate(IterateRequest {
            kind,
            selection: selection.clone(),
            reverse,
            verbose,
            args: low.operands.clone(),
        })
    };
    let lock_timeout = low
        .lock_timeout
        .map_or(EditOptions::default().lock_timeout, Duration::from_secs);
    let desired_args = |file: Option<String>| DesiredArgs {
        file: file.unwrap_or_default(),
        json: low.json,
        options: Options {
            reload: low.reload,
            start: low.start,
        },
        lock_timeout,
    };
    let mode = match word {
        Word::Plan => Mode::Plan(desired_args(low.plan)),
        Word::Apply => Mode::Apply(desired_args(low.apply)),
        Word::Export => Mode::Export(low.export.flatten()),
        Word::List => Mode::List(ListRequest {
            selection: selection.effective(),
            reverse,
            format,
            queues: low.queues,
        }),
        Word::Doctor => Mode::Doctor(selection.effective()),
        Word::Metrics => Mode::Metrics(MetricsRequest {
            selection: selection.effective(),
            file: low.metrics_file,
        }),
        Word::Supervise => Mode::Supervise(selection),
        Word::SystemdGenerator => Mode::SystemdGenerator(low.operands[0].clone()),
        Word::Postfix => iterate(Kind::Postfix),
        Word::Command => iterate(Kind::Command),
        Word::Edit(action) => {
            let options = EditOptions {
                template_directory: low.template.map(Into::into),
                dry_run: low.dry_run,
                lock_timeout,
            };
            let request = EditRequest {
                action,
                selection,
                assign_name,
                assign_group,
                settings: low.operands,
            };
            Mode::Edit(request, options)
        }
    };
    Ok(Ok(HiArgs {
        primary_dir,
        verbose,
        mode,
    }))
}

/// The operands and selection `--supervise` and `--systemd-generator` take.
fn check_boot_rules(word: Word, operands: &[BString], selecting: bool) -> Result<()> {
    match word {
        Word::Supervise if !operands.is_empty() => bail!("Command not allowed with '--supervise'"),
        Word::SystemdGenerator if selecting => {
            bail!("The '--systemd-generator' option takes no '-a', '-g' or '-i'")
        }
        Word::SystemdGenerator if ![1, 3].contains(&operands.len()) => bail!(
            "Specify NORMAL_DIR, or NORMAL_DIR EARLY_DIR LATE_DIR, with '--systemd-generator'"
        ),
        _ => Ok(()),
    }
}

/// The rules that tie operands, `-R`, `-I` and `-G` to the mode.
fn check_mode_rules(
    word: Word,
    operands: &[BString],
    reverse: bool,
    assign_name: &Option<BString>,
    assign_group: &Option<BString>,
) -> Result<()> {
    let action = match word {
        Word::Edit(action) => Some(action),
        _ => None,
    };
    if matches!(word, Word::List | Word::Doctor | Word::Metrics) && !operands.is_empty() {
        bail!("Command not allowed with '-l'");
    }
    if matches!(word, Word::Postfix | Word::Command) && operands.is_empty() {
        bail!("Command required with '-p' or '-x' option");
    }
    if (word == Word::Postfix || action.is_some()) && reverse {
        bail!("The '-p' and '-e' options preclude the use of '-R'");
    }
    let assigning = assign_name.is_some() || assign_group.is_some();
    if assigning && !action.is_some_and(Action::assigns_names) {
        match action {
            None => bail!("Cannot assign instance name or group without '-e assign'"),
            Some(action) => bail!(
                "Cannot assign instance name or group with '-e {}'",
                action.word()
            ),
        }
    }
    if let Some(action) = action {
        if action == Action::Assign && !assigning {
            bail!("Specify new instance name or group with '-e assign'");
        }
        if !action.adds_instance() && !operands.is_empty() {
            bail!("Parameter overrides not valid with '-e {}'", action.word());
        }
    }
    Ok(())
}
