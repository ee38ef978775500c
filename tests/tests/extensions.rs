//! The extensions beyond Postfix's postmulti, end to end, in sandboxes, as
//! root against the installed Postfix:
//!
//! - `-l --status`: the table's header, rows, column alignment, selection,
//!   `-R`, running (a stand-in master), stopped and broken instances;
//! - `-l -j`: upstream's four members and ours (`queue_directory`,
//!   `data_directory`, `running`, `pid`, `primary`), exactly, and as JSON;
//! - `--dry-run` with every `-e` action: nothing changes, and what it says it
//!   would do is what the real run then does (each diff applied to the old
//!   file gives the new one; each directory it would create, set or remove
//!   ends up so), and each refusal is the real run's;
//! - `--doctor`: clean on a freshly initialised sandbox with two instances;
//!   one sandbox situation per finding, with the exact line, and exit 1 for
//!   errors only; selection with `-i` and `-g`;
//! - `--template DIR` and the shipped outbound relay example, and the
//!   project's own templates where Postfix's prototypes are missing;
//! - `--completions bash|zsh|fish`;
//! - and, in a private namespace, a real Postfix master for the primary and
//!   two secondaries (one made from the outbound relay template, listening
//!   on 127.0.0.1:10587): `--status`, `-j` and `--doctor` on the running
//!   system, and plain `-l` byte for byte the same as Postfix's postmulti.

use postmulti_e2e::namespace::{self, Flavour};
use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, entry, owner_and_mode, require_root_and_postfix, stderr, stdout,
    Content, FakeMaster, Sandbox, Tree,
};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The project's `templates/` directory.
const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");

/// The queue subdirectories that `postfix-files` gives `postfix:root 0700`.
const PRIVATE_QUEUE_SUBDIRS: &[&str] = &[
    "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private",
    "saved", "trace",
];

/// A sandbox where `postmulti -e init` has run.
fn initialized() -> Sandbox {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run(&["-e", "init"]));
    sandbox
}

/// An initialized sandbox with `postfix-a` (group `mta`) and `postfix-b`
/// created, and the primary's queue and data directories made as
/// `postfix-files` gives them (a sandbox primary starts without them).
fn two_instances() -> Sandbox {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", "postfix-a", "-G", "mta", "-e", "create"]));
    assert_success(&sandbox.run(&["-I", "postfix-b", "-e", "create"]));
    settle_primary(&sandbox);
    sandbox
}

/// Makes the primary's private queue and data directories with the owners
/// and modes of `postfix-files`, as a Postfix installation has them.
fn settle_primary(sandbox: &Sandbox) {
    let uid = |name: &str| {
        nix::unistd::User::from_name(name)
            .unwrap()
            .unwrap_or_else(|| panic!("no user {name}"))
            .uid
            .as_raw()
    };
    let gid = |name: &str| {
        nix::unistd::Group::from_name(name)
            .unwrap()
            .unwrap_or_else(|| panic!("no group {name}"))
            .gid
            .as_raw()
    };
    let make = |relative: &str, owner: &str, group: &str, mode: u32| {
        let path = sandbox.path(relative);
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid(owner)), Some(gid(group))).unwrap();
        std::fs::set_permissions(&path, PermissionsExt::from_mode(mode)).unwrap();
    };
    for subdir in PRIVATE_QUEUE_SUBDIRS {
        make(&format!("spool/postfix/{subdir}"), "postfix", "root", 0o700);
    }
    make("spool/postfix/maildrop", "postfix", "postdrop", 0o730);
    make("spool/postfix/public", "postfix", "postdrop", 0o710);
    make("spool/postfix/pid", "root", "root", 0o755);
    make("lib/postfix", "postfix", "root", 0o700);
}

/// `@ROOT@/etc/NAME`.
fn dir(sandbox: &Sandbox, name: &str) -> String {
    format!("{}/etc/{name}", sandbox.root_str())
}

