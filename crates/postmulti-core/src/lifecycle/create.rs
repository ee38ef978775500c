//! create and import: check the new instance against the registry, then
//! plan its files and directories and register it in the primary's main.cf,
//! in an order where a crash leaves the primary valid and a re-run completes
//! the job (files, master.cf last; then permissions; then registration).

use super::checks::require_init;
use super::install;
use super::names::{changed_names, check_assignments};
use super::paths::{
    check_new_private_dir, check_private_path, derive_private_path, refuse_reference,
};
use super::plan::{Plan, Step};
use super::protos::{new_main_cf, Prototypes, MASTER_CF_TEMPLATE};
use super::request::{Action, EditOptions, EditRequest};
use super::settings::parse_settings;
use crate::bconcat;
use crate::bytes::{self, BString};
use crate::config::Config;
use crate::defaults::Defaults;
use crate::error::SelectionError;
use crate::fsutil::FileMeta;
use crate::instance::Instance;
use crate::perms::{self, instance_entries_for};
use crate::registry::{instance_from_config, Registry};
use crate::select::Selection;
use crate::trust::{self, Trust};
use crate::{Error, Result};

/// Plans create or import of the instance `request` describes.
pub fn plan(
    registry: &Registry<'_>,
    defaults: &Defaults,
    request: &EditRequest,
    options: &EditOptions,
) -> Result<Plan> {
    check_assignments(request)?;
    let mut new = new_instance(registry, defaults, request)?;
    check_private_path("queue_directory", &new.queue_directory)?;
    check_private_path("data_directory", &new.data_directory)?;
    let mut claims = registry.claims.clone();
    let name_edits = changed_names(&new, request, &mut claims)?;
    for (param, value) in &name_edits {
        let value = (!value.is_empty()).then(|| value.clone());
        match *param {
            "multi_instance_name" => new.name = value,
            _ => new.group = value,
        }
    }
    claims.claim_instance(&new)?;
    for (param, dir) in [
        ("config_directory", &new.config_directory),
        ("queue_directory", &new.queue_directory),
        ("data_directory", &new.data_directory),
    ] {
        check_new_private_dir(param, dir, &registry.primary_config)?;
    }
    let position = placement(registry, &request.selection)?;
    require_init(registry)?;

    let mut plan = Plan::default();
    let config_dir = new.config_path().to_path_buf();
    let complete = config_dir.join("main.cf").is_file() && config_dir.join("master.cf").is_file();
    let instance_config = if complete {
        let config = Config::load(&new.config_directory, defaults)?;
        // The names, and the install parameters set-permissions would write.
        let mut edits: Vec<(&str, BString)> =
            name_edits.iter().map(|(n, v)| (*n, v.clone())).collect();
        edits.extend(install::overrides(&config)?.unwrap_or_default());
        if !edits.is_empty() {
            let edits: Vec<(&str, &[u8])> = edits.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            plan.edit_main_cf(&config, &edits)?;
        }
        config
    } else {
        if request.action == Action::Import {
            let missing = if config_dir.join("main.cf").is_file() {
                "master.cf"
            } else {
                "main.cf"
            };
            return Err(Error::fatal(bconcat!(
                "'",
                new.config_directory,
                "' lacks a ",
                missing,
                " file"
            )));
        }
        plan_new_files(&mut plan, registry, &new, &name_edits, options)?
    };
    let entries = instance_entries_for(&instance_config)?;
    perms::refuse_symlinks(&entries)?;
    plan.steps.push(Step::SetPermissions(entries));
    plan_registration(&mut plan, registry, &new, position)?;
    Ok(plan)
}

/// The new instance as the command line and (for import, or a create over
/// an existing main.cf and master.cf, which takes them as they are) its
/// main.cf describe it, before name assignment: an existing instance's
/// directories are those its main.cf gives, so import's checks and the
/// registry's conflict rules apply to them.
fn new_instance(
    registry: &Registry<'_>,
    defaults: &Defaults,
    request: &EditRequest,
) -> Result<Instance> {
    let paths = parse_settings(request.action, &request.settings)?;
    if let Some(dir) = &paths.config_directory {
        refuse_reference("config_directory", dir)?;
    }
    let primary = registry.primary();
    let name = request.assign_name.as_ref().map(|name| name.as_slice());
    let config_directory = match paths.config_directory {
        Some(dir) => dir,
        None => derive_private_path("config_directory", &primary.config_directory, name)?,
    };
    check_private_path("config_directory", &config_directory)?;
    if let Some(owner) = registry.claims.owner(&config_directory) {
        return Err(Error::InUse {
            owner_directory: owner.config_directory.as_ref().into(),
            owner_param: owner.param,
            config_directory,
        });
    }
    let dir = bytes::path(&config_directory);
    let complete = dir.join("main.cf").is_file() && dir.join("master.cf").is_file();
    if request.action == Action::Import || complete {
        let config = Config::load(&config_directory, defaults)?;
        return instance_from_config(&config, false);
    }
    // Only a new instance's directories are made from the operands (an
    // existing one's come from its main.cf, as Postfix takes them).
    for (param, dir) in [
        ("queue_directory", &paths.queue_directory),
        ("data_directory", &paths.data_directory),
    ] {
        if let Some(dir) = dir {
            refuse_reference(param, dir)?;
        }
    }
    let derive = |param: &str, given: Option<BString>, primary_value: &[u8]| match given {
        Some(path) => Ok(path),
        None => derive_private_path(param, primary_value, name),
    };
    Ok(Instance {
        queue_directory: derive(
            "queue_directory",
            paths.queue_directory,
            &primary.queue_directory,
        )?,
        data_directory: derive(
            "data_directory",
            paths.data_directory,
            &primary.data_directory,
        )?,
        config_directory,
        name: None,
        group: None,
        enabled: false,
        primary: false,
    })
}

