//! `--dry-run` with every `-e` action, end to end, in sandboxes: nothing
//! changes, and what it says it would do is what the real run then does
//! (each diff applied to the old file gives the new one; each directory it
//! would create, set or remove ends up so), and each refusal is the real
//! run's.

use postmulti_e2e::fixtures::{instance_dir, two_instances};
use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, owner_and_mode, stderr, stdout, Content, FakeMaster, Sandbox,
    Tree,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dry_run_shows_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let primary = format!("{}/main.cf", sandbox.primary());
    let before = sandbox.snapshot();
    let out = assert_success(&sandbox.run(&["-e", "init", "--dry-run"]));
    sandbox.assert_unchanged(&before);
    assert!(
        out.starts_with(&format!("would edit {primary}:\n")),
        "{out}"
    );
    assert!(
        out.contains("\n+multi_instance_wrapper = ${command_directory}/postmulti -p --\n"),
        "{out}"
    );
    assert!(out.contains("\n+multi_instance_enable = yes\n"), "{out}");

    assert_success(&sandbox.run(&["-e", "init"]));
    let before = sandbox.snapshot();
    let out = assert_success(&sandbox.run(&["-I", "postfix-out", "-e", "create", "--dry-run"]));
    sandbox.assert_unchanged(&before);
    let root = sandbox.root_str();
    for needle in [
        format!("would create directory {root}/etc/postfix-out (mode 0755"),
        format!("would create directory {root}/spool/postfix-out (mode 0755"),
        format!("would create directory {root}/lib/postfix-out (mode 0700"),
        format!("would create {root}/etc/postfix-out/main.cf:\n"),
        "\n+multi_instance_name = postfix-out\n".to_string(),
        format!("would edit {primary}:\n"),
        format!("\n+multi_instance_directories = {root}/etc/postfix-out\n"),
    ] {
        assert!(out.contains(&needle), "{needle:?} not in:\n{out}");
    }

    assert_success(&sandbox.run(&["-I", "postfix-out", "-e", "create"]));
    let before = sandbox.snapshot();
    let out = assert_success(&sandbox.run(&["-e", "destroy", "-i", "out", "--dry-run"]));
    sandbox.assert_unchanged(&before);
    for needle in [
        format!("would remove file {root}/etc/postfix-out/main.cf\n"),
        format!("would remove directory {root}/spool/postfix-out/active (mode 0700, owner postfix:root) if empty\n"),
        format!("would remove directory {root}/etc/postfix-out (mode 0755, owner root:root) if empty\n"),
    ] {
        assert!(out.contains(&needle), "{needle:?} not in:\n{out}");
    }
    // Refusals are refusals with --dry-run too.
    assert_success(&sandbox.run(&["-e", "enable", "-i", "out"]));
    sandbox.assert_refused(
        &["-e", "destroy", "-i", "out", "--dry-run"],
        "Cannot remove enabled instances",
    );
}

/// A file or directory that a dry run says it would touch.
#[derive(Debug, Default)]
struct DryRun {
    /// Files it would write, with the unified diff shown for each.
    diffs: BTreeMap<PathBuf, String>,
    /// Directories it would create.
    made: Vec<PathBuf>,
    /// (path, owner, group or `unchanged`, mode) it would set.
    set: Vec<(PathBuf, String, String, u32)>,
    /// Files it would remove.
    removed_files: Vec<PathBuf>,
    /// Directories it would remove if empty.
    removed_dirs: Vec<PathBuf>,
}

