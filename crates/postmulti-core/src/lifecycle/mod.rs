//! The life-cycle actions of `postmulti -e`: init, create, import, deport,
//! destroy, enable, disable and assign.
//!
//! Each action runs under the registry lock, checks everything Postfix's
//! postmulti and postmulti-script check (with their messages), then builds a
//! [`Plan`] of file-system steps ordered so that a crash at any point leaves
//! the primary valid and a re-run completes the job, and carries it out.

mod create;
mod names;
mod plan;
mod protos;
mod remove;

pub use plan::{Plan, Step};

use crate::config::Config;
use crate::defaults::Defaults;
use crate::instance::Instance;
use crate::lock::RegistryLock;
use crate::registry::{split_list, Registry, Strictness};
use crate::select::Selection;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A life-cycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Hook postmulti into the primary's main.cf.
    Init,
    /// Make a new instance (or take an existing one as it is) and register it.
    Create,
    /// Register an existing instance.
    Import,
    /// Unregister an instance and move it to `alternate_config_directories`.
    Deport,
    /// Unregister an instance and remove what Postfix created for it.
    Destroy,
    /// Set `multi_instance_enable = yes`.
    Enable,
    /// Set `multi_instance_enable = no`.
    Disable,
    /// Change an instance's name or group.
    Assign,
}

impl Action {
    /// The action named by a `-e` word (exact case).
    pub fn from_word(word: &str) -> Option<Action> {
        Some(match word {
            "init" => Action::Init,
            "create" => Action::Create,
            "import" => Action::Import,
            "deport" => Action::Deport,
            "destroy" => Action::Destroy,
            "enable" => Action::Enable,
            "disable" => Action::Disable,
            "assign" => Action::Assign,
            _ => return None,
        })
    }

    /// The `-e` word of the action.
    pub fn word(self) -> &'static str {
        match self {
            Action::Init => "init",
            Action::Create => "create",
            Action::Import => "import",
            Action::Deport => "deport",
            Action::Destroy => "destroy",
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Assign => "assign",
        }
    }

    /// Whether `-I` and `-G` may be used with it.
    pub fn assigns_names(self) -> bool {
        matches!(self, Action::Create | Action::Import | Action::Assign)
    }

    /// Whether it adds an instance (and takes `param=value` operands).
    pub fn adds_instance(self) -> bool {
        matches!(self, Action::Create | Action::Import)
    }
}

/// Everything a life-cycle command line says.
#[derive(Debug, Clone)]
pub struct EditRequest {
    /// The action.
    pub action: Action,
    /// `-a`, `-g`, `-i`: the target, or where a new instance goes.
    pub selection: Selection,
    /// `-I`: `Some("")` clears the name.
    pub assign_name: Option<String>,
    /// `-G`: `Some("")` clears the group.
    pub assign_group: Option<String>,
    /// `param=value` operands of create and import.
    pub settings: Vec<String>,
}

/// How to carry out an edit.
#[derive(Debug, Clone)]
pub struct EditOptions {
    /// How long to wait for another postmulti's registry lock.
    pub lock_timeout: Duration,
    /// Where main.cf.proto and master.cf.proto come from instead of
    /// `$meta_directory`.
    pub template_directory: Option<PathBuf>,
}

impl Default for EditOptions {
    fn default() -> EditOptions {
        EditOptions {
            lock_timeout: Duration::from_secs(60),
            template_directory: None,
        }
    }
}

/// What an edit did or would do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The steps, in order.
    pub plan: Plan,
    /// Warnings for the administrator (e.g. what destroy had to leave).
    pub warnings: Vec<String>,
}

/// Checks and plans `request` against the primary in `primary_dir`, then
/// carries the plan out unless `dry_run`. All of it happens under the lock.
pub fn run(
    primary_dir: &str,
    defaults: &Defaults,
    request: &EditRequest,
    options: &EditOptions,
    dry_run: bool,
) -> Result<Outcome> {
    let _lock = RegistryLock::acquire(Path::new(primary_dir), options.lock_timeout)?;
    let strictness = match request.action {
        Action::Init => Strictness::Lenient,
        _ => Strictness::Strict,
    };
    let registry = Registry::load(primary_dir, defaults, strictness)?;
    let plan = match request.action {
        Action::Init => plan_init(&registry)?,
        Action::Create | Action::Import => create::plan(&registry, defaults, request, options)?,
        Action::Deport | Action::Destroy => remove::plan(&registry, request)?,
        Action::Enable | Action::Disable => plan_enable(&registry, request)?,
        Action::Assign => plan_assign(&registry, request)?,
    };
    let mut warnings = plan.warnings.clone();
    if !dry_run {
        warnings.extend(plan.execute()?);
    }
    Ok(Outcome { plan, warnings })
}

