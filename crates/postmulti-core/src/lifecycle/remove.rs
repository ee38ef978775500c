//! deport and destroy: take a stopped, disabled secondary out of the
//! registry; destroy also removes what Postfix created for it, and nothing
//! else: no recursive delete, only `rmdir` of known directories and `unlink`
//! of exactly main.cf and master.cf.

use super::checks::{require_init, select_existing};
use super::paths::derive_private_path;
use super::plan::{Plan, Step};
use super::request::{Action, EditRequest};
use crate::bconcat;
use crate::bytes::{self, BString};
use crate::instance::Instance;
use crate::maincf::MainCf;
use crate::registry::{split_list, Registry};
use crate::select::{Selection, NAME_PREFIX};
use crate::status::master_pid;
use crate::trust::{self, Last};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The queue subdirectories Postfix creates, removed when empty.
const QUEUE_SUBDIRS: &[&str] = &[
    "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "maildrop",
    "pid", "private", "public", "saved", "trace",
];

/// Plans deport or destroy of the instance `-i` selects.
pub fn plan(registry: &Registry<'_>, request: &EditRequest) -> Result<Plan> {
    let target = match select_existing(registry, &request.selection) {
        Ok((target, _)) => target,
        Err(error) => return interrupted_destroy(registry, request).unwrap_or(Err(error)),
    };
    if target.primary {
        return Err(Error::fatal("Cannot remove the primary instance"));
    }
    if target.enabled {
        return Err(Error::fatal("Cannot remove enabled instances"));
    }
    require_init(registry)?;
    let config_dir = target.config_path();
    let destroy = request.action == Action::Destroy;
    if destroy && !config_dir.join("main.cf").is_file() {
        return Err(Error::fatal(bconcat!(
            target.config_directory,
            "/main.cf file not found"
        )));
    }
    if master_pid(target.queue_path()).is_some() {
        return Err(Error::fatal(bconcat!(
            "Instance '",
            target.config_directory,
            "' is not stopped"
        )));
    }
    if destroy {
        refuse_symlinks(&target.config_directory, followed_paths(target))?;
        refuse_unreachable(
            &target.config_directory,
            target.config_path(),
            Last::Directory,
        )?;
        refuse_unreachable(
            &target.config_directory,
            target.queue_path(),
            Last::Directory,
        )?;
        // A link in place of the data directory is left as Postfix leaves
        // it, so the walk ends at the directory holding it.
        if let Some(above_data) = target.data_path().parent() {
            refuse_unreachable(&target.config_directory, above_data, Last::Trusted)?;
        }
    }
    let dirs: Vec<BString> = registry
        .secondary_dirs()
        .into_iter()
        .filter(|dir| *dir != target.config_directory)
        .collect();
    let mut plan = Plan::default();
    // Destroy removes everything but main.cf before it unregisters the
    // instance, so that a destroy cut short is still registered, with its
    // main.cf, and running it again finishes the job.
    if destroy {
        let queue = target.queue_path();
        for subdir in QUEUE_SUBDIRS {
            plan.steps.push(Step::RemoveDir(queue.join(subdir)));
        }
        plan.steps.push(Step::RemoveDir(target.data_path().into()));
        plan.steps.push(Step::RemoveDir(queue.into()));
        plan.steps
            .push(Step::RemoveFile(config_dir.join("master.cf")));
    }
    plan.edit_directory_lists(registry, dirs, &target.config_directory, !destroy)?;
    if destroy {
        plan.steps
            .push(Step::RemoveFile(config_dir.join("main.cf")));
        plan.steps.push(Step::RemoveDir(config_dir.into()));
    }
    Ok(plan)
}

/// The paths Postfix's destroy would follow were one of them a symbolic
/// link: the configuration and queue directories (it removes main.cf and
/// master.cf through the one and runs in the other) and every directory
/// above them and above the data directory. A link in place of the data
/// directory or of a queue subdirectory is not among them: `rmdir` leaves
/// it, as it leaves whatever else they hold.
fn followed_paths(target: &Instance) -> impl Iterator<Item = PathBuf> + '_ {
    let above_data = target
        .data_path()
        .parent()
        .into_iter()
        .flat_map(Path::ancestors);
    target
        .config_path()
        .ancestors()
        .chain(target.queue_path().ancestors())
        .chain(above_data)
        .map(Path::to_path_buf)
}

/// Finishes a destroy that was cut short after it unregistered the instance
/// and before it removed its configuration directory: `-i NAME` then names
/// no registered instance, but NAME's default configuration directory is
/// listed nowhere, has no master.cf any more, and holds either a main.cf
/// naming NAME or nothing at all. Only that main.cf and the then empty
/// directory are removed. NAME may be given in the short form (`-i b` for
/// `postfix-b`), as for a registered instance.
fn interrupted_destroy(registry: &Registry<'_>, request: &EditRequest) -> Option<Result<Plan>> {
    let Selection::Name(name) = &request.selection else {
        return None;
    };
    if request.action != Action::Destroy || name.contains(&b'/') || name == "-" {
        return None;
    }
    let name = if name.starts_with(NAME_PREFIX.as_bytes()) {
        name.clone()
    } else {
        bconcat!(NAME_PREFIX, name)
    };
    let primary = registry.primary();
    let dir =
        derive_private_path("config_directory", &primary.config_directory, Some(&name)).ok()?;
    let alternates = registry
        .primary_config
        .explicit("alternate_config_directories")
        .unwrap_or_default();
    if registry.secondary_dirs().contains(&dir) || split_list(alternates).contains(&dir) {
        return None;
    }
    let config_dir = bytes::path(&dir);
    if let Err(error) = refuse_symlinks(&dir, config_dir.ancestors().map(Path::to_path_buf))
        .and_then(|()| refuse_unreachable(&dir, config_dir, Last::Directory))
    {
        return Some(Err(error));
    }
    if config_dir.join("master.cf").exists() {
        return None;
    }
    let main_cf = config_dir.join("main.cf");
    let names_it = MainCf::read(&main_cf)
        .is_ok_and(|doc| doc.get("multi_instance_name") == Some(name.as_ref()));
    let empty = std::fs::read_dir(config_dir).ok()?.next().is_none();
    if !names_it && !empty {
        return None;
    }
    let mut plan = Plan::default();
    if names_it {
        plan.steps.push(Step::RemoveFile(main_cf));
    }
    plan.steps.push(Step::RemoveDir(config_dir.into()));
    Some(Ok(plan))
}

/// Refuses to destroy the instance in `config_directory` when one of
/// `paths` is a symbolic link: destroy never follows one, and checks them
/// all before it removes anything.
fn refuse_symlinks(config_directory: &[u8], paths: impl Iterator<Item = PathBuf>) -> Result<()> {
    for path in paths {
        if std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(Error::fatal(bconcat!(
                "cannot destroy instance ",
                config_directory,
                ": ",
                bytes::of_os(&path),
                " is a symbolic link, and destroy does not follow symbolic links"
            )));
        }
    }
    Ok(())
}

/// Refuses to destroy the instance in `config_directory` when its
/// directory `dir` is reached through a directory others could change
/// ([`trust::reach`]): they could swap what lies below it for a place
/// whose files destroy would then remove.
fn refuse_unreachable(config_directory: &[u8], dir: &Path, last: Last) -> Result<()> {
    trust::reach(dir, last).map(drop).map_err(|why| {
        Error::fatal(bconcat!(
            "cannot destroy instance ",
            config_directory,
            format!(
                ": {why}; destroy reaches an instance's directories only through \
                     directories that only root (or you) can change"
            )
        ))
    })
}