/// Replaces every `name = ...` line of a main.cf below the root with
/// `name = value` at the end, or just removes them when `value` is `None`.
fn set_param(sandbox: &Sandbox, main_cf: &str, name: &str, value: Option<&str>) {
    let text = sandbox.read(main_cf);
    let mut kept: String = text
        .lines()
        .filter(|line| {
            line.split_once('=')
                .is_none_or(|(key, _)| key.trim() != name || line.starts_with(' '))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    if let Some(value) = value {
        kept.push_str(&format!("{name} = {value}\n"));
    }
    sandbox.write(main_cf, &kept);
}

/// Each line with its runs of white space made single spaces, trimmed.
fn words(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

// ---------------------------------------------------------------------
// 1. -l --status
// ---------------------------------------------------------------------

#[test]
fn status_table_shows_running_stopped_and_broken() {
    if !require_root_and_postfix("status_table_shows_running_stopped_and_broken") {
        return;
    }
    let sandbox = two_instances();
    let (primary, a, b) = (
        sandbox.primary(),
        dir(&sandbox, "postfix-a"),
        dir(&sandbox, "postfix-b"),
    );
    let master_a = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    let master_p = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix"));
    let (pid_a, pid_p) = (master_a.pid(), master_p.pid());
    let before = sandbox.snapshot();

    let table = assert_success(&sandbox.run(&["-l", "--status"]));
    sandbox.assert_unchanged(&before);
    let header = "NAME GROUP ENABLED STATUS CONFIG_DIRECTORY".to_string();
    let row_p = format!("- - y running (pid {pid_p}) {primary}");
    let row_a = format!("postfix-a mta n running (pid {pid_a}) {a}");
    let row_b = format!("postfix-b - n stopped {b}");
    assert_eq!(
        words(&table),
        [header.clone(), row_p.clone(), row_a.clone(), row_b.clone()],
        "{table}"
    );
    // A table: every column starts at the same offset on every line.
    let lines: Vec<&str> = table.lines().filter(|l| !l.trim().is_empty()).collect();
    for (column, value_of) in [
        ("STATUS", |line: &str| {
            line.find("stopped").or(line.find("running"))
        }),
        ("CONFIG_DIRECTORY", |line: &str| line.find('/')),
    ] as [(&str, fn(&str) -> Option<usize>); 2]
    {
        let at = lines[0].find(column).unwrap();
        for line in &lines[1..] {
            assert_eq!(
                value_of(line),
                Some(at),
                "{column} column of {line:?}\n{table}"
            );
        }
    }

    // -R, -g and -i apply.
    let reversed = assert_success(&sandbox.run(&["-l", "--status", "-R"]));
    assert_eq!(
        words(&reversed),
        [header.clone(), row_b.clone(), row_a.clone(), row_p.clone()]
    );
    let group = assert_success(&sandbox.run(&["-l", "--status", "-g", "mta"]));
    assert_eq!(words(&group), [header.clone(), row_a.clone()]);
    let one = assert_success(&sandbox.run(&["-l", "--status", "-i", "b"]));
    assert_eq!(words(&one), [header.clone(), row_b.clone()]);
    let primary_only = assert_success(&sandbox.run(&["-l", "--status", "-i", "-"]));
    assert_eq!(words(&primary_only), [header.clone(), row_p]);

    // Stopped again.
    drop(master_a);
    let one = assert_success(&sandbox.run(&["-l", "--status", "-i", "a"]));
    assert_eq!(
        words(&one),
        [header.clone(), format!("postfix-a mta n stopped {a}")]
    );

    // A broken instance: its row in place, warned about, exit 1.
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).unwrap();
    let output = sandbox.run(&["-l", "--status"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "postmulti: warning: instance {b} skipped: open {b}/main.cf: No such file or directory\n"
        )
    );
    let table = stdout(&output);
    assert_eq!(
        words(&table)[3],
        format!("? ? ? broken: open {b}/main.cf: No such file or directory {b}"),
        "{table}"
    );
    // Not selected by -g: not shown, not counted.
    let output = sandbox.run(&["-l", "--status", "-g", "mta"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(!stdout(&output).contains("broken"), "{}", stdout(&output));
}

#[test]
fn status_and_json_option_rules() {
    if !require_root_and_postfix("status_and_json_option_rules") {
        return;
    }
    let sandbox = two_instances();
    assert_fatal(
        &sandbox.run(&["-l", "-j", "--status"]),
        "Specify at most one of '-j' and '--status'",
    );
    assert_fatal(
        &sandbox.run(&["-p", "--status", "status"]),
        "The '--status' option requires '-l'",
    );
    assert_fatal(
        &sandbox.run(&["-x", "-j", "true"]),
        "The '-j' option requires '-l'",
    );
}

// ---------------------------------------------------------------------
// 2. -l -j
// ---------------------------------------------------------------------

/// One expected JSON line.
#[allow(clippy::too_many_arguments)]
fn json_line(
    name: &str,
    group: &str,
    enabled: &str,
    config: &str,
    queue: &str,
    data: &str,
    pid: Option<u32>,
    primary: bool,
) -> String {
    format!(
        "{{\"name\": \"{name}\",\"group\": \"{group}\",\"enabled\": \"{enabled}\",\
         \"config_directory\": \"{config}\",\"queue_directory\": \"{queue}\",\
         \"data_directory\": \"{data}\",\"running\": {},\"pid\": {},\"primary\": {primary}}}\n",
        pid.is_some(),
        pid.map_or("null".to_string(), |pid| pid.to_string()),
    )
}

#[test]
fn json_lines_have_upstream_members_then_ours() {
    if !require_root_and_postfix("json_lines_have_upstream_members_then_ours") {
        return;
    }
    let sandbox = two_instances();
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    let root = sandbox.root_str();
    let line_p = json_line(
        "-",
        "-",
        "y",
        &sandbox.primary(),
        &format!("{root}/spool/postfix"),
        &format!("{root}/lib/postfix"),
        None,
        true,
    );
    let line_a = json_line(
        "postfix-a",
        "mta",
        "y",
        &dir(&sandbox, "postfix-a"),
        &format!("{root}/spool/postfix-a"),
        &format!("{root}/lib/postfix-a"),
        Some(master.pid()),
        false,
    );
    let line_b = json_line(
        "postfix-b",
        "-",
        "n",
        &dir(&sandbox, "postfix-b"),
        &format!("{root}/spool/postfix-b"),
        &format!("{root}/lib/postfix-b"),
        None,
        false,
    );
    let json = assert_success(&sandbox.run(&["-l", "-j"]));
    assert_eq!(json, format!("{line_p}{line_a}{line_b}"));
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-j", "-R"])),
        format!("{line_b}{line_a}{line_p}")
    );
    assert_eq!(assert_success(&sandbox.run(&["-lj", "-g", "mta"])), line_a);
    assert_eq!(
        assert_success(&sandbox.run(&["-l", "-j", "-i", "-"])),
        line_p
    );

    // Valid JSON, members in order, with the types the issue names.
    if Path::new("/usr/bin/python3").exists() {
        let check = r#"
import json, sys
members = ["name", "group", "enabled", "config_directory", "queue_directory",
           "data_directory", "running", "pid", "primary"]
for line in sys.stdin:
    o = json.loads(line)
    assert list(o) == members, list(o)
    assert all(isinstance(o[m], str) for m in members[:6]), o
    assert isinstance(o["running"], bool) and isinstance(o["primary"], bool), o
    assert (o["pid"] is None) != o["running"], o
    assert o["pid"] is None or type(o["pid"]) is int, o
print("ok")
"#;
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", check])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(stdout(&output), "ok\n", "{}", stderr(&output));
    }
}

// ---------------------------------------------------------------------
// 3. --dry-run
// ---------------------------------------------------------------------

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

#[test]
fn dry_run_of_every_action_tells_what_the_real_run_does() {
    if !require_root_and_postfix("dry_run_of_every_action_tells_what_the_real_run_does") {
        return;
    }
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

#[test]
fn dry_run_refusals_are_the_real_refusals() {
    if !require_root_and_postfix("dry_run_refusals_are_the_real_refusals") {
        return;
    }
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
    let b = dir(&sandbox, "postfix-b");
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

// ---------------------------------------------------------------------
// 4. --doctor
// ---------------------------------------------------------------------

/// Runs `--doctor ARGS` and asserts it changed nothing; returns (exit
/// status, stdout lines); stderr must be empty.
fn doctor(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let before = sandbox.snapshot();
    let mut all = vec!["--doctor"];
    all.extend_from_slice(args);
    let output = sandbox.run(&all);
    sandbox.assert_unchanged(&before);
    assert_eq!(stderr(&output), "", "--doctor {args:?}");
    let lines = stdout(&output).lines().map(str::to_string).collect();
    (output.status.code(), lines)
}

/// Asserts that `--doctor` finds nothing: no output, exit 0.
fn assert_clean(sandbox: &Sandbox, args: &[&str]) {
    assert_eq!(
        doctor(sandbox, args),
        (Some(0), vec![]),
        "--doctor {args:?}"
    );
}

#[test]
fn doctor_is_silent_on_a_fresh_setup() {
    if !require_root_and_postfix("doctor_is_silent_on_a_fresh_setup") {
        return;
    }
    let sandbox = two_instances();
    assert_clean(&sandbox, &[]);
    assert_clean(&sandbox, &["-a"]);
    assert_clean(&sandbox, &["-i", "a"]);
    assert_clean(&sandbox, &["-g", "mta"]);
    // Enabling a new instance keeps it clean: its inet services are off.
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    assert_success(&sandbox.run(&["-i", "b", "-e", "enable"]));
    assert_clean(&sandbox, &[]);
    // A selection that matches nothing is an error, not a clean bill.
    assert_fatal(
        &sandbox.run(&["--doctor", "-i", "nosuch"]),
        "No matching instances",
    );
    assert_fatal(
        &sandbox.run(&["--doctor", "-g", "nosuch"]),
        "No matching instances",
    );
    assert_fatal(
        &sandbox.run(&["--doctor", "extra"]),
        "Command not allowed with '-l'",
    );
}

#[test]
fn doctor_missing_main_cf_or_master_cf() {
    if !require_root_and_postfix("doctor_missing_main_cf_or_master_cf") {
        return;
    }
    let sandbox = two_instances();
    let (a, b) = (dir(&sandbox, "postfix-a"), dir(&sandbox, "postfix-b"));
    std::fs::remove_file(sandbox.path("etc/postfix-a/master.cf")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (Some(1), vec![format!("error: {a}: master.cf is missing")])
    );
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).unwrap();
    let main_cf_missing = format!("error: {b}: open {b}/main.cf: No such file or directory");
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![
                main_cf_missing.clone(),
                format!("error: {a}: master.cf is missing")
            ]
        )
    );
    // Selection: each is reported only where selected.
    assert_eq!(
        doctor(&sandbox, &["-i", "a"]),
        (Some(1), vec![format!("error: {a}: master.cf is missing")])
    );
    assert_eq!(
        doctor(&sandbox, &["-i", &b]),
        (Some(1), vec![main_cf_missing])
    );
    assert_clean(&sandbox, &["-i", "-"]);
}

#[test]
fn doctor_queue_and_data_directories() {
    if !require_root_and_postfix("doctor_queue_and_data_directories") {
        return;
    }
    let sandbox = two_instances();
    let root = sandbox.root_str().to_string();
    let (a, b) = (dir(&sandbox, "postfix-a"), dir(&sandbox, "postfix-b"));
    let advice = |dir: &str| format!("(postfix -c {dir} set-permissions fixes it)");
    let chmod = |relative: &str, mode: u32| {
        std::fs::set_permissions(sandbox.path(relative), PermissionsExt::from_mode(mode)).unwrap()
    };
    let chown = |relative: &str, uid: Option<u32>, gid: Option<u32>| {
        std::os::unix::fs::chown(sandbox.path(relative), uid, gid).unwrap()
    };

    // A missing queue subdirectory: postfix start makes it, so a warning
    // while the instance is stopped, an error while it runs.
    std::fs::remove_dir(sandbox.path("spool/postfix-a/hold")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {a}: {root}/spool/postfix-a/hold is missing (postfix start creates it)"
            )]
        )
    );
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {a}: {root}/spool/postfix-a/hold is missing"
            )]
        )
    );
    drop(master);
    // A missing queue directory: one line, not one per subdirectory.
    std::fs::rename(
        sandbox.path("spool/postfix-a"),
        sandbox.path("spool-a-moved"),
    )
    .unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {a}: {root}/spool/postfix-a is missing (postfix start creates it)"
            )]
        )
    );
    std::fs::rename(
        sandbox.path("spool-a-moved"),
        sandbox.path("spool/postfix-a"),
    )
    .unwrap();
    std::fs::create_dir(sandbox.path("spool/postfix-a/hold")).unwrap();
    chown("spool/postfix-a/hold", Some(uid_of("postfix")), Some(0));
    chmod("spool/postfix-a/hold", 0o700);
    assert_clean(&sandbox, &[]);

    // A missing data directory.
    std::fs::remove_dir(sandbox.path("lib/postfix-b")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {b}: {root}/lib/postfix-b is missing (postfix start creates it)"
            )]
        )
    );
    std::fs::create_dir(sandbox.path("lib/postfix-b")).unwrap();
    chown("lib/postfix-b", Some(uid_of("postfix")), Some(0));
    chmod("lib/postfix-b", 0o700);
    assert_clean(&sandbox, &[]);

    // Debian's own modes: maildrop sticky, public set-gid, are fine.
    chmod("spool/postfix-b/maildrop", 0o1730);
    chmod("spool/postfix-b/public", 0o2710);
    assert_clean(&sandbox, &[]);

    // More open than postfix-files: a warning; less open, or a wrong owner
    // or group: an error.
    chmod("lib/postfix-b", 0o755);
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {b}: {root}/lib/postfix-b: mode 0755, not 0700 {}",
                advice(&b)
            )]
        )
    );
    chmod("lib/postfix-b", 0o500);
    chown("spool/postfix-a/public", Some(0), None);
    chown("spool/postfix-b/maildrop", None, Some(0));
    chmod("spool/postfix-b/maildrop", 0o1733);
    let expected = vec![
        format!(
            "error: {a}: {root}/spool/postfix-a/public: owner uid 0, not postfix {}",
            advice(&a)
        ),
        format!(
            "error: {b}: {root}/lib/postfix-b: mode 0500, not 0700 {}",
            advice(&b)
        ),
        format!(
            "error: {b}: {root}/spool/postfix-b/maildrop: mode 1733, not 0730, group gid 0, not postdrop {}",
            advice(&b)
        ),
    ];
    assert_eq!(doctor(&sandbox, &[]), (Some(1), expected.clone()));
    assert_eq!(
        doctor(&sandbox, &["-g", "mta"]),
        (Some(1), expected[..1].to_vec())
    );
    assert_eq!(
        doctor(&sandbox, &["-i", "b"]),
        (Some(1), expected[1..].to_vec())
    );
}

