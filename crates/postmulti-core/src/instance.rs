//! The instance structure: what postmulti knows of one Postfix instance.
//! Its names and directories are bytes, as Postfix keeps them.

use crate::bytes::{self, BString};
use std::path::Path;

/// One Postfix instance, the primary or a secondary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `config_directory`: where its main.cf and master.cf live.
    pub config_directory: BString,
    /// `queue_directory`, expanded.
    pub queue_directory: BString,
    /// `data_directory`, expanded.
    pub data_directory: BString,
    /// `multi_instance_name`; `None` when empty (listed as `-`).
    pub name: Option<BString>,
    /// `multi_instance_group`; `None` when empty (listed as `-`).
    pub group: Option<BString>,
    /// Whether a multi-instance manager may start and stop it.
    pub enabled: bool,
    /// Whether it is the primary instance.
    pub primary: bool,
}

/// A secondary instance whose main.cf could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenInstance {
    /// Its position among the secondaries in `multi_instance_directories`.
    pub position: usize,
    /// Its `config_directory`.
    pub config_directory: BString,
    /// Its `multi_instance_name`, when its main.cf could be parsed.
    pub name: Option<BString>,
    /// Its `multi_instance_group`, when its main.cf could be parsed.
    pub group: Option<BString>,
    /// Why it could not be used, as a fatal message would say it.
    pub reason: BString,
}

/// `Some(value)` for a non-empty value, `None` for an empty one.
pub fn non_empty(value: BString) -> Option<BString> {
    (!value.is_empty()).then_some(value)
}

impl Instance {
    /// Its configuration directory as a path.
    pub fn config_path(&self) -> &Path {
        bytes::path(&self.config_directory)
    }

    /// Its queue directory as a path.
    pub fn queue_path(&self) -> &Path {
        bytes::path(&self.queue_directory)
    }

    /// Its data directory as a path.
    pub fn data_path(&self) -> &Path {
        bytes::path(&self.data_directory)
    }
}
