//! The planner: diffs a manifest against a host into the ordered actions
//! that converge it, each one the life-cycle action `postmulti -e` would
//! run (init, create, import, disable, deport, destroy, planned by
//! [`lifecycle::plan`]) or a main.cf edit as `postconf -e` makes it
//! ([`Plan::edit_main_cf`]), planned against the host as the earlier
//! actions leave it.

use super::actual::Host;
use super::manifest::{DesiredInstance, Manifest, Prune};
use crate::defaults::Defaults;
use crate::instance::Instance;
use crate::iterate::{self, IterateRequest, Run};
use crate::lifecycle::{
    self, check_private_path, derive_private_path, Action, EditOptions, EditRequest, Plan, Step,
};
use crate::select::Selection;
use crate::trust;
use crate::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What kind of change an action makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `postmulti -e init`.
    Init,
    /// `postmulti -e create`.
    Create,
    /// `postmulti -e import`.
    Import,
    /// A new `multi_instance_name` or `multi_instance_group`.
    Assign,
    /// `multi_instance_enable = yes`.
    Enable,
    /// `multi_instance_enable = no`.
    Disable,
    /// A main.cf parameter set as `postconf -e` would.
    Set,
    /// A new order of `multi_instance_directories`.
    Reorder,
    /// `postmulti -e deport`.
    Deport,
    /// `postmulti -e destroy`.
    Destroy,
    /// `postfix reload` of a running instance whose main.cf changed.
    Reload,
    /// `postfix start` of an enabled instance that is stopped.
    Start,
}

impl Kind {
    /// The word used in plans and JSON.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Init => "init",
            Kind::Create => "create",
            Kind::Import => "import",
            Kind::Assign => "assign",
            Kind::Enable => "enable",
            Kind::Disable => "disable",
            Kind::Set => "set",
            Kind::Reorder => "reorder",
            Kind::Deport => "deport",
            Kind::Destroy => "destroy",
            Kind::Reload => "reload",
            Kind::Start => "start",
        }
    }
}

/// A main.cf parameter's value before and after a `set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterChange {
    /// The parameter.
    pub name: String,
    /// Its value in main.cf before (`None`: not set there).
    pub old: Option<String>,
    /// Its value after.
    pub new: Option<String>,
}

/// One action of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What it does.
    pub kind: Kind,
    /// The instance's name (its configuration directory when it has none;
    /// `-` for the primary).
    pub instance: String,
    /// The instance's configuration directory.
    pub config_directory: String,
    /// One line for a person.
    pub description: String,
    /// For `set`: the parameter.
    pub parameter: Option<ParameterChange>,
}

/// What the caller wants besides the files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--reload`: reload running instances whose main.cf changes.
    pub reload: bool,
    /// `--start`: start enabled instances that are stopped.
    pub start: bool,
}

/// A file before and after a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file.
    pub path: String,
    /// Its text before (empty for a new file).
    pub before: String,
    /// Its text after (empty for a removed file).
    pub after: String,
}

/// What converging a host takes.
#[derive(Debug, Default)]
pub struct DesiredPlan {
    /// The actions, in order.
    pub changes: Vec<Change>,
    /// Their file-system steps, in order.
    pub plan: Plan,
    /// The `postfix reload` and `postfix start` commands, run after the
    /// steps.
    pub runs: Vec<Run>,
    /// Instances on the host the manifest does not name, left alone.
    pub unmanaged: Vec<String>,
    /// Things the administrator should know (running instances needing a
    /// reload that was not asked for).
    pub notes: Vec<String>,
}

impl DesiredPlan {
    /// Whether anything would change.
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Every file the steps write or remove, its text before the first
    /// step and after the last, in the order first touched.
    pub fn files(&self) -> Vec<FileChange> {
        let mut files: Vec<FileChange> = Vec::new();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let on_disk = |path: &Path| {
            trust::read_config(path, trust::CONFIG_LIMIT)
                .map(|b| text(&b))
                .unwrap_or_default()
        };
        for step in &self.plan.steps {
            let (path, before, after) = match step {
                Step::WriteFile { path, old, new, .. } => {
                    (path, text(old.as_deref().unwrap_or_default()), text(new))
                }
                Step::CopyFile { to, copied, .. } => (to, on_disk(to), text(&copied.bytes)),
                Step::RemoveFile(path) => (path, on_disk(path), String::new()),
                _ => continue,
            };
            let path = path.display().to_string();
            match files.iter_mut().find(|file| file.path == path) {
                Some(file) => file.after = after,
                None => files.push(FileChange {
                    path,
                    before,
                    after,
                }),
            }
        }
        files.retain(|file| file.before != file.after);
        files
    }
}

