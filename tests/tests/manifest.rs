//! Desired state: `--plan`, `--apply` and `--export` of a TOML manifest on
//! sandbox primaries (`-c DIR`): convergence and idempotence, plans that
//! change nothing, every refusal (with its `FILE:LINE:COL` message, nothing
//! changed), export round trips that keep comments, kill -9 during apply
//! followed by a converging re-run, and a property: for random starting
//! hosts and manifests, apply then plan reports no change.

use postmulti_e2e::attacker::{attacker_dir, give_to_attacker, trials, Swapper, NOBODY};
use postmulti_e2e::fixtures::{initialized, TEMPLATES};
use postmulti_e2e::sandbox::{
    assert_fatal, assert_success, entry, stderr, stdout, FakeMaster, Sandbox,
};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Three instances: one with a group and main.cf parameters, one disabled,
/// one with explicit directories.
const THREE: &str = r#"# The instances of this sandbox, in start order.
[[instance]]
name = "postfix-out"   # outbound relay
group = "mta"
[instance.main_cf]
relayhost = "[relay.example.com]:587"
inet_interfaces = "127.0.0.1"

[[instance]]
name = "postfix-in"
group = "mta"
enabled = false

[[instance]]
name = "postfix-x"
[instance.directories]
config_directory = "@ROOT@/etc/custom-x"
queue_directory = "@ROOT@/spool/custom-x"
"#;

/// Writes a manifest (with `@ROOT@` expanded) to `@ROOT@/NAME`; returns
/// its path.
fn manifest(sandbox: &Sandbox, name: &str, text: &str) -> String {
    sandbox.write(name, text);
    sandbox.path(name).display().to_string()
}

