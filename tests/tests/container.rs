//! The container image of `contrib/container/` (docs/containers.md): its
//! Dockerfile, as committed, built with podman and run; and the page shows
//! that file as it is.
//!
//! No image registry is reachable here, so the image its `FROM` names is
//! made first: `debootstrap --variant=minbase` of the Debian release its
//! tag names, imported under that name. The root file system is kept as a
//! tarball in [`BASE_CACHE`], so that only the first run downloads it; the
//! build's `apt-get` reaches Debian's mirror every time.
//!
//! Everything runs through `overlay-run --host-network`
//! ([`namespace::run_with`]): podman's storage, state, temporary files and
//! runc's state live on a tmpfs mounted in the namespace, what podman
//! writes to `/etc`, `/var/lib` and `/var/cache` lands on the namespace's
//! overlays, every process is killed when the script ends, and the
//! containers run with `--network none`, so their masters bind only inside
//! them. The build alone shares the host's network (`--network host`), for
//! `apt-get`.
//!
//! podman runs with `runc` (Debian's default runtime `crun` refuses this
//! machine's hybrid cgroup hierarchy), `cgroupfs` and explicit limits
//! (root here may not raise its own, which podman's defaults ask for):
//! settings of this machine, not of the image.

use postmulti_e2e::namespace::{self, Flavour, Options, Outcome};
use std::fs;
use std::path::Path;
use std::time::Instant;

/// The build context's directory: the Dockerfile and what it copies from
/// beside it.
const CONTEXT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../contrib/container");

/// The Dockerfile, as committed.
const DOCKERFILE: &str = include_str!("../../contrib/container/Dockerfile");

/// The page that shows the Dockerfile.
const PAGE: &str = include_str!("../../docs/containers.md");

/// Where debootstrap's root file systems are kept between runs, one tarball
/// per Debian release and variant.
const BASE_CACHE: &str = "/opt/postmulti-test-container";

/// The message submitted in the running container.
const SUBJECT: &str = "Subject: container test";

/// The host name the Dockerfile gives every instance.
const HOSTNAME: &str = "mail.example.com";

/// The namespace script, after the variables `context`, `image`, `suite`,
/// `cache` and `subject` (see [`build_and_run`]). Each `step` is checked by
/// the test.
const SCRIPT: &str = r#"
# podman's files, and its temporary ones (some always in /var/tmp), on
# tmpfs that end with the namespace.
files="$SCRATCH/podman"
mkdir "$files" && mount -t tmpfs -o mode=0700 podman "$files" || exit 1
mount -t tmpfs -o mode=1777 var-tmp /var/tmp || exit 1
export CONTAINERS_CONF="$files/containers.conf"
export CONTAINERS_STORAGE_CONF="$files/storage.conf"
export TMPDIR="$files/tmp"
mkdir "$TMPDIR"
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "none"
tmp_dir = "$files/libpod"
image_copy_tmp_dir = "$TMPDIR"
[engine.runtimes]
runc = ["$files/bin/runc"]
EOF
# runc with its state beside podman's (its default is /run/runc), for every
# podman process, conmon's clean-ups included.
mkdir "$files/bin"
printf '#!/bin/sh\nexec /usr/sbin/runc --root "%s" "$@"\n' "$files/runc" >"$files/bin/runc"
chmod 0755 "$files/bin/runc"
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$files/storage"
runroot = "$files/run"
EOF
# The cgroup under which podman puts the build, the containers and conmon.
cgroup="/postmulti-e2e-${SCRATCH##*/}"