/// init: hook the wrapper into the primary's main.cf.
fn plan_init(registry: &Registry<'_>) -> Result<Plan> {
    let mut plan = Plan::default();
    plan.edit_main_cf(
        &registry.primary_config,
        &[
            (
                "multi_instance_wrapper",
                "${command_directory}/postmulti -p --",
            ),
            ("multi_instance_enable", "yes"),
        ],
    )?;
    Ok(plan)
}

/// enable, disable: flip `multi_instance_enable` of the selected instance.
fn plan_enable(registry: &Registry<'_>, request: &EditRequest) -> Result<Plan> {
    let target = select_existing(registry, &request.selection)?;
    require_init(registry)?;
    let value = if request.action == Action::Enable {
        "yes"
    } else {
        "no"
    };
    let config = target_config(registry, target)?;
    let mut plan = Plan::default();
    plan.edit_main_cf(&config, &[("multi_instance_enable", value)])?;
    Ok(plan)
}

/// assign: change the selected instance's name and/or group; no change is
/// no work.
fn plan_assign(registry: &Registry<'_>, request: &EditRequest) -> Result<Plan> {
    let target = select_existing(registry, &request.selection)?;
    names::check_assignments(request)?;
    let mut claims = registry.claims.clone();
    let edits = names::changed_names(target, request, &mut claims)?;
    let mut plan = Plan::default();
    if edits.is_empty() {
        return Ok(plan);
    }
    require_init(registry)?;
    let config = target_config(registry, target)?;
    let edits: Vec<(&str, &str)> = edits.iter().map(|(n, v)| (*n, v.as_str())).collect();
    plan.edit_main_cf(&config, &edits)?;
    Ok(plan)
}

/// The one instance `-i` selects, for actions on an existing instance.
fn select_existing<'r>(registry: &'r Registry<'_>, selection: &Selection) -> Result<&'r Instance> {
    let Selection::Name(name) = selection else {
        return Err(Error::fatal("Select an instance via '-i name'"));
    };
    registry
        .instances
        .iter()
        .find(|instance| selection.matches(instance))
        .ok_or_else(|| Error::fatal(format!("No instance named {name}")))
}

/// The parsed main.cf of an instance of the registry.
fn target_config<'d>(registry: &Registry<'d>, target: &Instance) -> Result<Config<'d>> {
    if target.primary {
        Ok(registry.primary_config.clone())
    } else {
        Config::load(&target.config_directory, registry.primary_config.defaults())
    }
}

/// Every action but init needs `postmulti -e init` to have been run.
fn require_init(registry: &Registry<'_>) -> Result<()> {
    let primary = &registry.primary_config;
    if primary.expanded("multi_instance_wrapper")?.is_empty() {
        return Err(Error::fatal(
            "multi_instance_wrapper is empty, run 'postmulti -e init' first.",
        ));
    }
    if primary.expanded("multi_instance_enable")? != "yes" {
        return Err(Error::fatal(
            "multi_instance_enable!=yes, run 'postmulti -e init' first.",
        ));
    }
    Ok(())
}

/// Plans the primary's edit for a registry change: the new
/// `multi_instance_directories`, and `dir` added to (`alternate`) or dropped
/// from `alternate_config_directories`, in one atomic write.
fn plan_directory_lists(
    plan: &mut Plan,
    registry: &Registry<'_>,
    dirs: Vec<String>,
    dir: &str,
    alternate: bool,
) -> Result<()> {
    let primary = &registry.primary_config;
    let mut settings = vec![("multi_instance_directories", dirs.join(" "))];
    let alternates = split_list(
        primary
            .explicit("alternate_config_directories")
            .unwrap_or(""),
    );
    let listed = alternates.iter().any(|d| d == dir);
    if alternate && !listed {
        let mut kept = alternates;
        kept.push(dir.to_string());
        settings.push(("alternate_config_directories", kept.join(" ")));
    } else if !alternate && listed {
        let kept: Vec<String> = alternates.into_iter().filter(|d| d != dir).collect();
        settings.push(("alternate_config_directories", kept.join(" ")));
    }
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
    plan.edit_main_cf(primary, &settings)
}
