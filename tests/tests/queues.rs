//! Queue counts and Prometheus metrics (`-l --queues`, `--metrics`,
//! `--metrics-file`) against real Postfix instances holding real messages,
//! in a private namespace with real master daemons:
//!
//! - `postfix-a` (group mta, running) defers everything remote
//!   (`defer_transports = smtp`, relay `[127.0.0.1]:9`): five messages
//!   submitted with `sendmail` (postmulti's instances take mail from
//!   nobody until `authorized_submit_users` says so), two of them then held
//!   with `postsuper -h`;
//! - `postfix-b` (group mta, running) has empty queues;
//! - a nameless instance in `/etc/postfix-c`, never started: three messages
//!   submitted with `sendmail` wait in its maildrop;
//! - `postfix-d` (group mta) is broken at the end (its main.cf removed).
//!
//! For every instance the counts of `-l --queues -j` equal what `postqueue
//! -c DIR -j` reports, queue by queue, while the masters run and again after
//! `postfix stop` with real queue files copied under fresh queue ids into
//! `postfix-a`'s incoming, active and corrupt queues (`corrupt`, which
//! postqueue does not show, is compared with the files there). The age of
//! the oldest deferred message matches postqueue's arrival times. The
//! exposition parses with the real `prometheus_client.parser` and says the
//! same; `-g` and `-i` select; `--metrics-file` replaces its file atomically
//! (a reader never sees a partial file) with mode 0644; a broken instance
//! is a scrape error while the others are served.
//!
//! On sandbox primaries: label values with quotes, backslashes and braces
//! still parse; `--metrics-file` never writes through a symbolic link and
//! always leaves a file of its own, even over one planted by someone else.

use postmulti_e2e::fixtures::{initialized, words};
use postmulti_e2e::namespace::{self, Flavour, Outcome};
use postmulti_e2e::sandbox::{assert_success, Sandbox};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

/// The Python of the test tools' virtual environment (scripts/install-deps).
const TEST_PYTHON: &str = "/opt/postmulti-test-venv/bin/python";

/// The queues postqueue shows.
const SHOWN_QUEUES: [&str; 5] = ["incoming", "active", "deferred", "hold", "maildrop"];

/// Every instance's config directory, in listing order.
const INSTANCES: [&str; 5] = [
    "/etc/postfix",
    "/etc/postfix-a",
    "/etc/postfix-b",
    "/etc/postfix-c",
    "/etc/postfix-d",
];