# Removes the containers and then the cgroups made for them.
cleanup() {
    podman rm --all --force --time 0 >/dev/null || return 1
    for dir in /sys/fs/cgroup/*"$cgroup"; do
        [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} +
    done
    ! ls -d /sys/fs/cgroup/*"$cgroup" 2>/dev/null
}

# Imports debootstrap's root file system as $image, made first when $cache
# is missing (in a directory beside it, renamed into place when complete).
base() {
    if [ ! -s "$cache" ]; then
        mkdir -p "$(dirname "$cache")" || return 1
        local work
        work=$(mktemp -d "$cache.XXXXXX") || return 1
        if ! debootstrap --variant=minbase "$suite" "$work/root" >"$work/log" 2>&1 ||
           ! tar -C "$work/root" -cf "$work/base.tar" . ||
           ! mv "$work/base.tar" "$cache"; then
            cat "$work/log"
            rm -rf --one-file-system "$work"
            return 1
        fi
        rm -rf --one-file-system "$work"
    fi
    podman import --quiet "$cache" "$image"
}

# Waits up to 30 s until every instance that postmulti -l lists in the
# container $1 is running.
wait_running() {
    local total up
    for _ in $(seq 150); do
        total=$(podman exec "$1" postmulti -l 2>/dev/null | wc -l)
        up=$(podman exec "$1" postmulti -l --status 2>/dev/null | grep -c 'running (pid')
        [ "$total" -gt 0 ] && [ "$up" = "$total" ] && return 0
        sleep 0.2
    done
    return 1
}

# Waits up to 30 s until the container $1 has exited; prints its exit code.
wait_exited() {
    for _ in $(seq 150); do
        if [ "$(podman inspect --format '{{.State.Status}}' "$1")" = exited ]; then
            podman inspect --format '{{.State.ExitCode}}' "$1"
            return
        fi
        sleep 0.2
    done
    return 1
}

# Waits up to 30 s until the test message is in root's mailbox.
delivered() {
    for _ in $(seq 150); do
        podman exec supervised grep -q "^$subject\$" /var/mail/root 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

step base base
step build podman build --cgroup-parent "$cgroup" --pull=never --network host --tag postmulti-example "$context"

step run podman run --cgroup-parent "$cgroup" --detach --network none --name supervised postmulti-example
step running wait_running supervised
step status podman exec supervised postmulti -l --status
step top podman top supervised pid ppid comm
printf '%s\n\nhello from the test\n' "$subject" >"$SCRATCH/message"
step submit podman exec --interactive supervised sendmail root <"$SCRATCH/message"
step delivered delivered
step mailbox podman exec supervised cat /var/mail/root
start=$(date +%s%N)
step stop podman stop --time 30 supervised
step stop_ms echo $(( ($(date +%s%N) - start) / 1000000 ))
step exit podman inspect --format '{{.State.ExitCode}}' supervised
step logs podman logs supervised

step run_killed podman run --cgroup-parent "$cgroup" --detach --network none --name killed postmulti-example
step running_killed wait_running killed
victim=$(podman exec killed postmulti -l | awk 'END { print $1 }')
step kill podman exec killed sh -c \
    'kill -KILL $(cat "$(postmulti -i "$1" -x postconf -h queue_directory)/pid/master.pid")' \
    sh "$victim"
step exit_killed wait_exited killed
step logs_killed podman logs killed
step cleanup cleanup
"#;

/// The Dockerfile's instructions: its lines without the comments.
fn dockerfile() -> String {
    DOCKERFILE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The argument of the Dockerfile's only `INSTRUCTION` line.
fn instruction<'d>(dockerfile: &'d str, instruction: &str) -> &'d str {
    let found: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix(instruction)?.strip_prefix(' '))
        .collect();
    assert_eq!(found.len(), 1, "one {instruction} in:\n{dockerfile}");
    found[0].trim()
}

/// The image `FROM` names, the Debian release debootstrap makes it from,
/// and debootstrap's variant.
fn base_image(dockerfile: &str) -> (&str, &'static str, &'static str) {
    let image = instruction(dockerfile, "FROM");
    let tag = image
        .strip_prefix("debian:")
        .unwrap_or_else(|| panic!("FROM {image}: only debian:TAG images can be made here"));
    let (release, flavour) = tag.split_once('-').unwrap_or((tag, ""));
    let suite = match release {
        "12" | "bookworm" => "bookworm",
        "13" | "trixie" => "trixie",
        _ => panic!("FROM {image}: no Debian release known for tag {tag}"),
    };
    assert!(
        matches!(flavour, "" | "slim"),
        "FROM {image}: unknown flavour {flavour}"
    );
    (image, suite, "minbase")
}

/// The names of the secondaries the Dockerfile creates (`-I NAME ... -e
/// create`), in order.
fn created_instances(dockerfile: &str) -> Vec<String> {
    let words: Vec<&str> = dockerfile.split_whitespace().collect();
    words
        .windows(4)
        .filter(|w| w[0] == "-I" && w[2] == "-e" && w[3] == "create")
        .map(|w| w[1].to_string())
        .collect()
}

/// A value for the script's shell variables, single-quoted.
fn quoted(value: &str) -> String {
    assert!(!value.contains('\''), "{value:?} cannot be single-quoted");
    format!("'{value}'")
}

/// Builds the Dockerfile and runs the script's steps; the build context is
/// a copy of [`CONTEXT`]'s files, with the binary under test where its
/// `COPY` takes it from.
fn build_and_run(dockerfile: &str) -> Outcome {
    let context = tempfile::Builder::new()
        .prefix("pm-container")
        .tempdir()
        .expect("build context directory");
    let source = copied_binary(dockerfile);
    for entry in fs::read_dir(CONTEXT).expect("read contrib/container") {
        let entry = entry.expect("an entry of contrib/container");
        if entry.file_name() != source && entry.file_type().expect("its type").is_file() {
            fs::copy(entry.path(), context.path().join(entry.file_name()))
                .expect("copy into the build context");
        }
    }
    fs::copy(
        postmulti_e2e::sandbox::postmulti_bin(),
        context.path().join(source),
    )
    .expect("copy postmulti");
    let (image, suite, variant) = base_image(dockerfile);
    let cache = Path::new(BASE_CACHE).join(format!("debian-{suite}-{variant}.tar"));
    let variables = [
        ("context", context.path().to_str().expect("a UTF-8 path")),
        ("image", image),
        ("suite", suite),
        ("cache", cache.to_str().expect("a UTF-8 path")),
        ("subject", SUBJECT),
    ]
    .map(|(name, value)| format!("{name}={}\n", quoted(value)))
    .concat();
    let options = Options {
        host_network: true,
        ..Options::default()
    };
    namespace::run_with(Flavour::Ours, &format!("{variables}{SCRIPT}"), &options)
}

/// The file name of the built postmulti the Dockerfile's `COPY` takes from
/// beside it.
fn copied_binary(dockerfile: &str) -> &str {
    let source = instruction(dockerfile, "COPY")
        .split_whitespace()
        .next()
        .expect("COPY SOURCE DESTINATION");
    assert_eq!(
        source, "postmulti",
        "COPY {source}: expected the built postmulti, beside the Dockerfile"
    );
    source
}

/// Asserts that step `name` exited 0.
fn assert_step_ok(outcome: &Outcome, name: &str) {
    let step = outcome.step(name);
    assert_eq!(step.status, 0, "step {name} failed\n{step}\n{outcome}");
}

/// An instance of `postmulti -l --status`: name, config directory, master
/// pid.
struct Running {
    /// Its name (`-` for the primary).
    name: String,
    /// Its configuration directory.
    config_directory: String,
    /// Its master's pid, inside the container.
    pid: String,
}

/// The instances of a `-l --status` listing (after its heading line), each
/// running.
fn running_instances(listing: &str) -> Vec<Running> {
    listing
        .lines()
        .skip(1)
        .map(|line| {
            let (pid, _) = line
                .split_once("running (pid ")
                .and_then(|(_, rest)| rest.split_once(')'))
                .unwrap_or_else(|| panic!("not running: {line:?} in\n{listing}"));
            let fields: Vec<&str> = line.split_whitespace().collect();
            Running {
                name: fields[0].to_string(),
                config_directory: fields[fields.len() - 1].to_string(),
                pid: pid.to_string(),
            }
        })
        .collect()
}

/// The syslog tag of an instance's records (`postfix` for the primary).
fn syslog_name(instance: &str) -> &str {
    if instance == "-" {
        "postfix"
    } else {
        instance
    }
}

/// The Dockerfile builds; its container runs every instance under
/// `postmulti --supervise`, delivers mail, stops cleanly and fails loudly.
fn the_dockerfile_builds_and_supervises_every_instance() {
    let dockerfile = dockerfile();
    let begun = Instant::now();
    let outcome = build_and_run(&dockerfile);
    eprintln!("container: built and ran in {:?}", begun.elapsed());
    for step in ["base", "build", "run", "running", "status", "top"] {
        assert_step_ok(&outcome, step);
    }

    // Every instance the Dockerfile makes runs, its master a child of
    // postmulti, process 1.
    let instances = running_instances(&outcome.step("status").stdout);
    let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
    let mut expected = vec!["-".to_string()];
    expected.extend(created_instances(&dockerfile));
    assert_eq!(names, expected, "{}", outcome.step("status"));
    let top = &outcome.step("top").stdout;
    let processes: Vec<Vec<&str>> = top
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert!(
        processes.contains(&vec!["1", "0", "postmulti"]),
        "postmulti is not process 1:\n{top}"
    );
    for instance in &instances {
        assert!(
            processes.contains(&vec![instance.pid.as_str(), "1", "master"]),
            "the master of {} (pid {}) is not a child of process 1:\n{top}",
            instance.name,
            instance.pid
        );
    }

    // A message submitted inside is delivered, under the image's host name.
    for step in ["submit", "delivered", "mailbox"] {
        assert_step_ok(&outcome, step);
    }
    let mailbox = &outcome.step("mailbox").stdout;
    assert!(
        mailbox.lines().any(
            |line| line.to_ascii_lowercase().starts_with("message-id: <")
                && line.ends_with(&format!("@{HOSTNAME}>"))
        ),
        "no Message-Id of {HOSTNAME}:\n{mailbox}"
    );

    // podman stop's SIGTERM: postmulti stops every master and exits 0. It
    // forces a master only after 5 s, so a quicker stop needed no force.
    assert_step_ok(&outcome, "stop");
    let stop_ms: u64 = outcome.step("stop_ms").stdout.trim().parse().expect("ms");
    assert!(
        stop_ms < 5000,
        "podman stop took {stop_ms} ms\n{}",
        outcome.step("logs")
    );
    assert_eq!(
        outcome.step("exit").stdout,
        "0\n",
        "{}",
        outcome.step("logs")
    );

    // The logs are on the container's stdout, each master's start among
    // them, every record under the image's host name; nothing on stderr.
    let logs = outcome.step("logs");
    for instance in &instances {
        let tag = syslog_name(&instance.name);
        assert!(
            logs.stdout.lines().any(|line| {
                line.contains(&format!(" {tag}/master[{}]: daemon started", instance.pid))
            }),
            "no start of {tag}'s master on stdout\n{logs}"
        );
    }
    // maillog_file records carry myhostname's first label.
    let short = HOSTNAME.split('.').next();
    for line in logs.stdout.lines() {
        assert_eq!(
            line.split_whitespace().nth(3),
            short,
            "a record not from {HOSTNAME}: {line:?}"
        );
    }
    assert_eq!(logs.stderr, "", "{logs}");

    // A master killed with SIGKILL: the others are stopped and the
    // container exits 1, naming the instance.
    for step in ["run_killed", "running_killed", "kill", "exit_killed"] {
        assert_step_ok(&outcome, step);
    }
    let victim = instances.last().expect("an instance");
    assert_eq!(
        outcome.step("exit_killed").stdout,
        "1\n",
        "{}",
        outcome.step("logs_killed")
    );
    let fatal = format!(
        "postmulti: fatal: instance {} ({}): master exited unexpectedly (killed by SIGKILL); \
         the other instances were stopped\n",
        victim.config_directory, victim.name
    );
    assert_eq!(
        outcome.step("logs_killed").stderr,
        fatal,
        "{}",
        outcome.step("logs_killed")
    );
    assert_step_ok(&outcome, "cleanup");
}

/// The Dockerfile is the whole recipe, from `FROM` to `CMD`, with the base
/// image this test knows how to make and the binary from beside it.
fn the_dockerfile_is_the_whole_recipe() {
    let dockerfile = dockerfile();
    let (image, _, _) = base_image(&dockerfile);
    assert!(
        dockerfile.starts_with(&format!("FROM {image}\n")),
        "{dockerfile}"
    );
    assert!(
        dockerfile.ends_with("CMD [\"postmulti\", \"--supervise\"]\n"),
        "{dockerfile}"
    );
    assert_eq!(
        instruction(&dockerfile, "COPY"),
        format!("{} /usr/local/sbin/postmulti", copied_binary(&dockerfile))
    );
    assert_eq!(created_instances(&dockerfile), ["postfix-out"]);
}

/// docs/containers.md shows the Dockerfile as committed, in one fenced
/// block.
fn the_page_shows_the_dockerfile_as_it_is() {
    let block = format!("```dockerfile\n{DOCKERFILE}```\n");
    assert!(
        PAGE.contains(&block),
        "docs/containers.md does not show contrib/container/Dockerfile as it is:\n{block}"
    );
}

postmulti_e2e::e2e_tests! {
    Nothing: [the_dockerfile_is_the_whole_recipe, the_page_shows_the_dockerfile_as_it_is];
    Container: [the_dockerfile_builds_and_supervises_every_instance];
}
