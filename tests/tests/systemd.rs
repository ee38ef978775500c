//! `postmulti --systemd-generator`: the exact links and drop-ins written for
//! hosts with enabled, disabled, nameless and broken instances, a primary
//! with `multi_instance_enable = no`, an unreadable primary and an
//! unwritable output directory; `systemd-analyze verify` on the result
//! together with Debian's `postfix@.service`; links planted in the output
//! directory (refused before anything is written) or a hard link (replaced,
//! not written into); names that are no unit name (skipped, nothing written
//! elsewhere); and, in a private namespace,
//! that no `postconf` process runs at boot.

use postmulti_e2e::namespace::{self, Flavour};
use postmulti_e2e::sandbox::{stderr, Sandbox};
use postmulti_e2e::tree::{Content, Tree};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Debian's template unit, the target of every link.
const TEMPLATE: &str = "/lib/systemd/system/postfix@.service";

/// Every entry below `dir`: `dir/` for a directory, `-> TARGET` for a
/// symbolic link, the text of a file.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    Tree::of(dir)
        .nodes
        .into_iter()
        .filter(|(path, _)| !path.as_os_str().is_empty())
        .map(|(path, node)| {
            let shown = match node.content {
                Content::Directory => "dir/".to_string(),
                Content::Symlink(target) => format!("-> {}", target.display()),
                Content::File(bytes) => String::from_utf8(bytes).expect("a text file"),
                other => panic!("{}: unexpected {other}", path.display()),
            };
            (path.display().to_string(), shown)
        })
        .collect()
}

/// The drop-in expected for the instance in `@ROOT@/etc/DIR` (queue and
/// data directories `@ROOT@/spool/DIR`, `@ROOT@/lib/DIR`).
fn drop_in(sandbox: &Sandbox, dir: &str, after: Option<&str>, enabled: bool) -> String {
    let mut text = format!(
        "# Written by postmulti --systemd-generator for the instance in @ROOT@/etc/{dir}.\n\
         [Unit]\nRequiresMountsFor=@ROOT@/etc/{dir} @ROOT@/spool/{dir} @ROOT@/lib/{dir}\n"
    );
    if let Some(after) = after {
        text.push_str(&format!("After={after}\n"));
    }
    if enabled {
        text.push_str(&format!(
            "\n[Service]\nPIDFile=@ROOT@/spool/{dir}/pid/master.pid\n"
        ));
    }
    sandbox.expand(&text)
}

/// The expected tree for the linked `(unit, dir, after, enabled)`s.
fn expected(
    sandbox: &Sandbox,
    units: &[(&str, &str, Option<&str>, bool)],
) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    entries.insert("postfix.service.wants".to_string(), "dir/".to_string());
    for &(unit, dir, after, enabled) in units {
        entries.insert(
            format!("postfix.service.wants/{unit}"),
            format!("-> {TEMPLATE}"),
        );
        entries.insert(format!("{unit}.d"), "dir/".to_string());
        entries.insert(
            format!("{unit}.d/postmulti.conf"),
            drop_in(sandbox, dir, after, enabled),
        );
    }
    entries
}

/// A host with three enabled secondaries (`postfix-a`, `postfix-c`,
/// `postfix-d`), a disabled one (`postfix-b`), an enabled nameless one
/// (`postfix-x`) and one whose main.cf is invalid (`postfix-broken`), in
/// that list order.
fn mixed_host() -> Sandbox {
    let sandbox = Sandbox::new();
    let secondary = |dir: &str, settings: &str| sandbox.write_secondary(dir, settings);
    let a = secondary(
        "postfix-a",
        "multi_instance_name = postfix-a\nmulti_instance_enable = yes\n",
    );
    let b = secondary(
        "postfix-b",
        "multi_instance_name = postfix-b\nmulti_instance_enable = no\n",
    );
    let x = secondary("postfix-x", "multi_instance_enable = yes\n");
    let broken = secondary("postfix-broken", "this is not a setting\n");
    let c = secondary(
        "postfix-c",
        "multi_instance_name = postfix-c\nmulti_instance_group = mta\nmulti_instance_enable = YES\n",
    );
    let d = secondary(
        "postfix-d",
        "multi_instance_name = postfix-d\nmulti_instance_enable = yes\n",
    );
    sandbox.register(&[&a, &b, &x, &broken, &c, &d]);
    sandbox
}

