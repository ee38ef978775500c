//! Compiled-in parameter defaults: what `postconf -d` prints for the installed
//! Postfix, asked at most once per run and only when a value is needed that no
//! main.cf sets; built-in fallbacks when Postfix is absent.
//!
//! The multi-instance parameters' defaults are fixed by Postfix itself (all
//! empty, `multi_instance_enable = no`) and answered without asking. The
//! answer of `postconf -d` is kept in [`CACHE_FILE`] of the cache directory ([`crate::cache`]), keyed on the identity
//! of the `postconf` binary (path, device, inode, size, modification time)
//! and the host name, so a run on an unchanged installation starts no
//! process at all; a Postfix upgrade replaces the binary and so renews the
//! cache. Failing to read or write the cache only costs the `postconf` run.
//!
//! The cache names programs that run as root (`command_directory`), so it
//! is trusted only under [`crate::trust`]'s rule: it and its directory are
//! what this program would have made, not symbolic links, owned by root (or
//! by the user running postmulti), writable by nobody else. Otherwise it is ignored (once, with
//! a warning), `postconf -d` is asked instead, and nothing is written there.

use crate::trust::{distrust_dir, distrust_file};
use std::ops::Range;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The primary instance's configuration directory when `-c` is not given
/// (Postfix's compiled-in `config_directory`, `/etc/postfix` on Debian).
pub const DEFAULT_CONFIG_DIRECTORY: &str = "/etc/postfix";

/// Where `postconf` is looked for before `$PATH`.
const POSTCONF_PATHS: &[&str] = &["/usr/sbin/postconf", "/usr/local/sbin/postconf"];

/// The cache file that keeps the answer of `postconf -d` between runs
/// (in [`crate::cache::cache_file`]'s directory).
pub const CACHE_FILE: &str = "postconf-defaults";

/// Defaults that do not depend on how Postfix was built.
const FIXED: &[(&str, &str)] = &[
    ("alternate_config_directories", ""),
    ("multi_instance_directories", ""),
    ("multi_instance_enable", "no"),
    ("multi_instance_group", ""),
    ("multi_instance_name", ""),
    ("multi_instance_wrapper", ""),
];

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
    table: OnceLock<Table>,
    /// Where a warning about an untrusted cache goes (nowhere when unset).
    warn: Option<fn(&str)>,
    /// Never run `postconf`: the cache or the built-in values answer.
    cache_only: bool,
}

/// What `postconf -d` printed, indexed by name without copying it.
#[derive(Debug, Default)]
struct Table {
    /// The `name = value` lines.
    text: String,
    /// Where each name and its value are in `text`, sorted by name.
    index: Vec<(Range<usize>, Range<usize>)>,
}

impl Table {
    /// Indexes the `name = value` lines of `text`; other lines are ignored.
    fn new(text: String) -> Table {
        let mut index = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            if let Some(space) = line.find(' ') {
                if let Some(value) = line[space + 1..].strip_prefix('=') {
                    let value_start = start + space + 2 + (value.len() - value.trim_start().len());
                    let value_len = value.trim().len();
                    index.push((start..start + space, value_start..value_start + value_len));
                }
            }
            start += line.len();
        }
        index.sort_by(|(a, _), (b, _)| text[a.clone()].cmp(&text[b.clone()]));
        Table { text, index }
    }

    /// The value printed for `name`.
    fn get(&self, name: &str) -> Option<&str> {
        let at = self
            .index
            .binary_search_by(|(entry, _)| self.text[entry.clone()].cmp(name))
            .ok()?;
        Some(&self.text[self.index[at].1.clone()])
    }
}

impl Defaults {
    /// Defaults that will ask the installed `postconf -d` on first use.
    pub fn new() -> Defaults {
        Defaults::default()
    }

    /// [`Defaults::new`] that hands `warn` the warning, given at most once,
    /// when the cache of `postconf -d` is not trusted.
    pub fn reporting(warn: fn(&str)) -> Defaults {
        Defaults {
            warn: Some(warn),
            ..Defaults::default()
        }
    }

    /// Defaults that never start a process: the cache when it was written
    /// for the installed `postconf` on this host (and is trusted), else the
    /// built-in values (for the systemd generator, which runs before the
    /// system is up).
    pub fn cache_only() -> Defaults {
        Defaults {
            cache_only: true,
            ..Defaults::default()
        }
    }

    /// The compiled-in default of `name`, unexpanded, or `None` when Postfix
    /// knows no such parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some((_, value)) = FIXED.iter().find(|(fixed, _)| *fixed == name) {
            return Some(value);
        }
        self.table
            .get_or_init(|| load_table(self.cache_only, self.warn))
            .get(name)
            .or_else(|| builtin(name))
    }
}

/// The built-in default of `name`, for when `postconf` cannot be asked.
fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, value)| *value)
}

