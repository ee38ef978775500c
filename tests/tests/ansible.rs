//! The Ansible collection `postmulti.postmulti` (`contrib/ansible`), end to
//! end, as root against the installed Postfix, with the real ansible-core of
//! the test tools' virtual environment (`scripts/install-deps`), running
//! real playbooks with `ansible-playbook` against `localhost` over the local
//! connection:
//!
//! - the collection builds with `ansible-galaxy collection build` and
//!   installs with `ansible-galaxy collection install`; `ansible-doc` shows
//!   both modules' documentation; its Python unit tests pass; `ansible-test
//!   sanity` passes (`scripts/ansible-sanity`);
//! - `postmulti.postmulti.instances` on a sandbox primary
//!   (`config_directory`, that is `-c DIR`): check mode changes nothing and
//!   reports what `--plan -j` reports; the first run converges, the second
//!   reports `changed=0`; `--check --diff` after an edited parameter shows
//!   exactly that main.cf line and changes nothing; template, directories
//!   and prune reach postmulti; a bad manifest fails with postmulti's own
//!   message in both modes;
//! - the example playbook (`contrib/ansible/examples/fleet.yml`) in a
//!   private namespace with real Postfix: two instances, a real master
//!   started for the enabled one, its pid in the facts, a second run with
//!   `changed=0`, and check and diff mode showing one edited line;
//! - `postmulti.postmulti.facts` returns what `postmulti -l -j` lists, in
//!   order, with a running master and its pid, and fails with postmulti's
//!   warning when an instance is broken;
//! - both modules fail clearly when postmulti is missing, is Postfix's own
//!   (no `--version`) or is too old, and Ansible's argument spec refuses
//!   bad options before postmulti runs.
//!
//! Every Ansible file (collections, temporary files, its home) lives in the
//! test's own temporary directory; nothing lands in `/root/.ansible`.

use postmulti_e2e::namespace::{self, Flavour};
use postmulti_e2e::sandbox::{assert_success, postmulti_bin, stdout, FakeMaster, Sandbox};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The virtual environment with ansible-core (`scripts/install-deps ansible`).
const VENV: &str = postmulti_e2e::harness::TEST_VENV;

/// The collection's sources.
const COLLECTION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../contrib/ansible");

/// The collection's version (`galaxy.yml`), which is postmulti's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The collection built and installed in a temporary directory, with
/// Ansible's home, temporary files and playbooks there too.
struct Ansible {
    dir: tempfile::TempDir,
}

impl Ansible {
    /// Builds the collection with `ansible-galaxy collection build` and
    /// installs the archive with `ansible-galaxy collection install -p`
    /// (panics, saying how to install it, when ansible-core is missing).
    fn new() -> Ansible {
        assert!(
            Path::new(VENV).join("bin/ansible-playbook").is_file(),
            "ansible-core is not installed in {VENV}: run scripts/install-deps ansible"
        );
        let dir = tempfile::Builder::new()
            .prefix("postmulti-ansible.")
            .tempdir()
            .expect("a temporary directory");
        let ansible = Ansible { dir };
        for sub in ["home", "tmp", "build", "collections", "bin", "results"] {
            std::fs::create_dir_all(ansible.path(sub)).expect("ansible directories");
        }
        let build = ansible.run(
            "ansible-galaxy",
            &[
                "collection",
                "build",
                "--output-path",
                &ansible.path_str("build"),
                COLLECTION,
            ],
        );
        assert_ok(&build, "ansible-galaxy collection build");
        let archive = ansible.path_str(&format!("build/postmulti-postmulti-{VERSION}.tar.gz"));
        let install = ansible.run(
            "ansible-galaxy",
            &[
                "collection",
                "install",
                "-p",
                &ansible.path_str("collections"),
                &archive,
            ],
        );
        assert_ok(&install, "ansible-galaxy collection install");
        ansible
    }

    /// A path below the temporary directory.
    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// [`Ansible::path`] as a string.
    fn path_str(&self, relative: &str) -> String {
        self.path(relative)
            .to_str()
            .expect("a UTF-8 temporary directory")
            .to_string()
    }

    /// Where the installed collection is.
    fn installed(&self) -> PathBuf {
        self.path("collections/ansible_collections/postmulti/postmulti")
    }

