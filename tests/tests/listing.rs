//! `postmulti -l` end to end, in sandboxes: the exact bytes of the listing
//! (`%-15s %-15s %-9s %s\n`) for every selection, `-R`, `-j` and
//! `--status`, on a hand-written primary whose `multi_instance_directories`
//! uses continuation lines, commas, blanks and `$` references; yes/no
//! values in any case; fatal errors for invalid values and conflicts; and
//! the resilience rule for broken secondaries (warned about, skipped, exit 1).

use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, listing_line, require_root_and_postfix, stderr, stdout,
    FakeMaster, Sandbox,
};

/// The primary of most tests: four secondaries, listed with a continuation
/// line, a comment and a blank line inside the entry, empty list elements
/// and three kinds of `$` reference.
const PRIMARY: &str = "\
# Hand-written primary for the listing tests.
queue_directory = @ROOT@/spool/postfix
data_directory = @ROOT@/lib/postfix
parent = @ROOT@/etc
multi_instance_wrapper = ${command_directory}/postmulti -p --
multi_instance_enable = Yes
multi_instance_directories = $parent/postfix-a,
    ${parent}/postfix-b ,,
# a comment line inside the entry

\t@ROOT@/etc/postfix-c,$(parent)/postfix-d
";

/// A sandbox with [`PRIMARY`] and its four secondaries.
fn four_secondaries() -> Sandbox {
    let sandbox = Sandbox::with_main_cf(PRIMARY);
    sandbox.write_secondary(
        "postfix-a",
        "multi_instance_name = postfix-a\nmulti_instance_group = mta\nmulti_instance_enable = YES\n",
    );
    sandbox.write_secondary(
        "postfix-b",
        "multi_instance_name = postfix-b\nmulti_instance_enable = nO\n",
    );
    sandbox.write_secondary(
        "postfix-c",
        "multi_instance_group = mta\nmulti_instance_enable = NO\n",
    );
    sandbox.write_secondary(
        "postfix-d",
        "grp = relay\nme = d\n\
         multi_instance_name = postfix-$me\n\
         multi_instance_group = ${grp}\n\
         multi_instance_enable =\n    yes\n",
    );
    sandbox
}

/// The listing lines of [`four_secondaries`], primary first.
fn expected_lines(sandbox: &Sandbox) -> Vec<String> {
    let dir = |name: &str| format!("{}/etc/{name}", sandbox.root_str());
    vec![
        listing_line("-", "-", "y", &sandbox.primary()),
        listing_line("postfix-a", "mta", "y", &dir("postfix-a")),
        listing_line("postfix-b", "-", "n", &dir("postfix-b")),
        listing_line("-", "mta", "n", &dir("postfix-c")),
        listing_line("postfix-d", "relay", "y", &dir("postfix-d")),
    ]
}

/// The lines at `indexes` of `lines`, concatenated.
fn pick(lines: &[String], indexes: &[usize]) -> String {
    indexes.iter().map(|&i| lines[i].as_str()).collect()
}

#[test]
fn line_format_is_fixed_width() {
    assert_eq!(
        listing_line("postfix-out", "-", "y", "/etc/postfix-out"),
        "postfix-out     -               y         /etc/postfix-out\n"
    );
}

#[test]
fn single_instance_mode_lists_the_primary_as_enabled() {
    if !require_root_and_postfix("single_instance_mode_lists_the_primary_as_enabled") {
        return;
    }
    let sandbox = Sandbox::new();
    let expected = format!(
        "-               -               y         {}\n",
        sandbox.primary()
    );
    assert_eq!(assert_success(&sandbox.run(&["-l"])), expected);
}

#[test]
fn list_all_in_registry_order() {
    if !require_root_and_postfix("list_all_in_registry_order") {
        return;
    }
    let sandbox = four_secondaries();
    let lines = expected_lines(&sandbox);
    let all = pick(&lines, &[0, 1, 2, 3, 4]);
    assert_eq!(assert_success(&sandbox.run(&["-l"])), all);
    assert_eq!(assert_success(&sandbox.run(&["-l", "-a"])), all);
    assert_eq!(assert_success(&sandbox.run(&["-la"])), all);
    assert_eq!(assert_success(&sandbox.run(&["-l", "-R", "-R"])), all);
}

