//! The low-level command line: clap's grammar for Postfix postmulti's getopt
//! options (`ae:g:i:G:I:lpRvx`, bundling, `--`, everything from the first
//! operand on passed through) and our additions (`-c`, `-j` and long options
//! only, so that no future Postfix option can collide), parsed into
//! [`LowArgs`]: what was typed, nothing decided yet.

use super::Special;
use anyhow::{bail, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use postmulti_core::bytes::{self, BString};
use std::ffi::OsString;

/// Postfix's usage message.
pub const USAGE: &str = "Usage:postmulti -l [-v] [-a] [-g group] [-i instance] | \
postmulti -p [-v] [-a] [-g group] [-i instance] command... | \
postmulti -x [-v] [-a] [-i name] [-g group] command... | \
postmulti -e action [-v] [-a] [-i name] [-g group] [-I name] [-G group] [param=value ...]";

/// The clap definition of the command line.
pub fn command() -> Command {
    let flag = |id: &'static str, short: char, help: &'static str| {
        Arg::new(id)
            .short(short)
            .action(ArgAction::Count)
            .help(help)
    };
    let value = |id: &'static str, short: char, name: &'static str, help: &'static str| {
        Arg::new(id)
            .short(short)
            .value_name(name)
            .action(ArgAction::Append)
            .allow_hyphen_values(true)
            .value_parser(clap::value_parser!(OsString))
            .help(help)
    };
    Command::new("postmulti")
        .about("Postfix multi-instance manager")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_flag(true)
        .disable_version_flag(true)
        .dont_delimit_trailing_values(true)
        .arg(flag(
            "all",
            'a',
            "Select all instances (the default), or place a new instance first",
        ))
        .arg(value(
            "edit",
            'e',
            "ACTION",
            "Life-cycle action: init, create, import, deport, destroy, enable, disable, assign",
        ))
        .arg(value("group", 'g', "GROUP", "Select the members of GROUP"))
        .arg(value(
            "name",
            'i',
            "NAME",
            "Select one instance by name, name suffix or config directory; - for the primary",
        ))
        .arg(value(
            "assign_group",
            'G',
            "GROUP",
            "Assign GROUP to the instance (- for none)",
        ))
        .arg(value(
            "assign_name",
            'I',
            "NAME",
            "Assign NAME to the instance (- for none)",
        ))
        .arg(flag("list", 'l', "List instances"))
        .arg(flag(
            "postfix",
            'p',
            "Run a postfix(1) command for each selected instance",
        ))
        .arg(flag("reverse", 'R', "Reverse the iteration order"))
        .arg(flag(
            "verbose",
            'v',
            "Verbose logging; exports MAIL_VERBOSE to commands",
        ))
        .arg(flag(
            "command",
            'x',
            "Run any command for each selected instance",
        ))
        .arg(
            Arg::new("config_directory")
                .short('c')
                .value_name("DIR")
                .value_parser(clap::value_parser!(OsString))
                .help("Use DIR as the primary instance's configuration directory"),
        )
        .arg(
            Arg::new("json")
                .short('j')
                .action(ArgAction::SetTrue)
                .help("With -l: one JSON object per line; with --plan or --apply: one JSON document"),
        )
        .arg(
            Arg::new("status")
                .long("status")
                .action(ArgAction::SetTrue)
                .help("With -l: a table with each instance's status (running, stopped, broken)"),
        )
        .arg(
            Arg::new("queues")
                .long("queues")
                .action(ArgAction::SetTrue)
                .help("With -l: each instance's messages per queue and oldest deferred message"),
        )
        .arg(
            Arg::new("metrics")
                .long("metrics")
                .action(ArgAction::SetTrue)
                .help("Print Prometheus metrics of the selected instances (text format)"),
        )
        .arg(
            Arg::new("metrics_file")
                .long("metrics-file")
                .value_name("PATH")
                .help("Write the Prometheus metrics to PATH atomically (textfile collector)"),
        )
        .arg(
            Arg::new("dry_run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .help("With -e: show what would change (diffs, directories, refusals), change nothing"),
        )
        .arg(
            Arg::new("doctor")
                .long("doctor")
                .action(ArgAction::SetTrue)
                .help("Check the whole setup; one finding per line; exit 1 on any error"),
        )
        .arg(
            Arg::new("supervise")
                .long("supervise")
                .action(ArgAction::SetTrue)
                .help("Run the selected enabled instances' master daemons in the foreground (containers)"),
        )
        .arg(
            Arg::new("systemd_generator")
                .long("systemd-generator")
                .action(ArgAction::SetTrue)
                .help("Write postfix@NAME.service links and drop-ins into NORMAL_DIR (systemd generator)"),
        )
        .arg(
            Arg::new("template")
                .long("template")
                .value_name("DIR")
                .help("With -e create: take main.cf.proto and master.cf.proto from DIR"),
        )
        .arg(
            Arg::new("lock_timeout")
                .long("lock-timeout")
                .value_name("SECONDS")
                .value_parser(clap::value_parser!(u64))
                .help("With -e: wait at most SECONDS for another postmulti's lock (default 60)"),
        )
        .arg(
            Arg::new("plan")
                .long("plan")
                .value_name("FILE")
                .help("Show what --apply FILE would change (- for standard input); exit 2 when anything would"),
        )
        .arg(
            Arg::new("apply")
                .long("apply")
                .value_name("FILE")
                .help("Make the instances what the manifest FILE says (- for standard input)"),
        )
        .arg(
            Arg::new("export")
                .long("export")
                .value_name("FILE")
                .num_args(0..=1)
                .help("Write the manifest of this host to FILE (updated in place), or print it"),
        )
        .arg(
            Arg::new("reload")
                .long("reload")
                .action(ArgAction::SetTrue)
                .help("With --apply: reload running instances whose main.cf changed"),
        )
        .arg(
            Arg::new("start")
                .long("start")
                .action(ArgAction::SetTrue)
                .help("With --apply: start enabled instances that are stopped"),
        )
        .arg(
            Arg::new("completions")
                .long("completions")
                .value_name("SHELL")
                .value_parser(clap::value_parser!(clap_complete::Shell))
                .help("Print a completion script for bash, zsh, fish, elvish or powershell"),
        )
        .arg(
            Arg::new("help")
                .long("help")
                .action(ArgAction::Help)
                .help("Print help"),
        )
        .arg(
            Arg::new("version")
                .long("version")
                .action(ArgAction::Version)
                .help("Print version"),
        )
        .arg(
            Arg::new("operands")
                .value_name("ARG")
                .value_parser(clap::value_parser!(OsString))
                .num_args(0..)
                .trailing_var_arg(true)
                .help("The command to run, or param=value settings with -e create/import"),
        )
}

/// A getopt-style one-line complaint for a clap error.
fn getopt_complaint(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let arg = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.clone(),
        _ => String::new(),
    };
    // Long options (ours) are named as getopt_long names them.
    if let Some(long) = arg.strip_prefix("--") {
        let long = long.split([' ', '=']).next().unwrap_or(long);
        return match (error.kind(), error.get(ContextKind::InvalidValue)) {
            (_, Some(ContextValue::String(value))) if !value.is_empty() => {
                format!("invalid argument '{value}' for '--{long}'")
            }
            (clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::NoEquals, _) => {
                format!("option '--{long}' requires an argument")
            }
            _ => format!("unrecognized option '--{long}'"),
        };
    }
    let letter = arg.trim_start_matches('-').chars().next().unwrap_or('?');
    match error.kind() {
        clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::NoEquals => {
            format!("option requires an argument -- '{letter}'")
        }
        _ => format!("invalid option -- '{letter}'"),
    }
}