    /// A command running `tool` of [`VENV`] with Ansible's files in the
    /// temporary directory, `PATH` holding only the system's directories
    /// and the temporary `bin`, standard input closed, and no
    /// `MAIL_CONFIG`.
    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(Path::new(VENV).join("bin").join(tool));
        command
            .current_dir(self.dir.path())
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.path_str("bin")),
            )
            .env("HOME", self.path("home"))
            .env("ANSIBLE_HOME", self.path("home/.ansible"))
            .env("ANSIBLE_LOCAL_TEMP", self.path("tmp/local"))
            .env("ANSIBLE_REMOTE_TEMP", self.path("tmp/remote"))
            .env("ANSIBLE_COLLECTIONS_PATH", self.path("collections"))
            .env(
                "ANSIBLE_PYTHON_INTERPRETER",
                Path::new(VENV).join("bin/python"),
            )
            .env("ANSIBLE_NOCOLOR", "1")
            .env("LC_ALL", "C.UTF-8")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env_remove("ANSIBLE_CONFIG")
            .env_remove("MAIL_CONFIG")
            .stdin(Stdio::null());
        command
    }

    /// Runs `tool` with `args`, see [`Ansible::command`].
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        self.command(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"))
    }

    /// Runs a play on localhost over the local connection (with
    /// `ansible-playbook` options `args`, such as `--check` or `--diff`): one
    /// task calling `module` with `options`, whose registered result is
    /// returned beside the run's output. The module's failure does not stop
    /// the play: the result then holds `failed` and `msg`.
    fn play(&self, module: &str, options: &Value, args: &[&str]) -> Play {
        self.plays(&[(module, options.clone())], args)
    }

    /// [`Ansible::play`] with one task per `(module, options)`, in one play;
    /// [`Play::results`] holds each task's result.
    fn plays(&self, tasks: &[(&str, Value)], args: &[&str]) -> Play {
        let result_file = self.path_str("results/result.json");
        let _ = std::fs::remove_file(&result_file);
        let mut play_tasks: Vec<Value> = tasks
            .iter()
            .enumerate()
            .map(|(index, (module, options))| {
                json!({
                    "name": format!("task {index}"),
                    *module: options,
                    "register": format!("result_{index}"),
                    "ignore_errors": true,
                })
            })
            .collect();
        let all_results: Vec<String> = (0..tasks.len()).map(|i| format!("result_{i}")).collect();
        play_tasks.push(json!({
            "name": "record the results",
            "ansible.builtin.copy": {
                "content": format!("{{{{ [{}] | to_json }}}}", all_results.join(", ")),
                "dest": result_file,
            },
            "check_mode": false,
            "diff": false,
            "changed_when": false,
        }));
        let playbook = json!([{
            "hosts": "localhost",
            "gather_facts": false,
            "tasks": play_tasks,
        }]);
        // JSON is YAML.
        std::fs::write(self.path("playbook.yml"), playbook.to_string())
            .expect("write the playbook");
        let mut all = vec!["-i", "localhost,", "-c", "local"];
        all.extend_from_slice(args);
        all.push("playbook.yml");
        let output = self.run("ansible-playbook", &all);
        let text = stdout(&output);
        assert_eq!(
            output.status.code(),
            Some(0),
            "ansible-playbook failed\nstdout:\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let results = std::fs::read_to_string(&result_file)
            .unwrap_or_else(|e| panic!("read {result_file}: {e}\n{text}"));
        let Value::Array(results) = serde_json::from_str(&results).expect("the results are JSON")
        else {
            panic!("the results are not a list: {results}");
        };
        Play {
            result: results[0].clone(),
            results,
            recap: recap(&text),
            stdout: text,
        }
    }

    /// Installs `text` as an executable `bin/NAME`, first on the plays' `PATH`.
    fn install_bin(&self, name: &str, text: &str) -> String {
        let path = self.path_str(&format!("bin/{name}"));
        std::fs::write(&path, text).expect("write the program");
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o755)).expect("chmod");
        path
    }
}

/// What a play did.
#[derive(Debug)]
struct Play {
    /// The first task's registered result.
    result: Value,
    /// Every task's registered result.
    results: Vec<Value>,
    /// The `PLAY RECAP` counters of localhost (`ok`, `changed`, `failed`,
    /// `ignored`...).
    recap: BTreeMap<String, u64>,
    /// `ansible-playbook`'s standard output.
    stdout: String,
}

impl Play {
    /// The failure message of the first task (panics when it did not fail).
    fn failure(&self) -> &str {
        self.failure_of(0)
    }

    /// The failure message of task `index` (panics when it did not fail).
    fn failure_of(&self, index: usize) -> &str {
        let result = &self.results[index];
        assert_eq!(
            result["failed"],
            json!(true),
            "task {index} should have failed:\n{}",
            self.stdout
        );
        result["msg"].as_str().expect("a failure message")
    }
}

/// The counters of localhost's `PLAY RECAP` line.
fn recap(stdout: &str) -> BTreeMap<String, u64> {
    let line = stdout
        .lines()
        .skip_while(|line| !line.starts_with("PLAY RECAP"))
        .find(|line| line.starts_with("localhost"))
        .unwrap_or_else(|| panic!("no PLAY RECAP line for localhost:\n{stdout}"));
    line.split_whitespace()
        .filter_map(|word| word.split_once('='))
        .map(|(key, value)| (key.to_string(), value.parse().expect("a count")))
        .collect()
}

/// Asserts that a tool succeeded, showing its output when not.
fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The built postmulti as a string.
fn ours() -> String {
    postmulti_bin().to_str().expect("a UTF-8 path").to_string()
}

/// An initialized sandbox with `postfix-a` (group `mta`, enabled) and
/// `postfix-b` (disabled), made by the built postmulti.
fn two_instances() -> Sandbox {
    let sandbox = Sandbox::new();
    assert_success(&sandbox.run(&["-e", "init"]));
    assert_success(&sandbox.run(&["-I", "postfix-a", "-G", "mta", "-e", "create"]));
    assert_success(&sandbox.run(&["-i", "postfix-a", "-e", "enable"]));
    assert_success(&sandbox.run(&["-I", "postfix-b", "-e", "create"]));
    sandbox
}