/// Reads a dry run's output, panicking at a line it does not understand.
fn parse_dry_run(out: &str) -> DryRun {
    let mut dry = DryRun::default();
    let mut lines = out.lines();
    while let Some(line) = lines.next() {
        let file = if let Some(rest) = line.strip_prefix("would copy ") {
            let to = rest.split(" to ").nth(1).expect("copy destination");
            Some(to.trim_end_matches(" (mode and times kept):"))
        } else {
            line.strip_prefix("would edit ")
                .or(line.strip_prefix("would create "))
                .filter(|rest| !rest.starts_with("directory "))
                .map(|rest| rest.strip_suffix(':').expect("a diff header ends with ':'"))
        };
        if let Some(file) = file {
            let mut diff = String::new();
            for next in lines.by_ref() {
                if next.is_empty() {
                    break;
                }
                diff.push_str(next);
                diff.push('\n');
            }
            dry.diffs.insert(PathBuf::from(file), diff);
        } else if let Some(rest) = line.strip_prefix("would create directory ") {
            let (path, how) = rest.split_once(" (").expect("directory details");
            assert!(how.starts_with("mode 0"), "{line}");
            assert!(how.contains("owner root:root"), "{line}");
            dry.made.push(PathBuf::from(path));
        } else if let Some(rest) = line
            .strip_prefix("would set directory ")
            .or(line.strip_prefix("would set file "))
        {
            let (path, how) = rest.split_once(" to owner ").expect("owner");
            let path = path.trim_end_matches(" (created if missing)");
            let how = how.trim_end_matches(", recursively");
            let parts: Vec<&str> = how.split(", ").collect();
            let [owner, group, mode] = parts[..] else {
                panic!("{line}");
            };
            let group = group.strip_prefix("group ").expect("group");
            let mode = u32::from_str_radix(mode.strip_prefix("mode ").expect("mode"), 8).unwrap();
            dry.set
                .push((PathBuf::from(path), owner.into(), group.into(), mode));
        } else if let Some(path) = line.strip_prefix("would remove file ") {
            dry.removed_files.push(PathBuf::from(path));
        } else if let Some(rest) = line.strip_prefix("would remove directory ") {
            let rest = rest.strip_suffix(" if empty").expect("if empty");
            let path = rest.split_once(" (mode ").map_or(rest, |(path, _)| path);
            dry.removed_dirs.push(PathBuf::from(path));
        } else {
            panic!("unexpected dry-run line {line:?} in:\n{out}");
        }
    }
    dry
}

/// Applies a unified diff (as `similar` writes it: `---`/`+++` headers,
/// `@@ -a,b +c,d @@` hunks) to `old`.
fn apply_diff(old: &str, diff: &str) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut at = 0; // next old line to copy
    let mut lines = diff.lines();
    assert!(
        lines.next().is_some_and(|l| l.starts_with("--- ")),
        "{diff}"
    );
    assert!(
        lines.next().is_some_and(|l| l.starts_with("+++ ")),
        "{diff}"
    );
    for line in lines {
        if let Some(header) = line.strip_prefix("@@ -") {
            let old_range = header.split(' ').next().unwrap();
            let start: usize = old_range.split(',').next().unwrap().parse().unwrap();
            let count: usize = old_range
                .split(',')
                .nth(1)
                .map_or(1, |c| c.parse().unwrap());
            let first = if count == 0 { start } else { start - 1 };
            while at < first {
                out.push_str(old_lines[at]);
                at += 1;
            }
        } else if let Some(text) = line.strip_prefix('+') {
            out.push_str(text);
            out.push('\n');
        } else if let Some(text) = line.strip_prefix('-') {
            assert_eq!(old_lines[at].trim_end_matches('\n'), text, "{diff}");
            at += 1;
        } else if let Some(text) = line.strip_prefix(' ') {
            assert_eq!(old_lines[at].trim_end_matches('\n'), text, "{diff}");
            out.push_str(old_lines[at]);
            at += 1;
        } else {
            panic!("unexpected diff line {line:?}");
        }
    }
    for rest in &old_lines[at..] {
        out.push_str(rest);
    }
    out
}

/// The file contents of a tree, by absolute path.
fn files(sandbox: &Sandbox, tree: &Tree) -> BTreeMap<PathBuf, Vec<u8>> {
    tree.nodes
        .iter()
        .filter_map(|(path, node)| match &node.content {
            Content::File(bytes) => Some((sandbox.root().join(path), bytes.clone())),
            _ => None,
        })
        .collect()
}

/// The directories of a tree, by absolute path.
fn dirs(sandbox: &Sandbox, tree: &Tree) -> Vec<PathBuf> {
    tree.nodes
        .iter()
        .filter(|(_, node)| node.content == Content::Directory)
        .map(|(path, _)| sandbox.root().join(path))
        .collect()
}