/// The namespace script; `@N@` steps compare counts at moment N.
const SCRIPT: &str = r#"
wait_for() { for _ in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
submit() { # DIR RECIPIENT N
    for i in $(seq "$3"); do
        printf 'Subject: test %s\n\nbody %s\n' "$i" "$i" |
            sendmail -C "$1" -f sender@sandbox.example "$2" || return 1
    done
}
step init postmulti -e init
step create-a postmulti -I postfix-a -G mta -e create
step create-b postmulti -I postfix-b -G mta -e create
step create-c postmulti -I postfix-c -e create
step create-d postmulti -I postfix-d -G mta -e create
step nameless-c postmulti -i postfix-c -e assign -I -
step relay-a postconf -c /etc/postfix-a -e 'relayhost = [127.0.0.1]:9' 'defer_transports = smtp' \
    'minimal_backoff_time = 3600s' 'maximal_backoff_time = 3600s' 'queue_run_delay = 3600s'
step submit-users-a postconf -c /etc/postfix-a -e 'authorized_submit_users = root'
step submit-users-c postconf -c /etc/postfix-c -e 'authorized_submit_users = root'
step enable-a postmulti -i postfix-a -e enable
step enable-b postmulti -i postfix-b -e enable
step enable-d postmulti -i postfix-d -e enable
step start postfix start
step started wait_for '[ -s /var/spool/postfix-a/pid/master.pid ] && [ -s /var/spool/postfix-b/pid/master.pid ]'
step submit-a submit /etc/postfix-a rcpt@example.com 5
step submit-c submit /etc/postfix-c rcpt@example.com 3
step deferred-a wait_for '[ "$(postqueue -c /etc/postfix-a -j | grep -c "\"queue_name\": \"deferred\"")" = 5 ]'
step hold-a sh -c 'postqueue -c /etc/postfix-a -j | sed -n "s/.*\"queue_id\": \"\([^\"]*\)\".*/\1/p" | head -n 2 | postsuper -c /etc/postfix-a -h -'
step held-a wait_for '[ "$(postqueue -c /etc/postfix-a -j | grep -c "\"queue_name\": \"hold\"")" = 2 ]'
@1@
step metrics postmulti --metrics
step metrics-mta postmulti --metrics -g mta
step metrics-a postmulti --metrics -i a
step status-queues postmulti -l --queues --status
step plain-queues postmulti -l --queues
step stop postfix stop
step stopped wait_for '! [ -s /var/spool/postfix-a/pid/master.pid ] || ! postfix -c /etc/postfix-a status 2>/dev/null'
step copies sh -c 'set -e; f=$(find /var/spool/postfix-a/deferred -type f | head -n 1)
    cp -p "$f" /var/spool/postfix-a/incoming/1A2B3C4D5E
    cp -p "$f" /var/spool/postfix-a/active/2B3C4D5E6F
    cp -p "$f" /var/spool/postfix-a/active/3C4D5E6F70
    cp -p "$f" /var/spool/postfix-a/corrupt/4D5E6F7081
    cp -p "$f" /var/spool/postfix-a/incoming/not.a.queue.id
    ln -s "$f" /var/spool/postfix-a/hold/5E6F708192'
@2@
step corrupt-a sh -c 'find /var/spool/postfix-a/corrupt -type f | wc -l'
step memo stat -c '%a %U' /var/cache/postmulti/deferred-arrivals
step memo-a sh -c 'sed -n "\|^/var/spool/postfix-a$|,\|^/|p" /var/cache/postmulti/deferred-arrivals | grep -c "^[0-9a-f]\{16\} [0-9]* [0-9]*$"'
step file-dir mkdir -p -m 755 /var/lib/node_exporter/textfile
step file-first postmulti --metrics-file /var/lib/node_exporter/textfile/postmulti.prom
step file-mode stat -c '%a %U %F' /var/lib/node_exporter/textfile/postmulti.prom
step file-atomic sh -c 'f=/var/lib/node_exporter/textfile/postmulti.prom
    (for i in $(seq 100); do postmulti --metrics-file $f || exit 1; done) & writer=$!
    while kill -0 $writer 2>/dev/null; do wc -l < $f; done
    wait $writer'
step file-left ls -A /var/lib/node_exporter/textfile
step file-copy cat /var/lib/node_exporter/textfile/postmulti.prom
step break-d rm /etc/postfix-d/main.cf
step broken-metrics postmulti --metrics
step broken-metrics-mta postmulti --metrics -g mta
step broken-queues postmulti -l --queues --status
"#;

/// The steps that compare postmulti's counts with postqueue's at moment `n`.
fn comparison_steps(n: u32) -> String {
    let mut out = format!("step ours-{n} sh -c 'date +%s; postmulti -l --queues -j; date +%s'\n");
    for (i, dir) in INSTANCES.iter().take(4).enumerate() {
        out.push_str(&format!("step pq-{n}-{i} postqueue -c {dir} -j\n"));
    }
    out
}

/// postqueue's messages per queue, and its earliest deferred arrival time.
fn postqueue_counts(json_lines: &str) -> (BTreeMap<String, u64>, Option<i64>) {
    let mut counts: BTreeMap<String, u64> =
        SHOWN_QUEUES.iter().map(|q| (q.to_string(), 0)).collect();
    let mut oldest: Option<i64> = None;
    for line in json_lines.lines().filter(|l| !l.trim().is_empty()) {
        let message: serde_json::Value = serde_json::from_str(line).expect("postqueue -j line");
        let queue = message["queue_name"]
            .as_str()
            .expect("queue_name")
            .to_string();
        *counts.entry(queue.clone()).or_default() += 1;
        if queue == "deferred" {
            let arrival = message["arrival_time"].as_i64().expect("arrival_time");
            oldest = Some(oldest.map_or(arrival, |o| o.min(arrival)));
        }
    }
    (counts, oldest)
}

/// Checks the counts of step `ours-N` against postqueue's steps `pq-N-*`;
/// returns ours by config directory (`queues` and `oldest_deferred_age`).
fn compare(outcome: &Outcome, n: u32) -> BTreeMap<String, serde_json::Value> {
    let ours = outcome.step(&format!("ours-{n}"));
    assert_eq!(ours.status, 0, "{ours}\n{outcome}");
    let mut lines = ours.stdout.lines();
    let before: i64 = lines.next().unwrap().parse().unwrap();
    let mut by_dir = BTreeMap::new();
    let mut after = before;
    for line in lines {
        if let Ok(time) = line.parse::<i64>() {
            after = time;
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line).expect("-l --queues -j line");
        by_dir.insert(
            value["config_directory"].as_str().unwrap().to_string(),
            value,
        );
    }
    for (i, dir) in INSTANCES.iter().take(4).enumerate() {
        let pq = outcome.step(&format!("pq-{n}-{i}"));
        let (expected, oldest) = postqueue_counts(&pq.stdout);
        let mine = &by_dir[*dir];
        for queue in SHOWN_QUEUES {
            assert_eq!(
                mine["queues"][queue].as_u64(),
                Some(expected[queue]),
                "moment {n}, {dir}, {queue}: ours {mine}\npostqueue: {}\n{outcome}",
                pq.stdout
            );
        }
        match oldest {
            Some(arrival) => {
                let age = mine["oldest_deferred_age"].as_i64().expect("an age");
                assert!(
                    before - arrival <= age && age <= after - arrival,
                    "moment {n}, {dir}: age {age}, arrival {arrival}, between {before} and {after}"
                );
            }
            None => assert!(mine["oldest_deferred_age"].is_null(), "{mine}"),
        }
    }
    by_dir
}

/// Parses an exposition with the real `prometheus_client.parser`; returns
/// one `name{label="value",...} value` line per sample, labels sorted.
fn parse_exposition(text: &str) -> Vec<String> {
    let program = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    assert family.type == "gauge", family
    assert family.documentation, family
    for s in family.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %g" % (s.name, labels, s.value))
"#;
    let mut child = Command::new(TEST_PYTHON)
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the test venv's python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client.parser refused:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The parsed samples of a family, for the instance label `instance`.
fn samples<'a>(parsed: &'a [String], family: &str, instance: &str) -> Vec<&'a str> {
    let needle = format!("instance=\"{instance}\"");
    parsed
        .iter()
        .filter(|line| line.starts_with(&format!("{family}{{")) && line.contains(&needle))
        .map(String::as_str)
        .collect()
}