/// The archive builds and installs, and ansible-doc shows both modules.
fn the_collection_builds_installs_and_documents_its_modules() {
    let ansible = Ansible::new();
    for file in [
        "MANIFEST.json",
        "plugins/modules/instances.py",
        "plugins/modules/facts.py",
    ] {
        assert!(ansible.installed().join(file).is_file(), "{file} installed");
    }
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(ansible.installed().join("MANIFEST.json")).expect("MANIFEST.json"),
    )
    .expect("MANIFEST.json is JSON");
    assert_eq!(manifest["collection_info"]["namespace"], json!("postmulti"));
    assert_eq!(manifest["collection_info"]["name"], json!("postmulti"));
    assert_eq!(manifest["collection_info"]["version"], json!(VERSION));

    let list = ansible.run(
        "ansible-doc",
        &["-t", "module", "-l", "postmulti.postmulti"],
    );
    assert_ok(&list, "ansible-doc -l");
    let names: Vec<&str> = std::str::from_utf8(&list.stdout)
        .expect("UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        ["postmulti.postmulti.facts", "postmulti.postmulti.instances"]
    );

    let doc = ansible.run("ansible-doc", &["--json", "postmulti.postmulti.instances"]);
    assert_ok(&doc, "ansible-doc instances");
    let doc: Value = serde_json::from_slice(&doc.stdout).expect("ansible-doc --json");
    let doc = &doc["postmulti.postmulti.instances"];
    let options = doc["doc"]["options"].as_object().expect("options");
    assert_eq!(
        options.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "config_directory",
            "instances",
            "postmulti_path",
            "prune",
            "reload",
            "start"
        ]
    );
    let instance = doc["doc"]["options"]["instances"]["suboptions"]
        .as_object()
        .expect("suboptions");
    assert_eq!(
        instance.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "directories",
            "enabled",
            "group",
            "main_cf",
            "name",
            "template"
        ]
    );
    assert!(doc["examples"]
        .as_str()
        .expect("examples")
        .contains("postmulti.postmulti.instances:"));
    assert!(
        doc["return"]["actions"].is_object(),
        "RETURN documents actions"
    );

    let text = ansible.run("ansible-doc", &["postmulti.postmulti.facts"]);
    assert_ok(&text, "ansible-doc facts");
    let text = stdout(&text);
    assert!(text.contains("postmulti -l -j"), "{text}");
}

/// The collection's Python unit tests (TOML checked with tomllib) pass.
fn unit_tests_of_the_translations_pass() {
    let ansible = Ansible::new();
    let output = ansible
        .command("python")
        .env("PYTHONPATH", ansible.path("collections"))
        .args([
            "-m",
            "unittest",
            "-v",
            "ansible_collections.postmulti.postmulti.tests.unit.plugins.module_utils.test_postmulti",
        ])
        .output()
        .expect("run python");
    let report = String::from_utf8_lossy(&output.stderr);
    assert_ok(&output, "the unit tests");
    assert!(report.contains("\nOK\n"), "{report}");
    assert!(
        !report.contains("skipped"),
        "no unit test may be skipped here:\n{report}"
    );
}

/// The facts are `-l -j`'s instances, in order, found on PATH.
fn facts_list_what_dash_l_lists() {
    let ansible = Ansible::new();
    let sandbox = two_instances();
    let master = FakeMaster::start(sandbox.root(), &sandbox.path("spool/postfix-a"));
    let listing = assert_success(&sandbox.run(&["-l", "-j"]));
    let before = sandbox.snapshot();

    // Found on PATH, without postmulti_path.
    ansible.install_bin(
        "postmulti",
        &format!("#!/bin/sh\nexec '{}' \"$@\"\n", ours()),
    );
    let play = ansible.play(
        "postmulti.postmulti.facts",
        &json!({"config_directory": sandbox.primary()}),
        &["--check"],
    );
    assert_eq!(play.recap["ok"], 2, "{}", play.stdout);
    assert_eq!(play.recap["changed"], 0, "{}", play.stdout);
    let facts = play.result["ansible_facts"]["postmulti"]
        .as_array()
        .expect("ansible_facts.postmulti is a list");

    let listed: Vec<Value> = listing
        .lines()
        .map(|line| serde_json::from_str(line).expect("-l -j line"))
        .collect();
    assert_eq!(facts.len(), 3);
    assert_eq!(listed.len(), 3);
    for (fact, line) in facts.iter().zip(&listed) {
        let dash_is_null = |value: &Value| {
            if value == "-" {
                Value::Null
            } else {
                value.clone()
            }
        };
        assert_eq!(
            fact,
            &json!({
                "name": dash_is_null(&line["name"]),
                "group": dash_is_null(&line["group"]),
                "enabled": line["enabled"] == "y",
                "directories": {
                    "config_directory": line["config_directory"],
                    "queue_directory": line["queue_directory"],
                    "data_directory": line["data_directory"],
                },
                "running": line["running"],
                "pid": line["pid"],
                "primary": line["primary"],
            })
        );
    }
    let root = sandbox.root_str();
    assert_eq!(
        facts
            .iter()
            .map(|fact| (
                fact["name"].clone(),
                fact["group"].clone(),
                fact["enabled"].clone(),
                fact["directories"]["config_directory"].clone(),
                fact["running"].clone(),
                fact["pid"].clone(),
                fact["primary"].clone(),
            ))
            .collect::<Vec<_>>(),
        [
            (
                Value::Null,
                Value::Null,
                json!(true),
                json!(format!("{root}/etc/postfix")),
                json!(false),
                Value::Null,
                json!(true)
            ),
            (
                json!("postfix-a"),
                json!("mta"),
                json!(true),
                json!(format!("{root}/etc/postfix-a")),
                json!(true),
                json!(master.pid()),
                json!(false)
            ),
            (
                json!("postfix-b"),
                Value::Null,
                json!(false),
                json!(format!("{root}/etc/postfix-b")),
                json!(false),
                Value::Null,
                json!(false)
            ),
        ]
    );
    sandbox.assert_unchanged(&before);
}

