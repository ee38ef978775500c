//! The instance registry: the primary instance plus the secondaries listed
//! in its `multi_instance_directories`, each read natively, and the claims
//! that make two instances sharing a name or a directory a fatal conflict.

use crate::bytes::{self, BStr, BString};
use crate::config::Config;
use crate::defaults::Defaults;
use crate::error::strerror;
use crate::instance::{non_empty, BrokenInstance, Instance};
use crate::parallel;
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// The shared directories of the primary that must exist; all but
/// `meta_directory` are claimed (meta usually overlaps another directory).
const SHARED_DIRECTORIES: &[&str] = &[
    "command_directory",
    "daemon_directory",
    "meta_directory",
    "shlib_directory",
];

/// How to treat a secondary instance that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Any problem is fatal, as in Postfix's postmulti (life-cycle actions).
    Strict,
    /// A broken secondary is set aside and reported; the others are served.
    Lenient,
}

/// Every instance of a host, in `multi_instance_directories` order, with
/// what `K` keeps of each usable secondary's main.cf: the whole parsed
/// document ([`Config`], the default: for actions that read more of it or
/// edit it) or nothing ([`InstancesOnly`]: for listings, which need only
/// the values in [`Instance`], so that a host of many instances is never
/// held in memory file by file).
#[derive(Debug)]
pub struct Registry<'d, K = Config<'d>> {
    /// The primary instance's parameters.
    pub primary_config: Config<'d>,
    /// The primary first, then the usable secondaries in order.
    pub instances: Vec<Instance>,
    /// Secondaries that could not be used (only with [`Strictness::Lenient`]).
    pub broken: Vec<BrokenInstance>,
    /// The claims made so far, to check new names and directories against.
    pub claims: Claims,
    /// What is kept of each usable secondary's main.cf, in `instances` order.
    kept: Vec<K>,
}

/// What a [`Registry`] keeps of each usable secondary's parsed main.cf,
/// besides the [`Instance`] built from it.
pub trait Keep<'d>: Send {
    /// What is kept of `config`, which the registry then drops.
    fn keep(config: Config<'d>) -> Self;
}

impl<'d> Keep<'d> for Config<'d> {
    fn keep(config: Config<'d>) -> Self {
        config
    }
}

/// Nothing of a secondary's main.cf beyond its [`Instance`]: what listings,
/// metrics, iteration and the systemd generator need. Each main.cf is then
/// dropped as soon as it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstancesOnly;

impl<'d> Keep<'d> for InstancesOnly {
    fn keep(_: Config<'d>) -> Self {
        InstancesOnly
    }
}

/// The most values an instance claims: its name, config, queue and data
/// directories.
const VALUES_PER_INSTANCE: usize = 4;

/// Who claimed which name or directory.
#[derive(Debug, Default, Clone)]
pub struct Claims {
    owners: HashMap<BString, Claimant>,
}

/// The instance and parameter that claimed a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    /// The claiming instance's `config_directory`.
    pub config_directory: Arc<[u8]>,
    /// The parameter whose value it is.
    pub param: &'static str,
}

impl Claims {
    /// Registers that the instance in `config_directory` uses `value` as
    /// `param`, or fails with Postfix's conflict message.
    pub fn claim(
        &mut self,
        config_directory: &[u8],
        param: &'static str,
        value: &[u8],
    ) -> Result<()> {
        self.claim_all(config_directory, &[(param, value)])
    }

    /// Makes room for the claims of `instances` more instances, so that
    /// the table is sized once for a whole host.
    pub fn reserve(&mut self, instances: usize) {
        self.owners
            .reserve(instances.saturating_mul(VALUES_PER_INSTANCE));
    }

    /// Who claimed `value`.
    pub fn owner(&self, value: &[u8]) -> Option<&Claimant> {
        self.owners.get(BStr::new(value))
    }