/// Where the new instance goes among the secondaries: `-a` first, `-g`/`-i`
/// before the first match, else last.
fn placement(registry: &Registry<'_>, selection: &Selection) -> Result<usize> {
    let secondaries = registry.secondaries();
    match selection {
        Selection::Unspecified => Ok(secondaries.len()),
        Selection::All => Ok(0),
        _ => secondaries
            .iter()
            .position(|instance| selection.matches(instance))
            .ok_or_else(|| SelectionError::NoMatchingSecondary.into()),
    }
}

/// Plans the directories and files of a fresh instance; returns the
/// configuration its main.cf will have.
fn plan_new_files<'d>(
    plan: &mut Plan,
    registry: &Registry<'d>,
    new: &Instance,
    name_edits: &[(&'static str, BString)],
    options: &EditOptions,
) -> Result<Config<'d>> {
    let primary = &registry.primary_config;
    let (prototype_dir, what) = match &options.template_directory {
        Some(dir) => (dir.clone(), "template"),
        None => (
            bytes::path_buf(primary.expanded("meta_directory")?),
            "meta_directory",
        ),
    };
    let prototypes = match Prototypes::read(&prototype_dir) {
        Ok(prototypes) => prototypes,
        Err(Trust::Fatal(error)) => return Err(error),
        Err(Trust::Untrusted(reason)) => {
            return Err(Error::fatal(format!(
                "{what} {}: {reason}; its prototypes would become the \
                 instance's main.cf and master.cf",
                prototype_dir.display()
            )))
        }
    };
    if options.template_directory.is_some() && prototypes.main_cf.is_none() {
        return Err(Error::fatal(format!(
            "Missing main.cf prototype: {}/main.cf.proto",
            prototype_dir.display()
        )));
    }
    let config_dir = new.config_path();
    for (dir, mode) in [
        (&new.config_directory, 0o755),
        (&new.queue_directory, 0o755),
        (&new.data_directory, 0o700),
    ] {
        if !bytes::path(dir).is_dir() {
            plan.steps.push(Step::MakeDir {
                path: bytes::path_buf(dir.clone()),
                mode,
            });
        }
    }
    let (mut doc, mode) = new_main_cf(
        &prototypes,
        primary,
        &new.queue_directory,
        &new.data_directory,
    )?;
    for (param, value) in name_edits {
        doc.set(param, value);
    }
    // What set-permissions would write after it (install parameters cloned
    // from the primary with `$name` references in them).
    let written = Config::from_doc(&new.config_directory, doc.clone(), primary.defaults())?;
    for (param, value) in install::overrides(&written)?.unwrap_or_default() {
        doc.set(param, value);
    }
    let main_cf_path = config_dir.join("main.cf");
    plan.steps.push(Step::WriteFile {
        path: main_cf_path.clone(),
        old: trust::read_config(&main_cf_path, trust::CONFIG_LIMIT).ok(),
        new: doc.to_bytes(),
        meta: FileMeta {
            mode: Some(mode),
            owner: None,
        },
    });
    // master.cf last: once it is there, the instance is complete.
    let master_cf_path = config_dir.join("master.cf");
    plan.steps.push(match prototypes.master_cf {
        Some(proto) => Step::CopyFile {
            from: proto.path,
            to: master_cf_path,
            copied: proto.copied,
        },
        None => Step::WriteFile {
            old: trust::read_config(&master_cf_path, trust::CONFIG_LIMIT).ok(),
            path: master_cf_path,
            new: MASTER_CF_TEMPLATE.as_bytes().to_vec(),
            meta: FileMeta {
                mode: Some(0o644),
                owner: None,
            },
        },
    });
    Config::from_doc(&new.config_directory, doc, primary.defaults())
}

/// Plans the registration: the new `multi_instance_directories` and the
/// directory dropped from `alternate_config_directories`, in one write.
fn plan_registration(
    plan: &mut Plan,
    registry: &Registry<'_>,
    new: &Instance,
    position: usize,
) -> Result<()> {
    let mut dirs = registry.secondary_dirs();
    dirs.insert(position, new.config_directory.clone());
    plan.edit_directory_lists(registry, dirs, &new.config_directory, false)
}
