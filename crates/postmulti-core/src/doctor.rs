//! `postmulti --doctor`: checks a whole multi-instance setup and reports
//! each finding with its severity.

use crate::bytes::ByteSlice;
use crate::config::Config;
use crate::defaults::Defaults;
use crate::error::SelectionError;
use crate::instance::Instance;
use crate::perms::{instance_entries_for, PermEntry};
use crate::registry::{split_list, Registry, Strictness};
use crate::select::Selection;
use crate::status::master_pid;
use crate::trust;
use crate::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; nothing is broken yet.
    Warning,
    /// Something will fail or misbehave.
    Error,
}

/// One finding about one instance (or a pair of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The configuration directory it is about.
    pub config_directory: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity}: {}: {}", self.config_directory, self.message)
    }
}

/// Examines the instances `selection` picks (all when unspecified).
pub fn examine(
    primary_dir: &[u8],
    defaults: &Defaults,
    selection: &Selection,
) -> Result<Vec<Finding>> {
    let registry: Registry<'_> = Registry::load(primary_dir, defaults, Strictness::Lenient)?;
    let selection = selection.effective();

    let mut findings = Vec::new();
    let mut finding = |severity, dir: &str, message: String| {
        findings.push(Finding {
            severity,
            config_directory: dir.to_string(),
            message,
        })
    };
    let broken_selected = |broken| selection.reaches_broken(broken);

    if !registry.instances.iter().any(|i| selection.matches(i))
        && !registry.broken.iter().any(broken_selected)
    {
        return Err(SelectionError::NoMatchingInstances.into());
    }
    for broken in &registry.broken {
        if broken_selected(broken) {
            finding(
                Severity::Error,
                &broken.config_directory.to_string(),
                broken.reason.to_string(),
            );
        }
    }
    let alternates = split_list(
        registry
            .primary_config
            .explicit("alternate_config_directories")
            .unwrap_or_default(),
    );
    // Every usable instance takes part in the pair checks, so that a
    // selected instance is compared with the unselected ones too.
    let configs: Vec<_> = registry
        .with_configs()
        .map(|(instance, config)| (instance, config, selection.matches(instance)))
        .collect();
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (instance, config, _) in configs.iter().filter(|(_, _, selected)| *selected) {
        let shown = instance.config_directory.to_string();
        let dir = shown.as_str();
        // A directory listed again is reported once, and examined once.
        let times = seen.entry(&instance.config_directory).or_insert(0);
        *times += 1;
        if *times > 1 {
            if *times == 2 {
                let listed = configs
                    .iter()
                    .filter(|(other, _, _)| other.config_directory == instance.config_directory)
                    .count();
                finding(
                    Severity::Error,
                    dir,
                    format!(
                        "listed {listed} times in multi_instance_directories: \
                         -p and -x run its commands {listed} times"
                    ),
                );
            }
            continue;
        }
        if !instance.config_path().join("main.cf").is_file() {
            finding(Severity::Error, dir, "main.cf is missing".to_string());
        }
        match read_master_cf(config) {
            Err(Error::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
                finding(Severity::Error, dir, "master.cf is missing".to_string())
            }
            Err(error) => finding(Severity::Error, dir, error.to_string()),
            Ok(_) => {}
        }
        if !instance.primary && alternates.contains(&instance.config_directory) {
            finding(
                Severity::Warning,
                dir,
                "listed in both multi_instance_directories and alternate_config_directories"
                    .to_string(),
            );
        }
        for param in [
            "multi_instance_name",
            "multi_instance_group",
            "multi_instance_enable",
            "multi_instance_directories",
            "multi_instance_wrapper",
        ] {
            let count = config.doc().count(param);
            if count > 1 {
                finding(
                    Severity::Warning,
                    dir,
                    format!("{param} is set {count} times in main.cf; the last one wins"),
                );
            }
        }
        let running = master_pid(instance.queue_path());
        if let (Some(pid), false) = (running, instance.enabled) {
            finding(
                Severity::Warning,
                dir,
                format!("disabled, but running (master pid {pid}): postmulti will not stop it"),
            );
        }
        for (severity, message) in permission_findings(config, running.is_some())? {
            finding(severity, dir, message);
        }
    }
    for (severity, dir, message) in pair_findings(&configs)? {
        finding(severity, &dir, message);
    }
    Ok(findings)
}

