//! The registry lock: one exclusive `flock` per primary instance, held across
//! each read-modify-write of the instance registry.

use crate::Result;
use std::path::Path;
use std::time::Duration;

/// A held lock; released on drop.
#[derive(Debug)]
pub struct RegistryLock {
    // the open, locked file
}

impl RegistryLock {
    /// Takes the exclusive lock of the primary instance whose configuration
    /// directory is `config_directory`, waiting up to `timeout`. On timeout the
    /// error names the lock and says that another postmulti holds it.
    pub fn acquire(config_directory: &Path, timeout: Duration) -> Result<RegistryLock> {
        todo!()
    }
}