/// Plans how to make `host` look like `manifest`. Every check is done
/// before anything is planned to be carried out, so an error means that
/// nothing would change.
pub fn plan(
    manifest: &Manifest,
    host: &mut Host<'_>,
    defaults: &Defaults,
    options: &Options,
) -> Result<DesiredPlan> {
    let targets = match_instances(manifest, host)?;
    let mut planner = Planner {
        manifest,
        defaults,
        out: DesiredPlan::default(),
    };
    let managed: Vec<&str> = targets
        .iter()
        .map(|t| t.config_directory.as_str())
        .collect();
    // Host::load refused names and directories that are not UTF-8, so
    // each is its text here.
    let managed_set: HashSet<&str> = managed.iter().copied().collect();
    let unmanaged: Vec<Instance> = host
        .registry
        .secondaries()
        .iter()
        .filter(|instance| !managed_set.contains(text(&instance.config_directory)))
        .cloned()
        .collect();
    planner.check_prune(&unmanaged)?;
    let pruning = manifest.prune != Prune::None && !unmanaged.is_empty();
    if (!targets.is_empty() || pruning) && !host.initialized()? {
        let primary = host.registry.primary_config.dir().to_string();
        planner.lifecycle(host, Action::Init, Selection::Unspecified, None)?;
        planner.push(
            Kind::Init,
            "-",
            &primary,
            format!("init: hook postmulti into {primary}/main.cf"),
        );
    }
    let mut reload = Vec::new();
    for (desired, target) in manifest.instances.iter().zip(&targets) {
        let existed = host.secondary(target.config_directory.as_bytes()).is_some();
        if !existed {
            planner.add(host, desired, target)?;
        }
        let edited = planner.edit(host, desired, &target.config_directory)?;
        if existed && edited {
            reload.push(target.config_directory.clone());
        }
    }
    planner.reorder(host, &managed, &managed_set)?;
    for instance in &unmanaged {
        planner.prune(host, instance)?;
    }
    planner.commands(host, &reload, options)?;
    Ok(planner.out)
}

/// Where a manifest instance is on the host, or will be.
#[derive(Debug, Clone)]
struct Target {
    /// Its configuration directory.
    config_directory: String,
    /// Its queue directory.
    queue_directory: String,
    /// Its data directory.
    data_directory: String,
    /// Whether it is to be imported (a complete, unregistered directory).
    import: bool,
}