    /// Claims an instance's name, config, queue and data directories, all or
    /// nothing.
    pub fn claim_instance(&mut self, instance: &Instance) -> Result<()> {
        let mut values: Vec<(&'static str, &[u8])> = Vec::with_capacity(VALUES_PER_INSTANCE);
        if let Some(name) = &instance.name {
            values.push(("multi_instance_name", name));
        }
        values.push(("config_directory", &instance.config_directory));
        values.push(("queue_directory", &instance.queue_directory));
        values.push(("data_directory", &instance.data_directory));
        self.claim_all(&instance.config_directory, &values)
    }

    // Claims each (param, value) of one instance: each is checked against
    // earlier claims and the instance's own earlier values, in Postfix's
    // order, before any is recorded.
    fn claim_all(
        &mut self,
        config_directory: &[u8],
        values: &[(&'static str, &[u8])],
    ) -> Result<()> {
        let is_requestor = |owner: &Claimant, param| {
            &*owner.config_directory == config_directory && owner.param == param
        };
        for (i, &(param, value)) in values.iter().enumerate() {
            let earlier_own = values[..i]
                .iter()
                .find(|(_, v)| *v == value)
                .map(|&(p, _)| Claimant {
                    config_directory: config_directory.into(),
                    param: p,
                });
            match earlier_own.as_ref().or_else(|| self.owner(value)) {
                Some(owner) if !is_requestor(owner, param) => {
                    return Err(Error::Conflict {
                        config_directory: config_directory.into(),
                        param,
                        value: value.into(),
                        owner_directory: owner.config_directory.as_ref().into(),
                        owner_param: owner.param,
                    })
                }
                _ => {}
            }
        }
        let shared: Arc<[u8]> = config_directory.into();
        for &(param, value) in values {
            if !self.owners.contains_key(BStr::new(value)) {
                let claimant = Claimant {
                    config_directory: Arc::clone(&shared),
                    param,
                };
                self.owners.insert(value.into(), claimant);
            }
        }
        Ok(())
    }
}

impl<'d, K: Keep<'d>> Registry<'d, K> {
    /// Reads the primary instance in `primary_dir` and every secondary it
    /// lists, checking the shared directories and every claim.
    pub fn load(
        primary_dir: &[u8],
        defaults: &'d Defaults,
        strictness: Strictness,
    ) -> Result<Registry<'d, K>> {
        let primary_config = Config::load(primary_dir, defaults)?;
        let mut claims = Claims::default();
        check_shared_directories(&primary_config, &mut claims)?;
        let secondary_dirs = split_list(&primary_config.expanded("multi_instance_directories")?);
        let mut primary = instance_from_config(&primary_config, true)?;
        if secondary_dirs.is_empty() {
            primary.enabled = true; // single-instance mode
        }
        claims.reserve(secondary_dirs.len() + 1);
        claims.claim_instance(&primary)?;
        let mut instances = Vec::with_capacity(secondary_dirs.len() + 1);
        instances.push(primary);
        let mut registry = Registry {
            primary_config,
            instances,
            broken: Vec::new(),
            claims,
            kept: Vec::with_capacity(secondary_dirs.len()),
        };
        // Reading and parsing is independent per instance, so many are
        // shared among a few threads; each is added (its claims checked) in
        // list order, so errors are the ones a reading in turn would report.
        let mut position = 0;
        let mut added = Ok(());
        parallel::for_each_in_order(
            &secondary_dirs,
            MIN_FILES_PER_THREAD,
            |dir| load_secondary(dir, defaults),
            |loaded| {
                if added.is_ok() {
                    added = registry.add_secondary(
                        position,
                        &secondary_dirs[position],
                        loaded,
                        strictness,
                    );
                }
                position += 1;
            },
        );
        added.map(|()| registry)
    }

    // Adds the secondary listed at `position` (from `dir`) as it was read:
    // usable when its claims hold, else broken (an error when `strictness`
    // is strict).
    fn add_secondary(
        &mut self,
        position: usize,
        dir: &BString,
        loaded: Loaded<K>,
        strictness: Strictness,
    ) -> Result<()> {
        let (error, name, group) = match loaded {
            Loaded::Usable(instance, kept) => match self.claims.claim_instance(&instance) {
                Ok(()) => {
                    self.instances.push(instance);
                    self.kept.push(kept);
                    return Ok(());
                }
                Err(error) => (error, instance.name, instance.group),
            },
            Loaded::Unusable { error, name, group } => (error, name, group),
        };
        if strictness == Strictness::Strict {
            return Err(error);
        }
        self.broken.push(BrokenInstance {
            position,
            config_directory: dir.clone(),
            name,
            group,
            reason: error.to_bytes().into(),
        });
        Ok(())
    }
}

impl<'d, K> Registry<'d, K> {
    /// The primary instance.
    pub fn primary(&self) -> &Instance {
        &self.instances[0]
    }