/// Runs postmulti on the sandbox and returns (exit status, stdout, stderr).
fn run(sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let output = sandbox.run(args);
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

/// `--plan FILE -j` (or `--apply`), parsed; asserts the exit status.
fn json(sandbox: &Sandbox, mode: &str, file: &str, status: i32) -> Value {
    let (code, out, err) = run(sandbox, &[mode, file, "-j"]);
    assert_eq!(code, status, "{mode} {file}: stdout {out} stderr {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The `kind` of each action of a JSON plan.
fn kinds(plan: &Value) -> Vec<&str> {
    items(&plan["actions"])
        .iter()
        .map(|action| action["kind"].as_str().unwrap())
        .collect()
}

/// The items of a JSON array.
fn items(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
}

fn apply_converges_and_a_second_run_changes_nothing() {
    let sandbox = Sandbox::new();
    let file = manifest(&sandbox, "m.toml", THREE);
    let before = sandbox.snapshot();
    let plan = json(&sandbox, "--plan", &file, 2);
    sandbox.assert_unchanged(&before);
    let (code, text, _) = run(&sandbox, &["--plan", &file]);
    assert_eq!(code, 2);
    sandbox.assert_unchanged(&before);
    let expected = [
        "init", "create", "enable", "set", "set", "create", "create", "enable",
    ];
    assert_eq!(kinds(&plan), expected);
    let root = sandbox.root_str();
    assert!(text.starts_with(&format!(
        "init: hook postmulti into {root}/etc/postfix/main.cf\n\
         create postfix-out in {root}/etc/postfix-out (queue {root}/spool/postfix-out, data {root}/lib/postfix-out)\n\
         enable postfix-out\n\
         set postfix-out: relayhost = [relay.example.com]:587 (not set)\n"
    )), "{text}");
    assert!(
        text.contains(&format!("would edit {root}/etc/postfix/main.cf:\n--- ")),
        "{text}"
    );
    let set = &items(&plan["actions"])[3];
    assert_eq!(set["parameter"], "relayhost");
    assert!(set["old"].is_null());
    assert_eq!(set["new"], "[relay.example.com]:587");
    let primary = items(&plan["files"])
        .iter()
        .find(|f| f["path"] == format!("{root}/etc/postfix/main.cf").as_str())
        .expect("the primary's main.cf among the files");
    assert_eq!(primary["before"], sandbox.main_cf().as_str());

    let applied = json(&sandbox, "--apply", &file, 0);
    assert_eq!(applied["changed"], true);
    assert_eq!(kinds(&applied), expected);
    // Each file's "after" is what is on disk now.
    for f in items(&applied["files"]) {
        let path = f["path"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), f["after"], "{path}");
    }
    let listing = assert_success(&sandbox.run(&["-l"]));
    assert_eq!(
        listing.replace(root, "@ROOT@"),
        "-               -               y         @ROOT@/etc/postfix\n\
         postfix-out     mta             y         @ROOT@/etc/postfix-out\n\
         postfix-in      mta             n         @ROOT@/etc/postfix-in\n\
         postfix-x       -               y         @ROOT@/etc/custom-x\n"
    );
    let out_cf = sandbox.read("etc/postfix-out/main.cf");
    assert!(
        out_cf.ends_with(
            "multi_instance_name = postfix-out\nmulti_instance_group = mta\n\
         multi_instance_enable = yes\nrelayhost = [relay.example.com]:587\n\
         inet_interfaces = 127.0.0.1\n"
        ),
        "{out_cf}"
    );
    assert!(sandbox.path("spool/custom-x/maildrop").is_dir());
    assert!(sandbox.path("lib/postfix-x").is_dir());

    // Converged: a second apply and a plan change nothing.
    let converged = sandbox.snapshot();
    let again = json(&sandbox, "--apply", &file, 0);
    assert_eq!(
        again,
        serde_json::json!({"changed": false, "actions": [], "files": [], "unmanaged": []})
    );
    assert_eq!(run(&sandbox, &["--apply", &file]).1, "no changes\n");
    assert_eq!(
        run(&sandbox, &["--plan", &file]),
        (0, "no changes\n".into(), String::new())
    );
    sandbox.assert_unchanged(&converged);

    // A group and a parameter edited: exactly those are planned.
    let edited = THREE
        .replacen(
            "group = \"mta\"\nenabled = false",
            "group = \"inbound\"\nenabled = false",
            1,
        )
        .replace("[relay.example.com]:587", "[relay.example.com]:25");
    let file = manifest(&sandbox, "m.toml", &edited);
    let (code, text, _) = run(&sandbox, &["--plan", &file]);
    assert_eq!(code, 2);
    let lines: Vec<&str> = text.lines().take_while(|line| !line.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "set postfix-out: relayhost = [relay.example.com]:25 (was [relay.example.com]:587)",
            "assign postfix-in: group mta -> inbound",
        ]
    );
    assert!(text
        .contains("-relayhost = [relay.example.com]:587\n+relayhost = [relay.example.com]:25\n"));
    assert_success(&sandbox.run(&["--apply", &file]));
    assert_eq!(run(&sandbox, &["--plan", &file]).0, 0);
}

fn unmanaged_instances_are_reported_and_pruned_on_request() {
    let sandbox = initialized();
    for name in ["postfix-old", "postfix-gone"] {
        assert_success(&sandbox.run(&["-e", "create", "-I", name]));
    }
    assert_success(&sandbox.run(&["-e", "enable", "-i", "postfix-old"]));
    let keep = "[[instance]]\nname = \"postfix-new\"\n";
    let file = manifest(&sandbox, "m.toml", keep);
    let plan = json(&sandbox, "--plan", &file, 2);
    assert_eq!(
        plan["unmanaged"],
        serde_json::json!(["postfix-old", "postfix-gone"])
    );
    assert_success(&sandbox.run(&["--apply", &file]));
    assert_eq!(
        run(&sandbox, &["--plan", &file]).1,
        "no changes\nunmanaged postfix-old: not in the manifest, left alone\n\
         unmanaged postfix-gone: not in the manifest, left alone\n"
    );
    // prune = "destroy": refused while postfix-old runs or holds mail.
    let file = manifest(&sandbox, "m.toml", &format!("prune = \"destroy\"\n{keep}"));
    let root = sandbox.root_str();
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-old"));
    sandbox.assert_refused(
        &["--apply", &file],
        &format!("prune = \"destroy\": instance postfix-old ({root}/etc/postfix-old) is running; stop it, or name it in {file}"),
    );
    drop(master);
    sandbox.write("spool/postfix-old/deferred/A/A1B2C3", "a queued message");
    sandbox.assert_refused(
        &["--apply", &file],
        &format!("prune = \"destroy\": instance postfix-old ({root}/etc/postfix-old) has 1 message(s) in {root}/spool/postfix-old; not destroyed"),
    );
    std::fs::remove_file(sandbox.path("spool/postfix-old/deferred/A/A1B2C3")).unwrap();
    std::fs::remove_dir(sandbox.path("spool/postfix-old/deferred/A")).unwrap();
    let applied = json(&sandbox, "--apply", &file, 0);
    assert_eq!(kinds(&applied), ["disable", "destroy", "destroy"]);
    assert!(!sandbox.path("etc/postfix-old").exists());
    assert!(!sandbox.path("spool/postfix-gone").exists());
    assert_eq!(run(&sandbox, &["--plan", &file]).0, 0);
}

fn bad_manifests_are_refused_with_their_place_and_change_nothing() {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-e", "create", "-I", "postfix-u"]));
    std::os::unix::fs::symlink(sandbox.path("etc/postfix-u"), sandbox.path("etc/link")).unwrap();
    let one = |body: &str| format!("[[instance]]\nname = \"postfix-a\"\n{body}");
    let cases: Vec<(String, String)> = vec![
        (one("colour = \"red\"\n"), "3:1: unknown key instance.colour".into()),
        ("prune = \"all\"\n".into(), "1:9: prune = \"all\": expected \"none\", \"deport\" or \"destroy\"".into()),
        (one("enabled = \"yes\"\n"), "3:11: enabled must be a boolean (true or false)".into()),
        (one("group = 7\n"), "3:9: group must be a string, not an integer".into()),
        (one("group = \"-\"\n"), "2:8: group \"-\" is what -G says for no group: leave group out or set it to \"\"".into()),
        ("[[instance]]\nname = \"mail-a\"\n".into(), "2:8: New instance name must start with 'postfix-'".into()),
        ("[[instance]]\ngroup = \"x\"\n".into(), "1:1: [[instance]] without a name".into()),
        (format!("{}{}", one(""), one("")), "4:8: duplicate instance name \"postfix-a\"".into()),
        (one("[instance.directories]\nqueue_directory = \"@ROOT@/spool/postfix-u\"\n"),
         "2:8: instance postfix-a: instance @ROOT@/etc/postfix-a, queue_directory=@ROOT@/spool/postfix-u conflicts with instance @ROOT@/etc/postfix-u, queue_directory=@ROOT@/spool/postfix-u".into()),
        (one("[instance.directories]\nconfig_directory = \"@ROOT@/etc/link\"\n"),
         "4:20: config_directory=@ROOT@/etc/link: is a symbolic link; give the directory it points to, if that is meant".into()),
        (one("[instance.directories]\ndata_directory = \"@ROOT@/a,b\"\n"),
         "4:18: data_directory=\"@ROOT@/a,b\": white space, commas and control characters are not allowed in an instance directory".into()),
        (one("[instance.main_cf]\nrelayhost = \"x\\ny = z\"\n"),
         "4:13: main_cf.relayhost: control characters and leading or trailing white space cannot be kept in main.cf".into()),
        ("[[instance]]\nname = \"postfix-u\"\n[instance.directories]\nqueue_directory = \"@ROOT@/spool/elsewhere\"\n".into(),
         "2:8: instance postfix-u: queue_directory is @ROOT@/spool/postfix-u on the host, not @ROOT@/spool/elsewhere; an instance cannot be moved".into()),
        ("[[instance]]\nname = \"postfix-a\"\ndirectories.queue_directory = \"/q\"\n\
          [[instance]]\nname = \"postfix-b\"\ndirectories.data_directory = \"/q\"\n".into(),
         "6:1: instance postfix-b: directory /q is also given to instance postfix-a".into()),
        ("[[instance]\n".into(), "1:12: unclosed array table, expected `]`".into()),
    ];
    for (text, message) in cases {
        let file = manifest(&sandbox, "bad.toml", &text);
        for mode in ["--plan", "--apply"] {
            let (code, out, err) = run(&sandbox, &[mode, &file]);
            let expected = format!("postmulti: fatal: {file}:{}\n", sandbox.expand(&message));
            assert_eq!(
                (code, out.as_str(), err.as_str()),
                (1, "", expected.as_str()),
                "{text}"
            );
        }
        let before = sandbox.snapshot();
        let _ = sandbox.run(&["--apply", &file]);
        sandbox.assert_unchanged(&before);
    }
    sandbox.assert_refused(
        &["--apply", "@ROOT@/missing.toml"],
        "@ROOT@/missing.toml: No such file or directory",
    );
    sandbox.assert_refused(
        &["--plan", "x.toml", "-i", "postfix-u"],
        "The '--plan', '--apply' and '--export' options take no '-a', '-g', '-i' or operands",
    );
    sandbox.assert_refused(
        &["-l", "--reload"],
        "The '--reload' and '--start' options require '--apply' or '--plan'",
    );
}

fn manifests_come_from_standard_input_and_export_round_trips() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_with_input(&["--apply", "-"], THREE);
    assert_success(&output);
    assert_eq!(
        sandbox
            .run_with_input(&["--plan", "-"], THREE)
            .status
            .code(),
        Some(0)
    );
    let bad = sandbox.run_with_input(&["--plan", "-"], "x = 1\n");
    assert_eq!(stderr(&bad), "postmulti: fatal: -:1:1: unknown key x\n");

    // Export to stdout: only non-default directories.
    let exported = assert_success(&sandbox.run(&["--export"]));
    assert_eq!(
        exported.replace(sandbox.root_str(), "@ROOT@"),
        "# The Postfix instances of this host, in start order (postmulti --export).\n\
         [[instance]]\nname = \"postfix-out\"\ngroup = \"mta\"\nenabled = true\n\n\
         [[instance]]\nname = \"postfix-in\"\ngroup = \"mta\"\nenabled = false\n\n\
         [[instance]]\nname = \"postfix-x\"\nenabled = true\n\n[instance.directories]\n\
         config_directory = \"@ROOT@/etc/custom-x\"\nqueue_directory = \"@ROOT@/spool/custom-x\"\n"
    );
    // Exported, then applied: nothing to do.
    let file = manifest(&sandbox, "exported.toml", &exported);
    assert_eq!(run(&sandbox, &["--plan", &file]).0, 0);

    // The admin's commented file, exported over: byte-identical, untouched.
    let file = manifest(&sandbox, "m.toml", THREE);
    let mtime = || std::fs::metadata(&file).unwrap().modified().unwrap();
    let before = mtime();
    assert_success(&sandbox.run(&["--export", &file]));
    assert_eq!(sandbox.read("m.toml"), sandbox.expand(THREE));
    assert_eq!(mtime(), before);

    // An instance added by hand, a group changed: the comments stay, the
    // new instance comes last, the change is made in place.
    assert_success(&sandbox.run(&["-e", "create", "-I", "postfix-new", "-G", "late"]));
    assert_success(&sandbox.run(&["-e", "assign", "-i", "postfix-in", "-G", "inbound"]));
    assert_success(&sandbox.run(&["--export", &file]));
    let updated = sandbox.read("m.toml");
    let expected = sandbox.expand(THREE).replacen(
        "group = \"mta\"\nenabled = false",
        "group = \"inbound\"\nenabled = false",
        1,
    )
        + "\n[[instance]]\nname = \"postfix-new\"\ngroup = \"late\"\nenabled = false\n";
    assert_eq!(updated, expected);
    assert_success(&sandbox.run(&["--export", &file]));
    assert_eq!(sandbox.read("m.toml"), updated);
    assert_eq!(run(&sandbox, &["--plan", &file]).0, 0);
}

