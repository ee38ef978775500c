//! Templates end to end, in sandboxes: `--template DIR` supplies the
//! prototypes of `-e create`, the shipped outbound relay example makes a
//! working instance, and the project's own templates serve where Postfix's
//! prototypes are missing.

use postmulti_e2e::attacker::{attacker_dir, give_to_attacker, trials, Swapper, NOBODY};
use postmulti_e2e::fixtures::{
    assert_clean, assert_instance_permissions, doctor, initialized, instance_dir, set_param,
    settle_primary, two_instances, TEMPLATES,
};
use postmulti_e2e::sandbox::{assert_fatal, assert_success, entry, stderr, stdout, Sandbox};
use std::process::Command;
use std::time::Duration;

fn template_directory_supplies_the_prototypes() {
    let sandbox = initialized();
    sandbox.write(
        "tpl/main.cf.proto",
        "# template main.cf\nsmtpd_banner = tpl\n",
    );
    sandbox.write("tpl/master.cf.proto", "# template master.cf\n");
    assert_success(&sandbox.run(&[
        "-I",
        "postfix-t",
        "-e",
        "create",
        "--template",
        "@ROOT@/tpl",
    ]));
    let main_cf = sandbox.read("etc/postfix-t/main.cf");
    assert!(
        main_cf.starts_with("# template main.cf\nsmtpd_banner = tpl\n"),
        "{main_cf}"
    );
    assert_eq!(
        entry(&main_cf, "queue_directory"),
        Some(format!("{}/spool/postfix-t", sandbox.root_str()))
    );
    assert_eq!(
        sandbox.read("etc/postfix-t/master.cf"),
        "# template master.cf\n"
    );
    assert_instance_permissions(
        &sandbox,
        "etc/postfix-t",
        "spool/postfix-t",
        "lib/postfix-t",
    );

    sandbox.write("empty/README", "no prototypes here\n");
    sandbox.assert_refused(
        &[
            "-I",
            "postfix-u",
            "-e",
            "create",
            "--template",
            "@ROOT@/empty",
        ],
        "Missing main.cf prototype: @ROOT@/empty/main.cf.proto",
    );
}

fn outbound_relay_template_makes_a_working_instance() {
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
    let out_dir = instance_dir(&sandbox, "postfix-out");
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
                instance_dir(&sandbox, "postfix-out2")
            )]
        )
    );
}

fn project_templates_serve_when_prototypes_are_missing() {
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
        .args(["-c", &instance_dir(&sandbox, "postfix-d"), "-M"])
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

// The prototypes become the new instance's main.cf and master.cf (which
// name the programs it runs as root): a template directory or prototype
// others could write is refused, as a manifest's template is.
fn a_template_others_could_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = initialized();
    sandbox.write("tpl/main.cf.proto", "# template main.cf\n");
    sandbox.write("tpl/master.cf.proto", "# template master.cf\n");
    let create = [
        "-I",
        "postfix-t",
        "-e",
        "create",
        "--template",
        "@ROOT@/tpl",
    ];
    let chmod = |path: &str, mode: u32| {
        std::fs::set_permissions(sandbox.path(path), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let refused = |reason: &str| {
        format!(
            "template @ROOT@/tpl: {reason}; its prototypes would become the \
             instance's main.cf and master.cf"
        )
    };
    chmod("tpl", 0o777);
    sandbox.assert_refused(&create, &refused("@ROOT@/tpl is writable by others"));
    chmod("tpl", 0o755);
    chmod("tpl/master.cf.proto", 0o664);
    sandbox.assert_refused(
        &create,
        &refused("master.cf.proto: it is writable by its group"),
    );
    chmod("tpl/master.cf.proto", 0o644);
    assert_success(&sandbox.run(&create));
}

/// The service the attacker's master.cf.proto adds: a shell for anyone
/// who can reach it, run by master as root.
const EVIL_SERVICE: &str = "evil unix - n n - - spawn user=root argv=/bin/sh -c id\n";

fn prototypes_are_read_once_through_the_template_checked() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = initialized();
    std::fs::set_permissions(sandbox.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root's template, in a directory of the attacker's, who keeps a copy
    // with a master.cf.proto of their own beside it and swaps the two
    // (RENAME_EXCHANGE) as soon as root has read main.cf.proto.
    let att = sandbox.path("att");
    attacker_dir(&att);
    let good_master = "# root's master.cf\n";
    sandbox.write("att/tpl/main.cf.proto", "# root's main.cf\n");
    sandbox.write("att/tpl/master.cf.proto", good_master);
    sandbox.write("att/evil/main.cf.proto", "# root's main.cf\n");
    sandbox.write("att/evil/master.cf.proto", EVIL_SERVICE);
    give_to_attacker(&att.join("evil"));
    let _swapper = Swapper::start(&att, "tpl", "evil", Some(&att.join("tpl/main.cf.proto")));
    let outcome = trials(50, Duration::from_secs(20), |trial| {
        let name = format!("postfix-t{trial}");
        let output = sandbox.run(&["-I", &name, "-e", "create", "--template", "@ROOT@/att/tpl"]);
        let master_cf = std::fs::read_to_string(sandbox.path(&format!("etc/{name}/master.cf")));
        match (output.status.code(), master_cf) {
            (_, Ok(text)) if text.contains("argv=/bin/sh") => {
                Some("the new instance runs the attacker's service".to_string())
            }
            (Some(1), Err(_)) => {
                let refused = sandbox.expand(&format!(
                    "postmulti: fatal: template @ROOT@/att/tpl: @ROOT@/att is owned by uid \
                     {NOBODY}; its prototypes would become the instance's main.cf and master.cf\n"
                ));
                (stderr(&output) != refused).then(|| stderr(&output))
            }
            (code, _) => Some(format!("exit {code:?}: {}", stderr(&output))),
        }
    });
    outcome.unwrap_or_else(|failure| panic!("{failure}"));
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [
        template_directory_supplies_the_prototypes,
        a_template_others_could_write_is_refused,
        outbound_relay_template_makes_a_working_instance,
        project_templates_serve_when_prototypes_are_missing,
        prototypes_are_read_once_through_the_template_checked,
    ];
}
