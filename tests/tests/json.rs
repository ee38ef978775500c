//! `postmulti -l -j` end to end, in sandboxes: one JSON object per line,
//! upstream's four members (`name`, `group`, `enabled`, `config_directory`)
//! then ours (`queue_directory`, `data_directory`, `running`, `pid`,
//! `primary`), exactly, for every selection, with odd characters escaped.

use postmulti_e2e::fixtures::{four_secondaries, instance_dir, json_line, two_instances};
use postmulti_e2e::sandbox::{assert_success, stderr, stdout, FakeMaster, Sandbox};
use std::path::Path;
use std::process::Command;
use std::process::Stdio;

fn json_lines() {
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

fn json_escapes_odd_characters() {
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

fn json_lines_have_upstream_members_then_ours() {
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
        &instance_dir(&sandbox, "postfix-a"),
        &format!("{root}/spool/postfix-a"),
        &format!("{root}/lib/postfix-a"),
        Some(master.pid()),
        false,
    );
    let line_b = json_line(
        "postfix-b",
        "-",
        "n",
        &instance_dir(&sandbox, "postfix-b"),
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

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        json_lines,
        json_escapes_odd_characters,
        json_lines_have_upstream_members_then_ours,
    ];
}