/// The answer of `postconf -d` (cached, or asked once unless `cache_only`);
/// empty when Postfix cannot be asked. An untrusted cache is reported to
/// `warn` when `postconf -d` is asked instead.
fn load_table(cache_only: bool, warn: Option<fn(&str)>) -> Table {
    let cache = &crate::cache::cache_file(CACHE_FILE);
    let output = find_postconf().and_then(|postconf| {
        if cache_only {
            return cached_defaults(&postconf, cache);
        }
        let (output, distrust) = postconf_defaults(&postconf, cache);
        if let (Some(warn), Some(reason)) = (warn, distrust) {
            warn(&reason);
        }
        output
    });
    Table::new(output.unwrap_or_default())
}

/// What `postconf -d` prints: from the cache when it was written for this
/// very binary and host and is trusted, else by running it (and renewing
/// the cache where its directory is trusted); with the reason the cache was
/// not trusted, if it was not.
fn postconf_defaults(postconf: &Path, cache: &Path) -> (Option<String>, Option<String>) {
    let Some(key) = cache_key(postconf) else {
        return (None, None);
    };
    let distrust = distrust_file(cache);
    if let Some(output) = distrust
        .is_none()
        .then(|| read_cache(cache, &key))
        .flatten()
    {
        return (Some(output), None);
    }
    let output = ask_postconf(postconf);
    if let (Some(output), Some(dir)) = (&output, cache.parent()) {
        if !dir.exists() {
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir);
        }
        if distrust_dir(dir).is_none() {
            let meta = crate::fsutil::FileMeta {
                mode: Some(0o644),
                owner: Some((
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                )),
            };
            let _ = crate::fsutil::write_atomic(cache, format!("{key}{output}").as_bytes(), meta);
        }
    }
    let warning = distrust.map(|reason| {
        format!(
            "ignoring {}: {reason}; asking postconf -d instead",
            cache.display()
        )
    });
    (output, warning)
}