/// A broken instance fails the facts with postmulti's warning.
fn facts_fail_with_postmulti_s_message_on_a_broken_instance() {
    let ansible = Ansible::new();
    let sandbox = two_instances();
    std::fs::remove_file(sandbox.path("etc/postfix-b/main.cf")).expect("break postfix-b");
    let output = sandbox.run(&["-l", "-j"]);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
    assert!(
        message.starts_with("postmulti: warning: instance "),
        "{message}"
    );

    let play = ansible.play(
        "postmulti.postmulti.facts",
        &json!({"config_directory": sandbox.primary(), "postmulti_path": ours()}),
        &[],
    );
    assert_eq!(play.failure(), message);
    assert_eq!(play.result["rc"], json!(1));
    assert_eq!(play.recap["ignored"], 1, "{}", play.stdout);
}

/// A missing, foreign or old postmulti fails both modules with a clear message.
fn a_missing_foreign_or_old_postmulti_fails_clearly() {
    let ansible = Ansible::new();
    let sandbox = two_instances();
    let before = sandbox.snapshot();
    let old = ansible.install_bin(
        "postmulti-0.1.9",
        "#!/bin/sh\n[ \"$1\" = --version ] && echo 'postmulti 0.1.9' && exit 0\necho ran >>\"$0.log\"\nexit 1\n",
    );
    let missing = ansible.path_str("bin/nonexistent");
    // Not on PATH, Ansible looks in the sbin directories, where Postfix's
    // own postmulti is.
    let postfix_s = [
        "/sbin/postmulti",
        "/usr/sbin/postmulti",
        "/usr/local/sbin/postmulti",
    ]
    .into_iter()
    .find(|path| Path::new(path).is_file())
    .expect("Postfix's postmulti");
    let foreign = |path: &str| {
        format!(
            "{path} is not postmulti 0.2.0 or later: '{path} --version' exited 1 without \
             output (Postfix's own postmulti has no --version)"
        )
    };
    let cases: [(Option<&str>, String); 4] = [
        (
            Some(&missing),
            format!("postmulti_path {missing} is not an executable file"),
        ),
        (Some("/usr/sbin/postmulti"), foreign("/usr/sbin/postmulti")),
        (None, foreign(postfix_s)),
        (
            Some(&old),
            format!("{old} is postmulti 0.1.9; this collection needs postmulti 0.2.0 or later"),
        ),
    ];
    let mut tasks = Vec::new();
    for (path, _) in &cases {
        for (module, options) in [
            ("postmulti.postmulti.facts", json!({})),
            (
                "postmulti.postmulti.instances",
                json!({"instances": [{"name": "postfix-a", "group": "other"}]}),
            ),
        ] {
            let mut options = options;
            if let Some(path) = path {
                options["postmulti_path"] = json!(path);
            }
            options["config_directory"] = json!(sandbox.primary());
            tasks.push((module, options));
        }
    }
    let play = ansible.plays(&tasks, &[]);
    for (index, (module, options)) in tasks.iter().enumerate() {
        assert_eq!(
            play.failure_of(index),
            cases[index / 2].1,
            "{module} with {options}"
        );
    }
    assert_eq!(play.recap["ignored"], 8, "{}", play.stdout);
    assert!(
        !Path::new(&format!("{old}.log")).exists(),
        "the old postmulti only answered --version"
    );
    sandbox.assert_unchanged(&before);
}

/// A stand-in postmulti that logs its arguments to `SPY.log`, then runs
/// ours: the tests read the log to see whether, and how, it ran.
fn install_spy(ansible: &Ansible) -> String {
    ansible.install_bin(
        "postmulti-spy",
        &format!(
            "#!/bin/sh\necho \"$@\" >>\"$0.log\"\nexec '{}' \"$@\"\n",
            ours()
        ),
    )
}