    /// The secondary instances, in order.
    pub fn secondaries(&self) -> &[Instance] {
        &self.instances[1..]
    }

    /// The instances a start of the whole host starts, in order: the primary
    /// when it is enabled (always in single-instance mode), and the
    /// secondaries whose own `multi_instance_enable` is yes when the
    /// primary's is yes too (a host whose primary says no is not managed
    /// as multi-instance).
    pub fn started_instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances
            .iter()
            .filter(|instance| self.starts(instance))
    }

    // Whether a start of the whole host starts `instance` (see
    // [`Registry::started_instances`]).
    fn starts(&self, instance: &Instance) -> bool {
        self.primary().enabled && instance.enabled
    }

    /// The secondaries' configuration directories in registry order, broken
    /// ones where they were listed.
    pub fn secondary_dirs(&self) -> Vec<BString> {
        let mut dirs: Vec<BString> = self
            .secondaries()
            .iter()
            .map(|i| i.config_directory.clone())
            .collect();
        for broken in &self.broken {
            let at = broken.position.min(dirs.len());
            dirs.insert(at, broken.config_directory.clone());
        }
        dirs
    }
}

impl<'d> Registry<'d> {
    /// [`Registry::started_instances`], each with its parsed main.cf.
    pub fn started_with_configs(&self) -> impl Iterator<Item = (&Instance, &Config<'d>)> {
        self.with_configs()
            .filter(|(instance, _)| self.starts(instance))
    }

    /// Each usable instance with its parsed main.cf, primary first.
    pub fn with_configs(&self) -> impl Iterator<Item = (&Instance, &Config<'d>)> {
        let configs = std::iter::once(&self.primary_config).chain(&self.kept);
        self.instances.iter().zip(configs)
    }

    /// Takes the usable secondaries out, each with its parsed main.cf, in
    /// order (for a planner that brings the registry up to date with the
    /// actions it plans, then puts them back with
    /// [`Registry::put_secondaries`]).
    pub fn take_secondaries(&mut self) -> Vec<(Instance, Config<'d>)> {
        let configs = std::mem::take(&mut self.kept);
        self.instances.drain(1..).zip(configs).collect()
    }