/// Finds each manifest instance on the host (by name, else by
/// configuration directory), or where it will be created, and checks its
/// directories and name against every other instance's.
fn match_instances(manifest: &Manifest, host: &Host<'_>) -> Result<Vec<Target>> {
    let registry = &host.registry;
    let primary = registry.primary();
    let mut claims = registry.claims.clone();
    let mut targets: Vec<Target> = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut by_name: HashMap<&str, &Instance> = HashMap::new();
    for instance in registry.secondaries() {
        if let Some(name) = &instance.name {
            by_name.entry(text(name)).or_insert(instance);
        }
    }
    for desired in &manifest.instances {
        let fail = |e: &dyn std::fmt::Display| {
            manifest.error_at(desired.at, format!("instance {}: {e}", desired.name))
        };
        if primary
            .name
            .as_ref()
            .is_some_and(|name| *name == desired.name)
        {
            return Err(fail(&"the primary instance has this name"));
        }
        let given = &desired.directories;
        let config_directory = match &given.config_directory {
            Some(dir) => dir.clone(),
            None => derive_private_path(
                "config_directory",
                &primary.config_directory,
                Some(desired.name.as_bytes()),
            )
            .map_err(|e| fail(&e))?
            .to_string(),
        };
        let existing = by_name
            .get(desired.name.as_str())
            .copied()
            .filter(|i| !taken.contains(text(&i.config_directory)))
            .or_else(|| host.secondary(config_directory.as_bytes()))
            .filter(|i| !taken.contains(text(&i.config_directory)));
        let target = match existing {
            Some(instance) => Target {
                config_directory: text(&instance.config_directory).to_string(),
                queue_directory: text(&instance.queue_directory).to_string(),
                data_directory: text(&instance.data_directory).to_string(),
                import: false,
            },
            None => new_target(host, desired, config_directory).map_err(|e| fail(&e))?,
        };
        for (param, wanted, actual) in [
            (
                "config_directory",
                &given.config_directory,
                &target.config_directory,
            ),
            (
                "queue_directory",
                &given.queue_directory,
                &target.queue_directory,
            ),
            (
                "data_directory",
                &given.data_directory,
                &target.data_directory,
            ),
        ] {
            if let Some(wanted) = wanted.as_ref().filter(|wanted| *wanted != actual) {
                return Err(fail(&format!(
                    "{param} is {actual} on the host, not {wanted}; an instance cannot be moved"
                )));
            }
        }
        claims
            .claim_instance(&Instance {
                config_directory: target.config_directory.clone().into(),
                queue_directory: target.queue_directory.clone().into(),
                data_directory: target.data_directory.clone().into(),
                name: Some(desired.name.clone().into()),
                group: None,
                enabled: false,
                primary: false,
            })
            .map_err(|e| fail(&e))?;
        taken.insert(target.config_directory.clone());
        targets.push(target);
    }
    Ok(targets)
}

/// Where a manifest instance the host lacks will be: imported when its
/// configuration directory holds a main.cf and a master.cf, else created
/// in the given or derived directories.
fn new_target(
    host: &Host<'_>,
    desired: &DesiredInstance,
    config_directory: String,
) -> Result<Target> {
    let dir = Path::new(&config_directory);
    if dir.join("main.cf").is_file() && dir.join("master.cf").is_file() {
        let instance = crate::registry::instance_from_config(
            &crate::config::Config::load(
                config_directory.as_bytes(),
                host.registry.primary_config.defaults(),
            )?,
            false,
        )?;
        return Ok(Target {
            config_directory,
            queue_directory: super::manifest_text(&instance.queue_directory, "queue_directory")?
                .to_string(),
            data_directory: super::manifest_text(&instance.data_directory, "data_directory")?
                .to_string(),
            import: true,
        });
    }
    let primary = host.registry.primary();
    let given = &desired.directories;
    let derive = |param: &str, given: &Option<String>, primary_value: &[u8]| -> Result<String> {
        let path = match given {
            Some(path) => path.clone(),
            None => derive_private_path(param, primary_value, Some(desired.name.as_bytes()))?
                .to_string(),
        };
        check_private_path(param, path.as_bytes())?;
        Ok(path)
    };
    check_private_path("config_directory", config_directory.as_bytes())?;
    Ok(Target {
        queue_directory: derive(
            "queue_directory",
            &given.queue_directory,
            &primary.queue_directory,
        )?,
        data_directory: derive(
            "data_directory",
            &given.data_directory,
            &primary.data_directory,
        )?,
        config_directory,
        import: false,
    })
}

/// The plan being built.
struct Planner<'m> {
    manifest: &'m Manifest,
    defaults: &'m Defaults,
    out: DesiredPlan,
}