/// A small deterministic random number generator (xorshift).
struct Rng(u64);

impl Rng {
    // The next number below `bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// Every file below `etc/` of the sandbox with its text (root shown as
/// `@ROOT@`), and the listing.
fn configuration(sandbox: &Sandbox) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = walkdir(&sandbox.path("etc"))
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (
                path.display()
                    .to_string()
                    .replace(sandbox.root_str(), "@ROOT@"),
                text.replace(sandbox.root_str(), "@ROOT@"),
            )
        })
        .collect();
    let listing = assert_success(&sandbox.run(&["-l"]));
    files.push(("-l".into(), listing.replace(sandbox.root_str(), "@ROOT@")));
    files
}

/// The regular files below `dir`, sorted.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

fn apply_killed_at_random_points_leaves_a_valid_host_and_a_rerun_converges() {
    let text = format!(
        "{THREE}\n[[instance]]\nname = \"postfix-d\"\ngroup = \"late\"\n[instance.main_cf]\nmynetworks = \"127.0.0.0/8\"\n"
    );
    let reference = Sandbox::new();
    let file = manifest(&reference, "m.toml", &text);
    let start = Instant::now();
    assert_success(&reference.run(&["--apply", &file]));
    let duration = start.elapsed().as_micros().max(1) as u64;
    let expected = configuration(&reference);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let budget = Instant::now();
    let mut trials = 0;
    let mut interrupted = 0;
    while trials < 100 && budget.elapsed() < Duration::from_secs(30) {
        trials += 1;
        let sandbox = Sandbox::new();
        let file = manifest(&sandbox, "m.toml", &text);
        let mut child = sandbox
            .command(&["--apply", &file])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(duration * 12 / 10)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !status.success() {
            interrupted += 1;
        }
        // Valid: it lists, and a plan is made.
        assert_success(&sandbox.run(&["-l"]));
        let (code, _, err) = run(&sandbox, &["--plan", &file]);
        assert!(code == 0 || code == 2, "trial {trials}: plan failed: {err}");
        let _ = assert_success(&sandbox.run(&["--apply", &file]));
        assert_eq!(run(&sandbox, &["--plan", &file]).0, 0, "trial {trials}");
        assert_eq!(configuration(&sandbox), expected, "trial {trials}");
    }
    eprintln!("{trials} trials, {interrupted} interrupted by kill -9");
    assert!(
        trials >= 10 && interrupted * 4 >= trials,
        "{trials} trials, {interrupted} interrupted"
    );
}

