//! `--doctor` on a directory listed twice in `multi_instance_directories`
//! (which Postfix's postmulti lists, and runs commands for, twice) reports
//! the repeated entry, once, and not a syslog_name clash of the instance
//! with itself.

use postmulti_e2e::fixtures::{initialized, instance_dir};
use postmulti_e2e::sandbox::{assert_success, stderr, stdout};

fn the_doctor_reports_a_directory_listed_twice() {
    let sandbox = initialized();
    assert_success(&sandbox.run(&["-I", "postfix-a", "-e", "create"]));
    assert_success(&sandbox.run(&["-I", "postfix-b", "-e", "create"]));
    let a = instance_dir(&sandbox, "postfix-a");
    let main_cf = sandbox.main_cf();
    let listed = main_cf
        .lines()
        .find(|line| line.starts_with("multi_instance_directories = "))
        .unwrap()
        .to_string();
    sandbox.write(
        "etc/postfix/main.cf",
        &main_cf.replace(&listed, &format!("{listed} {a}")),
    );
    // Listed twice, as Postfix lists it.
    let listing = assert_success(&sandbox.run(&["-l"]));
    assert_eq!(listing.matches(&format!(" {a}\n")).count(), 2, "{listing}");
    for selection in [vec![], vec!["-i", "a"]] {
        let mut args = vec!["--doctor"];
        args.extend(&selection);
        let output = sandbox.run(&args);
        let out = stdout(&output);
        let about_a: Vec<&str> = out
            .lines()
            .filter(|line| line.contains(&format!(" {a}: ")))
            .collect();
        assert_eq!(
            (output.status.code(), stderr(&output), about_a),
            (
                Some(1),
                String::new(),
                vec![format!(
                    "error: {a}: listed 2 times in multi_instance_directories: \
                     -p and -x run its commands 2 times"
                )
                .as_str()]
            ),
            "{selection:?}: {out}"
        );
    }
}

postmulti_e2e::e2e_tests! {
    RootAndPostfix: [the_doctor_reports_a_directory_listed_twice];
}