/// Every option and operand as typed: repeated options keep every value,
/// flags their count.
#[derive(Debug, Default)]
pub struct LowArgs {
    /// `-e` words, in order.
    pub edits: Vec<BString>,
    /// `-g` values.
    pub groups: Vec<BString>,
    /// `-i` values.
    pub names: Vec<BString>,
    /// `-G` values.
    pub assign_groups: Vec<BString>,
    /// `-I` values.
    pub assign_names: Vec<BString>,
    /// `-a` given.
    pub all: bool,
    /// `-l` given.
    pub list: bool,
    /// `-p` given.
    pub postfix: bool,
    /// `-x` given.
    pub command: bool,
    /// `--doctor` given.
    pub doctor: bool,
    /// `--supervise` given.
    pub supervise: bool,
    /// `--systemd-generator` given.
    pub systemd_generator: bool,
    /// How many `-R`.
    pub reverse: u8,
    /// How many `-v`.
    pub verbose: u8,
    /// `-j` given.
    pub json: bool,
    /// `--status` given.
    pub status: bool,
    /// `--queues` given.
    pub queues: bool,
    /// `--metrics` given.
    pub metrics: bool,
    /// `--metrics-file PATH`.
    pub metrics_file: Option<String>,
    /// `--dry-run` given.
    pub dry_run: bool,
    /// `-c DIR`.
    pub config_directory: Option<BString>,
    /// `--template DIR`.
    pub template: Option<String>,
    /// `--lock-timeout SECONDS`.
    pub lock_timeout: Option<u64>,
    /// `--completions SHELL`.
    pub completions: Option<clap_complete::Shell>,
    /// `--plan FILE`.
    pub plan: Option<String>,
    /// `--apply FILE`.
    pub apply: Option<String>,
    /// `--export [FILE]`: `Some(None)` without FILE.
    pub export: Option<Option<String>>,
    /// `--reload` given.
    pub reload: bool,
    /// `--start` given.
    pub start: bool,
    /// The operands: the command, or `param=value` settings.
    pub operands: Vec<BString>,
}