/// Runs `postconf -d`; its output, or `None` when it fails.
fn ask_postconf(postconf: &Path) -> Option<String> {
    let output = Command::new(postconf)
        .arg("-d")
        .env_remove("MAIL_CONFIG")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// What the cache holds, when it was written for this very `postconf` and
/// host and is trusted.
fn cached_defaults(postconf: &Path, cache: &Path) -> Option<String> {
    if distrust_file(cache).is_some() {
        return None;
    }
    read_cache(cache, &cache_key(postconf)?)
}

/// What the cache holds after its first line, when that line is `key`.
fn read_cache(cache: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(cache).ok()?;
    text.strip_prefix(key).map(str::to_string)
}

/// The first line of a cache written for `postconf` on this host.
fn cache_key(postconf: &Path) -> Option<String> {
    let meta = postconf.metadata().ok()?;
    let host = nix::unistd::gethostname().ok()?;
    Some(format!(
        "# postconf -d of {} dev {} ino {} size {} mtime {}.{} host {}\n",
        postconf.display(),
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        host.to_string_lossy()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn postconf_runs_once_per_binary_and_the_cache_answers_after() {
        let dir = tempfile::tempdir().unwrap();
        let (postconf, cache, count) = fake_postconf_printing(dir.path(), "queue_directory = /q");
        let runs = || {
            std::fs::read_to_string(&count)
                .unwrap_or_default()
                .lines()
                .count()
        };
        for _ in 0..3 {
            let (output, distrust) = postconf_defaults(&postconf, &cache);
            assert_eq!(output.unwrap(), "queue_directory = /q\n");
            assert_eq!(distrust, None);
        }
        assert_eq!(runs(), 1);
        // A new binary (here: a new size) renews the cache.
        let mut script = std::fs::read_to_string(&postconf).unwrap();
        script.push_str("echo 'data_directory = /d'\n");
        std::fs::write(&postconf, script).unwrap();
        let output = postconf_defaults(&postconf, &cache).0.unwrap();
        assert!(output.contains("data_directory = /d"));
        assert_eq!(runs(), 2);
    }

    /// A fake postconf printing `command_directory = /usr/sbin` and
    /// counting its runs, and a cache path beside it; returns (postconf,
    /// cache, run counter file).
    fn fake_postconf(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        fake_postconf_printing(dir, "command_directory = /usr/sbin")
    }

    /// A fake postconf printing `setting` and counting its runs (a line
    /// each in the counter file), and a cache path beside it; returns
    /// (postconf, cache, run counter file).
    fn fake_postconf_printing(dir: &Path, setting: &str) -> (PathBuf, PathBuf, PathBuf) {
        let postconf = dir.join("postconf");
        let count = dir.join("count");
        std::fs::write(
            &postconf,
            format!(
                "#!/bin/sh\necho run >> {}\necho '{setting}'\n",
                count.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&postconf, std::fs::Permissions::from_mode(0o755)).unwrap();
        (postconf, dir.join("cache/defaults"), count)
    }

    // Rewrites the cached command_directory as an attacker would.
    fn poison(cache: &Path) {
        let text = std::fs::read_to_string(cache).unwrap();
        let poisoned = text.replace("/usr/sbin", "/tmp/evil");
        assert_ne!(text, poisoned);
        std::fs::write(cache, poisoned).unwrap();
    }

    #[test]
    fn a_cache_in_a_directory_others_can_write_is_ignored_and_not_renewed() {
        let dir = tempfile::tempdir().unwrap();
        let (postconf, cache, count) = fake_postconf(dir.path());
        assert_eq!(postconf_defaults(&postconf, &cache).1, None);
        poison(&cache);
        let parent = cache.parent().unwrap();
        for mode in [0o777, 0o775, 0o1777] {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(mode)).unwrap();
            let (output, distrust) = postconf_defaults(&postconf, &cache);
            assert_eq!(output.unwrap(), "command_directory = /usr/sbin\n");
            let distrust = distrust.expect("a warning");
            assert!(distrust.starts_with(&format!("ignoring {}: ", cache.display())));
            assert!(
                distrust.contains(&parent.display().to_string()),
                "{distrust}"
            );
            // Not renewed: the poisoned file is still there, asked each time.
            assert!(std::fs::read_to_string(&cache)
                .unwrap()
                .contains("/tmp/evil"));
        }
        assert_eq!(std::fs::read_to_string(count).unwrap().lines().count(), 4);
    }

    #[test]
    fn a_writable_or_symlinked_cache_file_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (postconf, cache, _) = fake_postconf(dir.path());
        postconf_defaults(&postconf, &cache);
        poison(&cache);
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (output, distrust) = postconf_defaults(&postconf, &cache);
        assert_eq!(output.unwrap(), "command_directory = /usr/sbin\n");
        assert!(distrust
            .unwrap()
            .ends_with(": it is writable by others; asking postconf -d instead"));
        // Renewed in its trusted directory: trusted and right again.
        assert_eq!(
            postconf_defaults(&postconf, &cache),
            (Some("command_directory = /usr/sbin\n".to_string()), None)
        );
        // A symbolic link to a well-formed cache is not read either.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::copy(&cache, &elsewhere).unwrap();
        poison(&elsewhere);
        std::fs::remove_file(&cache).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &cache).unwrap();
        let (output, distrust) = postconf_defaults(&postconf, &cache);
        assert_eq!(output.unwrap(), "command_directory = /usr/sbin\n");
        assert!(distrust.unwrap().contains(": it is a symbolic link;"));
        assert!(!std::fs::symlink_metadata(&cache)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_cache_owned_by_another_user_is_ignored() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: chown needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (postconf, cache, _) = fake_postconf(dir.path());
        postconf_defaults(&postconf, &cache);
        poison(&cache);
        let nobody = Some(nix::unistd::Uid::from_raw(65534));
        nix::unistd::chown(&cache, nobody, None).unwrap();
        let (output, distrust) = postconf_defaults(&postconf, &cache);
        assert_eq!(output.unwrap(), "command_directory = /usr/sbin\n");
        assert!(distrust.unwrap().contains(": it is owned by uid 65534;"));
        // Renewed as ours.
        assert_eq!(std::fs::metadata(&cache).unwrap().uid(), 0);
        let parent = cache.parent().unwrap();
        poison(&cache);
        nix::unistd::chown(parent, nobody, None).unwrap();
        let (output, distrust) = postconf_defaults(&postconf, &cache);
        assert_eq!(output.unwrap(), "command_directory = /usr/sbin\n");
        assert!(distrust
            .unwrap()
            .contains(&format!(": {} is owned by uid 65534;", parent.display())));
    }

    #[test]
    fn cache_only_never_runs_postconf() {
        let dir = tempfile::tempdir().unwrap();
        let (postconf, cache, count) = fake_postconf_printing(dir.path(), "queue_directory = /q");
        assert_eq!(cached_defaults(&postconf, &cache), None);
        assert!(!count.exists());
        postconf_defaults(&postconf, &cache).0.unwrap();
        assert_eq!(
            cached_defaults(&postconf, &cache).as_deref(),
            Some("queue_directory = /q\n")
        );
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "run\n");
        let defaults = Defaults::cache_only();
        assert_eq!(defaults.get("multi_instance_enable"), Some("no"));
    }

    #[test]
    fn the_table_answers_each_printed_name_with_its_value() {
        let table = Table::new(
            "# a comment\nqueue_directory = /var/spool/postfix\nempty =\n\
             a_first = x = y \nnot a line\n"
                .to_string(),
        );
        assert_eq!(table.get("queue_directory"), Some("/var/spool/postfix"));
        assert_eq!(table.get("empty"), Some(""));
        assert_eq!(table.get("a_first"), Some("x = y"));
        assert_eq!(table.get("not"), None);
        assert_eq!(table.get("missing"), None);
    }

    #[test]
    fn multi_instance_defaults_need_no_postconf() {
        let defaults = Defaults::new();
        assert_eq!(defaults.get("multi_instance_enable"), Some("no"));
        assert_eq!(defaults.get("multi_instance_name"), Some(""));
        assert!(defaults.table.get().is_none());
    }
}
