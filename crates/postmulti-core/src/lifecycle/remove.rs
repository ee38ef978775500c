//! deport and destroy: take a stopped, disabled secondary out of the
//! registry; destroy also removes what Postfix created for it, and nothing
//! else: no recursive delete, only `rmdir` of known directories and `unlink`
//! of exactly main.cf and master.cf.

use super::{plan_directory_lists, require_init, select_existing, Action, EditRequest, Plan, Step};
use crate::registry::Registry;
use crate::status::master_pid;
use crate::{Error, Result};
use std::path::Path;

/// The queue subdirectories Postfix creates, removed when empty.
const QUEUE_SUBDIRS: &[&str] = &[
    "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "maildrop",
    "pid", "private", "public", "saved", "trace",
];

/// Plans deport or destroy of the instance `-i` selects.
pub fn plan(registry: &Registry<'_>, request: &EditRequest) -> Result<Plan> {
    let target = select_existing(registry, &request.selection)?;
    if target.primary {
        return Err(Error::fatal("Cannot remove the primary instance"));
    }
    if target.enabled {
        return Err(Error::fatal("Cannot remove enabled instances"));
    }
    require_init(registry)?;
    let config_dir = Path::new(&target.config_directory);
    let destroy = request.action == Action::Destroy;
    if destroy && !config_dir.join("main.cf").is_file() {
        return Err(Error::fatal(format!(
            "{}/main.cf file not found",
            target.config_directory
        )));
    }
    if master_pid(Path::new(&target.queue_directory)).is_some() {
        return Err(Error::fatal(format!(
            "Instance '{}' is not stopped",
            target.config_directory
        )));
    }
    let dirs: Vec<String> = registry
        .secondary_dirs()
        .into_iter()
        .filter(|dir| *dir != target.config_directory)
        .collect();
    let mut plan = Plan::default();
    plan_directory_lists(
        &mut plan,
        registry,
        dirs,
        &target.config_directory,
        !destroy,
    );
    if destroy {
        let queue = Path::new(&target.queue_directory);
        for subdir in QUEUE_SUBDIRS {
            plan.steps.push(Step::RemoveDir(queue.join(subdir)));
        }
        plan.steps
            .push(Step::RemoveDir(target.data_directory.clone().into()));
        plan.steps.push(Step::RemoveDir(queue.into()));
        plan.steps
            .push(Step::RemoveFile(config_dir.join("master.cf")));
        plan.steps
            .push(Step::RemoveFile(config_dir.join("main.cf")));
        plan.steps.push(Step::RemoveDir(config_dir.into()));
    }
    Ok(plan)
}
