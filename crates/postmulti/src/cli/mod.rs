//! The command line, in two steps as ripgrep does it: [`low`] parses the
//! words with clap into what was typed, [`hi`] applies Postfix postmulti's
//! option rules and resolves everything into one complete [`HiArgs`].
//! `--help`, `--version` and `--completions` stop at the first step they
//! are known in, before anything reads the system.

mod hi;
mod low;

pub use hi::{DesiredArgs, HiArgs, Mode};
pub use low::command;

use anyhow::Result;
use std::ffi::OsString;

/// A mode that only prints something about postmulti itself.
#[derive(Debug)]
pub enum Special {
    /// `--help` or `--version`: clap's text, printed as clap prints it.
    HelpOrVersion(clap::Error),
    /// `--completions SHELL`: a completion script.
    Completions(clap_complete::Shell),
}

/// Parses and resolves the command line; `mail_config` is the `MAIL_CONFIG`
/// environment variable. Errors carry Postfix's wording.
pub fn parse(args: Vec<OsString>, mail_config: Option<&[u8]>) -> Result<Result<HiArgs, Special>> {
    match low::parse(args)? {
        Ok(low) => hi::resolve(low, mail_config),
        Err(special) => Ok(Err(special)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::ListFormat;
    use postmulti_core::iterate::Kind;
    use postmulti_core::lifecycle::Action;
    use postmulti_core::select::Selection;

    fn parse_env(words: &str, mail_config: Option<&str>) -> Result<HiArgs> {
        let args = std::iter::once("postmulti")
            .chain(words.split_whitespace())
            .map(OsString::from)
            .collect();
        Ok(parse(args, mail_config.map(str::as_bytes))?.expect("not a special mode"))
    }

    fn parse_words(words: &str) -> Result<HiArgs> {
        parse_env(words, None)
    }

    fn list_format(words: &str) -> ListFormat {
        match parse_words(words).unwrap().mode {
            Mode::List(list) => list.format,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bundling_and_toggles() {
        let reverse = |words| match parse_words(words).unwrap().mode {
            Mode::List(list) => list.reverse,
            other => panic!("{other:?}"),
        };
        assert!(reverse("-lR"));
        assert!(!reverse("-l -R -R"));
        assert_eq!(list_format("-lR"), ListFormat::Text);
        assert_eq!(list_format("-lj"), ListFormat::Json);
        assert_eq!(list_format("-l -l"), ListFormat::Text);
        assert_eq!(list_format("-l --status"), ListFormat::Status);
        assert!(matches!(
            parse_words("-e init --dry-run").unwrap().mode,
            Mode::Edit(_, options) if options.dry_run
        ));
        assert!(matches!(
            parse_words("--doctor -g mta").unwrap().mode,
            Mode::Doctor(Selection::Group(group)) if group == "mta"
        ));
        assert!(parse_words("-p --dry-run start").is_err());
        assert!(parse_words("-l -j --status").is_err());
        let queues = |words| match parse_words(words).unwrap().mode {
            Mode::List(list) => list.queues,
            other => panic!("{other:?}"),
        };
        assert!(queues("-l --queues --status"));
        assert!(!queues("-l --status"));
        assert_eq!(list_format("-l --queues -j"), ListFormat::Json);
        assert!(matches!(
            parse_words("--metrics -g mta").unwrap().mode,
            Mode::Metrics(request) if request.file.is_none()
                && request.selection == Selection::Group("mta".into())
        ));
        assert!(matches!(
            parse_words("--metrics-file /m.prom").unwrap().mode,
            Mode::Metrics(request) if request.file.as_deref() == Some("/m.prom")
                && request.selection == Selection::All
        ));
        assert!(parse_words("-p --queues status").is_err());
        assert!(parse_words("--metrics -l").is_err());
        assert!(parse_words("--metrics start").is_err());
    }

    #[test]
    fn operands_pass_through_verbatim() {
        let Mode::Iterate(request) =
            parse_words("-i out -x postconf -o inet_interfaces= -hx myorigin")
                .unwrap()
                .mode
        else {
            panic!("not -x");
        };
        assert_eq!(
            request.args,
            ["postconf", "-o", "inet_interfaces=", "-hx", "myorigin"]
        );
        assert_eq!(request.kind, Kind::Command);
        assert_eq!(request.selection, Selection::Name("out".into()));
        let hi = parse_words("-p -- start -v").unwrap();
        assert!(!hi.verbose);
        let Mode::Iterate(request) = hi.mode else {
            panic!("not -p");
        };
        assert_eq!(request.args, ["start", "-v"]);
    }

    #[test]
    fn attached_option_values() {
        let Mode::Edit(request, _) = parse_words("-ipostfix-a -eenable").unwrap().mode else {
            panic!("not -e");
        };
        assert_eq!(request.selection, Selection::Name("postfix-a".into()));
        assert_eq!(request.action, Action::Enable);
        let Mode::Edit(request, _) = parse_words("-i - -e enable").unwrap().mode else {
            panic!("not -e");
        };
        assert_eq!(request.selection, Selection::Name("-".into()));
    }

    #[test]
    fn primary_directory_and_mail_config() {
        assert_eq!(parse_words("-l").unwrap().primary_dir, "/etc/postfix");
        assert_eq!(parse_words("-l -c /srv/pf").unwrap().primary_dir, "/srv/pf");
        assert!(parse_env("-l -c /srv/pf", Some("/srv/pf")).is_ok());
        assert_eq!(
            parse_env("-l", Some("/srv/pf")).unwrap_err().to_string(),
            "Non-default configuration directory: MAIL_CONFIG=/srv/pf"
        );
    }

    #[test]
    fn arguments_that_are_not_utf8_are_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let latin = |word: &[u8]| OsString::from_vec(word.to_vec());
        let args = vec![
            latin(b"postmulti"),
            latin(b"-g"),
            latin(b"\xe9"),
            latin(b"-x"),
            latin(b"printf"),
            latin(b"\xe9"),
        ];
        let Mode::Iterate(request) = parse(args, None).unwrap().unwrap().mode else {
            panic!("not -x");
        };
        assert_eq!(request.selection, Selection::Group(b"\xe9"[..].into()));
        assert_eq!(request.args, [&b"printf"[..], &b"\xe9"[..]]);
        let args = vec![
            latin(b"postmulti"),
            latin(b"-c"),
            latin(b"\xe9"),
            latin(b"-l"),
        ];
        assert_eq!(
            crate::report::fatal_message(&parse(args, None).unwrap_err()),
            b"Specify an absolute pathname with '-c': '\xe9'"
        );
    }

    #[test]
    fn special_modes_come_first() {
        let args = ["postmulti", "--completions", "bash", "-l", "-p"]
            .map(OsString::from)
            .to_vec();
        assert!(matches!(
            parse(args, Some(b"/elsewhere")).unwrap(),
            Err(Special::Completions(clap_complete::Shell::Bash))
        ));
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
        assert_eq!(error("-z"), low::USAGE);
        assert_eq!(error("-i"), low::USAGE);
        assert!(parse_words("-p -R -R status").is_ok());
    }

    #[test]
    fn boot_modes() {
        assert!(matches!(
            parse_words("--supervise -g mta").unwrap().mode,
            Mode::Supervise(Selection::Group(group)) if group == "mta"
        ));
        assert!(matches!(
            parse_words("--systemd-generator /run/a /run/b /run/c").unwrap().mode,
            Mode::SystemdGenerator(dir) if dir == "/run/a"
        ));
        assert!(parse_words("--systemd-generator /run/a").is_ok());
        let error = |words: &str| parse_words(words).unwrap_err().to_string();
        assert_eq!(
            error("--supervise start"),
            "Command not allowed with '--supervise'"
        );
        for words in ["--systemd-generator", "--systemd-generator /a /b"] {
            assert_eq!(
                error(words),
                "Specify NORMAL_DIR, or NORMAL_DIR EARLY_DIR LATE_DIR, with '--systemd-generator'"
            );
        }
        assert_eq!(
            error("--systemd-generator -i out /a"),
            "The '--systemd-generator' option takes no '-a', '-g' or '-i'"
        );
        assert_eq!(
            error("--supervise -l"),
            "Specify exactly one of '-e', '-l', '-p', '-x'"
        );
    }
}