/// Parses `args` with the grammar: the options as typed, or `--help` /
/// `--version`; a grammar error is reported getopt's way and fails with
/// Postfix's usage message.
pub fn parse(args: Vec<OsString>) -> Result<std::result::Result<LowArgs, Special>> {
    let matches = match command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => match error.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                return Ok(Err(Special::HelpOrVersion(error)))
            }
            _ => {
                eprintln!("postmulti: {}", getopt_complaint(&error));
                bail!(USAGE)
            }
        },
    };
    Ok(Ok(LowArgs::from_matches(&matches)))
}

impl LowArgs {
    // Reads every option out of clap's matches.
    fn from_matches(matches: &ArgMatches) -> LowArgs {
        let values = |id: &str| -> Vec<BString> {
            matches
                .get_many::<OsString>(id)
                .map(|values| values.map(|value| bytes::of_os(value).into()).collect())
                .unwrap_or_default()
        };
        let given = |id: &str| matches.get_count(id) > 0;
        LowArgs {
            edits: values("edit"),
            groups: values("group"),
            names: values("name"),
            assign_groups: values("assign_group"),
            assign_names: values("assign_name"),
            all: given("all"),
            list: given("list"),
            postfix: given("postfix"),
            command: given("command"),
            doctor: matches.get_flag("doctor"),
            supervise: matches.get_flag("supervise"),
            systemd_generator: matches.get_flag("systemd_generator"),
            reverse: matches.get_count("reverse"),
            verbose: matches.get_count("verbose"),
            json: matches.get_flag("json"),
            status: matches.get_flag("status"),
            queues: matches.get_flag("queues"),
            metrics: matches.get_flag("metrics"),
            metrics_file: matches.get_one::<String>("metrics_file").cloned(),
            dry_run: matches.get_flag("dry_run"),
            config_directory: matches
                .get_one::<OsString>("config_directory")
                .map(|dir| bytes::of_os(dir).into()),
            template: matches.get_one::<String>("template").cloned(),
            lock_timeout: matches.get_one::<u64>("lock_timeout").copied(),
            completions: matches
                .get_one::<clap_complete::Shell>("completions")
                .copied(),
            operands: values("operands"),
            plan: matches.get_one::<String>("plan").cloned(),
            apply: matches.get_one::<String>("apply").cloned(),
            export: matches
                .contains_id("export")
                .then(|| matches.get_one::<String>("export").cloned()),
            reload: matches.get_flag("reload"),
            start: matches.get_flag("start"),
        }
    }
}