/// Runs the generator for `sandbox` into a fresh `@ROOT@/gen` (with the
/// early and late directories systemd passes too); returns its exit status
/// and stderr.
fn generate(sandbox: &Sandbox) -> (Option<i32>, String) {
    for dir in ["gen", "gen.early", "gen.late"] {
        std::fs::create_dir_all(sandbox.path(dir)).unwrap();
    }
    let output = sandbox.run(&[
        "--systemd-generator",
        "@ROOT@/gen",
        "@ROOT@/gen.early",
        "@ROOT@/gen.late",
    ]);
    assert!(output.stdout.is_empty(), "{output:?}");
    (
        output.status.code(),
        stderr(&output).replace(sandbox.root_str(), "@ROOT@"),
    )
}

fn enabled_instances_are_linked_in_list_order_with_drop_ins() {
    let sandbox = mixed_host();
    let (status, stderr) = generate(&sandbox);
    assert_eq!(status, Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(
            "postmulti: warning: instance @ROOT@/etc/postfix-broken skipped: \
             @ROOT@/etc/postfix-broken/main.cf, line 3: "
        ),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        "postmulti: warning: instance @ROOT@/etc/postfix-x skipped: it has no \
         multi_instance_name, and postfix@.service needs one; name it with: \
         postmulti -i @ROOT@/etc/postfix-x -I postfix-NAME -e assign"
    );
    assert_eq!(
        tree(&sandbox.path("gen")),
        expected(
            &sandbox,
            &[
                ("postfix@-.service", "postfix", None, true),
                (
                    "postfix@postfix-a.service",
                    "postfix-a",
                    Some("postfix@-.service"),
                    true
                ),
                (
                    "postfix@postfix-c.service",
                    "postfix-c",
                    Some("postfix@postfix-a.service"),
                    true
                ),
                (
                    "postfix@postfix-d.service",
                    "postfix-d",
                    Some("postfix@postfix-c.service"),
                    true
                ),
            ]
        )
    );
    for dir in ["gen.early", "gen.late"] {
        assert!(tree(&sandbox.path(dir)).is_empty(), "{dir}");
    }
}

fn a_primary_with_multi_instance_enable_no_links_only_itself() {
    let sandbox = mixed_host();
    sandbox.append_main_cf("multi_instance_enable = no\n");
    let (status, stderr) = generate(&sandbox);
    assert_eq!(status, Some(0), "{stderr}");
    // The broken instance is still reported; the nameless one is not linked
    // anyway.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A disabled primary's unit runs `postfix check` only: no PIDFile.
    assert_eq!(
        tree(&sandbox.path("gen")),
        expected(&sandbox, &[("postfix@-.service", "postfix", None, false)])
    );
}

fn a_single_instance_host_links_its_primary() {
    let sandbox = Sandbox::new();
    let (status, stderr) = generate(&sandbox);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    assert_eq!(
        tree(&sandbox.path("gen")),
        expected(&sandbox, &[("postfix@-.service", "postfix", None, true)])
    );
}

fn an_unreadable_primary_links_its_unit_alone_and_a_missing_one_nothing() {
    let sandbox = mixed_host();
    sandbox.append_main_cf("not a setting\n");
    let (status, stderr) = generate(&sandbox);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stderr.starts_with("postmulti: warning: primary instance @ROOT@/etc/postfix: ")
            && stderr.ends_with("; linking postfix@-.service without a drop-in\n")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    let mut only_link = BTreeMap::new();
    only_link.insert("postfix.service.wants".to_string(), "dir/".to_string());
    only_link.insert(
        "postfix.service.wants/postfix@-.service".to_string(),
        format!("-> {TEMPLATE}"),
    );
    assert_eq!(tree(&sandbox.path("gen")), only_link);

    let unconfigured = Sandbox::new();
    std::fs::remove_file(unconfigured.path("etc/postfix/main.cf")).unwrap();
    let (status, stderr) = generate(&unconfigured);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    assert!(tree(&unconfigured.path("gen")).is_empty());
}