fn queue_counts_and_metrics_match_postqueue_on_real_instances() {
    if !std::path::Path::new(TEST_PYTHON).exists() {
        assert!(
            !postmulti_e2e::harness::in_ci(),
            "{TEST_PYTHON} is missing (scripts/install-deps installs it)"
        );
        eprintln!("skipped: {TEST_PYTHON} is missing");
        return;
    }
    let script = SCRIPT
        .replace("@1@", &comparison_steps(1))
        .replace("@2@", &comparison_steps(2));
    let outcome = namespace::run(Flavour::Ours, &script);
    let ok = |name: &str| {
        let step = outcome.step(name);
        assert!(step.status == 0, "step {name} failed:\n{step}\n{outcome}");
        step.stdout.clone()
    };
    for name in [
        "init",
        "create-a",
        "create-b",
        "create-c",
        "create-d",
        "nameless-c",
        "relay-a",
        "enable-a",
        "enable-b",
        "enable-d",
        "start",
        "started",
        "submit-a",
        "submit-c",
        "deferred-a",
        "hold-a",
        "held-a",
        "stop",
        "stopped",
        "copies",
    ] {
        ok(name);
    }

    // Running: a has 3 deferred and 2 held, b nothing, c (stopped) 3 in
    // its maildrop; each as postqueue says.
    let first = compare(&outcome, 1);
    let queues = |dir: &str| first[dir]["queues"].to_string();
    assert_eq!(
        queues("/etc/postfix-a"),
        r#"{"active":0,"corrupt":0,"deferred":3,"hold":2,"incoming":0,"maildrop":0}"#
    );
    assert_eq!(
        queues("/etc/postfix-b"),
        r#"{"active":0,"corrupt":0,"deferred":0,"hold":0,"incoming":0,"maildrop":0}"#
    );
    assert_eq!(
        queues("/etc/postfix-c"),
        r#"{"active":0,"corrupt":0,"deferred":0,"hold":0,"incoming":0,"maildrop":3}"#
    );
    assert_eq!(first["/etc/postfix-a"]["running"], true);
    assert_eq!(first["/etc/postfix-c"]["running"], false);

    // Stopped, with copies in incoming, active and corrupt: still counted,
    // as postqueue does; a symbolic link and a bad name are not messages.
    let second = compare(&outcome, 2);
    assert_eq!(
        second["/etc/postfix-a"]["queues"].to_string(),
        r#"{"active":2,"corrupt":1,"deferred":3,"hold":2,"incoming":1,"maildrop":0}"#
    );
    assert_eq!(second["/etc/postfix-a"]["running"], false);
    assert_eq!(ok("corrupt-a").trim(), "1");
    // The second count knew a's three deferred messages from the first.
    assert_eq!(ok("memo").trim(), "600 root");
    assert_eq!(ok("memo-a").trim(), "3");

    // The exposition: parsed by the real parser, saying the same.
    let metrics = ok("metrics");
    let parsed = parse_exposition(&metrics);
    assert!(!metrics.contains("# EOF"), "{metrics}");
    let a = samples(&parsed, "postmulti_queue_messages", "postfix-a");
    assert_eq!(
        a,
        [
            "postmulti_queue_messages{group=\"mta\",instance=\"postfix-a\",queue=\"incoming\"} 0",
            "postmulti_queue_messages{group=\"mta\",instance=\"postfix-a\",queue=\"active\"} 0",
            "postmulti_queue_messages{group=\"mta\",instance=\"postfix-a\",queue=\"deferred\"} 3",
            "postmulti_queue_messages{group=\"mta\",instance=\"postfix-a\",queue=\"hold\"} 2",
            "postmulti_queue_messages{group=\"mta\",instance=\"postfix-a\",queue=\"maildrop\"} 0",
            "postmulti_queue_messages{group=\"mta\",instance=\"postfix-a\",queue=\"corrupt\"} 0",
        ],
        "{metrics}"
    );
    // The nameless instance is labelled with its config directory, and so
    // is the nameless primary.
    assert_eq!(
        samples(&parsed, "postmulti_queue_messages", "/etc/postfix-c")[4],
        "postmulti_queue_messages{group=\"\",instance=\"/etc/postfix-c\",queue=\"maildrop\"} 3"
    );
    for (instance, up, enabled) in [
        ("/etc/postfix", 1, 1),
        ("postfix-a", 1, 1),
        ("postfix-b", 1, 1),
        ("/etc/postfix-c", 0, 0),
        ("postfix-d", 1, 1),
    ] {
        let group = if instance.starts_with('/') { "" } else { "mta" };
        let labels = format!("group=\"{group}\",instance=\"{instance}\"");
        assert_eq!(
            samples(&parsed, "postmulti_instance_up", instance),
            [format!("postmulti_instance_up{{{labels}}} {up}")],
            "{metrics}"
        );
        assert_eq!(
            samples(&parsed, "postmulti_instance_enabled", instance),
            [format!("postmulti_instance_enabled{{{labels}}} {enabled}")]
        );
        assert_eq!(
            samples(&parsed, "postmulti_scrape_errors", instance),
            [format!("postmulti_scrape_errors{{{labels}}} 0")]
        );
    }
    assert!(
        parsed.contains(&"postmulti_instances{} 5".to_string()),
        "{parsed:?}"
    );
    let age = samples(
        &parsed,
        "postmulti_queue_oldest_message_age_seconds",
        "postfix-a",
    );
    assert_eq!(age.len(), 1, "{metrics}");
    let first_age = first["/etc/postfix-a"]["oldest_deferred_age"]
        .as_i64()
        .unwrap();
    let age: i64 = age[0].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        (first_age..first_age + 30).contains(&age),
        "{age} vs {first_age}"
    );

    // Selection applies.
    let mta = parse_exposition(&ok("metrics-mta"));
    assert!(
        mta.contains(&"postmulti_instances{} 3".to_string()),
        "{mta:?}"
    );
    assert!(samples(&mta, "postmulti_instance_up", "/etc/postfix").is_empty());
    assert_eq!(samples(&mta, "postmulti_instance_up", "postfix-b").len(), 1);
    let just_a = parse_exposition(&ok("metrics-a"));
    assert!(
        just_a.contains(&"postmulti_instances{} 1".to_string()),
        "{just_a:?}"
    );
    assert_eq!(
        samples(&just_a, "postmulti_queue_messages", "postfix-a").len(),
        6
    );

    // The tables.
    let status = words(&ok("status-queues"));
    assert_eq!(
        status[0],
        "NAME GROUP ENABLED STATUS INCOMING ACTIVE DEFERRED HOLD MAILDROP CORRUPT OLDEST_DEFERRED CONFIG_DIRECTORY"
    );
    assert!(
        status[2].starts_with("postfix-a mta y running (pid "),
        "{status:?}"
    );
    assert!(status[2].contains(") 0 0 3 2 0 0 "), "{status:?}");
    assert_eq!(status[4], "- - n stopped 0 0 0 0 3 0 - /etc/postfix-c");
    let plain = words(&ok("plain-queues"));
    assert_eq!(
        plain[0],
        "NAME GROUP ENABLED INCOMING ACTIVE DEFERRED HOLD MAILDROP CORRUPT OLDEST_DEFERRED CONFIG_DIRECTORY"
    );
    assert_eq!(plain[3], "postfix-b mta y 0 0 0 0 0 0 - /etc/postfix-b");

    // --metrics-file: mode 0644, never seen partial, no temp file left, the
    // same families as --metrics.
    assert_eq!(ok("file-mode").trim(), "644 root regular file");
    let file = ok("file-copy");
    let lines = file.lines().count();
    let reads: Vec<&str> = outcome.step("file-atomic").stdout.lines().collect();
    assert_eq!(outcome.step("file-atomic").status, 0, "{outcome}");
    assert!(reads.len() > 10, "too few reads: {reads:?}");
    assert!(
        reads.iter().all(|n| n.trim() == lines.to_string()),
        "a reader saw a partial file: {reads:?}"
    );
    assert_eq!(ok("file-left").trim(), "postmulti.prom");
    let file_parsed = parse_exposition(&file);
    assert_eq!(file_parsed.len(), parsed.len());

    // A broken instance: reported, exit 1, a scrape error, and the others
    // still served.
    let broken = outcome.step("broken-metrics");
    assert_eq!(broken.status, 1, "{broken}");
    assert_eq!(
        broken.stderr,
        "postmulti: warning: instance /etc/postfix-d skipped: open /etc/postfix-d/main.cf: No such file or directory\n"
    );
    let parsed = parse_exposition(&broken.stdout);
    assert_eq!(
        samples(&parsed, "postmulti_scrape_errors", "/etc/postfix-d"),
        ["postmulti_scrape_errors{group=\"\",instance=\"/etc/postfix-d\"} 1"]
    );
    assert_eq!(
        samples(&parsed, "postmulti_queue_messages", "postfix-a").len(),
        6
    );
    assert_eq!(
        samples(&parsed, "postmulti_queue_messages", "postfix-b").len(),
        6
    );
    assert!(
        parsed.contains(&"postmulti_instances{} 5".to_string()),
        "{parsed:?}"
    );
    // Its group is unknown without its main.cf: -g mta does not reach it.
    let mta = outcome.step("broken-metrics-mta");
    assert_eq!(mta.status, 0, "{mta}");
    assert!(samples(
        &parse_exposition(&mta.stdout),
        "postmulti_scrape_errors",
        "/etc/postfix-d"
    )
    .is_empty());
    let table = outcome.step("broken-queues");
    assert_eq!(table.status, 1, "{table}");
    let rows = words(&table.stdout);
    assert_eq!(
        rows[5],
        "? ? ? broken: open /etc/postfix-d/main.cf: No such file or directory ? ? ? ? ? ? ? /etc/postfix-d",
        "{rows:?}"
    );
}