#[test]
fn reverse_order() {
    if !require_root_and_postfix("reverse_order") {
        return;
    }
    let sandbox = four_secondaries();
    let lines = expected_lines(&sandbox);
    let reversed = pick(&lines, &[4, 3, 2, 1, 0]);
    assert_eq!(assert_success(&sandbox.run(&["-lR"])), reversed);
    assert_eq!(assert_success(&sandbox.run(&["-l", "-R", "-a"])), reversed);
    assert_eq!(
        assert_success(&sandbox.run(&["-lR", "-g", "mta"])),
        pick(&lines, &[3, 1])
    );
}

#[test]
fn select_by_group() {
    if !require_root_and_postfix("select_by_group") {
        return;
    }
    let sandbox = four_secondaries();
    let lines = expected_lines(&sandbox);
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-g", "mta"])),
        pick(&lines, &[1, 3])
    );
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-g", "relay"])),
        pick(&lines, &[4])
    );
    // Groups match exactly: no prefix, suffix or case folding.
    for group in ["MTA", "mt", "nosuch"] {
        assert_eq!(assert_success(&sandbox.run(&["-l", "-g", group])), "");
    }
}

#[test]
fn select_by_name_suffix_path_and_dash() {
    if !require_root_and_postfix("select_by_name_suffix_path_and_dash") {
        return;
    }
    let sandbox = four_secondaries();
    let lines = expected_lines(&sandbox);
    let list = |name: &str| assert_success(&sandbox.run(&["-l", "-i", name]));
    assert_eq!(list("postfix-a"), pick(&lines, &[1]));
    assert_eq!(list("a"), pick(&lines, &[1]));
    assert_eq!(list("d"), pick(&lines, &[4]));
    assert_eq!(list("@ROOT@/etc/postfix-b"), pick(&lines, &[2]));
    // A nameless instance is selected by its configuration directory only.
    assert_eq!(list("@ROOT@/etc/postfix-c"), pick(&lines, &[3]));
    assert_eq!(list("postfix-c"), "");
    assert_eq!(list("c"), "");
    assert_eq!(list("-"), pick(&lines, &[0]));
    assert_eq!(list("@ROOT@/etc/postfix"), pick(&lines, &[0]));
    assert_eq!(list("postfix-nosuch"), "");
    assert_eq!(list("A"), "");
}

