//! The command line: Postfix postmulti's getopt grammar (`ae:g:i:G:I:lpRvx`,
//! bundling, `--`, everything from the first operand on passed through), our
//! additions (`-c`, `-j` and long options only, so that no future Postfix
//! option can collide), and the option errors in Postfix's wording.

use anyhow::{bail, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use postmulti_core::lifecycle::Action;
use postmulti_core::select::Selection;

/// What postmulti was asked to do, after every option check.
#[derive(Debug)]
pub struct Request {
    /// The primary instance's configuration directory (`-c`, else the default).
    pub config_directory: Option<String>,
    /// What to do.
    pub mode: Mode,
    /// `-a`, `-g`, `-i`.
    pub selection: Selection,
    /// `-R` (toggled by each use).
    pub reverse: bool,
    /// How many `-v`.
    pub verbose: u8,
    /// `-I`: `Some("")` clears the name.
    pub assign_name: Option<String>,
    /// `-G`: `Some("")` clears the group.
    pub assign_group: Option<String>,
    /// The operands: the command, or `param=value` overrides.
    pub operands: Vec<String>,
    /// `--dry-run`: show what `-e` would do, change nothing.
    pub dry_run: bool,
    /// `--template DIR`: prototypes for `-e create`.
    pub template: Option<String>,
    /// `--lock-timeout SECONDS`: how long `-e` waits for the registry lock.
    pub lock_timeout: Option<u64>,
    /// `--queues`: with `-l`, each instance's messages per queue.
    pub queues: bool,
    /// `--metrics-file PATH`: where `--metrics` goes instead of stdout.
    pub metrics_file: Option<String>,
}

/// The four modes of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-l`, with `-j` for JSON lines or `--status` for a table.
    List {
        /// How to show the instances.
        format: ListFormat,
    },
    /// `--doctor`: check the whole setup.
    Doctor,
    /// `--completions SHELL`: print a completion script.
    Completions(clap_complete::Shell),
    /// `-p`: postfix(1) commands.
    Postfix,
    /// `-x`: any command.
    Command,
    /// `-e action`.
    Edit(Action),
    /// `--metrics` (stdout) or `--metrics-file PATH`: Prometheus metrics.
    Metrics,
}

/// The shapes of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// Postfix's fixed-width lines.
    Text,
    /// `-j`: JSON lines.
    Json,
    /// `--status`: a table with each instance's process status.
    Status,
}

/// Postfix's usage message.
const USAGE: &str = "Usage:postmulti -l [-v] [-a] [-g group] [-i instance] | \
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
                .help("Use DIR as the primary instance's configuration directory"),
        )
        .arg(
            Arg::new("json")
                .short('j')
                .action(ArgAction::SetTrue)
                .help("With -l: one JSON object per line"),
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
                .num_args(0..)
                .trailing_var_arg(true)
                .help("The command to run, or param=value settings with -e create/import"),
        )
}

/// Parses and checks the command line; errors carry Postfix's wording.
pub fn parse(args: Vec<String>) -> Result<Request> {
    let matches = match command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => match error.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                error.exit()
            }
            _ => {
                eprintln!("postmulti: {}", getopt_complaint(&error));
                bail!(USAGE)
            }
        },
    };
    request_from(&matches)
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

/// All values of an appended option.
fn values(matches: &ArgMatches, id: &str) -> Vec<String> {
    matches
        .get_many::<String>(id)
        .map(|values| values.cloned().collect())
        .unwrap_or_default()
}