/// The sandbox's instance in `@ROOT@/etc/postfix-h`, renamed by hand to a
/// name and group with quotes, backslashes, braces and commas (which
/// main.cf holds) and a space.
fn hostile_labels() -> Sandbox {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", "postfix-h", "-G", "mta", "-e", "create"]));
    for queue in [
        "incoming", "active", "deferred", "hold", "maildrop", "corrupt",
    ] {
        std::fs::create_dir_all(sandbox.path(&format!("spool/postfix/{queue}"))).unwrap();
    }
    let main_cf = sandbox
        .read("etc/postfix-h/main.cf")
        .replace(
            "multi_instance_name = postfix-h\n",
            "multi_instance_name = postfix-\"q\\z}x n\n",
        )
        .replace(
            "multi_instance_group = mta\n",
            "multi_instance_group = m\"t\\a,b=\n",
        );
    sandbox.write("etc/postfix-h/main.cf", &main_cf);
    sandbox
}

fn hostile_label_values_stay_parseable() {
    if !std::path::Path::new(TEST_PYTHON).exists() {
        assert!(!postmulti_e2e::harness::in_ci(), "{TEST_PYTHON} is missing");
        eprintln!("skipped: {TEST_PYTHON} is missing");
        return;
    }
    let sandbox = hostile_labels();
    let text = assert_success(&sandbox.run(&["--metrics"]));
    let parsed = parse_exposition(&text);
    assert_eq!(
        samples(&parsed, "postmulti_instance_up", "postfix-\"q\\z}x n"),
        ["postmulti_instance_up{group=\"m\"t\\a,b=\",instance=\"postfix-\"q\\z}x n\"} 0"]
    );
    assert_eq!(
        parsed.iter().filter(|l| l.contains("m\"t\\a,b=")).count(),
        10
    );
}