#[test]
fn json_lines() {
    if !require_root_and_postfix("json_lines") {
        return;
    }
    let sandbox = four_secondaries();
    let root = sandbox.root_str();
    let out = assert_success(&sandbox.run(&["-l", "-j"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let upstream = [
        format!("{{\"name\": \"-\",\"group\": \"-\",\"enabled\": \"y\",\"config_directory\": \"{root}/etc/postfix\","),
        format!("{{\"name\": \"postfix-a\",\"group\": \"mta\",\"enabled\": \"y\",\"config_directory\": \"{root}/etc/postfix-a\","),
        format!("{{\"name\": \"postfix-b\",\"group\": \"-\",\"enabled\": \"n\",\"config_directory\": \"{root}/etc/postfix-b\","),
        format!("{{\"name\": \"-\",\"group\": \"mta\",\"enabled\": \"n\",\"config_directory\": \"{root}/etc/postfix-c\","),
        format!("{{\"name\": \"postfix-d\",\"group\": \"relay\",\"enabled\": \"y\",\"config_directory\": \"{root}/etc/postfix-d\","),
    ];
    for (line, prefix) in lines.iter().zip(&upstream) {
        assert!(
            line.starts_with(prefix.as_str()),
            "{line}\ndoes not start with\n{prefix}"
        );
        assert!(line.ends_with('}'), "{line}");
        assert!(line.contains("\"running\": false,\"pid\": null"), "{line}");
    }
    assert!(lines[0].contains(&format!("\"queue_directory\": \"{root}/spool/postfix\"")));
    assert!(lines[0].ends_with("\"primary\": true}"));
    assert!(lines[1].contains(&format!("\"data_directory\": \"{root}/lib/postfix-a\"")));
    assert!(lines[1].ends_with("\"primary\": false}"));
    // Selection and -R apply as to the text listing.
    let reversed = assert_success(&sandbox.run(&["-ljR", "-g", "mta"]));
    let reversed: Vec<&str> = reversed.lines().collect();
    assert_eq!(reversed, [lines[3], lines[1]]);
}

#[test]
fn json_escapes_odd_characters() {
    if !require_root_and_postfix("json_escapes_odd_characters") {
        return;
    }
    let sandbox = Sandbox::with_main_cf(
        "queue_directory = @ROOT@/spool/postfix\n\
         data_directory = @ROOT@/lib/postfix\n\
         multi_instance_directories = @ROOT@/etc/postfix-q\n",
    );
    sandbox.write_secondary(
        "postfix-q",
        "multi_instance_name = postfix-\"q\\\n\
         multi_instance_enable = yes\n",
    );
    let out = assert_success(&sandbox.run(&["-l", "-j", "-i", "@ROOT@/etc/postfix-q"]));
    assert!(
        out.starts_with("{\"name\": \"postfix-\\\"q\\\\\",\"group\": \"-\","),
        "{out}"
    );
}

#[test]
fn running_instances_in_json_and_status_table() {
    if !require_root_and_postfix("running_instances_in_json_and_status_table") {
        return;
    }
    let sandbox = four_secondaries();
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    let pid = master.pid();
    let json = assert_success(&sandbox.run(&["-l", "-j", "-i", "a"]));
    assert!(
        json.contains(&format!("\"running\": true,\"pid\": {pid},")),
        "{json}"
    );
    let table = assert_success(&sandbox.run(&["-l", "--status"]));
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect();
    let root = sandbox.root_str();
    let row = |words: &[&str]| -> Vec<String> {
        words
            .iter()
            .map(|word| word.replace("@ROOT@", root))
            .collect()
    };
    let running = format!("{pid})");
    assert_eq!(
        rows,
        [
            row(&["NAME", "GROUP", "ENABLED", "STATUS", "CONFIG_DIRECTORY"]),
            row(&["-", "-", "y", "stopped", "@ROOT@/etc/postfix"]),
            row(&[
                "postfix-a",
                "mta",
                "y",
                "running",
                "(pid",
                &running,
                "@ROOT@/etc/postfix-a"
            ]),
            row(&["postfix-b", "-", "n", "stopped", "@ROOT@/etc/postfix-b"]),
            row(&["-", "mta", "n", "stopped", "@ROOT@/etc/postfix-c"]),
            row(&["postfix-d", "relay", "y", "stopped", "@ROOT@/etc/postfix-d"]),
        ],
        "{table}"
    );
    drop(master);
    let table = assert_success(&sandbox.run(&["-l", "--status", "-i", "a"]));
    assert!(table.contains("stopped"), "{table}");
    assert!(!table.contains("running"), "{table}");
}

#[test]
fn status_table_shows_broken_instances_in_place() {
    if !require_root_and_postfix("status_table_shows_broken_instances_in_place") {
        return;
    }
    let sandbox = four_secondaries();
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).unwrap();
    let output = sandbox.run(&["-l", "--status"]);
    assert_eq!(output.status.code(), Some(1));
    let table = stdout(&output);
    let dirs: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().last())
        .collect();
    let root = sandbox.root_str();
    assert_eq!(
        dirs,
        [
            "postfix",
            "postfix-a",
            "postfix-b",
            "postfix-c",
            "postfix-d"
        ]
        .map(|name| format!("{root}/etc/{name}")),
        "{table}"
    );
    let broken = table.lines().nth(3).unwrap();
    assert!(broken.contains("broken: open"), "{table}");
}

#[test]
fn enable_values_are_case_insensitive() {
    if !require_root_and_postfix("enable_values_are_case_insensitive") {
        return;
    }
    for (value, shown) in [
        ("yes", "y"),
        ("YES", "y"),
        ("yEs", "y"),
        ("no", "n"),
        ("No", "n"),
    ] {
        let sandbox = Sandbox::with_main_cf(&format!(
            "queue_directory = @ROOT@/spool/postfix\n\
             data_directory = @ROOT@/lib/postfix\n\
             multi_instance_enable = {value}\n\
             multi_instance_directories = @ROOT@/etc/postfix-a\n"
        ));
        sandbox.write_secondary("postfix-a", &format!("multi_instance_enable = {value}\n"));
        let out = assert_success(&sandbox.run(&["-l"]));
        assert_eq!(
            out,
            format!(
                "{}{}",
                listing_line("-", "-", shown, &sandbox.primary()),
                listing_line(
                    "-",
                    "-",
                    shown,
                    &format!("{}/etc/postfix-a", sandbox.root_str())
                )
            ),
            "multi_instance_enable = {value}"
        );
    }
}

#[test]
fn invalid_enable_value_in_the_primary_is_fatal() {
    if !require_root_and_postfix("invalid_enable_value_in_the_primary_is_fatal") {
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.append_main_cf("multi_instance_enable = maybe\n");
    assert_fatal(
        &sandbox.run(&["-l"]),
        &format!(
            "Unexpected {}/main.cf entry: multi_instance_enable = maybe",
            sandbox.primary()
        ),
    );
}

#[test]
fn invalid_enable_value_in_a_secondary_skips_it() {
    if !require_root_and_postfix("invalid_enable_value_in_a_secondary_skips_it") {
        return;
    }
    let sandbox = four_secondaries();
    sandbox.write_secondary(
        "postfix-b",
        "multi_instance_name = postfix-b\nmulti_instance_enable = true\n",
    );
    let output = sandbox.run(&["-l"]);
    let lines = expected_lines(&sandbox);
    let dir = format!("{}/etc/postfix-b", sandbox.root_str());
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(1),
            pick(&lines, &[0, 1, 3, 4]),
            format!(
                "postmulti: warning: instance {dir} skipped: \
                 Unexpected {dir}/main.cf entry: multi_instance_enable = true\n"
            )
        )
    );
    // Life-cycle actions refuse a broken registry, as Postfix's do.
    let before = sandbox.snapshot();
    assert_fatal(
        &sandbox.run(&["-e", "disable", "-i", "a"]),
        &format!("Unexpected {dir}/main.cf entry: multi_instance_enable = true"),
    );
    sandbox.assert_unchanged(&before);
}