fn an_unwritable_output_directory_is_the_only_fatal_error() {
    let sandbox = mixed_host();
    sandbox.write("not-a-directory", "");
    let output = sandbox.run(&["--systemd-generator", "@ROOT@/not-a-directory"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output).replace(sandbox.root_str(), "@ROOT@");
    assert!(
        stderr.ends_with(&format!(
            "postmulti: fatal: @ROOT@/not-a-directory is not a directory{TAIL}\n"
        )),
        "{stderr}"
    );
    let output = sandbox.run(&["--systemd-generator", "@ROOT@/missing"]);
    assert_eq!(output.status.code(), Some(1));
    let missing = postmulti_e2e::sandbox::stderr(&output).replace(sandbox.root_str(), "@ROOT@");
    assert!(
        missing.ends_with("postmulti: fatal: open @ROOT@/missing: No such file or directory\n"),
        "{missing}"
    );
}

/// The end of the refusal of an output directory off the walk's rule.
const TAIL: &str = "; the generator writes only into a directory that nobody but root \
                    (or you) can change, nor one above it";

fn an_output_directory_below_another_users_is_refused() {
    let sandbox = mixed_host();
    std::fs::create_dir_all(sandbox.path("theirs/out")).unwrap();
    std::os::unix::fs::chown(sandbox.path("theirs"), Some(65534), Some(65534)).unwrap();
    let output = sandbox.run(&["--systemd-generator", "@ROOT@/theirs/out"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output).replace(sandbox.root_str(), "@ROOT@");
    assert!(
        stderr.ends_with(&format!(
            "postmulti: fatal: @ROOT@/theirs is owned by uid 65534{TAIL}\n"
        )),
        "{stderr}"
    );
    // Nothing written there.
    assert_eq!(
        std::fs::read_dir(sandbox.path("theirs/out")).unwrap().count(),
        0
    );
}

/// Runs `systemd-analyze verify --man=no UNITS...` with the unit path
/// `GENERATED:UNITS:` (then the system's own directories, for targets such
/// as `sysinit.target`), where UNITS holds copies of Debian's postfix units;
/// returns its exit status and everything it printed.
fn verify(generated: &Path, units: &Path, names: &[&str]) -> (Option<i32>, String) {
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(names)
        .env(
            "SYSTEMD_UNIT_PATH",
            format!("{}:{}:", generated.display(), units.display()),
        )
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), printed)
}

