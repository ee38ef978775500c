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

/// Every instance of a host, in `multi_instance_directories` order.
#[derive(Debug)]
pub struct Registry<'d> {
    /// The primary instance's parameters.
    pub primary_config: Config<'d>,
    /// The primary first, then the usable secondaries in order.
    pub instances: Vec<Instance>,
    /// Secondaries that could not be used (only with [`Strictness::Lenient`]).
    pub broken: Vec<BrokenInstance>,
    /// The claims made so far, to check new names and directories against.
    pub claims: Claims,
    /// The parsed main.cf of each usable secondary, in `instances` order.
    secondary_configs: Vec<Config<'d>>,
}

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

    /// Who claimed `value`.
    pub fn owner(&self, value: &[u8]) -> Option<&Claimant> {
        self.owners.get(BStr::new(value))
    }

    /// Claims an instance's name, config, queue and data directories, all or
    /// nothing.
    pub fn claim_instance(&mut self, instance: &Instance) -> Result<()> {
        let mut values: Vec<(&'static str, &[u8])> = Vec::with_capacity(4);
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

impl<'d> Registry<'d> {
    /// Reads the primary instance in `primary_dir` and every secondary it
    /// lists, checking the shared directories and every claim.
    pub fn load(
        primary_dir: &[u8],
        defaults: &'d Defaults,
        strictness: Strictness,
    ) -> Result<Registry<'d>> {
        let primary_config = Config::load(primary_dir, defaults)?;
        let mut claims = Claims::default();
        check_shared_directories(&primary_config, &mut claims)?;
        let secondary_dirs = split_list(&primary_config.expanded("multi_instance_directories")?);
        let mut primary = instance_from_config(&primary_config, true)?;
        if secondary_dirs.is_empty() {
            primary.enabled = true; // single-instance mode
        }
        claims.claim_instance(&primary)?;
        let mut registry = Registry {
            primary_config,
            instances: vec![primary],
            broken: Vec::new(),
            claims,
            secondary_configs: Vec::with_capacity(secondary_dirs.len()),
        };
        let secondaries = load_secondaries(&secondary_dirs, defaults);
        for (position, (dir, loaded)) in secondary_dirs.iter().zip(secondaries).enumerate() {
            let (error, name, group) = match loaded {
                Loaded::Usable(instance, config) => {
                    match registry.claims.claim_instance(&instance) {
                        Ok(()) => {
                            registry.instances.push(instance);
                            registry.secondary_configs.push(config);
                            continue;
                        }
                        Err(error) => (error, instance.name, instance.group),
                    }
                }
                Loaded::Unusable(error, config) => {
                    let (name, group) = config.as_ref().map(known_identity).unwrap_or_default();
                    (error, name, group)
                }
            };
            if strictness == Strictness::Strict {
                return Err(error);
            }
            registry.broken.push(BrokenInstance {
                position,
                config_directory: dir.clone(),
                name,
                group,
                reason: error.to_bytes().into(),
            });
        }
        Ok(registry)
    }

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
        self.started_with_configs().map(|(instance, _)| instance)
    }

    /// [`Registry::started_instances`], each with its parsed main.cf.
    pub fn started_with_configs(&self) -> impl Iterator<Item = (&Instance, &Config<'d>)> {
        let primary_enabled = self.primary().enabled;
        self.with_configs()
            .filter(move |(instance, _)| primary_enabled && instance.enabled)
    }

    /// Each usable instance with its parsed main.cf, primary first.
    pub fn with_configs(&self) -> impl Iterator<Item = (&Instance, &Config<'d>)> {
        let configs = std::iter::once(&self.primary_config).chain(&self.secondary_configs);
        self.instances.iter().zip(configs)
    }

    /// Takes the usable secondaries out, each with its parsed main.cf, in
    /// order (for a planner that brings the registry up to date with the
    /// actions it plans, then puts them back with
    /// [`Registry::put_secondaries`]).
    pub fn take_secondaries(&mut self) -> Vec<(Instance, Config<'d>)> {
        let configs = std::mem::take(&mut self.secondary_configs);
        self.instances.drain(1..).zip(configs).collect()
    }

    /// Puts usable secondaries in, each with its parsed main.cf, in order,
    /// in place of those there were.
    pub fn put_secondaries(&mut self, secondaries: Vec<(Instance, Config<'d>)>) {
        self.instances.truncate(1);
        self.secondary_configs.clear();
        for (instance, config) in secondaries {
            self.instances.push(instance);
            self.secondary_configs.push(config);
        }
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
enum Loaded<'d> {
    /// The instance and its main.cf.
    Usable(Instance, Config<'d>),
    /// Why it cannot be used, and its main.cf when that could be parsed.
    Unusable(Error, Option<Config<'d>>),
}

/// Reads one secondary's main.cf and builds its instance structure.
fn load_secondary<'d>(dir: &[u8], defaults: &'d Defaults) -> Loaded<'d> {
    let config = match Config::load(dir, defaults) {
        Ok(config) => config,
        Err(error) => return Loaded::Unusable(error, None),
    };
    match instance_from_config(&config, false) {
        Ok(instance) => Loaded::Usable(instance, config),
        Err(error) => Loaded::Unusable(error, Some(config)),
    }
}

/// The instances whose main.cf files are in `dirs`, in order. Reading and
/// parsing is independent per instance, so many are shared among a few
/// threads; the claims are checked afterwards, in order, so errors are the
/// ones a reading in turn would report.
fn load_secondaries<'d>(dirs: &[BString], defaults: &'d Defaults) -> Vec<Loaded<'d>> {
    parallel::map_in_order(dirs, MIN_FILES_PER_THREAD, |dir| {
        load_secondary(dir, defaults)
    })
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
            _ => text,
        });
        let defaults = Defaults::new();
        let registry = Registry::load(primary.as_bytes(), &defaults, Strictness::Lenient).unwrap();
        let names: Vec<_> = registry
            .secondaries()
            .iter()
            .map(|i| i.name.clone().unwrap())
            .collect();
        let expected: Vec<_> = (0..300)
            .filter(|i| ![7, 250].contains(i))
            .map(|i| format!("postfix-{i:04}"))
            .collect();
        assert_eq!(names, expected);
        let broken: Vec<_> = registry.broken.iter().map(|b| b.position).collect();
        assert_eq!(broken, vec![7, 250]);
        assert_eq!(registry.secondary_dirs().len(), 300);
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
        let error = Registry::load(primary.as_bytes(), &defaults, Strictness::Strict).unwrap_err();
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
        let error = Registry::load(primary.as_bytes(), &defaults, Strictness::Strict).unwrap_err();
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