#[test]
fn missing_secondary_main_cf_is_skipped_with_a_warning() {
    if !require_root_and_postfix("missing_secondary_main_cf_is_skipped_with_a_warning") {
        return;
    }
    let sandbox = four_secondaries();
    std::fs::remove_file(sandbox.path("etc/postfix-c/main.cf")).unwrap();
    let lines = expected_lines(&sandbox);
    let dir = format!("{}/etc/postfix-c", sandbox.root_str());
    let warning = format!(
        "postmulti: warning: instance {dir} skipped: \
         open {dir}/main.cf: No such file or directory\n"
    );
    let output = sandbox.run(&["-l"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (Some(1), pick(&lines, &[0, 1, 2, 4]), warning.clone())
    );
    // Selected by its path, the broken instance still fails the listing.
    let output = sandbox.run(&["-l", "-i", &dir]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (Some(1), String::new(), warning.clone())
    );
    // Not selected: the warning stays, the exit status is 0.
    for args in [["-l", "-g", "relay"], ["-l", "-i", "postfix-a"]] {
        let output = sandbox.run(&args);
        let want = if args[1] == "-g" { 4 } else { 1 };
        assert_eq!(
            (output.status.code(), stdout(&output), stderr(&output)),
            (Some(0), pick(&lines, &[want]), warning.clone()),
            "{args:?}"
        );
    }
}

#[test]
fn syntax_error_in_a_secondary_is_skipped_with_a_warning() {
    if !require_root_and_postfix("syntax_error_in_a_secondary_is_skipped_with_a_warning") {
        return;
    }
    let sandbox = four_secondaries();
    sandbox.write_secondary(
        "postfix-a",
        "multi_instance_name = postfix-a\nthis line has no equals sign\n",
    );
    let lines = expected_lines(&sandbox);
    let dir = format!("{}/etc/postfix-a", sandbox.root_str());
    let output = sandbox.run(&["-l"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(1),
            pick(&lines, &[0, 2, 3, 4]),
            format!(
                "postmulti: warning: instance {dir} skipped: {dir}/main.cf, line 4: \
                 missing '=' after attribute name: \"this line has no equals sign\"\n"
            )
        )
    );
}

#[test]
fn syntax_error_in_the_primary_is_fatal() {
    if !require_root_and_postfix("syntax_error_in_the_primary_is_fatal") {
        return;
    }
    let sandbox = Sandbox::with_main_cf("queue_directory = @ROOT@/spool/postfix\n  \nbogus\n");
    assert_fatal(
        &sandbox.run(&["-l"]),
        &format!(
            "{}/main.cf, line 3: missing '=' after attribute name: \"bogus\"",
            sandbox.primary()
        ),
    );
}

#[test]
fn missing_primary_main_cf_is_fatal() {
    if !require_root_and_postfix("missing_primary_main_cf_is_fatal") {
        return;
    }
    let sandbox = Sandbox::new();
    std::fs::remove_file(sandbox.path("etc/postfix/main.cf")).unwrap();
    assert_fatal(
        &sandbox.run(&["-l"]),
        &format!(
            "open {}/main.cf: No such file or directory",
            sandbox.primary()
        ),
    );
}

#[test]
fn conflicting_secondaries_are_skipped_when_listing_and_fatal_when_editing() {
    if !require_root_and_postfix(
        "conflicting_secondaries_are_skipped_when_listing_and_fatal_when_editing",
    ) {
        return;
    }
    let sandbox = four_secondaries();
    let root = sandbox.root_str().to_string();
    // postfix-b takes postfix-a's queue directory; postfix-d takes its name.
    sandbox.write_secondary(
        "postfix-b",
        "queue_directory = @ROOT@/spool/postfix-a\nmulti_instance_name = postfix-b\n",
    );
    sandbox.write_secondary(
        "postfix-d",
        "multi_instance_name = postfix-a\nmulti_instance_enable = yes\n",
    );
    let lines = expected_lines(&sandbox);
    let (a, b, d) = (
        format!("{root}/etc/postfix-a"),
        format!("{root}/etc/postfix-b"),
        format!("{root}/etc/postfix-d"),
    );
    let queue_conflict = format!(
        "instance {b}, queue_directory={root}/spool/postfix-a conflicts with \
         instance {a}, queue_directory={root}/spool/postfix-a"
    );
    let name_conflict = format!(
        "instance {d}, multi_instance_name=postfix-a conflicts with \
         instance {a}, multi_instance_name=postfix-a"
    );
    let output = sandbox.run(&["-l"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(1),
            pick(&lines, &[0, 1, 3]),
            format!(
                "postmulti: warning: instance {b} skipped: {queue_conflict}\n\
                 postmulti: warning: instance {d} skipped: {name_conflict}\n"
            )
        )
    );
    let before = sandbox.snapshot();
    assert_fatal(&sandbox.run(&["-e", "enable", "-i", "a"]), &queue_conflict);
    sandbox.assert_unchanged(&before);
}

#[test]
fn secondary_claiming_the_primary_queue_directory_conflicts() {
    if !require_root_and_postfix("secondary_claiming_the_primary_queue_directory_conflicts") {
        return;
    }
    let sandbox = Sandbox::new();
    let root = sandbox.root_str().to_string();
    let dir = sandbox.write_secondary(
        "postfix-a",
        "queue_directory = @ROOT@/spool/postfix\nmulti_instance_name = postfix-a\n",
    );
    sandbox.register(&[&dir]);
    let output = sandbox.run(&["-l"]);
    assert_eq!(
        (output.status.code(), stdout(&output), stderr(&output)),
        (
            Some(1),
            listing_line("-", "-", "y", &sandbox.primary()),
            format!(
                "postmulti: warning: instance {dir} skipped: instance {dir}, \
                 queue_directory={root}/spool/postfix conflicts with instance \
                 {root}/etc/postfix, queue_directory={root}/spool/postfix\n"
            )
        )
    );
}

#[test]
fn listing_takes_no_command() {
    if !require_root_and_postfix("listing_takes_no_command") {
        return;
    }
    let sandbox = four_secondaries();
    let before = sandbox.snapshot();
    assert_fatal(
        &sandbox.run(&["-l", "start"]),
        "Command not allowed with '-l'",
    );
    sandbox.assert_unchanged(&before);
}
