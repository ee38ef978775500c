//! Carrying out a manifest: the plan is made and its steps run under the
//! registry lock, each step atomic and each action one `postmulti -e` would
//! run, so that a killed apply leaves a valid host and running it again
//! converges; then the reload and start commands, without the lock.

use super::actual::Host;
use super::manifest::Manifest;
use super::planner::{self, DesiredPlan, Options};
use crate::defaults::Defaults;
use crate::iterate;
use crate::lock::RegistryLock;
use crate::{Error, Result};

use std::time::Duration;

/// What an apply did.
#[derive(Debug)]
pub struct Applied {
    /// The plan it carried out.
    pub plan: DesiredPlan,
    /// Warnings of steps that could not fully complete (directories a
    /// destroy had to leave).
    pub warnings: Vec<String>,
}

/// What applying `manifest` to the host whose primary is in `primary_dir`
/// would do; changes nothing.
pub fn plan(
    primary_dir: &[u8],
    defaults: &Defaults,
    manifest: &Manifest,
    options: &Options,
) -> Result<DesiredPlan> {
    let mut host = Host::load(primary_dir, defaults)?;
    planner::plan(manifest, &mut host, defaults, options)
}

/// Converges the host whose primary is in `primary_dir` to `manifest`.
pub fn apply(
    primary_dir: &[u8],
    defaults: &Defaults,
    manifest: &Manifest,
    options: &Options,
    lock_timeout: Duration,
) -> Result<Applied> {
    let (plan, warnings) = {
        let _lock = RegistryLock::acquire(crate::bytes::path(primary_dir), lock_timeout)?;
        let mut host = Host::load(primary_dir, defaults)?;
        let plan = planner::plan(manifest, &mut host, defaults, options)?;
        let warnings = plan.plan.execute()?;
        (plan, warnings)
    };
    if !plan.runs.is_empty() {
        let report = iterate::execute(&plan.runs);
        if let Some(error) = report.spawn_errors.first() {
            return Err(Error::fatal(error.clone()));
        }
        if report.failed {
            return Err(Error::fatal(
                "the instances were converged, but a postfix reload or start failed",
            ));
        }
    }
    Ok(Applied { plan, warnings })
}