impl Planner<'_> {
    // Records an action.
    fn push(&mut self, kind: Kind, instance: &str, config_directory: &str, description: String) {
        self.out.changes.push(Change {
            kind,
            instance: instance.to_string(),
            config_directory: config_directory.to_string(),
            description,
            parameter: None,
        });
    }

    // Plans a life-cycle action against the host as it now is, adds its
    // steps and brings the host up to date.
    fn lifecycle(
        &mut self,
        host: &mut Host<'_>,
        action: Action,
        selection: Selection,
        new: Option<(&DesiredInstance, &Target)>,
    ) -> Result<()> {
        let mut request = EditRequest {
            action,
            selection,
            assign_name: None,
            assign_group: None,
            settings: Vec::new(),
        };
        let mut options = EditOptions::default();
        if let Some((desired, target)) = new {
            request.assign_name = Some(desired.name.clone().into());
            request.assign_group = Some(desired.group.clone().unwrap_or_default().into());
            request.settings = vec![format!("config_directory={}", target.config_directory).into()];
            if !target.import {
                request
                    .settings
                    .push(format!("queue_directory={}", target.queue_directory).into());
                request
                    .settings
                    .push(format!("data_directory={}", target.data_directory).into());
            }
            options.template_directory = desired.template.clone();
        }
        let plan = lifecycle::plan(&host.registry, self.defaults, &request, &options)?;
        host.absorb(&plan)?;
        self.out.plan.steps.extend(plan.steps);
        Ok(())
    }

    // create or import of a manifest instance the host lacks.
    fn add(
        &mut self,
        host: &mut Host<'_>,
        desired: &DesiredInstance,
        target: &Target,
    ) -> Result<()> {
        let (action, kind, description) = if target.import {
            (
                Action::Import,
                Kind::Import,
                format!("import {} from {}", desired.name, target.config_directory),
            )
        } else {
            (
                Action::Create,
                Kind::Create,
                format!(
                    "create {} in {} (queue {}, data {})",
                    desired.name,
                    target.config_directory,
                    target.queue_directory,
                    target.data_directory
                ),
            )
        };
        self.lifecycle(
            host,
            action,
            Selection::Unspecified,
            Some((desired, target)),
        )
        .map_err(|e| {
            self.manifest
                .error_at(desired.at, format!("instance {}: {e}", desired.name))
        })?;
        self.push(kind, &desired.name, &target.config_directory, description);
        Ok(())
    }

    // The main.cf edits that make the instance in `dir` what the manifest
    // says (name, group, enable flag, parameters), in one write as
    // `postmulti -e assign`, `-e enable`/`disable` and `postconf -e` leave
    // it; whether there were any.
    fn edit(&mut self, host: &mut Host<'_>, desired: &DesiredInstance, dir: &str) -> Result<bool> {
        let Some(current) = host.secondary(dir.as_bytes()).cloned() else {
            return Err(Error::fatal(format!("{dir}: not registered")));
        };
        let name = desired.name.as_str();
        let mut settings: Vec<(&str, String)> = Vec::new();
        if current.name.as_ref().is_none_or(|current| *current != name) {
            settings.push(("multi_instance_name", name.to_string()));
            let was = current.name.as_ref().map_or("-", text);
            self.push(
                Kind::Assign,
                name,
                dir,
                format!("assign {name}: name {was} -> {name}"),
            );
        }
        if current.group.as_ref().map(text) != desired.group.as_deref() {
            let group = desired.group.clone().unwrap_or_default();
            let was = current.group.as_ref().map_or("-", text);
            let now = desired.group.as_deref().unwrap_or("-");
            settings.push(("multi_instance_group", group));
            self.push(
                Kind::Assign,
                name,
                dir,
                format!("assign {name}: group {was} -> {now}"),
            );
        }
        if current.enabled != desired.enabled {
            let (kind, value) = if desired.enabled {
                (Kind::Enable, "yes")
            } else {
                (Kind::Disable, "no")
            };
            settings.push(("multi_instance_enable", value.to_string()));
            self.push(kind, name, dir, format!("{} {name}", kind.word()));
        }
        // main.cf is read again only when it may need an edit.
        if desired.main_cf.is_empty() && settings.is_empty() {
            return Ok(false);
        }
        let config = host.config(dir.as_bytes())?;
        for (param, value) in &desired.main_cf {
            let old = match config.explicit(param) {
                Some(old) => Some(super::manifest_text(old, param)?),
                None => None,
            };
            if old == Some(value.as_str()) {
                continue;
            }
            let was = old.map_or_else(|| "not set".to_string(), |old| format!("was {old}"));
            self.out.changes.push(Change {
                kind: Kind::Set,
                instance: name.to_string(),
                config_directory: dir.to_string(),
                description: format!("set {name}: {param} = {value} ({was})"),
                parameter: Some(ParameterChange {
                    name: param.clone(),
                    old: old.map(str::to_string),
                    new: Some(value.clone()),
                }),
            });
            settings.push((param, value.clone()));
        }
        if settings.is_empty() {
            return Ok(false);
        }
        let mut plan = Plan::default();
        let settings: Vec<(&str, &[u8])> =
            settings.iter().map(|(p, v)| (*p, v.as_bytes())).collect();
        plan.edit_main_cf(&config, &settings)?;
        host.absorb(&plan)?;
        self.out.plan.steps.extend(plan.steps);
        Ok(true)
    }

    // Puts the manifest's instances in its order in
    // `multi_instance_directories`, in the places they hold there (new ones
    // were added last); the others keep theirs.
    fn reorder(
        &mut self,
        host: &mut Host<'_>,
        managed: &[&str],
        managed_set: &HashSet<&str>,
    ) -> Result<()> {
        let current = host.registry.secondary_dirs();
        let slots = current
            .iter()
            .enumerate()
            .filter(|(_, dir)| managed_set.contains(text(dir)));
        let mut wanted = current.clone();
        for ((slot, _), dir) in slots.zip(managed) {
            wanted[slot] = (*dir).into();
        }
        if wanted == current {
            return Ok(());
        }
        let list = crate::bytes::BString::from(crate::bytes::join(" ", &wanted)).to_string();
        let mut plan = Plan::default();
        plan.edit_main_cf(
            &host.registry.primary_config,
            &[("multi_instance_directories", list.as_bytes())],
        )?;
        host.absorb(&plan)?;
        self.out.plan.steps.extend(plan.steps);
        let primary = host.registry.primary_config.dir().to_string();
        self.push(
            Kind::Reorder,
            "-",
            &primary,
            format!("reorder multi_instance_directories = {list}"),
        );
        Ok(())
    }

    // Refuses to prune an instance that runs, or to destroy one whose
    // queue holds messages, naming it.
    fn check_prune(&self, unmanaged: &[Instance]) -> Result<()> {
        let prune = match self.manifest.prune {
            Prune::None => return Ok(()),
            Prune::Deport => "deport",
            Prune::Destroy => "destroy",
        };
        for instance in unmanaged {
            let label = label(instance);
            let dir = &instance.config_directory;
            if Host::running(instance) {
                return Err(Error::fatal(format!(
                    "prune = \"{prune}\": instance {label} ({dir}) is running; stop it, or name it in {}",
                    self.manifest.source
                )));
            }
            let queued = Host::queued_messages(instance);
            if self.manifest.prune == Prune::Destroy && queued > 0 {
                return Err(Error::fatal(format!(
                    "prune = \"destroy\": instance {label} ({dir}) has {queued} message(s) in {}; not destroyed",
                    instance.queue_directory
                )));
            }
        }
        Ok(())
    }

    // Deports or destroys an instance the manifest does not name (after a
    // disable when enabled, as the life-cycle actions require), or reports
    // it as unmanaged.
    fn prune(&mut self, host: &mut Host<'_>, instance: &Instance) -> Result<()> {
        let label = label(instance);
        let dir = text(&instance.config_directory);
        let (action, kind) = match self.manifest.prune {
            Prune::None => {
                self.out.unmanaged.push(label);
                return Ok(());
            }
            Prune::Deport => (Action::Deport, Kind::Deport),
            Prune::Destroy => (Action::Destroy, Kind::Destroy),
        };
        let select = || Selection::Name(dir.into());
        if instance.enabled {
            self.lifecycle(host, Action::Disable, select(), None)?;
            self.push(Kind::Disable, &label, dir, format!("disable {label}"));
        }
        self.lifecycle(host, action, select(), None)?;
        self.push(
            kind,
            &label,
            dir,
            format!("{} {label} ({dir})", kind.word()),
        );
        Ok(())
    }

    // The reload and start commands, or a note for each running instance
    // whose main.cf changes when no reload was asked for.
    fn commands(&mut self, host: &Host<'_>, reload: &[String], options: &Options) -> Result<()> {
        for dir in reload {
            let Some(instance) = host.secondary(dir.as_bytes()).filter(|i| Host::running(i)) else {
                continue;
            };
            let label = label(instance);
            if options.reload {
                self.run(host, dir, "reload")?;
                self.push(
                    Kind::Reload,
                    &label,
                    dir,
                    format!("reload {label} (running; main.cf changed)"),
                );
            } else {
                self.out.notes.push(format!(
                    "instance {label} is running with an older main.cf: reload it (--reload)"
                ));
            }
        }
        if options.start {
            for desired in self.manifest.instances.iter().filter(|d| d.enabled) {
                let Some(instance) = host
                    .registry
                    .secondaries()
                    .iter()
                    .find(|i| i.name.as_ref().is_some_and(|name| *name == desired.name))
                else {
                    continue;
                };
                if !Host::running(instance) {
                    let dir = text(&instance.config_directory).to_string();
                    self.run(host, &dir, "start")?;
                    self.push(
                        Kind::Start,
                        &desired.name,
                        &dir,
                        format!("start {}", desired.name),
                    );
                }
            }
        }
        Ok(())
    }

    // Adds `postfix COMMAND` for the instance in `dir`, as `-p` runs it.
    fn run(&mut self, host: &Host<'_>, dir: &str, command: &str) -> Result<()> {
        let request = IterateRequest {
            kind: iterate::Kind::Postfix,
            selection: Selection::Name(dir.into()),
            reverse: false,
            verbose: false,
            args: vec![command.into()],
        };
        let plan = iterate::plan(&host.registry, &request)?;
        // Never run for an instance others could swap: refused, as -p
        // skips it.
        if let Some(why) = plan.unreachable.first() {
            return Err(crate::Error::fatal(why.clone()));
        }
        self.out.runs.extend(plan.runs);
        Ok(())
    }
}