/// The uid of a user.
fn uid_of(name: &str) -> u32 {
    nix::unistd::User::from_name(name)
        .unwrap()
        .unwrap()
        .uid
        .as_raw()
}

#[test]
fn doctor_inet_services_that_would_clash() {
    if !require_root_and_postfix("doctor_inet_services_that_would_clash") {
        return;
    }
    let sandbox = two_instances();
    let (primary, a, b) = (
        sandbox.primary(),
        dir(&sandbox, "postfix-a"),
        dir(&sandbox, "postfix-b"),
    );
    let a_cf = "etc/postfix-a/main.cf";
    // A disabled instance does not bind: no clash.
    set_param(&sandbox, a_cf, "master_service_disable", None);
    assert_clean(&sandbox, &[]);
    // Enabled, its smtp service would bind *:25 as the primary's does.
    assert_success(&sandbox.run(&["-i", "a", "-e", "enable"]));
    let clash = format!("error: {a}: inet service *:25 would also be bound by {primary}");
    assert_eq!(doctor(&sandbox, &[]), (Some(1), vec![clash.clone()]));
    // Selected on either side of the pair.
    assert_eq!(
        doctor(&sandbox, &["-i", "a"]),
        (Some(1), vec![clash.clone()])
    );
    assert_eq!(
        doctor(&sandbox, &["-i", "-"]),
        (Some(1), vec![clash.clone()])
    );
    assert_clean(&sandbox, &["-i", "b"]);

    // master_service_disable is a first-match list of types and name/type.
    for (value, clean) in [
        ("smtp/inet", true),
        ("inet", true),
        ("unix", false),
        ("smtp", false),
        ("!smtp/inet, inet", false),
        ("!submission/inet, inet", true),
    ] {
        set_param(&sandbox, a_cf, "master_service_disable", Some(value));
        let expected = if clean {
            (Some(0), vec![])
        } else {
            (Some(1), vec![clash.clone()])
        };
        assert_eq!(
            doctor(&sandbox, &[]),
            expected,
            "master_service_disable = {value}"
        );
    }
    set_param(&sandbox, a_cf, "master_service_disable", None);

    // inet_interfaces: different addresses do not clash, the same one does.
    set_param(
        &sandbox,
        "etc/postfix/main.cf",
        "inet_interfaces",
        Some("127.0.0.1"),
    );
    set_param(&sandbox, a_cf, "inet_interfaces", Some("127.0.0.2"));
    assert_clean(&sandbox, &[]);
    set_param(&sandbox, a_cf, "inet_interfaces", Some("loopback-only"));
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {a}: inet service 127.0.0.1:25 would also be bound by {primary}"
            )]
        )
    );
    // A host in master.cf: postfix-b's 127.0.0.2:smtp against a's *:25.
    set_param(&sandbox, a_cf, "inet_interfaces", Some("all"));
    set_param(
        &sandbox,
        "etc/postfix/main.cf",
        "master_service_disable",
        Some("inet"),
    );
    let b_master = sandbox.read("etc/postfix-b/master.cf");
    sandbox.write(
        "etc/postfix-b/master.cf",
        &format!("{b_master}127.0.0.2:smtp inet n - y - - smtpd\n"),
    );
    set_param(
        &sandbox,
        "etc/postfix-b/main.cf",
        "master_service_disable",
        Some("smtp/inet"),
    );
    assert_success(&sandbox.run(&["-i", "b", "-e", "enable"]));
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {b}: inet service 127.0.0.2:25 would also be bound by {a}"
            )]
        )
    );
}

