//! The actual state of a host: its registry as loaded, then brought up to
//! date, in memory, with each life-cycle plan the planner adds, so that the
//! next action is planned against the host as the earlier ones leave it.

use crate::bytes::{self, BStr, BString};
use crate::config::{main_cf_path, Config};
use crate::defaults::Defaults;
use crate::instance::Instance;
use crate::lifecycle::{Plan, Step};
use crate::maincf::MainCf;
use crate::registry::{instance_from_config, Registry, Strictness};
use crate::status::master_pid;
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;

/// The queue subdirectories that hold messages.
const MESSAGE_QUEUES: &[&str] = &[
    "maildrop", "incoming", "active", "deferred", "hold", "corrupt",
];

/// A host's instances, with the files earlier planned steps would write.
#[derive(Debug)]
pub struct Host<'d> {
    /// The registry as the planned steps leave it.
    pub registry: Registry<'d>,
    /// Files the planned steps write (`None`: removed), by path.
    written: HashMap<PathBuf, Option<Vec<u8>>>,
    /// Where each secondary is in the registry's instances, by
    /// configuration directory.
    index: HashMap<BString, usize>,
}

impl<'d> Host<'d> {
    /// Reads the host whose primary is in `primary_dir`; any broken
    /// secondary is an error, as for a life-cycle action, and so is a name,
    /// group or directory a manifest cannot hold (bytes that are not UTF-8).
    pub fn load(primary_dir: &[u8], defaults: &'d Defaults) -> Result<Host<'d>> {
        let registry = Registry::load(primary_dir, defaults, Strictness::Strict)?;
        for instance in &registry.instances {
            super::manifest_text(&instance.config_directory, "config_directory")?;
            super::manifest_text(&instance.queue_directory, "queue_directory")?;
            super::manifest_text(&instance.data_directory, "data_directory")?;
            for (what, value) in [
                ("instance name", &instance.name),
                ("group", &instance.group),
            ] {
                if let Some(value) = value {
                    super::manifest_text(value, what)?;
                }
            }
        }
        let mut host = Host {
            registry,
            written: HashMap::new(),
            index: HashMap::new(),
        };
        host.reindex();
        Ok(host)
    }

    /// Whether `postmulti -e init` has been run (the test of
    /// `require_init`).
    pub fn initialized(&self) -> Result<bool> {
        let primary = &self.registry.primary_config;
        Ok(!primary.expanded("multi_instance_wrapper")?.is_empty()
            && primary.expanded("multi_instance_enable")? == "yes")
    }

    /// The secondary whose configuration directory is `dir`.
    pub fn secondary(&self, dir: &[u8]) -> Option<&Instance> {
        self.index
            .get(BStr::new(dir))
            .map(|&at| &self.registry.instances[at])
    }

    // Indexes the secondaries by configuration directory.
    fn reindex(&mut self) {
        self.index = self
            .registry
            .instances
            .iter()
            .enumerate()
            .skip(1)
            .map(|(at, instance)| (instance.config_directory.clone(), at))
            .collect();
    }

    /// The main.cf of the instance in `dir` as the planned steps leave it.
    pub fn config(&self, dir: &[u8]) -> Result<Config<'d>> {
        let defaults = self.registry.primary_config.defaults();
        let path = main_cf_path(dir);
        match self.written.get(&path) {
            Some(Some(bytes)) => Config::from_doc(dir, MainCf::parse(bytes), defaults),
            Some(None) => Err(Error::fatal(format!("{} is removed", path.display()))),
            None => Config::load(dir, defaults),
        }
    }

    /// Takes in a plan's steps: the files it writes or removes, and the
    /// primary's main.cf, whose registry lists are reread; the secondaries
    /// follow `multi_instance_directories`, each reread from its main.cf.
    pub fn absorb(&mut self, plan: &Plan) -> Result<()> {
        let primary_path = self.registry.primary_config.path();
        let mut primary_written = false;
        for step in &plan.steps {
            match step {
                Step::WriteFile { path, new, .. } => {
                    primary_written |= *path == primary_path;
                    self.written.insert(path.clone(), Some(new.clone()));
                }
                Step::RemoveFile(path) => {
                    self.written.insert(path.clone(), None);
                }
                _ => {}
            }
        }
        if primary_written {
            self.reread_primary()?;
        }
        self.refresh_secondaries(plan)
    }

    // Takes the primary's main.cf as written, and lists the secondaries in
    // its new order (dropping those it no longer lists).
    fn reread_primary(&mut self) -> Result<()> {
        let dir = BString::from(self.registry.primary_config.dir());
        let primary = self.config(&dir)?;
        let listed = crate::registry::split_list(&primary.expanded("multi_instance_directories")?);
        self.registry.primary_config = primary;
        let mut known: HashMap<BString, (Instance, Config<'d>)> = self
            .registry
            .take_secondaries()
            .into_iter()
            .map(|pair| (pair.0.config_directory.clone(), pair))
            .collect();
        let mut secondaries = Vec::with_capacity(listed.len());
        for dir in listed {
            let pair = match known.remove(&dir) {
                Some(pair) => pair,
                None => {
                    let config = self.config(&dir)?;
                    let instance = instance_from_config(&config, false)?;
                    self.registry.claims.claim_instance(&instance)?;
                    (instance, config)
                }
            };
            secondaries.push(pair);
        }
        self.registry.put_secondaries(secondaries);
        self.reindex();
        Ok(())
    }

    // Rereads the secondaries whose main.cf a plan wrote.
    fn refresh_secondaries(&mut self, plan: &Plan) -> Result<()> {
        let mut touched = Vec::new();
        for step in &plan.steps {
            let Step::WriteFile { path, .. } = step else {
                continue;
            };
            let Some(dir) = path.parent().map(bytes::of_os) else {
                continue;
            };
            if let Some(&at) = self.index.get(dir).filter(|_| main_cf_path(dir) == *path) {
                touched.push((at, self.config(dir)?));
            }
        }
        if touched.is_empty() {
            return Ok(());
        }
        let mut secondaries = self.registry.take_secondaries();
        for (at, config) in touched {
            let instance = instance_from_config(&config, false)?;
            secondaries[at - 1] = (instance, config);
        }
        self.registry.put_secondaries(secondaries);
        Ok(())
    }

    /// Whether the master daemon of `instance` runs.
    pub fn running(instance: &Instance) -> bool {
        master_pid(instance.queue_path()).is_some()
    }

    /// How many messages `instance`'s queue holds (files in its message
    /// queues).
    pub fn queued_messages(instance: &Instance) -> usize {
        let queue = instance.queue_path();
        MESSAGE_QUEUES
            .iter()
            .map(|name| {
                walkdir::WalkDir::new(queue.join(name))
                    .follow_links(false)
                    .into_iter()
                    .filter_map(|entry| entry.ok())
                    .filter(|entry| entry.file_type().is_file())
                    .count()
            })
            .sum()
    }
}