fn systemd_analyze_verifies_the_units_clean() {
    let sandbox = mixed_host();
    let (status, _) = generate(&sandbox);
    assert_eq!(status, Some(0));
    let units = sandbox.path("units");
    std::fs::create_dir(&units).unwrap();
    for unit in ["postfix@.service", "postfix.service"] {
        std::fs::copy(
            Path::new("/lib/systemd/system").join(unit),
            units.join(unit),
        )
        .unwrap();
    }
    let names = [
        "postfix.service",
        "postfix@-.service",
        "postfix@postfix-a.service",
        "postfix@postfix-c.service",
        "postfix@postfix-d.service",
    ];
    let generated = sandbox.path("gen");
    assert_eq!(verify(&generated, &units, &names), (Some(0), String::new()));

    // The same check sees the drop-ins and the links: a bad key in one and
    // an invalid link are reported.
    let conf = generated.join("postfix@postfix-c.service.d/postmulti.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("PIDFile=", "PIDFiles=")).unwrap();
    std::os::unix::fs::symlink(
        TEMPLATE,
        generated.join("postfix.service.wants/postfix@.service"),
    )
    .unwrap();
    let (_, printed) = verify(&generated, &units, &names);
    assert!(
        printed.contains("Unknown key 'PIDFiles' in section [Service]")
            && printed.contains("postfix.service.wants/postfix@.service"),
        "{printed}"
    );
}

fn no_postconf_runs_at_boot() {
    // postconf is replaced by a recorder; the postconf -d cache is gone.
    // The generator must still find the primary's compiled-in directories
    // (built-in values) and never run postconf; a listing, for contrast,
    // asks postconf -d once.
    let outcome = namespace::run(
        Flavour::Ours,
        r#"
        postmulti -e init
        postmulti -I postfix-a -e create && postmulti -i postfix-a -e enable
        rm -rf /var/cache/postmulti
        printf '#!/bin/sh\necho "$@" >> %s/postconf-calls\nexit 1\n' "$SCRATCH" > "$SCRATCH/postconf"
        chmod 755 "$SCRATCH/postconf" && mount --bind "$SCRATCH/postconf" /usr/sbin/postconf
        mkdir -p /run/gen
        step generate postmulti --systemd-generator /run/gen /run/gen.early /run/gen.late
        step calls cat "$SCRATCH/postconf-calls"
        step links ls /run/gen/postfix.service.wants
        step primary cat /run/gen/postfix@-.service.d/postmulti.conf
        step list postmulti -l
        step calls-after-list cat "$SCRATCH/postconf-calls"
        "#,
    );
    let generate = outcome.step("generate");
    assert_eq!(
        (generate.status, generate.stderr.as_str()),
        (0, ""),
        "{outcome}"
    );
    assert_eq!(outcome.step("calls").status, 1, "{outcome}"); // no such file
    assert_eq!(
        outcome.step("links").stdout,
        "postfix@-.service\npostfix@postfix-a.service\n"
    );
    assert_eq!(
        outcome.step("primary").stdout,
        "# Written by postmulti --systemd-generator for the instance in /etc/postfix.\n\
         [Unit]\nRequiresMountsFor=/etc/postfix /var/spool/postfix /var/lib/postfix\n\
         \n[Service]\nPIDFile=/var/spool/postfix/pid/master.pid\n"
    );
    assert_eq!(outcome.step("calls-after-list").stdout, "-d\n", "{outcome}");
}

/// A primary with one enabled secondary, `postfix-a`, and the generator's
/// output directory `@ROOT@/gen`, empty.
fn simple_host() -> Sandbox {
    let sandbox = Sandbox::new();
    let a = sandbox.write_secondary(
        "postfix-a",
        "multi_instance_name = postfix-a\nmulti_instance_enable = yes\n",
    );
    sandbox.register(&[&a]);
    std::fs::create_dir(sandbox.path("gen")).unwrap();
    sandbox
}

fn planted_links_are_refused_before_anything_is_written() {
    let refused = "is a symbolic link; postmulti does not write through one";
    for (planted, message) in [
        (
            "postfix.service.wants",
            format!("@ROOT@/gen/postfix.service.wants: {refused}"),
        ),
        (
            "postfix@-.service.d",
            format!("@ROOT@/gen/postfix@-.service.d: {refused}"),
        ),
        (
            "postfix@postfix-a.service.d/postmulti.conf",
            format!("@ROOT@/gen/postfix@postfix-a.service.d/postmulti.conf: {refused}"),
        ),
    ] {
        let sandbox = simple_host();
        std::fs::create_dir(sandbox.path("elsewhere")).unwrap();
        let link = sandbox.path(&format!("gen/{planted}"));
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(sandbox.path("elsewhere"), &link).unwrap();
        sandbox.assert_refused(&["--systemd-generator", "@ROOT@/gen"], &message);
    }
    // A directory where a link goes is refused too.
    let sandbox = simple_host();
    std::fs::create_dir_all(sandbox.path("gen/postfix.service.wants/postfix@postfix-a.service"))
        .unwrap();
    sandbox.assert_refused(
        &["--systemd-generator", "@ROOT@/gen"],
        "@ROOT@/gen/postfix.service.wants/postfix@postfix-a.service: is a directory",
    );
}

fn a_planted_hard_link_is_replaced_not_written_into() {
    let sandbox = simple_host();
    sandbox.write("victim", "precious\n");
    std::fs::create_dir(sandbox.path("gen/postfix@postfix-a.service.d")).unwrap();
    std::fs::hard_link(
        sandbox.path("victim"),
        sandbox.path("gen/postfix@postfix-a.service.d/postmulti.conf"),
    )
    .unwrap();
    assert_eq!(generate(&sandbox), (Some(0), String::new()));
    assert_eq!(sandbox.read("victim"), "precious\n");
    assert!(sandbox
        .read("gen/postfix@postfix-a.service.d/postmulti.conf")
        .starts_with("# Written by postmulti --systemd-generator"));
}

fn names_that_are_no_unit_name_are_skipped_and_nothing_escapes() {
    let sandbox = Sandbox::new();
    let mut dirs = Vec::new();
    for (n, name) in [
        "postfix-../../../x",
        "postfix-a b",
        "postfix-%i",
        "postfix-a\\x2f",
        "postfix-ok",
    ]
    .iter()
    .enumerate()
    {
        dirs.push(sandbox.write_secondary(
            &format!("postfix-{n}"),
            &format!("multi_instance_name = {name}\nmulti_instance_enable = yes\n"),
        ));
    }
    sandbox.register(&dirs.iter().map(String::as_str).collect::<Vec<_>>());
    let before = sandbox.snapshot();
    let (status, err) = generate(&sandbox);
    assert_eq!(status, Some(0));
    let skipped: Vec<&str> = err
        .lines()
        .map(|line| line.split(": its name ").nth(1).unwrap_or(line))
        .map(|rest| rest.split(" cannot be used").next().unwrap())
        .collect();
    assert_eq!(
        skipped,
        [
            "postfix-../../../x",
            "postfix-a b",
            "postfix-%i",
            "postfix-a\\x2f"
        ]
    );
    let written: Vec<String> = before
        .differences(&sandbox.snapshot())
        .iter()
        .map(|difference| {
            let path = difference.split_whitespace().nth(1).unwrap_or("");
            path.trim_end_matches(':').to_string()
        })
        .collect();
    assert!(!written.is_empty());
    // The root only changes by the output directories made in it.
    for path in written.iter().filter(|path| !path.is_empty()) {
        assert!(
            path.starts_with("gen"),
            "{path} written outside gen: {written:?}"
        );
    }
    assert_eq!(
        tree(&sandbox.path("gen/postfix.service.wants"))
            .keys()
            .collect::<Vec<_>>(),
        ["postfix@-.service", "postfix@postfix-ok.service"]
    );
}

fn a_directory_listed_again_is_linked_once_without_an_ordering_cycle() {
    // Postfix lists a repeated entry twice; linked twice, its drop-in was
    // written twice (the second naming the last unit in After=), ordering
    // the units in a cycle that systemd breaks by dropping start jobs.
    let sandbox = Sandbox::new();
    let secondary = |dir: &str| {
        sandbox.write_secondary(
            dir,
            &format!("multi_instance_name = {dir}\nmulti_instance_enable = yes\n"),
        )
    };
    let (a, b) = (secondary("postfix-a"), secondary("postfix-b"));
    let primary = sandbox.primary();
    sandbox.register(&[&a, &b, &a, &primary]);
    let (status, err) = generate(&sandbox);
    assert_eq!(status, Some(0));
    assert_eq!(
        err,
        "postmulti: warning: instance @ROOT@/etc/postfix-a skipped: it is listed again in \
         multi_instance_directories; its unit is linked once, where it is listed first\n\
         postmulti: warning: instance @ROOT@/etc/postfix skipped: it is listed again in \
         multi_instance_directories; its unit is linked once, where it is listed first\n"
    );
    assert_eq!(
        tree(&sandbox.path("gen")),
        expected(
            &sandbox,
            &[
                ("postfix@-.service", "postfix", None, true),
                (
                    "postfix@postfix-a.service",
                    "postfix-a",
                    Some("postfix@-.service"),
                    true
                ),
                (
                    "postfix@postfix-b.service",
                    "postfix-b",
                    Some("postfix@postfix-a.service"),
                    true
                ),
            ]
        )
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        enabled_instances_are_linked_in_list_order_with_drop_ins,
        a_primary_with_multi_instance_enable_no_links_only_itself,
        a_single_instance_host_links_its_primary,
        an_unreadable_primary_links_its_unit_alone_and_a_missing_one_nothing,
        an_unwritable_output_directory_is_the_only_fatal_error,
        an_output_directory_below_another_users_is_refused,
        systemd_analyze_verifies_the_units_clean,
        planted_links_are_refused_before_anything_is_written,
        a_planted_hard_link_is_replaced_not_written_into,
        names_that_are_no_unit_name_are_skipped_and_nothing_escapes,
        a_directory_listed_again_is_linked_once_without_an_ordering_cycle,
    ];
    Namespace: [no_postconf_runs_at_boot];
}
