//! The checks every action on an existing instance shares: which instance
//! `-i` selects, and whether `postmulti -e init` has been run.

use crate::config::Config;
use crate::error::{Init, SelectionError};
use crate::instance::Instance;
use crate::registry::Registry;
use crate::select::Selection;
use crate::{Error, Result};

/// The one instance `-i` selects, for actions on an existing instance,
/// with its parsed main.cf.
pub fn select_existing<'r, 'd>(
    registry: &'r Registry<'d>,
    selection: &Selection,
) -> Result<(&'r Instance, &'r Config<'d>)> {
    let Selection::Name(name) = selection else {
        return Err(SelectionError::NameRequired.into());
    };
    registry
        .with_configs()
        .find(|(instance, _)| selection.matches(instance))
        .ok_or_else(|| SelectionError::NoInstanceNamed(name.clone()).into())
}

/// Every action but init needs `postmulti -e init` to have been run.
pub fn require_init(registry: &Registry<'_>) -> Result<()> {
    let primary = &registry.primary_config;
    if primary.expanded("multi_instance_wrapper")?.is_empty() {
        return Err(Error::NotInitialized {
            param: Init::Wrapper,
        });
    }
    if primary.expanded("multi_instance_enable")? != "yes" {
        return Err(Error::NotInitialized {
            param: Init::Enable,
        });
    }
    Ok(())
}