/// Bad options are refused before postmulti runs.
fn the_argument_spec_refuses_bad_options_before_postmulti_runs() {
    let ansible = Ansible::new();
    let sandbox = two_instances();
    let before = sandbox.snapshot();
    let spy = install_spy(&ansible);
    let cases = [
        (
            json!({"instances": [{"name": "postfix-a", "colour": "blue"}]}),
            "Unsupported parameters for (postmulti.postmulti.instances) module: instances.colour. \
             Supported parameters include: directories, enabled, group, main_cf, name, template.",
        ),
        (
            json!({"instances": [{"group": "mta"}]}),
            "missing required arguments: name found in instances",
        ),
        (
            json!({"instances": [], "prune": "everything"}),
            "value of prune must be one of: none, deport, destroy, got: everything",
        ),
        (
            json!({"instances": [{"name": "postfix-a", "enabled": "maybe"}]}),
            "argument 'enabled' is of type str found in 'instances'. and we were unable to \
             convert to bool: The value 'maybe' is not a valid boolean.",
        ),
        (
            json!({"instances": [{"name": "postfix-a", "main_cf": {"biff": false}}]}),
            "instance postfix-a: main_cf value of biff is the boolean false, not a string: \
             quote it in YAML (for example 'no')",
        ),
        (
            json!({"instances": [{"name": "postfix-a", "directories": {"queue": "/tmp"}}]}),
            "Unsupported parameters for (postmulti.postmulti.instances) module: \
             instances.directories.queue. Supported parameters include: config_directory, \
             data_directory, queue_directory.",
        ),
        (
            json!({"instances": "postfix-a"}),
            "dictionary requested, could not parse JSON or key=value",
        ),
    ];
    let tasks: Vec<(&str, Value)> = cases
        .iter()
        .map(|(options, _)| {
            let mut options = options.clone();
            options["postmulti_path"] = json!(spy);
            options["config_directory"] = json!(sandbox.primary());
            ("postmulti.postmulti.instances", options)
        })
        .collect();
    let play = ansible.plays(&tasks, &[]);
    for (index, (options, message)) in cases.iter().enumerate() {
        let failure = play.failure_of(index);
        assert!(
            failure.starts_with(message),
            "{options}:\n{failure}\ndoes not start with\n{message}"
        );
    }
    assert!(
        !Path::new(&format!("{spy}.log")).exists(),
        "postmulti ran: {}",
        std::fs::read_to_string(format!("{spy}.log")).unwrap_or_default()
    );
    sandbox.assert_unchanged(&before);
}

fn a_config_directory_that_is_no_absolute_path_never_reaches_postmulti() {
    // Passed as `-c VALUE`, a value starting with '-' was read by
    // postmulti's parser as an option, not as -c's value ("option requires
    // an argument -- 'c'" and the usage); the modules refuse what -c would.
    let ansible = Ansible::new();
    let sandbox = two_instances();
    let before = sandbox.snapshot();
    let spy = install_spy(&ansible);
    let values = ["-e", "--apply=/x", "-lj", "etc/postfix"];
    let mut tasks: Vec<(&str, Value)> = Vec::new();
    for value in values {
        for module in ["postmulti.postmulti.instances", "postmulti.postmulti.facts"] {
            let mut options = json!({"postmulti_path": spy, "config_directory": value});
            if module.ends_with("instances") {
                options["instances"] = json!([{"name": "postfix-a"}]);
            }
            tasks.push((module, options));
        }
    }
    let play = ansible.plays(&tasks, &[]);
    for (index, (module, options)) in tasks.iter().enumerate() {
        let value = options["config_directory"].as_str().unwrap();
        assert_eq!(
            play.failure_of(index),
            format!("config_directory '{value}' is not an absolute path"),
            "{module} {options}"
        );
    }
    assert!(
        !Path::new(&format!("{spy}.log")).exists(),
        "postmulti ran: {}",
        std::fs::read_to_string(format!("{spy}.log")).unwrap_or_default()
    );
    sandbox.assert_unchanged(&before);
}

/// `postmulti --plan - -j` with `manifest` on standard input, which must
/// exit 2 (changes pending): its JSON document.
fn pending_plan(sandbox: &Sandbox, manifest: &str) -> Value {
    let plan = sandbox.run_with_input(&["--plan", "-", "-j"], manifest);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    serde_json::from_slice(&plan.stdout).expect("--plan -j")
}

/// The lines of a diff that `ansible-playbook --diff` shows as removed or
/// added (its `-` and `+` lines, without the `---` and `+++` headers).
fn diff_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| {
            (line.starts_with('-') && !line.starts_with("---"))
                || (line.starts_with('+') && !line.starts_with("+++"))
        })
        .collect()
}

/// The `instances` option of the scenario: an outbound relay and a
/// disabled inbound instance, both in group `mta`.
fn two_declared(relayhost: &str) -> Value {
    json!([
        {"name": "postfix-out", "group": "mta", "main_cf": {"relayhost": relayhost}},
        {"name": "postfix-in", "group": "mta", "enabled": false},
    ])
}