#[test]
fn doctor_shared_syslog_names() {
    if !require_root_and_postfix("doctor_shared_syslog_names") {
        return;
    }
    let sandbox = two_instances();
    let primary = sandbox.primary();
    // A nameless instance logs as "postfix", as the primary does.
    assert_success(&sandbox.run(&[
        "-e",
        "create",
        "config_directory=@ROOT@/etc/nameless",
        "queue_directory=@ROOT@/spool/nameless",
        "data_directory=@ROOT@/lib/nameless",
    ]));
    let nameless = dir(&sandbox, "nameless");
    let warning = format!(
        "warning: {nameless}: syslog_name postfix is also used by {primary}: their logs cannot be told apart"
    );
    // A warning: exit 0.
    assert_eq!(doctor(&sandbox, &[]), (Some(0), vec![warning.clone()]));
    assert_eq!(
        doctor(&sandbox, &["-i", &nameless]),
        (Some(0), vec![warning.clone()])
    );
    assert_eq!(doctor(&sandbox, &["-i", "-"]), (Some(0), vec![warning]));
    assert_clean(&sandbox, &["-i", "a"]);
    // Explicit names too.
    set_param(
        &sandbox,
        "etc/nameless/main.cf",
        "syslog_name",
        Some("postfix-nl"),
    );
    assert_clean(&sandbox, &[]);
    set_param(
        &sandbox,
        "etc/postfix-b/main.cf",
        "syslog_name",
        Some("postfix-a"),
    );
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![format!(
                "warning: {}: syslog_name postfix-a is also used by {}: their logs cannot be told apart",
                dir(&sandbox, "postfix-b"),
                dir(&sandbox, "postfix-a")
            )]
        )
    );
}

