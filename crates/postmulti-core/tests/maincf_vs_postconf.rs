//! The main.cf engine against the real `postconf`: on generated files, the
//! same bytes after `postconf -e` and `postconf -#`, and the same raw and
//! expanded values as `postconf -nh` and `postconf -xh`. Without Postfix
//! these tests skip, except under CI=true, where they must run.

use postmulti_core::bytes::{BStr, BString};
use postmulti_core::expand::expand;
use postmulti_core::maincf::MainCf;
use proptest::prelude::*;
use std::path::Path;
use std::process::Command;

/// Where the real postconf lives on Debian.
const POSTCONF: &str = "/usr/sbin/postconf";

/// Parameters postconf knows (it prints nothing for unknown ones with -n).
const NAMES: &[&str] = &[
    "myhostname",
    "mydomain",
    "myorigin",
    "relayhost",
    "mynetworks",
    "relay_domains",
    "smtpd_banner",
    "alias_maps",
];

/// Is the real postconf here? Panics under CI=true when it is not.
fn have_postconf(test: &str) -> bool {
    if Path::new(POSTCONF).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {POSTCONF} is missing under CI=true"
    );
    eprintln!("skipped: {test} needs Postfix ({POSTCONF})");
    false
}

/// Runs postconf on a directory holding `main.cf` with `text`; returns the
/// file's bytes afterwards and postconf's stdout.
fn postconf(text: &[u8], args: &[&str]) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let main_cf = dir.path().join("main.cf");
    std::fs::write(&main_cf, text).unwrap();
    // Postfix waits until a main.cf changed in the last second settles.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&main_cf)
        .unwrap()
        .set_modified(past)
        .unwrap();
    std::fs::write(dir.path().join("master.cf"), "").unwrap();
    let output = Command::new(POSTCONF)
        .arg("-c")
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "postconf {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        std::fs::read(&main_cf).unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// postconf prints values folded: runs of white space become one space.
fn fold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A value: words, `$name` references to known names, and conditionals.
fn value() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-z0-9.,]{1,8}",
        prop::sample::select(NAMES).prop_map(|n| format!("${n}")),
        prop::sample::select(NAMES).prop_map(|n| format!("${{{n}}}")),
        prop::sample::select(NAMES).prop_map(|n| format!("$({n})")),
        (prop::sample::select(NAMES), "[a-z]{0,4}", "[a-z]{0,4}")
            .prop_map(|(n, a, b)| format!("${{{n}?{{{a}}}:{{{b}}}}}")),
        (prop::sample::select(NAMES), "[a-z]{1,4}").prop_map(|(n, a)| format!("${{{n}:{a}}}")),
        Just("$$".to_string()),
    ];
    prop::collection::vec(word, 0..4).prop_map(|words| words.join(" "))
}

/// Lines that are not entries: a continuation, a comment, a blank line.
fn filler() -> impl Strategy<Value = String> {
    prop_oneof![
        value().prop_map(|v| format!("  {v}x\n")),
        "#[ -~]{0,20}\n",
        "[ \t]{0,3}\n",
        Just(String::new()),
    ]
}