fn metrics_file_never_writes_through_a_link_and_is_always_ours() {
    let sandbox = hostile_labels();
    let victim = sandbox.path("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::lchown(&victim, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::symlink(&victim, sandbox.path("link.prom")).unwrap();
    std::fs::create_dir(sandbox.path("dir.prom")).unwrap();
    sandbox.assert_refused(
        &["--metrics-file", "@ROOT@/link.prom"],
        "@ROOT@/link.prom: is a symbolic link; postmulti does not write through one",
    );
    sandbox.assert_refused(
        &["--metrics-file", "@ROOT@/dir.prom"],
        "@ROOT@/dir.prom: is not a regular file",
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // A file planted by someone else, in a directory anyone can write, is
    // replaced by one of ours (they could replace it again, but never make
    // postmulti write where they choose or keep their own file).
    std::fs::create_dir(sandbox.path("pub")).unwrap();
    std::fs::set_permissions(sandbox.path("pub"), PermissionsExt::from_mode(0o1777)).unwrap();
    let planted = sandbox.path("pub/postmulti.prom");
    std::fs::write(&planted, "forged 1\n").unwrap();
    std::os::unix::fs::lchown(&planted, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&planted, PermissionsExt::from_mode(0o666)).unwrap();
    let out = assert_success(&sandbox.run(&["--metrics-file", "@ROOT@/pub/postmulti.prom"]));
    assert_eq!(out, "");
    let meta = std::fs::symlink_metadata(&planted).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o644)
    );
    assert!(sandbox
        .read("pub/postmulti.prom")
        .starts_with("# HELP postmulti_instances "));
    let names: Vec<_> = std::fs::read_dir(sandbox.path("pub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["postmulti.prom"]);
}

fn an_arrivals_memo_of_another_owner_is_replaced_by_ours() {
    // A memo another user owns is distrusted (its deferred files are read
    // again) and replaced; the replacement kept that owner, so every later
    // run distrusted it again, and that user could read it.
    let sandbox = initialized();
    let cache = sandbox.path("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, PermissionsExt::from_mode(0o700)).unwrap();
    let memo = cache.join("deferred-arrivals");
    std::fs::write(&memo, "garbage\n").unwrap();
    std::fs::set_permissions(&memo, PermissionsExt::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&memo, Some(1000), Some(1000)).unwrap();
    for queue in ["deferred", "active"] {
        std::fs::create_dir_all(sandbox.path(&format!("spool/postfix/{queue}"))).unwrap();
    }
    let output = sandbox
        .command(&["--metrics"])
        .env(postmulti_core::cache::CACHE_DIRECTORY_VARIABLE, &cache)
        .output()
        .unwrap();
    assert_success(&output);
    let meta = std::fs::symlink_metadata(&memo).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777, meta.is_file()),
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
            0o600,
            true
        )
    );
    assert!(std::fs::read_to_string(&memo)
        .unwrap()
        .starts_with("# postmulti: arrival times"));
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        hostile_label_values_stay_parseable,
        metrics_file_never_writes_through_a_link_and_is_always_ours,
        an_arrivals_memo_of_another_owner_is_replaced_by_ours
    ];
    Namespace: [queue_counts_and_metrics_match_postqueue_on_real_instances];
}