#[test]
fn doctor_alternate_config_directories_and_repeated_entries() {
    if !require_root_and_postfix("doctor_alternate_config_directories_and_repeated_entries") {
        return;
    }
    let sandbox = two_instances();
    let (primary, a, b) = (
        sandbox.primary(),
        dir(&sandbox, "postfix-a"),
        dir(&sandbox, "postfix-b"),
    );
    sandbox.append_main_cf(&format!("alternate_config_directories = {b}\n"));
    let alternate = format!(
        "warning: {b}: listed in both multi_instance_directories and alternate_config_directories"
    );
    assert_eq!(doctor(&sandbox, &[]), (Some(0), vec![alternate.clone()]));
    assert_eq!(
        doctor(&sandbox, &["-i", "b"]),
        (Some(0), vec![alternate.clone()])
    );
    assert_clean(&sandbox, &["-i", "a"]);

    // Repeated multi_instance_* entries, in a secondary and in the primary.
    let a_main = sandbox.read("etc/postfix-a/main.cf");
    sandbox.write(
        "etc/postfix-a/main.cf",
        &format!("{a_main}multi_instance_group = mta\nmulti_instance_name = postfix-a\n"),
    );
    sandbox.append_main_cf("multi_instance_enable = yes\nmulti_instance_enable = yes\n");
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(0),
            vec![
                format!("warning: {primary}: multi_instance_enable is set 3 times in main.cf; the last one wins"),
                format!("warning: {a}: multi_instance_name is set 2 times in main.cf; the last one wins"),
                format!("warning: {a}: multi_instance_group is set 2 times in main.cf; the last one wins"),
                alternate,
            ]
        )
    );
}