/// Missing private directories, and owners or modes other than
/// `postfix-files` gives. Below a missing directory only the directory
/// itself is reported.
///
/// Severities follow what Postfix would make of it: a missing directory
/// of a stopped instance is a warning (`postfix start` creates it), of a
/// running one an error; a wrong owner or group, or a mode without a
/// permission `postfix-files` grants, is an error; a mode with extra
/// permissions only is a warning. The set-id and sticky bits of a
/// directory are not compared unless `postfix-files` asks for them:
/// `chmod` (and so `postfix set-permissions`) keeps set-id bits, and
/// Debian makes `maildrop` sticky (1730) and `public` set-gid (2710) on
/// purpose.
fn permission_findings(config: &Config<'_>, running: bool) -> Result<Vec<(Severity, String)>> {
    let entries = instance_entries_for(config)?;
    let advice = format!("(postfix -c {} set-permissions fixes it)", config.dir());
    let mut missing: Vec<&Path> = Vec::new();
    let mut findings = Vec::new();
    for entry in &entries {
        if missing.iter().any(|dir| entry.path.starts_with(dir)) {
            continue;
        }
        let path = entry.path.display();
        let meta = match std::fs::symlink_metadata(&entry.path) {
            Ok(meta) => meta,
            Err(_) if entry.is_dir => {
                missing.push(&entry.path);
                findings.push(match running {
                    true => (Severity::Error, format!("{path} is missing")),
                    false => (
                        Severity::Warning,
                        format!("{path} is missing (postfix start creates it)"),
                    ),
                });
                continue;
            }
            Err(_) => continue,
        };
        if let Some((severity, wrong)) = permission_finding(entry, &meta) {
            findings.push((severity, format!("{path}: {wrong} {advice}")));
        }
    }
    Ok(findings)
}

/// What is wrong with the owner, group and mode of one existing entry, if
/// anything, and how serious it is.
fn permission_finding(entry: &PermEntry, meta: &std::fs::Metadata) -> Option<(Severity, String)> {
    let mut wrong = Vec::new();
    let mut severity = Severity::Warning;
    let actual = meta.mode() & 0o7777;
    let compared = match entry.is_dir {
        true => actual & (0o777 | entry.mode),
        false => actual,
    };
    if compared != entry.mode {
        wrong.push(format!("mode {actual:04o}, not {:04o}", entry.mode));
        if entry.mode & !compared != 0 {
            severity = Severity::Error;
        }
    }
    if let Ok(Some(user)) = nix::unistd::User::from_name(&entry.owner) {
        if user.uid.as_raw() != meta.uid() {
            wrong.push(format!("owner uid {}, not {}", meta.uid(), entry.owner));
            severity = Severity::Error;
        }
    }
    if let Some(group) = &entry.group {
        if let Ok(Some(found)) = nix::unistd::Group::from_name(group) {
            if found.gid.as_raw() != meta.gid() {
                wrong.push(format!("group gid {}, not {group}", meta.gid()));
                severity = Severity::Error;
            }
        }
    }
    (!wrong.is_empty()).then(|| (severity, wrong.join(", ")))
}