/// Check mode, a converging run, an idempotent run, and check and diff modes after an edit.
fn a_playbook_converges_once_then_changes_nothing_with_check_and_diff_modes() {
    let ansible = Ansible::new();
    let sandbox = Sandbox::new();
    let options = |relayhost: &str| {
        json!({
            "instances": two_declared(relayhost),
            "config_directory": sandbox.primary(),
            "postmulti_path": ours(),
        })
    };
    // The manifest the module writes, as postmulti reads it.
    let manifest = "[[instance]]\nname = \"postfix-out\"\ngroup = \"mta\"\nenabled = true\n\
                    [instance.main_cf]\n\"relayhost\" = \"[relay.example.com]:587\"\n\n\
                    [[instance]]\nname = \"postfix-in\"\ngroup = \"mta\"\nenabled = false\n";
    let plan = pending_plan(&sandbox, manifest);

    // Check mode: what would change, and nothing changed.
    let before = sandbox.snapshot();
    let check = ansible.play(
        "postmulti.postmulti.instances",
        &options("[relay.example.com]:587"),
        &["--check"],
    );
    sandbox.assert_unchanged(&before);
    assert_eq!(check.recap["changed"], 1, "{}", check.stdout);
    assert_eq!(check.result["changed"], json!(true));
    assert!(
        check.result.get("rc").is_none(),
        "--plan's 2 is not a failure"
    );
    assert_eq!(check.result["actions"], plan["actions"]);
    assert_eq!(check.result["unmanaged"], json!([]));
    assert!(check.result.get("diff").is_none(), "no diff without --diff");
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| action["kind"].as_str().expect("kind"))
        .collect();
    assert!(kinds.starts_with(&["init", "create"]), "{kinds:?}");

    // The first run converges.
    let first = ansible.play(
        "postmulti.postmulti.instances",
        &options("[relay.example.com]:587"),
        &[],
    );
    assert_eq!(first.recap["changed"], 1, "{}", first.stdout);
    assert_eq!(first.result["changed"], json!(true));
    assert_eq!(first.result["actions"], plan["actions"]);
    let root = sandbox.root_str();
    assert_eq!(
        stdout(&sandbox.run(&["-l"])),
        format!(
            "-               -               y         {root}/etc/postfix\n\
             postfix-out     mta             y         {root}/etc/postfix-out\n\
             postfix-in      mta             n         {root}/etc/postfix-in\n"
        )
    );
    let out_main_cf = "etc/postfix-out/main.cf";
    assert!(
        sandbox
            .read(out_main_cf)
            .ends_with("\nrelayhost = [relay.example.com]:587\n"),
        "{}",
        sandbox.read(out_main_cf)
    );

    // The second run changes nothing.
    let converged = sandbox.snapshot();
    let second = ansible.play(
        "postmulti.postmulti.instances",
        &options("[relay.example.com]:587"),
        &[],
    );
    assert_eq!(second.recap["changed"], 0, "{}", second.stdout);
    assert_eq!(second.recap["ok"], 2, "{}", second.stdout);
    assert_eq!(second.result["changed"], json!(false));
    assert_eq!(second.result["actions"], json!([]));
    sandbox.assert_unchanged(&converged);

    // An edited parameter in check and diff mode: exactly that change shown,
    // nothing on disk changed.
    let edited = ansible.play(
        "postmulti.postmulti.instances",
        &options("[relay2.example.com]:587"),
        &["--check", "--diff"],
    );
    sandbox.assert_unchanged(&converged);
    assert_eq!(edited.recap["changed"], 1, "{}", edited.stdout);
    assert_eq!(
        edited.result["actions"],
        json!([{
            "kind": "set",
            "instance": "postfix-out",
            "config_directory": format!("{root}/etc/postfix-out"),
            "description": "set postfix-out: relayhost = [relay2.example.com]:587 (was [relay.example.com]:587)",
            "parameter": "relayhost",
            "old": "[relay.example.com]:587",
            "new": "[relay2.example.com]:587",
        }])
    );
    let path = format!("{root}/{out_main_cf}");
    let now = sandbox.read(out_main_cf);
    assert_eq!(
        edited.result["diff"],
        json!([{
            "before": now,
            "after": now.replace("relay.example.com", "relay2.example.com"),
            "before_header": path,
            "after_header": path,
        }])
    );
    assert_eq!(
        diff_lines(&edited.stdout),
        [
            "-relayhost = [relay.example.com]:587",
            "+relayhost = [relay2.example.com]:587"
        ],
        "{}",
        edited.stdout
    );
    assert!(
        edited
            .stdout
            .contains(&format!("--- before: {path}\n+++ after: {path}\n")),
        "{}",
        edited.stdout
    );

    // Applied with --diff: the same change, made.
    let applied = ansible.play(
        "postmulti.postmulti.instances",
        &options("[relay2.example.com]:587"),
        &["--diff"],
    );
    assert_eq!(applied.recap["changed"], 1, "{}", applied.stdout);
    assert_eq!(applied.result["diff"], edited.result["diff"]);
    // The file is replaced (a new inode), so its directory changes too.
    let changed: Vec<String> = converged
        .differences(&sandbox.snapshot())
        .iter()
        .map(|line| line.split(':').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        changed,
        ["changed etc/postfix-out", "changed etc/postfix-out/main.cf"]
    );
    assert_eq!(
        sandbox.read(out_main_cf),
        now.replace("relay.example.com", "relay2.example.com")
    );
}