#[test]
fn doctor_disabled_but_running() {
    if !require_root_and_postfix("doctor_disabled_but_running") {
        return;
    }
    let sandbox = two_instances();
    let b = dir(&sandbox, "postfix-b");
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-b"));
    let line = format!(
        "warning: {b}: disabled, but running (master pid {}): postmulti will not stop it",
        master.pid()
    );
    assert_eq!(doctor(&sandbox, &[]), (Some(0), vec![line.clone()]));
    assert_eq!(doctor(&sandbox, &["-i", "b"]), (Some(0), vec![line]));
    // Enabled and running, or disabled and stopped: nothing to say.
    assert_success(&sandbox.run(&["-i", "b", "-e", "enable"]));
    assert_clean(&sandbox, &[]);
    assert_success(&sandbox.run(&["-i", "b", "-e", "disable"]));
    drop(master);
    assert_clean(&sandbox, &[]);
}

#[test]
fn doctor_reports_errors_and_warnings_together() {
    if !require_root_and_postfix("doctor_reports_errors_and_warnings_together") {
        return;
    }
    let sandbox = two_instances();
    let (a, b) = (dir(&sandbox, "postfix-a"), dir(&sandbox, "postfix-b"));
    sandbox.append_main_cf(&format!("alternate_config_directories = {a}\n"));
    std::fs::remove_file(sandbox.path("etc/postfix-b/master.cf")).unwrap();
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![
                format!("warning: {a}: listed in both multi_instance_directories and alternate_config_directories"),
                format!("error: {b}: master.cf is missing"),
            ]
        )
    );
}

// ---------------------------------------------------------------------
// 5. --template and the templates
// ---------------------------------------------------------------------

#[test]
fn outbound_relay_template_makes_a_working_instance() {
    if !require_root_and_postfix("outbound_relay_template_makes_a_working_instance") {
        return;
    }
    let template = format!("{TEMPLATES}/outbound-relay");
    let proto = std::fs::read_to_string(format!("{template}/main.cf.proto")).unwrap();
    assert!(
        proto.starts_with("# main.cf for an outbound relay instance"),
        "{proto}"
    );
    let commented = proto.lines().filter(|line| line.starts_with('#')).count();
    assert!(
        commented >= 20,
        "the example explains itself: {commented} comment lines"
    );

    let sandbox = two_instances();
    let out_dir = dir(&sandbox, "postfix-out");
    assert_success(&sandbox.run(&[
        "-I",
        "postfix-out",
        "-G",
        "mta",
        "-e",
        "create",
        "--template",
        &template,
    ]));
    let main_cf = sandbox.read("etc/postfix-out/main.cf");
    assert!(
        main_cf.starts_with("# main.cf for an outbound relay instance"),
        "{main_cf}"
    );
    let root = sandbox.root_str();
    for (name, value) in [
        ("queue_directory", format!("{root}/spool/postfix-out")),
        ("data_directory", format!("{root}/lib/postfix-out")),
        ("multi_instance_name", "postfix-out".to_string()),
        ("multi_instance_group", "mta".to_string()),
        ("master_service_disable", "inet".to_string()),
        ("inet_interfaces", "loopback-only".to_string()),
        ("mydestination", String::new()),
        ("relayhost", String::new()),
        (
            "smtpd_relay_restrictions",
            "permit_mynetworks, reject".to_string(),
        ),
    ] {
        assert_eq!(entry(&main_cf, name), Some(value), "{name} in\n{main_cf}");
    }
    assert_eq!(
        sandbox.read("etc/postfix-out/master.cf"),
        std::fs::read_to_string(format!("{template}/master.cf.proto")).unwrap()
    );
    // Postfix reads both files without a complaint.
    for flag in ["-n", "-M"] {
        let output = Command::new("/usr/sbin/postconf")
            .args(["-c", &out_dir, flag])
            .env_remove("MAIL_CONFIG")
            .output()
            .unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "postconf {flag}: {}",
            stderr(&output)
        );
    }
    let output = Command::new("/usr/sbin/postconf")
        .args(["-c", &out_dir, "-xh", "syslog_name"])
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "postfix-out\n");

    // Enabled with its listener open, beside a primary on *:25: clean.
    assert_success(&sandbox.run(&["-i", "out", "-e", "enable"]));
    set_param(
        &sandbox,
        "etc/postfix-out/main.cf",
        "master_service_disable",
        None,
    );
    assert_clean(&sandbox, &[]);
    // Two of them would clash on 127.0.0.1:10587.
    assert_success(&sandbox.run(&[
        "-I",
        "postfix-out2",
        "-e",
        "create",
        "--template",
        &template,
    ]));
    assert_success(&sandbox.run(&["-i", "out2", "-e", "enable"]));
    set_param(
        &sandbox,
        "etc/postfix-out2/main.cf",
        "master_service_disable",
        None,
    );
    assert_eq!(
        doctor(&sandbox, &[]),
        (
            Some(1),
            vec![format!(
                "error: {}: inet service 127.0.0.1:10587 would also be bound by {out_dir}",
                dir(&sandbox, "postfix-out2")
            )]
        )
    );
}