/// Findings about pairs of instances of which at least one is selected:
/// shared syslog names, and enabled instances whose inet services would
/// bind the same address and port. Each is reported on the later instance
/// of the pair.
fn pair_findings(
    configs: &[(&Instance, &Config<'_>, bool)],
) -> Result<Vec<(Severity, String, String)>> {
    let mut findings = Vec::new();
    let mut syslog_names: HashMap<crate::bytes::BString, (String, bool)> = HashMap::new();
    let mut endpoints: Vec<((String, String), String, bool)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (instance, config, selected) in configs {
        let dir = instance.config_directory.to_string();
        if !seen.insert(&instance.config_directory) {
            continue; // listed again: not a pair of instances
        }
        let syslog_name = config.expanded("syslog_name")?;
        match syslog_names.get(&syslog_name) {
            Some((other, other_selected)) => {
                if *selected || *other_selected {
                    findings.push((
                        Severity::Warning,
                        dir.to_string(),
                        format!(
                            "syslog_name {syslog_name} is also used by {other}: \
                             their logs cannot be told apart"
                        ),
                    ))
                }
            }
            None => {
                syslog_names.insert(syslog_name, (dir.clone(), *selected));
            }
        }
        if !instance.enabled {
            continue;
        }
        for endpoint in inet_endpoints(config)? {
            let clash = endpoints.iter().find(|((address, port), _, _)| {
                *port == endpoint.1
                    && (*address == endpoint.0 || address == "*" || endpoint.0 == "*")
            });
            match clash {
                Some((_, other, other_selected)) => {
                    if *selected || *other_selected {
                        findings.push((
                            Severity::Error,
                            dir.to_string(),
                            format!(
                                "inet service {}:{} would also be bound by {other}",
                                endpoint.0, endpoint.1
                            ),
                        ))
                    }
                }
                None => endpoints.push((endpoint, dir.clone(), *selected)),
            }
        }
    }
    Ok(findings)
}

/// The text of an instance's master.cf, read as every configuration file
/// is ([`trust::read_config`]).
fn read_master_cf(config: &Config<'_>) -> Result<String> {
    let path = crate::bytes::path(config.dir()).join("master.cf");
    let bytes = trust::read_config(&path, trust::CONFIG_LIMIT)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The (address, port) pairs an instance's master.cf inet services listen
/// on, `*` for every address; none for a service `master_service_disable`
/// turns off.
fn inet_endpoints(config: &Config<'_>) -> Result<Vec<(String, String)>> {
    let disabled: Vec<String> = split_list(&config.expanded("master_service_disable")?)
        .iter()
        .map(ToString::to_string)
        .collect();
    let interfaces = split_list(&config.expanded("inet_interfaces")?);
    let addresses: Vec<String> = if interfaces.iter().any(|i| i == "all") || interfaces.is_empty() {
        vec!["*".to_string()]
    } else {
        interfaces
            .iter()
            .map(|i| match &*i.to_str_lossy() {
                "loopback-only" | "localhost" => "127.0.0.1".to_string(),
                other => other.trim_matches(['[', ']']).to_string(),
            })
            .collect()
    };
    let master_cf = read_master_cf(config).unwrap_or_default();
    let mut endpoints = Vec::new();
    for line in master_cf.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with([' ', '\t', '#']) || fields.len() < 2 || fields[1] != "inet" {
            continue;
        }
        let service = fields[0];
        if service_disabled(&disabled, service, "inet") {
            continue;
        }
        match service.rsplit_once(':') {
            Some((host, port)) => {
                endpoints.push((host.trim_matches(['[', ']']).to_string(), port_number(port)))
            }
            None => {
                for address in &addresses {
                    endpoints.push((address.clone(), port_number(service)));
                }
            }
        }
    }
    Ok(endpoints)
}

/// Whether the matchlist `master_service_disable` turns off the master.cf
/// service `name` of type `kind`: its patterns are service types and
/// `name/type` pairs (Postfix 2.6 to 2.10 wrote `name.type`), `!pattern`
/// excludes, and the first matching pattern decides.
fn service_disabled(patterns: &[String], name: &str, kind: &str) -> bool {
    for pattern in patterns {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        let matches = pattern.eq_ignore_ascii_case(kind)
            || [format!("{name}/{kind}"), format!("{name}.{kind}")]
                .iter()
                .any(|pair| pattern.eq_ignore_ascii_case(pair));
        if matches {
            return !negated;
        }
    }
    false
}

/// A port as a number where its service name is a well-known mail port.
fn port_number(port: &str) -> String {
    match port {
        "smtp" => "25",
        "submission" => "587",
        "smtps" | "submissions" => "465",
        "lmtp" => "24",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        split_list(text.as_bytes())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn master_service_disable_is_a_first_match_list() {
        assert!(!service_disabled(&list(""), "smtp", "inet"));
        assert!(service_disabled(&list("inet"), "smtp", "inet"));
        assert!(service_disabled(&list("smtp/inet"), "smtp", "inet"));
        assert!(service_disabled(&list("smtp.inet"), "smtp", "inet"));
        assert!(!service_disabled(&list("smtp/inet"), "submission", "inet"));
        // A bare service name is no service type.
        assert!(!service_disabled(&list("smtp"), "smtp", "inet"));
        assert!(!service_disabled(&list("unix"), "smtp", "inet"));
        // Exclusions: everything but foo.
        assert!(!service_disabled(&list("!foo/inet, inet"), "foo", "inet"));
        assert!(service_disabled(&list("!foo/inet, inet"), "smtp", "inet"));
        assert!(service_disabled(&list("INET"), "smtp", "inet"));
    }

    #[test]
    fn modes_extra_bits_warn_missing_bits_fail() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .unwrap()
            .name;
        let entry = |mode| PermEntry {
            path: dir.path().to_path_buf(),
            is_dir: true,
            owner: me.clone(),
            group: None,
            mode,
            create: true,
            recursive: false,
        };
        let finding_with = |actual: u32, wanted: u32| {
            std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(actual)).unwrap();
            let meta = std::fs::symlink_metadata(dir.path()).unwrap();
            permission_finding(&entry(wanted), &meta)
        };
        assert_eq!(finding_with(0o700, 0o700), None);
        // Set-id and sticky bits of a directory are not compared...
        assert_eq!(finding_with(0o1730, 0o730), None);
        assert_eq!(finding_with(0o2710, 0o710), None);
        // ... unless postfix-files asks for them.
        assert_eq!(
            finding_with(0o710, 0o2710),
            Some((Severity::Error, "mode 0710, not 2710".to_string()))
        );
        assert_eq!(
            finding_with(0o755, 0o700),
            Some((Severity::Warning, "mode 0755, not 0700".to_string()))
        );
        assert_eq!(
            finding_with(0o500, 0o700),
            Some((Severity::Error, "mode 0500, not 0700".to_string()))
        );
        assert_eq!(
            finding_with(0o1733, 0o730),
            Some((Severity::Warning, "mode 1733, not 0730".to_string()))
        );
    }
}