/// Manifests postmulti refuses fail the task with its message, in both modes.
fn a_bad_manifest_fails_with_postmulti_s_message_and_changes_nothing() {
    let ansible = Ansible::new();
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let cases = [
        (
            json!([{"name": "out"}]),
            "[[instance]]\nname = \"out\"\nenabled = true\n",
        ),
        (
            json!([{"name": "postfix-a"}, {"name": "postfix-a", "enabled": false}]),
            "[[instance]]\nname = \"postfix-a\"\nenabled = true\n\n\
             [[instance]]\nname = \"postfix-a\"\nenabled = false\n",
        ),
        (
            json!([{"name": "postfix-a", "main_cf": {"multi_instance_name": "postfix-b"}}]),
            "[[instance]]\nname = \"postfix-a\"\nenabled = true\n[instance.main_cf]\n\
             \"multi_instance_name\" = \"postfix-b\"\n",
        ),
    ];
    let mut tasks = Vec::new();
    let mut messages = Vec::new();
    for (instances, manifest) in &cases {
        for check_mode in [false, true] {
            let args: &[&str] = if check_mode {
                &["--plan", "-", "-j"]
            } else {
                &["--apply", "-", "-j"]
            };
            let output = sandbox.run_with_input(args, manifest);
            assert_eq!(output.status.code(), Some(1), "{manifest}");
            let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
            assert!(message.starts_with("postmulti: fatal: -:"), "{message}");
            messages.push(message);
            tasks.push((
                "postmulti.postmulti.instances",
                json!({
                    "instances": instances,
                    "config_directory": sandbox.primary(),
                    "postmulti_path": ours(),
                }),
            ));
        }
    }
    sandbox.assert_unchanged(&before);
    let applied = ansible.plays(&tasks, &[]);
    let checked = ansible.plays(&tasks, &["--check"]);
    for (index, message) in messages.iter().enumerate() {
        let play = if index % 2 == 0 { &applied } else { &checked };
        assert_eq!(play.failure_of(index), message);
        assert_eq!(play.results[index]["rc"], json!(1));
    }
    sandbox.assert_unchanged(&before);
}

/// The example playbook of the collection (its README's, docs/ansible.md's).
const FLEET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../contrib/ansible/examples/fleet.yml"
);

/// The example playbook with real Postfix masters in a private namespace.
fn the_example_playbook_runs_real_postfix_instances_in_a_namespace() {
    let ansible = Ansible::new();
    std::fs::write(
        ansible.path("inventory.yml"),
        "mailhosts:\n  hosts:\n    localhost:\n      ansible_connection: local\n",
    )
    .expect("write the inventory");
    // The namespace starts with an empty environment: Ansible's comes from
    // the same settings as outside, but for PATH (the namespace's has the
    // sbin directories, where postmulti is).
    let probe = ansible.command("env");
    let exports: String = probe
        .get_envs()
        .filter_map(|(key, value)| Some((key.to_str()?, value?.to_str()?)))
        .filter(|(key, _)| *key != "PATH")
        .map(|(key, value)| format!("export {key}='{value}'\n"))
        .collect();
    let dir = ansible.path_str("");
    let script = format!(
        "{exports}cd '{dir}'\n\
         playbook() {{ {VENV}/bin/ansible-playbook -i inventory.yml \"$@\" '{FLEET}'; }}\n\
         step first playbook\n\
         snapshot first\n\
         step pid cat /var/spool/postfix-out/pid/master.pid\n\
         step second playbook\n\
         snapshot second\n\
         step check playbook --check --diff -e 'relayhost=[relay2.example.com]:587'\n\
         snapshot check\n\
         step list postmulti -l\n"
    );
    let outcome = namespace::run(Flavour::Ours, &script);
    let step = |name: &str| {
        let step = outcome.step(name);
        assert_eq!(step.status, 0, "{step}\n{outcome}");
        step
    };

    let first = step("first");
    assert_eq!(recap(&first.stdout)["changed"], 1, "{first}");
    let second = step("second");
    assert_eq!(
        (
            recap(&second.stdout)["changed"],
            recap(&second.stdout)["ok"]
        ),
        (0, 3),
        "{second}"
    );
    assert_eq!(
        step("list").stdout,
        "-               -               y         /etc/postfix\n\
         postfix-out     mta             y         /etc/postfix-out\n\
         postfix-in      mta             n         /etc/postfix-in\n"
    );
    // A real master for postfix-out (--start starts the secondaries), whose
    // pid the facts show.
    let pid: u32 = step("pid").stdout.trim().parse().expect("a pid");
    for shown in [
        "\"msg\": \"primary: stopped\"".to_string(),
        format!("\"msg\": \"postfix-out: running as pid {pid}\""),
        "\"msg\": \"postfix-in: stopped\"".to_string(),
    ] {
        assert!(second.stdout.contains(&shown), "{shown} in\n{second}");
    }
    let main_cf = outcome
        .snapshot("second")
        .text("/etc/postfix-out/main.cf")
        .expect("postfix-out's main.cf")
        .to_string();
    assert!(
        main_cf.ends_with("relayhost = [relay.example.com]:587\nsmtp_tls_security_level = may\n"),
        "{main_cf}"
    );
    assert_eq!(
        outcome.snapshot("first").diff(outcome.snapshot("second")),
        Vec::<String>::new(),
        "the second run changed nothing"
    );

    // Check and diff mode with an edited parameter: exactly that line, and
    // no configuration file changed.
    let check = step("check");
    assert_eq!(recap(&check.stdout)["changed"], 1, "{check}");
    assert_eq!(check.stderr, "", "no warning: the reload is planned");
    assert_eq!(
        diff_lines(&check.stdout),
        [
            "-relayhost = [relay.example.com]:587",
            "+relayhost = [relay2.example.com]:587"
        ],
        "{check}"
    );
    let configuration = |label: &str| {
        outcome
            .snapshot(label)
            .without(|path| !path.starts_with("/etc/postfix"))
    };
    assert_eq!(
        configuration("second").diff(&configuration("check")),
        Vec::<String>::new()
    );
}