#[test]
fn project_templates_serve_when_prototypes_are_missing() {
    if !require_root_and_postfix("project_templates_serve_when_prototypes_are_missing") {
        return;
    }
    // A meta_directory with postfix-files but no prototypes.
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("meta")).unwrap();
    std::fs::copy(
        "/etc/postfix/postfix-files",
        sandbox.path("meta/postfix-files"),
    )
    .unwrap();
    sandbox.append_main_cf("meta_directory = @ROOT@/meta\n");
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_success(&sandbox.run(&["-I", "postfix-d", "-e", "create"]));
    let main_cf = sandbox.read("etc/postfix-d/main.cf");
    let template_main = std::fs::read_to_string(format!(
        "{TEMPLATES}/../crates/postmulti-core/protos/main.cf.proto"
    ))
    .unwrap();
    let first_line = template_main.lines().next().unwrap();
    assert!(main_cf.starts_with(&format!("{first_line}\n")), "{main_cf}");
    assert_eq!(
        entry(&main_cf, "meta_directory"),
        Some(format!("{}/meta", sandbox.root_str())),
        "cloned from the primary"
    );
    assert_eq!(
        entry(&main_cf, "multi_instance_name").as_deref(),
        Some("postfix-d")
    );
    assert_eq!(
        sandbox.read("etc/postfix-d/master.cf"),
        std::fs::read_to_string(format!(
            "{TEMPLATES}/../crates/postmulti-core/protos/master.cf.proto"
        ))
        .unwrap()
    );
    let output = Command::new("/usr/sbin/postconf")
        .args(["-c", &dir(&sandbox, "postfix-d"), "-M"])
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{}",
        stderr(&output)
    );
    settle_primary(&sandbox);
    assert_clean(&sandbox, &[]);

    // --template belongs to -e create only; a directory without prototypes
    // is refused.
    assert_fatal(
        &sandbox.run(&["-l", "--template", "@ROOT@/meta"]),
        "The '--template' option requires '-e create'",
    );
    assert_fatal(
        &sandbox.run(&["-i", "d", "-e", "enable", "--template", "@ROOT@/meta"]),
        "The '--template' option requires '-e create'",
    );
    let before = sandbox.snapshot();
    assert_fatal(
        &sandbox.run(&[
            "-I",
            "postfix-e",
            "-e",
            "create",
            "--template",
            "@ROOT@/meta",
        ]),
        &format!(
            "Missing main.cf prototype: {}/meta/main.cf.proto",
            sandbox.root_str()
        ),
    );
    sandbox.assert_unchanged(&before);
}

// ---------------------------------------------------------------------
// 7. --completions
// ---------------------------------------------------------------------

