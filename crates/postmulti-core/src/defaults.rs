//! Compiled-in parameter defaults: what `postconf -d` prints for the installed
//! Postfix, asked at most once per run and only when a value is needed that no
//! main.cf sets; built-in fallbacks when Postfix is absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The primary instance's configuration directory when `-c` is not given
/// (Postfix's compiled-in `config_directory`, `/etc/postfix` on Debian).
pub const DEFAULT_CONFIG_DIRECTORY: &str = "/etc/postfix";

/// Where `postconf` is looked for before `$PATH`.
const POSTCONF_PATHS: &[&str] = &["/usr/sbin/postconf", "/usr/local/sbin/postconf"];

/// Postfix 3.7's defaults (as Debian builds it) for the parameters postmulti
/// itself needs, used when `postconf` cannot be run.
const BUILTIN: &[(&str, &str)] = &[
    ("command_directory", "/usr/sbin"),
    ("config_directory", DEFAULT_CONFIG_DIRECTORY),
    ("daemon_directory", "/usr/lib/postfix/sbin"),
    ("data_directory", "/var/lib/postfix"),
    ("html_directory", "/usr/share/doc/postfix/html"),
    (
        "import_environment",
        "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME",
    ),
    ("mail_owner", "postfix"),
    ("mailq_path", "/usr/bin/mailq"),
    ("manpage_directory", "/usr/share/man"),
    ("meta_directory", "/etc/postfix"),
    ("multi_instance_enable", "no"),
    ("newaliases_path", "/usr/bin/newaliases"),
    ("postmulti_control_commands", "reload flush"),
    ("postmulti_start_commands", "start"),
    ("postmulti_stop_commands", "stop abort drain quick-stop"),
    ("queue_directory", "/var/spool/postfix"),
    ("readme_directory", "/usr/share/doc/postfix"),
    ("sample_directory", "/etc/postfix"),
    ("sendmail_path", "/usr/sbin/sendmail"),
    ("setgid_group", "postdrop"),
    ("shlib_directory", "/usr/lib/postfix"),
    ("syslog_name", "${multi_instance_name?{$multi_instance_name}:{postfix}}"),
];

/// The compiled-in defaults, loaded lazily.
#[derive(Debug, Default)]
pub struct Defaults {
    table: OnceLock<HashMap<String, String>>,
}

impl Defaults {
    /// Defaults that will ask the installed `postconf -d` on first use.
    pub fn new() -> Defaults {
        Defaults::default()
    }

    /// Defaults taken from the given table only, never from `postconf`
    /// (for tests and for hosts without Postfix).
    pub fn from_table(table: HashMap<String, String>) -> Defaults {
        let defaults = Defaults::default();
        let _ = defaults.table.set(table);
        defaults
    }

    /// The compiled-in default of `name`, unexpanded, or `None` when Postfix
    /// knows no such parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.table
            .get_or_init(load_table)
            .get(name)
            .map(String::as_str)
    }
}

/// Runs `postconf -d` once and parses its `name = value` lines, falling back
/// to the built-in table for anything it does not print.
fn load_table() -> HashMap<String, String> {
    let mut table: HashMap<String, String> = BUILTIN
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    if let Some(output) = find_postconf().and_then(|postconf| {
        Command::new(postconf)
            .arg("-d")
            .env_remove("MAIL_CONFIG")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|output| output.status.success())
    }) {
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some((name, value)) = line.split_once(" =") {
                table.insert(name.to_string(), value.trim_start().to_string());
            }
        }
    }
    table
}

/// The installed `postconf`: a well-known location, else the first on `$PATH`.
fn find_postconf() -> Option<PathBuf> {
    let well_known = POSTCONF_PATHS.iter().map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("postconf"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    well_known
        .chain(on_path)
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is an executable regular file.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