/// The project's outbound relay template.
const OUTBOUND_RELAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/outbound-relay");

/// template, directories and prune reach the manifest postmulti acts on.
fn template_directories_and_prune_reach_postmulti() {
    let ansible = Ansible::new();
    let sandbox = two_instances();
    let root = sandbox.root_str();
    let directories = json!({
        "config_directory": format!("{root}/srv/relay/etc"),
        "queue_directory": format!("{root}/srv/relay/spool"),
        "data_directory": format!("{root}/srv/relay/lib"),
    });
    let options = |prune: &str| {
        json!({
            "instances": [
                {"name": "postfix-a", "group": "mta"},
                {"name": "postfix-relay", "template": OUTBOUND_RELAY, "directories": directories},
            ],
            "prune": prune,
            "config_directory": sandbox.primary(),
            "postmulti_path": ours(),
        })
    };
    let manifest = format!(
        "prune = \"{{PRUNE}}\"\n\n\
         [[instance]]\nname = \"postfix-a\"\ngroup = \"mta\"\nenabled = true\n\n\
         [[instance]]\nname = \"postfix-relay\"\nenabled = true\ntemplate = \"{OUTBOUND_RELAY}\"\n\
         [instance.directories]\nconfig_directory = \"{root}/srv/relay/etc\"\n\
         queue_directory = \"{root}/srv/relay/spool\"\ndata_directory = \"{root}/srv/relay/lib\"\n"
    );

    // prune = "none": postfix-b is reported as unmanaged and left alone.
    let plan = pending_plan(&sandbox, &manifest.replace("{PRUNE}", "none"));
    let check = ansible.play(
        "postmulti.postmulti.instances",
        &options("none"),
        &["--check"],
    );
    assert_eq!(check.result["actions"], plan["actions"]);
    assert_eq!(check.result["unmanaged"], json!(["postfix-b"]));

    // prune = "deport": postfix-b is deported.
    let plan = pending_plan(&sandbox, &manifest.replace("{PRUNE}", "deport"));
    let applied = ansible.play("postmulti.postmulti.instances", &options("deport"), &[]);
    assert_eq!(applied.result["changed"], json!(true), "{}", applied.stdout);
    assert_eq!(applied.result["actions"], plan["actions"]);
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| action["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        kinds.contains(&"deport") && kinds.contains(&"create"),
        "{kinds:?}"
    );
    assert_eq!(
        stdout(&sandbox.run(&["-l"])),
        format!(
            "-               -               y         {root}/etc/postfix\n\
             postfix-a       mta             y         {root}/etc/postfix-a\n\
             postfix-relay   -               y         {root}/srv/relay/etc\n"
        )
    );
    let main_cf = sandbox.read("srv/relay/etc/main.cf");
    assert!(
        main_cf.starts_with("# main.cf for an outbound relay instance"),
        "made from the template:\n{main_cf}"
    );
    assert!(main_cf.contains(&format!("\nqueue_directory = {root}/srv/relay/spool\n")));
    assert!(main_cf.contains(&format!("\ndata_directory = {root}/srv/relay/lib\n")));
    let again = ansible.play("postmulti.postmulti.instances", &options("deport"), &[]);
    assert_eq!(again.recap["changed"], 0, "{}", again.stdout);
}

/// The sanity tests `scripts/ansible-sanity` runs (all of ansible-test's
/// but shellcheck and pslint, which have no file to check here).
const SANITY_TESTS: &[&str] = &[
    "action-plugin-docs",
    "ansible-doc",
    "changelog",
    "compile",
    "empty-init",
    "ignores",
    "import",
    "line-endings",
    "no-assert",
    "no-get-exception",
    "no-illegal-filenames",
    "no-smart-quotes",
    "pep8",
    "pylint",
    "replace-urlopen",
    "runtime-metadata",
    "shebang",
    "symlinks",
    "use-argspec-type-path",
    "use-compat-six",
    "validate-modules",
    "yamllint",
];

/// `ansible-test sanity` passes for the collection.
fn ansible_test_sanity_passes() {
    let output = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/ansible-sanity"
        ))
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/ansible-sanity");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_ok(&output, "ansible-test sanity");
    let ran: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("Running sanity test \""))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(ran, SANITY_TESTS, "{text}");
    assert!(!text.contains("ERROR"), "{text}");
}

postmulti_e2e::e2e_tests! {
    Ansible: [
        the_collection_builds_installs_and_documents_its_modules,
        unit_tests_of_the_translations_pass,
        facts_list_what_dash_l_lists,
        facts_fail_with_postmulti_s_message_on_a_broken_instance,
        a_missing_foreign_or_old_postmulti_fails_clearly,
        the_argument_spec_refuses_bad_options_before_postmulti_runs,
        a_config_directory_that_is_no_absolute_path_never_reaches_postmulti,
        a_playbook_converges_once_then_changes_nothing_with_check_and_diff_modes,
        a_bad_manifest_fails_with_postmulti_s_message_and_changes_nothing,
        template_directories_and_prune_reach_postmulti,
        ansible_test_sanity_passes,
        the_example_playbook_runs_real_postfix_instances_in_a_namespace,
    ];
}