/// Runs the binary without `-c`.
fn run_bare(args: &[&str]) -> Output {
    Command::new(postmulti_e2e::sandbox::postmulti_bin())
        .args(args)
        .env_remove("MAIL_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = assert_success(&run_bare(&["--completions", "bash"]));
    assert!(
        bash.contains("--status") && bash.contains("--doctor"),
        "{bash}"
    );
    assert!(bash.contains("complete -F _postmulti"), "{bash}");
    let mut check = Command::new("bash")
        .args(["-n"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
    }
    let checked = check.wait_with_output().unwrap();
    assert!(checked.status.success(), "bash -n: {}", stderr(&checked));
    // The script loads and completes the long options.
    let output = Command::new("bash")
        .args([
            "-c",
            "eval \"$1\"; COMP_WORDS=(postmulti --sta); COMP_CWORD=1; \
             COMP_LINE='postmulti --sta'; COMP_POINT=${#COMP_LINE}; \
             _postmulti postmulti --sta postmulti; printf '%s\\n' \"${COMPREPLY[@]}\"",
            "bash",
            &bash,
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "--status\n", "{}", stderr(&output));

    for shell in ["zsh", "fish"] {
        let script = assert_success(&run_bare(&["--completions", shell]));
        assert!(!script.is_empty());
        assert!(script.contains("status"), "{shell}: {script}");
        assert!(script.contains("dry-run"), "{shell}: {script}");
    }
    let zsh = assert_success(&run_bare(&["--completions", "zsh"]));
    assert!(zsh.starts_with("#compdef postmulti"), "{zsh}");
    assert!(zsh.contains("--status"), "{zsh}");
    let fish = assert_success(&run_bare(&["--completions", "fish"]));
    assert!(fish.contains("complete -c postmulti -l status"), "{fish}");

    // An unknown shell: fatal, exit 1, nothing on stdout.
    let output = run_bare(&["--completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("\npostmulti: fatal: Usage:postmulti -l"),
        "{}",
        stderr(&output)
    );
}

// ---------------------------------------------------------------------
// Really running: real Postfix masters in a private namespace.
// ---------------------------------------------------------------------

#[test]
fn real_masters_status_json_doctor_and_plain_listing() {
    if !namespace::require_root_and_postfix("real_masters_status_json_doctor_and_plain_listing") {
        return;
    }
    let script = format!(
        r#"
step init postmulti -e init
step create-a postmulti -I postfix-a -G mta -e create
step create-out postmulti -I postfix-out -G mta -e create --template {TEMPLATES}/outbound-relay
step open-out postmulti -i postfix-out -x postconf -X master_service_disable
step enable-a postmulti -i postfix-a -e enable
step enable-out postmulti -i postfix-out -e enable
step doctor-stopped postmulti --doctor
step start postfix start
step wait sh -c 'for i in $(seq 50); do [ -s /var/spool/postfix-out/pid/master.pid ] && break; sleep 0.1; done'
step pids sh -c 'for d in postfix postfix-a postfix-out; do echo $(cat /var/spool/$d/pid/master.pid); done'
step status postmulti -l --status
step json postmulti -l -j
step list-ours postmulti -l
step list-real "$REAL" -l
step doctor postmulti --doctor
step banner timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10587 && head -n 1 <&3'
step disable-a postmulti -i postfix-a -e disable
step doctor-disabled postmulti --doctor -i a
step destroy-running postmulti -i postfix-a -e destroy --dry-run
step enable-a-again postmulti -i postfix-a -e enable
step stop postfix stop
step status-stopped postmulti -l --status
"#
    );
    let outcome = namespace::run(Flavour::Ours, &script);
    let step = |name: &str| outcome.step(name);
    let ok = |name: &str| {
        let step = step(name);
        assert!(
            step.status == 0 && step.stderr.is_empty(),
            "step {name} failed:\n{step}\n{outcome}"
        );
        step.stdout.clone()
    };
    for name in [
        "init",
        "create-a",
        "create-out",
        "open-out",
        "enable-a",
        "enable-out",
        "start",
        "wait",
        "enable-a-again",
        "stop",
    ] {
        let step = step(name);
        assert_eq!(step.status, 0, "step {name}:\n{step}\n{outcome}");
    }
    // The secondaries postmulti made are clean. The primary is Debian's
    // installation, never started: its data directory may be more open
    // than postfix-files says (Debian makes it 0755) and some queue
    // directories may not exist before the first postfix start; warnings
    // at most.
    let primary_warnings_only = |text: &str| {
        text.lines()
            .all(|line| line.starts_with("warning: /etc/postfix: "))
    };
    let before_start = ok("doctor-stopped");
    assert!(primary_warnings_only(&before_start), "{before_start}");

    let pids: Vec<String> = ok("pids").lines().map(str::to_string).collect();
    assert_eq!(pids.len(), 3, "{outcome}");
    assert!(
        pids.iter().all(|pid| pid.parse::<u32>().is_ok()),
        "{pids:?}"
    );
    let (pid_p, pid_a, pid_out) = (&pids[0], &pids[1], &pids[2]);

    let status = ok("status");
    assert_eq!(
        words(&status),
        [
            "NAME GROUP ENABLED STATUS CONFIG_DIRECTORY".to_string(),
            format!("- - y running (pid {pid_p}) /etc/postfix"),
            format!("postfix-a mta y running (pid {pid_a}) /etc/postfix-a"),
            format!("postfix-out mta y running (pid {pid_out}) /etc/postfix-out"),
        ],
        "{outcome}"
    );
    assert_eq!(
        ok("json"),
        [
            json_line(
                "-",
                "-",
                "y",
                "/etc/postfix",
                "/var/spool/postfix",
                "/var/lib/postfix",
                pid_p.parse().ok(),
                true
            ),
            json_line(
                "postfix-a",
                "mta",
                "y",
                "/etc/postfix-a",
                "/var/spool/postfix-a",
                "/var/lib/postfix-a",
                pid_a.parse().ok(),
                false
            ),
            json_line(
                "postfix-out",
                "mta",
                "y",
                "/etc/postfix-out",
                "/var/spool/postfix-out",
                "/var/lib/postfix-out",
                pid_out.parse().ok(),
                false
            ),
        ]
        .concat(),
        "{outcome}"
    );
    // Plain -l: byte for byte Postfix's, with masters running.
    let real = step("list-real");
    assert_eq!(real.status, 0, "{real}");
    assert_eq!(ok("list-ours"), real.stdout, "{outcome}");
    assert_eq!(ok("list-ours").lines().count(), 3);

    // The running system is clean, and the relay listens.
    let running = ok("doctor");
    assert!(primary_warnings_only(&running), "{running}");
    assert!(!running.contains("is missing"), "{running}");
    assert!(ok("banner").starts_with("220 "), "{outcome}");

    // Disabled while its master runs: a warning, exit 0; destroy refused.
    assert_eq!(
        ok("doctor-disabled"),
        format!(
            "warning: /etc/postfix-a: disabled, but running (master pid {pid_a}): postmulti will not stop it\n"
        ),
        "{outcome}"
    );
    let destroy = step("destroy-running");
    assert_eq!(
        (
            destroy.status,
            destroy.stdout.as_str(),
            destroy.stderr.as_str()
        ),
        (
            1,
            "",
            "postmulti: fatal: Instance '/etc/postfix-a' is not stopped\n"
        ),
        "{outcome}"
    );

    let stopped = ok("status-stopped");
    assert_eq!(
        words(&stopped),
        [
            "NAME GROUP ENABLED STATUS CONFIG_DIRECTORY",
            "- - y stopped /etc/postfix",
            "postfix-a mta y stopped /etc/postfix-a",
            "postfix-out mta y stopped /etc/postfix-out",
        ],
        "{outcome}"
    );
}