    /// Puts usable secondaries in, each with its parsed main.cf, in order,
    /// in place of those there were.
    pub fn put_secondaries(&mut self, secondaries: Vec<(Instance, Config<'d>)>) {
        self.instances.truncate(1);
        self.kept.clear();
        for (instance, config) in secondaries {
            self.instances.push(instance);
            self.kept.push(config);
        }
    }
}

/// Builds the instance structure from an instance's main.cf.
pub fn instance_from_config(config: &Config<'_>, primary: bool) -> Result<Instance> {
    let enable = config.expanded("multi_instance_enable")?;
    let enabled = match enable.to_ascii_lowercase().as_slice() {
        b"yes" => true,
        b"no" => false,
        _ => {
            return Err(Error::fatal(crate::bconcat!(
                "Unexpected ",
                config.dir(),
                "/main.cf entry: multi_instance_enable = ",
                enable
            )))
        }
    };
    Ok(Instance {
        config_directory: config.dir().into(),
        queue_directory: config.expanded("queue_directory")?,
        data_directory: config.expanded("data_directory")?,
        name: non_empty(config.expanded("multi_instance_name")?),
        group: non_empty(config.expanded("multi_instance_group")?),
        enabled,
        primary,
    })
}

/// The name and group of a secondary that could not be used, as far as its
/// parsed main.cf tells them.
fn known_identity(config: &Config<'_>) -> (Option<BString>, Option<BString>) {
    let value = |param| config.expanded(param).ok().and_then(non_empty);
    (value("multi_instance_name"), value("multi_instance_group"))
}

/// A secondary as read from its main.cf, before its claims are checked.
enum Loaded<K> {
    /// The instance and what is kept of its main.cf.
    Usable(Instance, K),
    /// Why it cannot be used, and its name and group as far as its main.cf
    /// could be parsed.
    Unusable {
        /// Why.
        error: Error,
        /// Its `multi_instance_name`, when known and not empty.
        name: Option<BString>,
        /// Its `multi_instance_group`, when known and not empty.
        group: Option<BString>,
    },
}

/// Reads one secondary's main.cf and builds its instance structure; only
/// what `K` keeps of the file outlives this step.
fn load_secondary<'d, K: Keep<'d>>(dir: &[u8], defaults: &'d Defaults) -> Loaded<K> {
    let config = match Config::load(dir, defaults) {
        Ok(config) => config,
        Err(error) => {
            return Loaded::Unusable {
                error,
                name: None,
                group: None,
            }
        }
    };
    match instance_from_config(&config, false) {
        Ok(instance) => Loaded::Usable(instance, K::keep(config)),
        Err(error) => {
            let (name, group) = known_identity(&config);
            Loaded::Unusable { error, name, group }
        }
    }
}

/// The fewest main.cf files worth a thread of their own.
const MIN_FILES_PER_THREAD: usize = 64;

/// Splits a Postfix list on commas and white space, dropping empty elements.
pub fn split_list(value: &[u8]) -> Vec<BString> {
    value
        .split(|&c| c == b',' || c.is_ascii_whitespace())
        .filter(|element| !element.is_empty())
        .map(BString::from)
        .collect()
}

/// Checks that the primary's absolute shared directories exist and are
/// directories, and claims them.
fn check_shared_directories(primary: &Config<'_>, claims: &mut Claims) -> Result<()> {
    for &param in SHARED_DIRECTORIES {
        let value = primary.expanded(param)?;
        if !value.starts_with(b"/") {
            continue; // "no" or another special value
        }
        match std::fs::metadata(bytes::path(&value)) {
            Err(e) => {
                return Err(Error::fatal(crate::bconcat!(
                    param,
                    " = '",
                    value,
                    "': directory not found: ",
                    strerror(&e)
                )))
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(Error::fatal(crate::bconcat!(
                    param,
                    " = '",
                    value,
                    "' is not a directory"
                )))
            }
            Ok(_) => {}
        }
        if param != "meta_directory" {
            claims.claim(primary.dir(), param, &value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    /// A primary in `root` with `count` secondaries; `edit` may rewrite the
    /// main.cf text of secondary `i` (0-based).
    fn host(root: &Path, count: usize, edit: impl Fn(usize, String) -> String) -> String {
        for shared in ["sbin", "libexec", "lib"] {
            fs::create_dir_all(root.join(shared)).unwrap();
        }
        let mut dirs = Vec::new();
        for i in 0..count {
            let dir = root.join(format!("postfix-{i:04}"));
            fs::create_dir_all(&dir).unwrap();
            let text = format!(
                "# comment\nqueue_directory = /q/{i}\ndata_directory = /d/{i}\n\
                 multi_instance_name = postfix-{i:04}\nmulti_instance_enable = yes\n"
            );
            fs::write(dir.join("main.cf"), edit(i, text)).unwrap();
            dirs.push(dir.display().to_string());
        }
        let primary = root.join("postfix");
        fs::create_dir_all(&primary).unwrap();
        let root = root.display();
        fs::write(
            primary.join("main.cf"),
            format!(
                "command_directory = {root}/sbin\ndaemon_directory = {root}/libexec\n\
                 meta_directory = {root}/lib\nshlib_directory = {root}/lib\n\
                 queue_directory = /q/primary\ndata_directory = /d/primary\n\
                 multi_instance_directories = {}\n",
                dirs.join(" ")
            ),
        )
        .unwrap();
        primary.display().to_string()
    }

    #[test]
    fn many_secondaries_keep_their_order_and_broken_ones_their_place() {
        let root = tempfile::tempdir().unwrap();
        let primary = host(root.path(), 300, |i, text| match i {
            7 | 250 => "not a setting\n".to_string(),
            100 => text.replace("enable = yes", "enable = maybe"),
            _ => text,
        });
        let defaults = Defaults::new();
        let registry: Registry<'_> =
            Registry::load(primary.as_bytes(), &defaults, Strictness::Lenient).unwrap();
        let names: Vec<_> = registry
            .secondaries()
            .iter()
            .map(|i| i.name.clone().unwrap())
            .collect();
        let expected: Vec<_> = (0..300)
            .filter(|i| ![7, 100, 250].contains(i))
            .map(|i| format!("postfix-{i:04}"))
            .collect();
        assert_eq!(names, expected);
        let broken: Vec<_> = registry.broken.iter().map(|b| b.position).collect();
        assert_eq!(broken, vec![7, 100, 250]);
        assert_eq!(registry.broken[0].name, None);
        assert_eq!(
            registry.broken[1]
                .name
                .as_ref()
                .map(|name| name.to_string()),
            Some("postfix-0100".to_string())
        );
        assert_eq!(registry.secondary_dirs().len(), 300);
        assert_eq!(registry.with_configs().count(), registry.instances.len());
        // A registry that keeps no main.cf is loaded by the same rules.
        let lean: Registry<'_, InstancesOnly> =
            Registry::load(primary.as_bytes(), &defaults, Strictness::Lenient).unwrap();
        assert_eq!(lean.instances, registry.instances);
        assert_eq!(lean.broken, registry.broken);
    }

    #[test]
    fn the_first_problem_in_list_order_is_the_one_reported() {
        let root = tempfile::tempdir().unwrap();
        // A conflict early in the list, a syntax error late: the conflict
        // is reported, as reading the instances in turn would.
        let primary = host(root.path(), 300, |i, text| match i {
            20 => text.replace("/q/20", "/q/3"),
            280 => "not a setting\n".to_string(),
            _ => text,
        });
        let defaults = Defaults::new();
        let error = Registry::<Config>::load(primary.as_bytes(), &defaults, Strictness::Strict)
            .unwrap_err();
        let lean =
            Registry::<InstancesOnly>::load(primary.as_bytes(), &defaults, Strictness::Strict)
                .unwrap_err();
        assert_eq!(lean.to_string(), error.to_string());
        assert!(
            error
                .to_string()
                .contains("queue_directory=/q/3 conflicts with instance"),
            "{error}"
        );
        assert!(
            matches!(&error, Error::Conflict { param: "queue_directory", value, .. } if value == "/q/3"),
            "{error:?}"
        );
        // Two syntax errors: the earlier one is reported.
        let root = tempfile::tempdir().unwrap();
        let primary = host(root.path(), 300, |i, text| match i {
            150 | 290 => "not a setting\n".to_string(),
            _ => text,
        });
        let error =
            Registry::<InstancesOnly>::load(primary.as_bytes(), &defaults, Strictness::Strict)
                .unwrap_err();
        assert!(
            error.to_string().contains("postfix-0150/main.cf, line 1"),
            "{error}"
        );
        assert!(
            matches!(&error, Error::Syntax { path, line: 1, .. } if path.ends_with("postfix-0150/main.cf")),
            "{error:?}"
        );
    }
}