/// A generated main.cf where each known name is set exactly once (postconf
/// sleeps on every warning it logs without /dev/log, and duplicates warn;
/// files with repeated entries are compared in a test of their own): some
/// names plainly at the top, the rest with generated values, odd spacing,
/// continuations, comments and blank lines.
fn document() -> impl Strategy<Value = String> {
    let names = prop::sample::subsequence(NAMES.to_vec(), 0..=NAMES.len()).prop_shuffle();
    let parts = prop::collection::vec((value(), "[ \t]{0,2}", "[ \t]{0,2}", filler()), NAMES.len());
    (names, parts).prop_map(|(names, parts)| {
        let mut text: String = NAMES
            .iter()
            .filter(|n| !names.contains(n))
            .map(|n| format!("{n} = v{n}\n"))
            .collect();
        for (name, (value, before, after, filler)) in names.iter().zip(parts) {
            text.push_str(&format!("{name}{before}={after}{value}\n{filler}"));
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn set_writes_what_postconf_e_writes(text in document(),
                                         name in prop::sample::select(NAMES),
                                         new in "[a-z0-9 .]{0,10}") {
        if !have_postconf("set_writes_what_postconf_e_writes") { return Ok(()); }
        let new = new.trim().to_string();
        let (expected, _) = postconf(text.as_bytes(), &["-e", &format!("{name} = {new}")]);
        let mut doc = MainCf::parse(text.as_bytes());
        doc.set(name, &new);
        let ours = String::from_utf8(doc.to_bytes()).unwrap();
        prop_assert_eq!(ours, String::from_utf8(expected).unwrap());
    }

    #[test]
    fn comment_out_writes_what_postconf_hash_writes(text in document(),
                                                    name in prop::sample::select(NAMES)) {
        if !have_postconf("comment_out_writes_what_postconf_hash_writes") { return Ok(()); }
        let (expected, _) = postconf(text.as_bytes(), &["-#", name]);
        let mut doc = MainCf::parse(text.as_bytes());
        doc.comment_out(name);
        let ours = String::from_utf8(doc.to_bytes()).unwrap();
        prop_assert_eq!(ours, String::from_utf8(expected).unwrap());
    }

    #[test]
    fn values_are_what_postconf_nh_and_xh_print(text in document()) {
        if !have_postconf("values_are_what_postconf_nh_and_xh_print") { return Ok(()); }
        let doc = MainCf::parse(text.as_bytes());
        let set: Vec<&str> = NAMES.iter().copied().filter(|n| doc.get(n).is_some()).collect();
        if set.is_empty() { return Ok(()); }
        // postconf refuses files whose references loop; so do we.
        let lookup = |name: &str| doc.get(name).map(BString::from);
        let expanded: Result<Vec<BString>, _> =
            set.iter().map(|n| expand(doc.get(n).unwrap(), &lookup)).collect();
        let Ok(expanded) = expanded else { return Ok(()); };
        let mut args = vec!["-nh"];
        args.extend(&set);
        let (_, raw) = postconf(text.as_bytes(), &args);
        let ours: Vec<String> =
            set.iter().map(|n| fold(&doc.get(n).unwrap().to_string())).collect();
        let theirs: Vec<String> = raw.lines().map(fold).collect();
        prop_assert_eq!(ours, theirs);
        let mut args = vec!["-xh"];
        args.extend(&set);
        let (_, cooked) = postconf(text.as_bytes(), &args);
        let theirs: Vec<String> = cooked.lines().map(fold).collect();
        prop_assert_eq!(expanded.iter().map(|v| fold(&v.to_string())).collect::<Vec<_>>(), theirs);
    }

    #[test]
    fn any_bytes_round_trip_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let doc = MainCf::parse(&bytes);
        prop_assert_eq!(doc.to_bytes(), bytes);
        let _ = doc.syntax_errors();
        let lookup = |name: &str| doc.get(name).map(BString::from);
        for (_, value) in doc.entries() {
            let _ = expand(value, &lookup);
        }
    }

    #[test]
    fn edits_keep_every_other_line(text in document(), name in prop::sample::select(NAMES)) {
        let mut doc = MainCf::parse(text.as_bytes());
        doc.set(name, "edited");
        prop_assert_eq!(doc.get(name), Some(BStr::new("edited")));
        let unrelated = |d: &MainCf| d.entries()
            .filter(|(n, _)| *n != name)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect::<Vec<_>>();
        prop_assert_eq!(unrelated(&doc), unrelated(&MainCf::parse(text.as_bytes())));
    }
}

/// Repeated entries: every one is replaced or commented out, as by postconf.
#[test]
fn repeated_entries_are_edited_like_postconf_does() {
    if !have_postconf("repeated_entries_are_edited_like_postconf_does") {
        return;
    }
    let text = "myorigin = a\n  b\n# c\n\n\td\nrelayhost=x\nmyorigin=again\n  more\n";
    let (expected, _) = postconf(text.as_bytes(), &["-e", "myorigin = new"]);
    let mut doc = MainCf::parse(text.as_bytes());
    doc.set("myorigin", "new");
    assert_eq!(doc.to_bytes(), expected);
    let (expected, _) = postconf(text.as_bytes(), &["-#", "myorigin"]);
    let mut doc = MainCf::parse(text.as_bytes());
    doc.comment_out("myorigin");
    assert_eq!(doc.to_bytes(), expected);
}

/// Deep and looping references end in an error, never in a stack overflow.
#[test]
fn deep_and_looping_references_are_errors() {
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!("p{i} = $p{}\n", i + 1));
    }
    text.push_str("p500 = $p0\n");
    let doc = MainCf::parse(text.as_bytes());
    let lookup = |name: &str| doc.get(name).map(BString::from);
    let error = expand("$p0", &lookup).unwrap_err();
    assert!(error
        .to_string()
        .starts_with("unreasonable macro call nesting"));
    let long = format!("x = {}\n", "${".repeat(10_000));
    let doc = MainCf::parse(long.as_bytes());
    let value = doc.get("x").unwrap();
    assert!(expand(value, &|_| None).is_err());
}
