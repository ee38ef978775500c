//! `postmulti -l` end to end, in sandboxes: the exact bytes of the listing
//! (`%-15s %-15s %-9s %s\n`) for every selection and `-R`, on a
//! hand-written primary whose `multi_instance_directories` uses continuation
//! lines, commas, blanks and `$` references; yes/no values in any case;
//! fatal errors for invalid values and conflicts; and the resilience rule
//! for broken secondaries (warned about, skipped, exit 1); and the peak
//! memory of the listings of a host of 1000 instances. `-j` is in
//! `json.rs`, `--status` in `status.rs`.

use postmulti_e2e::fixtures::four_secondaries;
use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, listing_line, postmulti_bin, stderr, stdout, Sandbox,
};
use std::process::Command;

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

fn line_format_is_fixed_width() {
    assert_eq!(
        listing_line("postfix-out", "-", "y", "/etc/postfix-out"),
        "postfix-out     -               y         /etc/postfix-out\n"
    );
}

fn single_instance_mode_lists_the_primary_as_enabled() {
    let sandbox = Sandbox::new();
    let expected = format!(
        "-               -               y         {}\n",
        sandbox.primary()
    );
    assert_eq!(assert_success(&sandbox.run(&["-l"])), expected);
}

fn list_all_in_registry_order() {
    let sandbox = four_secondaries();
    let lines = expected_lines(&sandbox);
    let all = pick(&lines, &[0, 1, 2, 3, 4]);
    assert_eq!(assert_success(&sandbox.run(&["-l"])), all);
    assert_eq!(assert_success(&sandbox.run(&["-l", "-a"])), all);
    assert_eq!(assert_success(&sandbox.run(&["-la"])), all);
    assert_eq!(assert_success(&sandbox.run(&["-l", "-R", "-R"])), all);
}

fn reverse_order() {
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

fn select_by_group() {
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

fn select_by_name_suffix_path_and_dash() {
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

fn enable_values_are_case_insensitive() {
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

fn invalid_enable_value_in_the_primary_is_fatal() {
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

fn invalid_enable_value_in_a_secondary_skips_it() {
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

fn missing_secondary_main_cf_is_skipped_with_a_warning() {
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

fn syntax_error_in_a_secondary_is_skipped_with_a_warning() {
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

fn syntax_error_in_the_primary_is_fatal() {
    let sandbox = Sandbox::with_main_cf("queue_directory = @ROOT@/spool/postfix\n  \nbogus\n");
    assert_fatal(
        &sandbox.run(&["-l"]),
        &format!(
            "{}/main.cf, line 3: missing '=' after attribute name: \"bogus\"",
            sandbox.primary()
        ),
    );
}

fn missing_primary_main_cf_is_fatal() {
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

fn conflicting_secondaries_are_skipped_when_listing_and_fatal_when_editing() {
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

fn secondary_claiming_the_primary_queue_directory_conflicts() {
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

fn listing_takes_no_command() {
    let sandbox = four_secondaries();
    let before = sandbox.snapshot();
    assert_fatal(
        &sandbox.run(&["-l", "start"]),
        "Command not allowed with '-l'",
    );
    sandbox.assert_unchanged(&before);
}

/// The instances of the host whose listings' memory is measured.
const MANY: usize = 1000;

/// The most peak RSS a listing of [`MANY`] instances may take, in KiB:
/// 8 MiB, what Postfix's own postmulti takes.
const LISTING_RSS_LIMIT_KIB: i64 = 8 * 1024;

/// Comment lines that make each main.cf as large as Debian's (27 KB,
/// mostly comments from `main.cf.proto`).
fn prototype_comments() -> String {
    let line = format!(
        "# {:<61}\n",
        "A comment line of Postfix's main.cf prototype."
    );
    line.repeat(27 * 1024 / line.len())
}

/// The peak RSS in KiB of `postmulti -c PRIMARY ARGS` (and anything it
/// runs), measured as the bench does: `bench --rss-of` runs it and reads
/// `getrusage(RUSAGE_CHILDREN)`, so no other child of this test counts.
fn peak_rss_kib(sandbox: &Sandbox, args: &[&str]) -> i64 {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--rss-of")
        .arg(postmulti_bin())
        .arg("-c")
        .arg(sandbox.primary())
        .args(args)
        .env_remove("MAIL_CONFIG")
        .output()
        .expect("run bench --rss-of");
    assert!(output.status.success(), "postmulti {args:?} failed");
    stdout(&output)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("bench --rss-of printed {:?}: {e}", stdout(&output)))
}

fn listings_of_a_thousand_instances_stay_within_8_mb() {
    let sandbox = Sandbox::new();
    let comments = prototype_comments();
    // Cheap instances: a main.cf each (a listing reads no master.cf, and
    // `--status` takes a missing queue directory for a stopped instance).
    let dirs: Vec<String> = (0..MANY)
        .map(|i| {
            let name = format!("postfix-m{i:04}");
            sandbox.write(
                &format!("etc/{name}/main.cf"),
                &format!(
                    "{comments}queue_directory = @ROOT@/spool/{name}\n\
                     data_directory = @ROOT@/lib/{name}\n\
                     multi_instance_name = {name}\nmulti_instance_group = g{}\n\
                     multi_instance_enable = yes\n",
                    i % 10
                ),
            );
            format!("{}/etc/{name}", sandbox.root_str())
        })
        .collect();
    sandbox.register(&dirs.iter().map(String::as_str).collect::<Vec<_>>());
    // The first run also caches `postconf -d`, which is not measured.
    let listed = sandbox.run(&["-l"]);
    assert_success(&listed);
    assert_eq!(stdout(&listed).lines().count(), MANY + 1);
    // `-l --queues` (7.3 MB on two CPUs: its table and the queue walks)
    // is left to the bench, as its margin is smaller than what more CPUs
    // (threads) may add.
    for args in [&["-l"][..], &["-l", "-j"], &["-l", "--status"]] {
        let kib = peak_rss_kib(&sandbox, args);
        assert!(
            kib <= LISTING_RSS_LIMIT_KIB,
            "postmulti {args:?} of {MANY} instances took {kib} KiB at its peak \
             (at most {LISTING_RSS_LIMIT_KIB} KiB)"
        );
    }
}

postmulti_e2e::e2e_tests! {
    Nothing: [
        line_format_is_fixed_width,
    ];
    RootAndPostfix: [
        single_instance_mode_lists_the_primary_as_enabled,
        list_all_in_registry_order,
        reverse_order,
        select_by_group,
        select_by_name_suffix_path_and_dash,
        enable_values_are_case_insensitive,
        invalid_enable_value_in_the_primary_is_fatal,
        invalid_enable_value_in_a_secondary_skips_it,
        missing_secondary_main_cf_is_skipped_with_a_warning,
        syntax_error_in_a_secondary_is_skipped_with_a_warning,
        syntax_error_in_the_primary_is_fatal,
        missing_primary_main_cf_is_fatal,
        conflicting_secondaries_are_skipped_when_listing_and_fatal_when_editing,
        secondary_claiming_the_primary_queue_directory_conflicts,
        listing_takes_no_command,
        listings_of_a_thousand_instances_stay_within_8_mb,
    ];
}
