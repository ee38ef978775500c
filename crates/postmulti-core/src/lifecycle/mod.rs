//! The life-cycle actions of `postmulti -e`: init, create, import, deport,
//! destroy, enable, disable and assign.
//!
//! Each action runs under the registry lock, checks everything Postfix's
//! postmulti and postmulti-script check (with their messages), then builds a
//! [`Plan`] of file-system steps ordered so that a crash at any point leaves
//! the primary valid and a re-run completes the job, and carries it out.

mod checks;
mod create;
mod edit;
mod install;
mod names;
mod paths;
mod plan;
mod protos;
mod remove;
mod request;
mod settings;

pub use names::check_assignments;
pub use paths::{check_private_path, derive_private_path};
pub use plan::{Plan, Step};
pub use request::{Action, EditOptions, EditRequest, Outcome};
pub use settings::parse_settings;

use crate::defaults::Defaults;
use crate::lock::RegistryLock;
use crate::registry::{Registry, Strictness};
use crate::Result;

/// Checks and plans `request` against the primary in `primary_dir`, then
/// carries the plan out unless `options.dry_run`. All of it happens under
/// the lock.
pub fn run(
    primary_dir: &[u8],
    defaults: &Defaults,
    request: &EditRequest,
    options: &EditOptions,
) -> Result<Outcome> {
    let _lock = RegistryLock::acquire(crate::bytes::path(primary_dir), options.lock_timeout)?;
    let strictness = match request.action {
        Action::Init => Strictness::Lenient,
        _ => Strictness::Strict,
    };
    let registry = Registry::load(primary_dir, defaults, strictness)?;
    let plan = plan(&registry, defaults, request, options)?;
    let mut warnings = plan.warnings.clone();
    if !options.dry_run {
        warnings.extend(plan.execute()?);
    }
    Ok(Outcome { plan, warnings })
}

/// Checks and plans `request` against `registry` as it is given (the
/// caller holds the lock and may hand in a registry it has brought up to
/// date with earlier plans), without carrying anything out.
pub fn plan(
    registry: &Registry<'_>,
    defaults: &Defaults,
    request: &EditRequest,
    options: &EditOptions,
) -> Result<Plan> {
    match request.action {
        Action::Init => edit::plan_init(registry),
        Action::Create | Action::Import => create::plan(registry, defaults, request, options),
        Action::Deport | Action::Destroy => remove::plan(registry, request),
        Action::Enable | Action::Disable => edit::plan_enable(registry, request),
        Action::Assign => edit::plan_assign(registry, request),
    }
}