/// An instance's name, or its configuration directory when it has none.
fn label(instance: &Instance) -> String {
    text(instance.name.as_ref().unwrap_or(&instance.config_directory)).to_string()
}

/// A name, group or directory of the host as text: [`Host::load`] refused
/// those that are not UTF-8.
fn text(bytes: &crate::bytes::BString) -> &str {
    std::str::from_utf8(bytes).expect("Host::load refuses names and directories that are not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::FileMeta;

    // A write of `path` from `old` to `new`.
    fn write(path: &str, old: Option<&str>, new: &str) -> Step {
        Step::WriteFile {
            path: path.into(),
            old: old.map(|o| o.as_bytes().to_vec()),
            new: new.as_bytes().to_vec(),
            meta: FileMeta::default(),
        }
    }

    #[test]
    fn files_hold_each_file_once_from_first_before_to_last_after() {
        let plan = DesiredPlan {
            plan: Plan {
                steps: vec![
                    write("/p/main.cf", Some("a\n"), "a\nb\n"),
                    write("/i/main.cf", None, "new\n"),
                    write("/p/main.cf", Some("a\nb\n"), "a\nb\nc\n"),
                    write("/same/main.cf", Some("x\n"), "y\n"),
                    write("/same/main.cf", Some("y\n"), "x\n"),
                ],
                ..Plan::default()
            },
            ..DesiredPlan::default()
        };
        let file = |path: &str, before: &str, after: &str| FileChange {
            path: path.into(),
            before: before.into(),
            after: after.into(),
        };
        assert_eq!(
            plan.files(),
            vec![
                file("/p/main.cf", "a\n", "a\nb\nc\n"),
                file("/i/main.cf", "", "new\n"),
            ]
        );
        assert!(!plan.changed());
    }

    #[test]
    fn kinds_have_the_words_of_the_json_contract() {
        let words: Vec<&str> = [
            Kind::Init,
            Kind::Create,
            Kind::Import,
            Kind::Assign,
            Kind::Enable,
            Kind::Disable,
            Kind::Set,
            Kind::Reorder,
            Kind::Deport,
            Kind::Destroy,
            Kind::Reload,
            Kind::Start,
        ]
        .iter()
        .map(|kind| kind.word())
        .collect();
        assert_eq!(
            words,
            [
                "init", "create", "import", "assign", "enable", "disable", "set", "reorder",
                "deport", "destroy", "reload", "start"
            ]
        );
    }
}