/// One instance of a random manifest or starting host.
#[derive(Debug, Clone)]
struct Sketch {
    name: usize,
    group: Option<usize>,
    enabled: bool,
    relayhost: Option<usize>,
}

fn sketch() -> impl Strategy<Value = Sketch> {
    (
        0..5usize,
        proptest::option::of(0..2usize),
        any::<bool>(),
        proptest::option::of(0..2usize),
    )
        .prop_map(|(name, group, enabled, relayhost)| Sketch {
            name,
            group,
            enabled,
            relayhost,
        })
}

/// Distinct names, in the order drawn.
fn distinct(sketches: Vec<Sketch>) -> Vec<Sketch> {
    let mut seen = Vec::new();
    sketches
        .into_iter()
        .filter(|s| {
            let new = !seen.contains(&s.name);
            seen.push(s.name);
            new
        })
        .collect()
}

/// For random starting hosts and manifests (a bounded number of cases),
/// apply then plan reports no change, and so does a plan of the host's
/// export.
fn apply_then_plan_reports_no_change() {
    let config = ProptestConfig {
        cases: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let strategy = (
        proptest::collection::vec(sketch(), 0..4),
        proptest::collection::vec(sketch(), 0..5),
        0..3usize,
    );
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |(host, wanted, prune)| {
        converges(host, wanted, prune)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// One case of [`apply_then_plan_reports_no_change`].
fn converges(host: Vec<Sketch>, wanted: Vec<Sketch>, prune: usize) -> Result<(), TestCaseError> {
    let sandbox = initialized();
    for s in distinct(host) {
        let name = format!("postfix-{}", s.name);
        let group = s.group.map(|g| format!("g{g}")).unwrap_or_default();
        assert_success(&sandbox.run(&["-e", "create", "-I", &name, "-G", &group]));
        if s.enabled {
            assert_success(&sandbox.run(&["-e", "enable", "-i", &name]));
        }
        if let Some(r) = s.relayhost {
            let cf = sandbox.path(&format!("etc/{name}/main.cf"));
            let text = std::fs::read_to_string(&cf).unwrap();
            std::fs::write(&cf, format!("{text}relayhost = [r{r}]\n")).unwrap();
        }
    }
    let mut text = format!("prune = \"{}\"\n", ["none", "deport", "destroy"][prune]);
    for s in distinct(wanted) {
        text.push_str(&format!(
            "[[instance]]\nname = \"postfix-{}\"\nenabled = {}\n",
            s.name, s.enabled
        ));
        if let Some(g) = s.group {
            text.push_str(&format!("group = \"g{g}\"\n"));
        }
        if let Some(r) = s.relayhost {
            text.push_str(&format!("main_cf.relayhost = \"[r{r}]:25\"\n"));
        }
    }
    let file = manifest(&sandbox, "m.toml", &text);
    let (code, _, err) = run(&sandbox, &["--apply", &file]);
    prop_assert_eq!(code, 0, "{}", err);
    let (code, out, _) = run(&sandbox, &["--plan", &file]);
    prop_assert_eq!(code, 0, "{}\n{}", text, out);
    let exported = assert_success(&sandbox.run(&["--export"]));
    let file = manifest(&sandbox, "exported.toml", &exported);
    prop_assert_eq!(run(&sandbox, &["--plan", &file]).0, 0, "{}", exported);
    Ok(())
}

/// The imperative commands a manifest stands for, run with the real
/// postmulti and postconf.
const IMPERATIVE: &str = "\
step init postmulti -e init
step create-out postmulti -I postfix-out -G mta -e create
step enable-out postmulti -i postfix-out -e enable
step set-out postconf -c /etc/postfix-out -e 'relayhost = [relay.example.com]:587' 'inet_interfaces = 127.0.0.1'
step create-in postmulti -I postfix-in -G mta -e create
step create-x postmulti -I postfix-x -e create config_directory=/etc/custom-x queue_directory=/var/spool/custom-x
step enable-x postmulti -i postfix-x -e enable
snapshot converged
step assign-in postmulti -i postfix-in -G inbound -e assign
step set-out-2 postconf -c /etc/postfix-out -e 'relayhost = [relay.example.com]:25'
snapshot changed
";

/// The same with ours, as manifests; then ours alone with real master
/// daemons: `--start`, `--reload`, and a prune refused for a running
/// instance.
fn declarative() -> String {
    let first = THREE
        .replace("@ROOT@/etc/", "/etc/")
        .replace("@ROOT@/spool/", "/var/spool/");
    let second = first
        .replacen(
            "group = \"mta\"\nenabled = false",
            "group = \"inbound\"\nenabled = false",
            1,
        )
        .replace("[relay.example.com]:587", "[relay.example.com]:25");
    let third = second.replace(
        "127.0.0.1\"",
        "127.0.0.1\"\nsmtpd_banner = \"$myhostname ESMTP\"",
    );
    let fourth = "prune = \"destroy\"\n[[instance]]\nname = \"postfix-in\"\ngroup = \"inbound\"\nenabled = false\n";
    format!(
        "cat >$SCRATCH/m1.toml <<'EOF'\n{first}EOF\n\
         cat >$SCRATCH/m2.toml <<'EOF'\n{second}EOF\n\
         cat >$SCRATCH/m3.toml <<'EOF'\n{third}EOF\n\
         cat >$SCRATCH/m4.toml <<'EOF'\n{fourth}EOF\n\
         step plan-1 postmulti --plan $SCRATCH/m1.toml\n\
         step apply-1 postmulti --apply $SCRATCH/m1.toml\n\
         step plan-1-again postmulti --plan $SCRATCH/m1.toml\n\
         snapshot converged\n\
         step apply-2 postmulti --apply $SCRATCH/m2.toml\n\
         snapshot changed\n\
         step start postmulti --apply $SCRATCH/m2.toml --start -j\n\
         step status-out postmulti -i postfix-out -p status\n\
         step status-in postmulti -i postfix-in -p status\n\
         step reload postmulti --apply $SCRATCH/m3.toml --reload -j\n\
         step plan-3 postmulti --plan $SCRATCH/m3.toml --start\n\
         step prune-running postmulti --apply $SCRATCH/m4.toml\n\
         step stop postmulti -p stop\n"
    )
}

fn apply_leaves_the_trees_the_imperative_commands_leave() {
    use postmulti_e2e::namespace;
    let (real, ours) = namespace::run_side_by_side(IMPERATIVE, &declarative());
    for step in &real.steps {
        assert_eq!(step.status, 0, "real: {step}");
    }
    let status = |name: &str| ours.step(name).status;
    assert_eq!(status("plan-1"), 2, "{}", ours.step("plan-1"));
    assert_eq!(status("apply-1"), 0, "{}", ours.step("apply-1"));
    assert_eq!(ours.step("plan-1-again").stdout, "no changes\n");
    assert_eq!(status("apply-2"), 0, "{}", ours.step("apply-2"));
    let volatile = |path: &str| path.ends_with("/.tmp");
    for label in ["converged", "changed"] {
        let r = real.snapshot(label).without(volatile);
        let o = ours.snapshot(label).without(volatile);
        assert_eq!(
            r.diff(&o),
            Vec::<String>::new(),
            "snapshot {label}: left real, right ours"
        );
    }
    // --start started exactly the enabled instances, with real masters.
    let started: Value = serde_json::from_str(&ours.step("start").stdout).expect("JSON");
    assert_eq!(
        kinds(&started),
        ["start", "start"],
        "{}",
        ours.step("start")
    );
    assert_eq!(status("status-out"), 0, "{}", ours.step("status-out"));
    assert_ne!(status("status-in"), 0, "{}", ours.step("status-in"));
    // A running instance's main.cf changed: --reload reloads it.
    let reloaded: Value = serde_json::from_str(&ours.step("reload").stdout).expect("JSON");
    assert_eq!(
        kinds(&reloaded),
        ["set", "reload"],
        "{}",
        ours.step("reload")
    );
    assert_eq!(reloaded["actions"][1]["instance"], "postfix-out");
    assert_eq!(ours.step("plan-3").stdout, "no changes\n");
    // prune = "destroy" refuses a running instance, naming it.
    let [refusal] = &ours.step("prune-running").stderr_fatals()[..] else {
        panic!("{}", ours.step("prune-running"));
    };
    assert!(
        refusal.starts_with(
            "prune = \"destroy\": instance postfix-out (/etc/postfix-out) is running; \
             stop it, or name it in "
        ) && refusal.ends_with("/m4.toml"),
        "{refusal}"
    );
}

/// A manifest naming one instance.
const ONE: &str = "[[instance]]\nname = \"postfix-one\"\ngroup = \"g\"\n";

/// Gives `path` (not followed) the owner `uid` and the permission bits
/// `mode`.
fn own(path: &std::path::Path, uid: u32, mode: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None).unwrap();
    if !std::fs::symlink_metadata(path).unwrap().is_symlink() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn manifests_others_could_write_are_refused_by_apply_and_warned_of_by_plan() {
    const NOBODY: u32 = 65534;
    let sandbox = Sandbox::new();
    let file = manifest(&sandbox, "m.toml", ONE);
    let refusal = "; --apply takes a manifest only from a regular file that neither group \
                   nor others can write, owned by root (or you), in a directory alike";
    std::fs::create_dir(sandbox.path("pub")).unwrap();
    own(&sandbox.path("pub"), 0, 0o777);
    let in_pub = manifest(&sandbox, "pub/m.toml", ONE);
    let cases = [
        (
            NOBODY,
            0o644,
            file.as_str(),
            "it is owned by uid 65534".to_string(),
        ),
        (0, 0o664, &file, "it is writable by its group".to_string()),
        (0, 0o646, &file, "it is writable by others".to_string()),
        (
            0,
            0o644,
            &in_pub,
            sandbox.expand("@ROOT@/pub is writable by others"),
        ),
    ];
    for (uid, mode, path, reason) in cases {
        own(std::path::Path::new(path), uid, mode);
        sandbox.assert_refused(&["--apply", path], &format!("{path}: {reason}{refusal}"));
        // --plan changes nothing either way: it reads, warns and plans.
        let before = sandbox.snapshot();
        let (code, out, err) = run(&sandbox, &["--plan", path]);
        assert_eq!(code, 2, "{err}");
        assert!(out.starts_with("init: "), "{out}");
        assert_eq!(
            err,
            format!("postmulti: warning: {path}: {reason}; --apply will refuse this manifest\n")
        );
        sandbox.assert_unchanged(&before);
        own(std::path::Path::new(path), 0, 0o644);
    }
    // Trusted again: applied.
    assert_success(&sandbox.run(&["--apply", &file]));
    assert_eq!(run(&sandbox, &["--plan", &in_pub]).0, 0);
}

fn manifests_are_read_only_from_regular_files_of_sane_size() {
    let sandbox = Sandbox::new();
    let file = manifest(&sandbox, "m.toml", ONE);
    std::os::unix::fs::symlink(&file, sandbox.path("link.toml")).unwrap();
    nix::unistd::mkfifo(
        &sandbox.path("fifo.toml"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let mut big = vec![b'#'; 16 << 20];
    big.push(b'\n');
    std::fs::write(sandbox.path("big.toml"), &big).unwrap();
    std::fs::write(sandbox.path("latin1.toml"), b"# caf\xe9\n").unwrap();
    let nested = format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let cases = [
        (
            "link.toml",
            "is a symbolic link, which postmulti does not follow",
        ),
        ("fifo.toml", "is not a regular file"),
        ("big.toml", "larger than 16777216 bytes"),
        (
            "latin1.toml",
            "not UTF-8 text: invalid utf-8 sequence of 1 bytes from index 5",
        ),
        ("/dev/zero", "is not a regular file"),
    ];
    for (name, message) in cases {
        let path = sandbox.path(name).display().to_string();
        for mode in ["--plan", "--apply"] {
            let before = sandbox.snapshot();
            let output = sandbox.run_within(&[mode, &path], 20);
            assert_fatal(&output, &format!("{path}: {message}"));
            sandbox.assert_unchanged(&before);
        }
    }
    // Held before: TOML's own limits, located.
    for (text, message) in [
        ("[[instance]]\nname = \"postfix-a\"\nname = \"postfix-b\"\n", "3:1: duplicate key"),
        (nested.as_str(), "1:85: cannot recurse further; max recursion depth met"),
        ("[[instance]]\nname = \"postfix-a\"\ngroup = \"g\\nmulti_instance_enable = no\"\n",
         "2:8: Unsafe characters in '-G g?multi_instance_enable = no'"),
        ("[[instance]]\nname = \"postfix-../../etc\"\n",
         "2:8: Illegal '/' character in new instance name: 'postfix-../../etc'"),
        ("[[instance]]\nname = \"postfix-a\"\n[instance.main_cf]\nrelayhost = \"a\\u0000b\"\n",
         "4:13: main_cf.relayhost: control characters and leading or trailing white space cannot be kept in main.cf"),
    ] {
        let path = manifest(&sandbox, "bad.toml", text);
        sandbox.assert_refused(&["--apply", &path], &format!("{path}:{message}"));
    }
    // Standard input is bounded too.
    let output = sandbox.run_with_input(&["--plan", "-"], &"#".repeat((16 << 20) + 1));
    assert_fatal(&output, "-: larger than 16777216 bytes");
}

fn export_never_writes_through_a_link_nor_where_apply_would_refuse() {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run_with_input(&["--apply", "-"], ONE));
    let victim = sandbox.path("victim");
    std::fs::write(&victim, "prune = \"destroy\"\n").unwrap();
    own(&victim, 65534, 0o600);
    std::os::unix::fs::symlink(&victim, sandbox.path("link.toml")).unwrap();
    std::fs::create_dir(sandbox.path("pub")).unwrap();
    own(&sandbox.path("pub"), 0, 0o1777);
    std::fs::write(sandbox.path("planted.toml"), "prune = \"destroy\"\n").unwrap();
    own(&sandbox.path("planted.toml"), 65534, 0o644);
    std::fs::create_dir(sandbox.path("dir.toml")).unwrap();
    // A directory of ours below another user's, which they could swap.
    std::fs::create_dir_all(sandbox.path("nobody/sub")).unwrap();
    own(&sandbox.path("nobody"), 65534, 0o755);
    let tail = "; --export writes only a manifest --apply would take";
    for (name, message) in [
        (
            "link.toml",
            "@ROOT@/link.toml: is a symbolic link; postmulti does not write through one"
                .to_string(),
        ),
        (
            "dir.toml",
            "@ROOT@/dir.toml: is not a regular file".to_string(),
        ),
        (
            "pub/new.toml",
            format!("@ROOT@/pub/new.toml: @ROOT@/pub is writable by others{tail}"),
        ),
        (
            "planted.toml",
            format!("@ROOT@/planted.toml: it is owned by uid 65534{tail}"),
        ),
        (
            "nobody/sub/new.toml",
            format!("@ROOT@/nobody/sub/new.toml: @ROOT@/nobody is owned by uid 65534{tail}"),
        ),
    ] {
        sandbox.assert_refused(&["--export", &format!("@ROOT@/{name}")], &message);
    }
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "prune = \"destroy\"\n"
    );
    // Where it may write, the file is the host's manifest, and ours.
    assert_success(&sandbox.run(&["--export", "@ROOT@/ok.toml"]));
    let exported = sandbox.path("ok.toml");
    assert!(sandbox.read("ok.toml").contains("name = \"postfix-one\""));
    assert_eq!(std::fs::symlink_metadata(&exported).unwrap().uid(), 0);
    assert_eq!(
        run(&sandbox, &["--apply", &exported.display().to_string()]).0,
        0
    );
}

fn concurrent_applies_take_turns_and_both_converge() {
    let sandbox = Sandbox::new();
    let manifests: Vec<String> = (0..4)
        .map(|n| {
            let text = format!(
                "[[instance]]\nname = \"postfix-c{n}\"\ngroup = \"g\"\n[instance.main_cf]\nrelayhost = \"[r{n}]\"\n"
            );
            manifest(&sandbox, &format!("m{n}.toml"), &text)
        })
        .collect();
    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let runs: Vec<_> = manifests
            .iter()
            .map(|file| scope.spawn(|| sandbox.run(&["--apply", file])))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    for output in &outputs {
        assert_success(output);
    }
    // Every instance exists once, listed once, and each manifest holds.
    for (n, file) in manifests.iter().enumerate() {
        assert_eq!(run(&sandbox, &["--plan", file]).0, 0, "{file}");
        assert_eq!(
            entry(
                &sandbox.read(&format!("etc/postfix-c{n}/main.cf")),
                "relayhost"
            )
            .as_deref(),
            Some(format!("[r{n}]").as_str())
        );
    }
    let listed = entry(&sandbox.main_cf(), "multi_instance_directories").unwrap();
    let mut dirs: Vec<&str> = listed.split_whitespace().collect();
    dirs.sort();
    let expected: Vec<String> = (0..4)
        .map(|n| sandbox.expand(&format!("@ROOT@/etc/postfix-c{n}")))
        .collect();
    assert_eq!(dirs, expected);
}

fn a_template_others_could_write_is_refused() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("tpl")).unwrap();
    for name in ["main.cf.proto", "master.cf.proto"] {
        let proto = format!("{TEMPLATES}/outbound-relay/{name}");
        std::fs::copy(proto, sandbox.path(&format!("tpl/{name}"))).unwrap();
    }
    let file = manifest(
        &sandbox,
        "m.toml",
        "[[instance]]\nname = \"postfix-t\"\ntemplate = \"@ROOT@/tpl\"\n",
    );
    let refused = |reason: &str| {
        format!(
            "{file}:2:8: instance postfix-t: template @ROOT@/tpl: {reason}; its prototypes \
             would become the instance's main.cf and master.cf"
        )
    };
    own(&sandbox.path("tpl"), 0, 0o777);
    for mode in ["--plan", "--apply"] {
        sandbox.assert_refused(&[mode, &file], &refused("@ROOT@/tpl is writable by others"));
    }
    own(&sandbox.path("tpl"), 0, 0o755);
    own(&sandbox.path("tpl/master.cf.proto"), 65534, 0o644);
    for mode in ["--plan", "--apply"] {
        sandbox.assert_refused(
            &[mode, &file],
            &refused("master.cf.proto: it is owned by uid 65534"),
        );
    }
    own(&sandbox.path("tpl/master.cf.proto"), 0, 0o644);
    assert_success(&sandbox.run(&["--apply", &file]));
    assert!(sandbox.read("etc/postfix-t/master.cf").contains("10587"));
}

fn twenty_thousand_settings_plan_in_well_under_a_second() {
    let sandbox = initialized();
    let mut text = String::from("[[instance]]\nname = \"postfix-big\"\n[instance.main_cf]\n");
    for i in 0..20_000 {
        text.push_str(&format!("x_param_{i} = \"v{i}\"\n"));
    }
    let file = manifest(&sandbox, "big.toml", &text);
    let start = Instant::now();
    let (code, out, err) = run(&sandbox, &["--plan", &file]);
    let took = start.elapsed();
    assert_eq!(code, 2, "{err}");
    assert!(out.contains("set postfix-big: x_param_19999 = v19999 (not set)"));
    assert!(took < Duration::from_secs(1), "--plan took {took:?}");
}

/// A manifest setting postfix-one's `relayhost` to `host`.
fn relaying(host: &str) -> String {
    format!("[[instance]]\nname = \"postfix-one\"\n[instance.main_cf]\nrelayhost = \"{host}\"\n")
}

fn apply_reads_the_manifest_it_checked_while_an_attacker_swaps_directories() {
    let sandbox = Sandbox::new();
    std::fs::set_permissions(sandbox.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root's manifest, in directories of root's.
    sandbox.write("trusted/sub/m.toml", &relaying("good.example"));
    // The attacker's directory: `d` leads to the attacker's copy, and to
    // root's directory (RENAME_EXCHANGE with `e`) as soon as the copy has
    // been read, for the trust check that follows the read.
    let att = sandbox.path("att");
    attacker_dir(&att);
    sandbox.write("att/evil/sub/m.toml", &relaying("evil.example"));
    give_to_attacker(&sandbox.path("att/evil"));
    std::os::unix::fs::symlink(sandbox.path("att/evil"), att.join("d")).unwrap();
    std::os::unix::fs::symlink(sandbox.path("trusted"), att.join("e")).unwrap();
    let path = sandbox.path("att/d/sub/m.toml").display().to_string();
    let swapper = Swapper::start(&att, "d", "e", Some(&att.join("evil/sub/m.toml")));
    let mut refusals = Vec::new();
    let outcome = trials(200, Duration::from_secs(20), |_| {
        let output = sandbox.run(&["--apply", &path]);
        let main_cf = std::fs::read_to_string(sandbox.path("etc/postfix-one/main.cf"));
        if main_cf.is_ok_and(|text| text.contains("evil.example")) {
            return Some("root applied the attacker's relayhost".to_string());
        }
        if output.status.code() != Some(0) {
            refusals.push(stderr(&output));
        }
        None
    });
    drop(swapper);
    let ran = outcome.unwrap_or_else(|failure| panic!("{failure}"));
    // Never through the attacker's directory, whichever way it pointed.
    assert_eq!(refusals.len(), ran);
    let refused = sandbox.expand(&format!(
        "postmulti: fatal: {path}: @ROOT@/att is owned by uid {NOBODY}; --apply takes"
    ));
    let other = refusals.iter().find(|err| !err.starts_with(&refused));
    assert_eq!(other, None, "of {ran} refusals");
}

fn export_leaves_out_names_and_groups_a_manifest_cannot_hold() {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run_with_input(&["--apply", "-"], ONE));
    for (dir, name, group) in [
        ("postfix-q", "postfix-\"q x", "mta"),
        ("postfix-g", "postfix-g", "m t"),
        ("postfix-h", "postfix-h", "-"),
    ] {
        assert_success(&sandbox.run(&["-I", dir, "-e", "create"]));
        let main_cf = format!("etc/{dir}/main.cf");
        let edited = format!(
            "{}multi_instance_name = {name}\nmulti_instance_group = {group}\n",
            sandbox.read(&main_cf)
        );
        sandbox.write(&main_cf, &edited);
    }
    let output = sandbox.run(&["--export"]);
    assert_eq!(
        stderr(&output),
        sandbox.expand(
            "postmulti: warning: instance @ROOT@/etc/postfix-q not exported: \
             Unsafe characters in new instance name: 'postfix-\"q x'\n\
             postmulti: warning: instance @ROOT@/etc/postfix-g not exported: \
             Unsafe characters in '-G m t'\n\
             postmulti: warning: instance @ROOT@/etc/postfix-h not exported: \
             group \"-\" is what -G says for no group: leave group out or set it to \"\"\n"
        )
    );
    // What it exported, --apply takes: the others are unmanaged.
    let exported = manifest(&sandbox, "exported.toml", &stdout(&output));
    let (code, out, err) = run(&sandbox, &["--plan", &exported]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.starts_with("no changes\nunmanaged postfix-\"q x:"),
        "{out}"
    );
}

fn many_main_cf_settings_are_written_in_one_pass() {
    // 30 000 settings (0.6 MB of manifest, far below its 16 MiB limit): one
    // rewrite of main.cf per setting took a minute; one pass takes well
    // under a second.
    let sandbox = Sandbox::new();
    let mut text = String::from("[[instance]]\nname = \"postfix-many\"\n[instance.main_cf]\n");
    for n in 0..30_000 {
        text.push_str(&format!("many_{n} = \"v{n}\"\n"));
    }
    let file = manifest(&sandbox, "m.toml", &text);
    let start = Instant::now();
    let (code, _, err) = run(&sandbox, &["--apply", &file]);
    let took = start.elapsed();
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(took < Duration::from_secs(10), "--apply took {took:?}");
    let main_cf = sandbox.read("etc/postfix-many/main.cf");
    assert_eq!(entry(&main_cf, "many_0").as_deref(), Some("v0"));
    assert_eq!(entry(&main_cf, "many_29999").as_deref(), Some("v29999"));
    assert!(main_cf.ends_with("many_29998 = v29998\nmany_29999 = v29999\n"));
    assert_eq!(run(&sandbox, &["--plan", &file]).0, 0);
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        apply_converges_and_a_second_run_changes_nothing,
        unmanaged_instances_are_reported_and_pruned_on_request,
        bad_manifests_are_refused_with_their_place_and_change_nothing,
        manifests_come_from_standard_input_and_export_round_trips,
        apply_killed_at_random_points_leaves_a_valid_host_and_a_rerun_converges,
        apply_then_plan_reports_no_change,
        manifests_others_could_write_are_refused_by_apply_and_warned_of_by_plan,
        manifests_are_read_only_from_regular_files_of_sane_size,
        export_never_writes_through_a_link_nor_where_apply_would_refuse,
        concurrent_applies_take_turns_and_both_converge,
        a_template_others_could_write_is_refused,
        export_leaves_out_names_and_groups_a_manifest_cannot_hold,
        many_main_cf_settings_are_written_in_one_pass,
        apply_reads_the_manifest_it_checked_while_an_attacker_swaps_directories,
        twenty_thousand_settings_plan_in_well_under_a_second
    ];
    Namespace: [apply_leaves_the_trees_the_imperative_commands_leave];
}