/// Applies Postfix postmulti's option rules, in its order.
fn request_from(matches: &ArgMatches) -> Result<Request> {
    let count = |id: &str| matches.get_count(id);
    let edits = values(matches, "edit");
    let mut actions: Vec<Action> = Vec::new();
    for edit in &edits {
        let Some(action) = Action::from_word(edit) else {
            bail!(
                "Invalid '-e' edit action '{edit}'. Specify 'create', 'destroy', 'import', \
                 'deport', 'enable', 'disable', 'assign' or 'init'"
            );
        };
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    let assign_names = values(matches, "assign_name");
    let assign_groups = values(matches, "assign_group");
    if assign_groups.len() > 1 {
        bail!("Specify at most one '-G' option");
    }
    if assign_names.len() > 1 {
        bail!("Specify at most one '-I' option");
    }
    let groups = values(matches, "group");
    let names = values(matches, "name");
    let selection_count = usize::from(count("all") > 0) + groups.len() + names.len();
    if selection_count > 1 {
        bail!("Specity no more than one of '-a', '-g', '-i'");
    }
    if let Some(&shell) = matches.get_one::<clap_complete::Shell>("completions") {
        return Ok(Request::bare(Mode::Completions(shell)));
    }
    let json = matches.get_flag("json");
    let status = matches.get_flag("status");
    let mut modes: Vec<Mode> = actions.iter().map(|&a| Mode::Edit(a)).collect();
    if count("list") > 0 {
        let format = match (json, status) {
            (true, true) => bail!("Specify at most one of '-j' and '--status'"),
            (true, false) => ListFormat::Json,
            (false, true) => ListFormat::Status,
            (false, false) => ListFormat::Text,
        };
        modes.push(Mode::List { format });
    }
    if matches.get_flag("doctor") {
        modes.push(Mode::Doctor);
    }
    let metrics_file = matches.get_one::<String>("metrics_file").cloned();
    if matches.get_flag("metrics") || metrics_file.is_some() {
        modes.push(Mode::Metrics);
    }
    if count("postfix") > 0 {
        modes.push(Mode::Postfix);
    }
    if count("command") > 0 {
        modes.push(Mode::Command);
    }
    let [mode] = modes[..] else {
        bail!("Specify exactly one of '-e', '-l', '-p', '-x'");
    };
    let operands = values(matches, "operands");
    let reverse = count("reverse") % 2 == 1;
    let clear_dash = |value: &String| {
        if value == "-" {
            String::new()
        } else {
            value.clone()
        }
    };
    let assign_name = assign_names.first().map(clear_dash);
    let assign_group = assign_groups.first().map(clear_dash);
    check_mode_rules(mode, &operands, reverse, &assign_name, &assign_group)?;
    let is_list = matches!(mode, Mode::List { .. });
    if json && !is_list {
        bail!("The '-j' option requires '-l'");
    }
    if status && !is_list {
        bail!("The '--status' option requires '-l'");
    }
    let queues = matches.get_flag("queues");
    if queues && !is_list {
        bail!("The '--queues' option requires '-l'");
    }
    let dry_run = matches.get_flag("dry_run");
    if dry_run && !matches!(mode, Mode::Edit(_)) {
        bail!("The '--dry-run' option requires '-e'");
    }
    let template = matches.get_one::<String>("template").cloned();
    if template.is_some() && mode != Mode::Edit(Action::Create) {
        bail!("The '--template' option requires '-e create'");
    }
    let lock_timeout = matches.get_one::<u64>("lock_timeout").copied();
    if lock_timeout.is_some() && !matches!(mode, Mode::Edit(_)) {
        bail!("The '--lock-timeout' option requires '-e'");
    }
    let selection = match (count("all") > 0, groups.first(), names.first()) {
        (true, _, _) => Selection::All,
        (_, Some(group), _) => Selection::Group(group.clone()),
        (_, _, Some(name)) => Selection::Name(name.clone()),
        _ => Selection::Unspecified,
    };
    let config_directory = matches.get_one::<String>("config_directory").cloned();
    if let Some(dir) = &config_directory {
        if !dir.starts_with('/') {
            bail!("Specify an absolute pathname with '-c': '{dir}'");
        }
    }
    Ok(Request {
        config_directory,
        mode,
        selection,
        reverse,
        verbose: count("verbose"),
        assign_name,
        assign_group,
        operands,
        dry_run,
        template,
        lock_timeout,
        queues,
        metrics_file,
    })
}

impl Request {
    /// A request for a mode that takes no other option.
    fn bare(mode: Mode) -> Request {
        Request {
            config_directory: None,
            mode,
            selection: Selection::Unspecified,
            reverse: false,
            verbose: 0,
            assign_name: None,
            assign_group: None,
            operands: Vec::new(),
            dry_run: false,
            template: None,
            lock_timeout: None,
            queues: false,
            metrics_file: None,
        }
    }
}

/// The rules that tie operands, `-R`, `-I` and `-G` to the mode.
fn check_mode_rules(
    mode: Mode,
    operands: &[String],
    reverse: bool,
    assign_name: &Option<String>,
    assign_group: &Option<String>,
) -> Result<()> {
    let action = match mode {
        Mode::Edit(action) => Some(action),
        _ => None,
    };
    if matches!(mode, Mode::List { .. } | Mode::Doctor | Mode::Metrics) && !operands.is_empty() {
        bail!("Command not allowed with '-l'");
    }
    if matches!(mode, Mode::Postfix | Mode::Command) && operands.is_empty() {
        bail!("Command required with '-p' or '-x' option");
    }
    if (mode == Mode::Postfix || action.is_some()) && reverse {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &str) -> Result<Request> {
        parse(
            std::iter::once("postmulti")
                .chain(words.split_whitespace())
                .map(String::from)
                .collect(),
        )
    }

    #[test]
    fn bundling_and_toggles() {
        let request = parse_words("-lR").unwrap();
        assert_eq!(
            request.mode,
            Mode::List {
                format: ListFormat::Text
            }
        );
        assert!(request.reverse);
        assert!(!parse_words("-l -R -R").unwrap().reverse);
        let list = |format| Mode::List { format };
        assert_eq!(parse_words("-lj").unwrap().mode, list(ListFormat::Json));
        assert_eq!(parse_words("-l -l").unwrap().mode, list(ListFormat::Text));
        assert_eq!(
            parse_words("-l --status").unwrap().mode,
            list(ListFormat::Status)
        );
        assert!(parse_words("-e init --dry-run").unwrap().dry_run);
        assert_eq!(parse_words("--doctor -g mta").unwrap().mode, Mode::Doctor);
        assert!(parse_words("-p --dry-run start").is_err());
        assert!(parse_words("-l -j --status").is_err());
        let request = parse_words("-l --queues --status").unwrap();
        assert!(request.queues);
        assert_eq!(request.mode, list(ListFormat::Status));
        assert_eq!(parse_words("--metrics -g mta").unwrap().mode, Mode::Metrics);
        let request = parse_words("--metrics-file /m.prom").unwrap();
        assert_eq!(request.mode, Mode::Metrics);
        assert_eq!(request.metrics_file.as_deref(), Some("/m.prom"));
        assert!(parse_words("-p --queues status").is_err());
        assert!(parse_words("--metrics -l").is_err());
        assert!(parse_words("--metrics start").is_err());
    }

    #[test]
    fn operands_pass_through_verbatim() {
        let request = parse_words("-i out -x postconf -o inet_interfaces= -hx myorigin").unwrap();
        assert_eq!(
            request.operands,
            ["postconf", "-o", "inet_interfaces=", "-hx", "myorigin"]
        );
        assert_eq!(request.selection, Selection::Name("out".into()));
        let request = parse_words("-p -- start -v").unwrap();
        assert_eq!(request.operands, ["start", "-v"]);
        assert_eq!(request.verbose, 0);
    }

    #[test]
    fn attached_option_values() {
        let request = parse_words("-ipostfix-a -eenable").unwrap();
        assert_eq!(request.selection, Selection::Name("postfix-a".into()));
        assert_eq!(request.mode, Mode::Edit(Action::Enable));
        let request = parse_words("-i - -e enable").unwrap();
        assert_eq!(request.selection, Selection::Name("-".into()));
    }

    #[test]
    fn option_errors_in_postfix_wording() {
        let error = |words: &str| parse_words(words).unwrap_err().to_string();
        assert_eq!(
            error("-l -p"),
            "Specify exactly one of '-e', '-l', '-p', '-x'"
        );
        assert_eq!(
            error("-e init -e create"),
            "Specify exactly one of '-e', '-l', '-p', '-x'"
        );
        assert_eq!(
            error("-l -a -g x"),
            "Specity no more than one of '-a', '-g', '-i'"
        );
        assert_eq!(error("-l foo"), "Command not allowed with '-l'");
        assert_eq!(error("-x"), "Command required with '-p' or '-x' option");
        assert_eq!(
            error("-p -R status"),
            "The '-p' and '-e' options preclude the use of '-R'"
        );
        assert_eq!(
            error("-l -I postfix-a"),
            "Cannot assign instance name or group without '-e assign'"
        );
        assert_eq!(
            error("-e enable -I postfix-a"),
            "Cannot assign instance name or group with '-e enable'"
        );
        assert_eq!(
            error("-e assign -i -"),
            "Specify new instance name or group with '-e assign'"
        );
        assert_eq!(
            error("-e enable foo=bar"),
            "Parameter overrides not valid with '-e enable'"
        );
        assert_eq!(
            error("-e create -I a -I b"),
            "Specify at most one '-I' option"
        );
        assert_eq!(
            error("-e create -G a -G b"),
            "Specify at most one '-G' option"
        );
        assert!(error("-e frob").starts_with("Invalid '-e' edit action 'frob'. Specify 'create'"));
        assert_eq!(error("-z"), USAGE);
        assert_eq!(error("-i"), USAGE);
        assert!(parse_words("-p -R -R status").is_ok());
    }
}
