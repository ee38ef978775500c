//! The manual page `man/postmulti.1` against the program: every option the
//! command line knows (as `postmulti --help` lists them) and every `-e`
//! action must have an entry, and groff must format the page without a
//! single warning.

use std::path::PathBuf;
use std::process::Command;

/// Where the manual page is, from this crate's directory.
fn man_page_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../man/postmulti.1")
}

/// The manual page's roff source.
fn man_page() -> String {
    let path = man_page_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The output of the built `postmulti --help`.
fn help_text() -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_postmulti"))
        .arg("--help")
        .output()
        .expect("run postmulti --help");
    assert!(
        output.status.success(),
        "postmulti --help failed: {output:?}"
    );
    String::from_utf8(output.stdout).expect("--help prints UTF-8")
}

/// Whether `word` is an option flag: `-x` or `--long-name`.
fn is_flag(word: &str) -> bool {
    if let Some(long) = word.strip_prefix("--") {
        !long.is_empty() && long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    } else if let Some(short) = word.strip_prefix('-') {
        short.len() == 1 && short.chars().all(|c| c.is_ascii_alphanumeric())
    } else {
        false
    }
}

/// The flags of the options section of a clap help text: the words before
/// the description on each line that starts with a hyphen, such as `-l`,
/// `-a...`, `-c <DIR>` and `--status`.
fn help_flags(help: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        let head = line.split("  ").next().unwrap_or_default();
        for word in head.split([',', ' ']) {
            let word = word.split(['=', '<', '.', '[']).next().unwrap_or_default();
            if is_flag(word) && !flags.iter().any(|f| f == word) {
                flags.push(word.to_string());
            }
        }
    }
    flags
}

/// The `-e` actions that `--help` names ("Life-cycle action: a, b, c").
fn help_actions(help: &str) -> Vec<String> {
    let line = help
        .lines()
        .find(|line| line.contains("Life-cycle action:"))
        .expect("--help describes -e with its actions");
    let list = line.split("Life-cycle action:").nth(1).unwrap_or_default();
    list.split(',')
        .map(|word| word.trim().to_string())
        .filter(|word| !word.is_empty())
        .collect()
}

/// Whether the page has a tagged paragraph (`.TP`) whose tag is `roff_word`
/// in bold, alone or followed by an argument.
fn has_entry(page: &str, roff_word: &str) -> bool {
    let lines: Vec<&str> = page.lines().collect();
    lines.windows(2).any(|pair| {
        if pair[0].trim_end() != ".TP" {
            return false;
        }
        let tag = pair[1];
        let Some(rest) = [".B ", ".BI ", ".BR "]
            .iter()
            .find_map(|macro_| tag.strip_prefix(macro_))
        else {
            return false;
        };
        let rest = rest.trim_start_matches('"');
        rest.strip_prefix(roff_word)
            .is_some_and(|after| after.is_empty() || after.starts_with([' ', '"']))
    })
}

/// A flag as it is written in roff: every hyphen escaped.
fn roff(flag: &str) -> String {
    flag.replace('-', "\\-")
}

#[test]
fn help_lists_the_options_we_expect() {
    let flags = help_flags(&help_text());
    for expected in ["-l", "-e", "-c", "-j", "--status", "--help"] {
        assert!(
            flags.iter().any(|f| f == expected),
            "{expected} not found in --help flags {flags:?}"
        );
    }
}

#[test]
fn every_option_has_an_entry() {
    let page = man_page();
    let missing: Vec<String> = help_flags(&help_text())
        .into_iter()
        .filter(|flag| !has_entry(&page, &roff(flag)))
        .collect();
    assert!(
        missing.is_empty(),
        "options missing from man/postmulti.1: {missing:?}"
    );
}

#[test]
fn every_action_has_an_entry() {
    let page = man_page();
    let actions = help_actions(&help_text());
    assert!(actions.len() >= 8, "too few actions in --help: {actions:?}");
    let missing: Vec<&String> = actions
        .iter()
        .filter(|action| !has_entry(&page, action))
        .collect();
    assert!(
        missing.is_empty(),
        "-e actions missing from man/postmulti.1: {missing:?}"
    );
}

#[test]
fn required_sections_are_present() {
    let page = man_page();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "ACTIONS",
        "EXTENSIONS",
        "ENVIRONMENT",
        "FILES",
        "EXIT STATUS",
        "DIFFERENCES FROM POSTFIX'S POSTMULTI",
        "SEE ALSO",
    ] {
        let header = format!(".SH {section}");
        let quoted = format!(".SH \"{section}\"");
        assert!(
            page.lines().any(|l| l == header || l == quoted),
            "section {section} missing from man/postmulti.1"
        );
    }
}

#[test]
fn groff_formats_it_without_warnings() {
    let output = match Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(man_page_path())
        .output()
    {
        Ok(output) => output,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            println!("skipped: groff cannot be run ({error})");
            return;
        }
        Err(error) => panic!("groff cannot be run, and CI=true requires it: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.is_empty() && stderr.is_empty(),
        "groff -man -ww -z man/postmulti.1: {}\n{stdout}{stderr}",
        output.status
    );
}

#[test]
fn flag_parsing() {
    let help = "Options:\n  -a...             Select all\n  -c <DIR>          Use DIR\n      \
                --status      With -l: a table\n      --completions <SHELL>  Print\n";
    assert_eq!(help_flags(help), ["-a", "-c", "--status", "--completions"]);
    assert!(has_entry(".TP\n.BI \\-c \" dir\"\n", "\\-c"));
    assert!(!has_entry(".TP\n.BI \\-cx \" dir\"\n", "\\-c"));
}