/// Runs `args` with `--dry-run`, checks that nothing changed, then runs
/// `args` for real and checks that the dry run told the truth: the same exit
/// status and standard error; each file written is one it showed a diff for,
/// and the diff applied to the old bytes gives the new ones; each directory
/// made or removed is one it named; each owner and mode it would set is the
/// one the real run left. Returns the dry run's output.
fn dry_run_then_real(sandbox: &Sandbox, args: &[&str]) -> String {
    let before = sandbox.snapshot();
    // Before the arguments: operands end the options.
    let mut dry_args = vec!["--dry-run"];
    dry_args.extend_from_slice(args);
    let dry = sandbox.run(&dry_args);
    sandbox.assert_unchanged(&before);
    let real = sandbox.run(args);
    assert_eq!(
        (dry.status.code(), stderr(&dry)),
        (real.status.code(), stderr(&real)),
        "the dry run of {args:?} exits as the real run does"
    );
    let out = stdout(&dry);
    if !real.status.success() {
        assert_eq!(out, "", "a refused dry run prints no plan");
        sandbox.assert_unchanged(&before);
        return out;
    }
    assert_eq!(stdout(&real), "", "the real run of {args:?} prints nothing");
    let plan = parse_dry_run(&out);
    let after = sandbox.snapshot();
    let (old_files, new_files) = (files(sandbox, &before), files(sandbox, &after));
    for (path, bytes) in &new_files {
        if old_files.get(path) == Some(bytes) {
            continue;
        }
        let diff = plan
            .diffs
            .get(path)
            .unwrap_or_else(|| panic!("{} was written without a diff in:\n{out}", path.display()));
        let old = old_files
            .get(path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        assert_eq!(
            apply_diff(&old, diff),
            String::from_utf8_lossy(bytes),
            "the diff of {} applied to the old bytes",
            path.display()
        );
    }
    for path in plan.diffs.keys() {
        assert!(
            new_files.contains_key(path),
            "{} not written",
            path.display()
        );
    }
    for path in old_files.keys().filter(|p| !new_files.contains_key(*p)) {
        assert!(
            plan.removed_files.contains(path),
            "{} removed without notice in:\n{out}",
            path.display()
        );
    }
    for path in &plan.removed_files {
        assert!(!path.exists(), "{} not removed", path.display());
    }
    let (old_dirs, new_dirs) = (dirs(sandbox, &before), dirs(sandbox, &after));
    for path in new_dirs.iter().filter(|p| !old_dirs.contains(p)) {
        let announced = plan.made.contains(path) || plan.set.iter().any(|(p, ..)| p == path);
        assert!(
            announced,
            "{} made without notice in:\n{out}",
            path.display()
        );
    }
    for path in old_dirs.iter().filter(|p| !new_dirs.contains(p)) {
        assert!(
            plan.removed_dirs.contains(path),
            "{} removed without notice in:\n{out}",
            path.display()
        );
    }
    for path in &plan.removed_dirs {
        assert!(!path.exists(), "{} not removed", path.display());
    }
    for path in &plan.made {
        assert!(path.is_dir(), "{} not made", path.display());
    }
    for (path, owner, group, mode) in &plan.set {
        let (o, g, m) = owner_and_mode(path);
        assert_eq!(
            (o.as_str(), format!("{m:04o}")),
            (owner.as_str(), format!("{mode:04o}")),
            "owner and mode of {}",
            path.display()
        );
        if group != "unchanged" {
            assert_eq!(&g, group, "group of {}", path.display());
        }
    }
    out
}

fn dry_run_of_every_action_tells_what_the_real_run_does() {
    let sandbox = Sandbox::new();
    let root = sandbox.root_str().to_string();
    let primary_main_cf = format!("{}/main.cf", sandbox.primary());

    // Refused before init, as the real run is.
    dry_run_then_real(&sandbox, &["-I", "postfix-a", "-e", "create"]);

    let out = dry_run_then_real(&sandbox, &["-e", "init"]);
    assert!(
        out.starts_with(&format!(
            "would edit {primary_main_cf}:\n--- {primary_main_cf}\n+++ {primary_main_cf}\n@@ "
        )),
        "{out}"
    );

    let out = dry_run_then_real(&sandbox, &["-I", "postfix-a", "-G", "mta", "-e", "create"]);
    for needle in [
        format!("would create directory {root}/etc/postfix-a (mode 0755, owner root:root"),
        format!("would create {root}/etc/postfix-a/main.cf:\n--- /dev/null\n+++ {root}/etc/postfix-a/main.cf\n"),
        format!("would copy /etc/postfix/master.cf.proto to {root}/etc/postfix-a/master.cf (mode and times kept):\n--- /dev/null\n"),
        format!("would set directory {root}/lib/postfix-a (created if missing) to owner postfix, group unchanged, mode 0700\n"),
        format!("would set directory {root}/spool/postfix-a/maildrop (created if missing) to owner postfix, group postdrop, mode 0730\n"),
        format!("would edit {primary_main_cf}:\n"),
        format!("\n+multi_instance_directories = {root}/etc/postfix-a\n"),
        "\n+multi_instance_name = postfix-a\n".to_string(),
        "\n+multi_instance_group = mta\n".to_string(),
    ] {
        assert!(out.contains(&needle), "{needle:?} not in:\n{out}");
    }
    // The primary's main.cf is edited last.
    let last_header = out
        .lines()
        .rfind(|line| line.starts_with("would "))
        .unwrap();
    assert_eq!(last_header, format!("would edit {primary_main_cf}:"));

    dry_run_then_real(&sandbox, &["-I", "postfix-b", "-e", "create"]);
    sandbox.write("tpl/main.cf.proto", "# tpl\nsmtpd_banner = tpl\n");
    sandbox.write("tpl/master.cf.proto", "# tpl master.cf\n");
    let out = dry_run_then_real(
        &sandbox,
        &[
            "-I",
            "postfix-t",
            "-e",
            "create",
            "--template",
            "@ROOT@/tpl",
        ],
    );
    assert!(
        out.contains(&format!("would copy {root}/tpl/master.cf.proto to {root}/etc/postfix-t/master.cf (mode and times kept):\n--- /dev/null\n+++ {root}/etc/postfix-t/master.cf\n@@ -0,0 +1 @@\n+# tpl master.cf\n")),
        "{out}"
    );
    let out = dry_run_then_real(&sandbox, &["-i", "a", "-e", "enable"]);
    assert!(
        out.contains("\n-multi_instance_enable = no\n+multi_instance_enable = yes\n")
            || out.contains("\n+multi_instance_enable = yes\n"),
        "{out}"
    );
    dry_run_then_real(&sandbox, &["-i", "a", "-e", "disable"]);
    dry_run_then_real(
        &sandbox,
        &["-i", "b", "-e", "assign", "-I", "postfix-c", "-G", "relay"],
    );
    dry_run_then_real(&sandbox, &["-i", "c", "-e", "deport"]);
    dry_run_then_real(
        &sandbox,
        &["-e", "import", "config_directory=@ROOT@/etc/postfix-b"],
    );
    let out = dry_run_then_real(&sandbox, &["-i", "c", "-e", "destroy"]);
    for needle in [
        format!("would remove directory {root}/spool/postfix-b/active (mode 0700, owner postfix:root) if empty\n"),
        format!("would remove file {root}/etc/postfix-b/master.cf\n"),
        format!("would remove file {root}/etc/postfix-b/main.cf\n"),
        format!("would remove directory {root}/etc/postfix-b (mode 0755, owner root:root) if empty\n"),
    ] {
        assert!(out.contains(&needle), "{needle:?} not in:\n{out}");
    }
    assert!(!sandbox.path("etc/postfix-b").exists());
    assert!(!sandbox.path("spool/postfix-b").exists());
}

fn dry_run_refusals_are_the_real_refusals() {
    let sandbox = two_instances();
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    let refusals: &[&[&str]] = &[
        &["-i", "a", "-e", "destroy"],
        &["-i", "a", "-e", "deport"],
        &["-i", "-", "-e", "destroy"],
        &["-I", "postfix-a", "-e", "create"],
        &["-i", "b", "-e", "assign", "-I", "postfix-a"],
        &["-i", "nosuch", "-e", "enable"],
        &["-e", "import", "config_directory=@ROOT@/etc/nowhere"],
    ];
    for args in refusals {
        let out = dry_run_then_real(&sandbox, args);
        assert_eq!(out, "");
    }
    // A running instance cannot be deported: the dry run says so too.
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-b"));
    let before = sandbox.snapshot();
    let b = instance_dir(&sandbox, "postfix-b");
    assert_fatal(
        &sandbox.run(&["-i", "b", "-e", "deport", "--dry-run"]),
        &format!("Instance '{b}' is not stopped"),
    );
    sandbox.assert_unchanged(&before);
    drop(master);
    assert_fatal(
        &sandbox.run(&["-l", "--dry-run"]),
        "The '--dry-run' option requires '-e'",
    );
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        dry_run_shows_and_changes_nothing,
        dry_run_of_every_action_tells_what_the_real_run_does,
        dry_run_refusals_are_the_real_refusals,
    ];
}
