//! init, enable, disable and assign: each one edit of one main.cf.

use super::checks::{require_init, select_existing};
use super::names;
use super::plan::Plan;
use super::request::{Action, EditRequest};
use crate::registry::Registry;
use crate::Result;

/// init: hook the wrapper into the primary's main.cf.
pub fn plan_init(registry: &Registry<'_>) -> Result<Plan> {
    let mut plan = Plan::default();
    plan.edit_main_cf(
        &registry.primary_config,
        &[
            (
                "multi_instance_wrapper",
                b"${command_directory}/postmulti -p --",
            ),
            ("multi_instance_enable", b"yes"),
        ],
    )?;
    Ok(plan)
}

/// enable, disable: flip `multi_instance_enable` of the selected instance.
pub fn plan_enable(registry: &Registry<'_>, request: &EditRequest) -> Result<Plan> {
    let (_, config) = select_existing(registry, &request.selection)?;
    require_init(registry)?;
    let value: &[u8] = if request.action == Action::Enable {
        b"yes"
    } else {
        b"no"
    };
    let mut plan = Plan::default();
    plan.edit_main_cf(config, &[("multi_instance_enable", value)])?;
    Ok(plan)
}

/// assign: change the selected instance's name and/or group; no change is
/// no work.
pub fn plan_assign(registry: &Registry<'_>, request: &EditRequest) -> Result<Plan> {
    let (target, config) = select_existing(registry, &request.selection)?;
    names::check_assignments(request)?;
    let mut claims = registry.claims.clone();
    let edits = names::changed_names(target, request, &mut claims)?;
    let mut plan = Plan::default();
    if edits.is_empty() {
        return Ok(plan);
    }
    require_init(registry)?;
    let edits: Vec<(&str, &[u8])> = edits.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    plan.edit_main_cf(config, &edits)?;
    Ok(plan)
}
