//! The instance structure: what postmulti knows of one Postfix instance.

/// One Postfix instance, the primary or a secondary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `config_directory`: where its main.cf and master.cf live.
    pub config_directory: String,
    /// `queue_directory`, expanded.
    pub queue_directory: String,
    /// `data_directory`, expanded.
    pub data_directory: String,
    /// `multi_instance_name`; `None` when empty (listed as `-`).
    pub name: Option<String>,
    /// `multi_instance_group`; `None` when empty (listed as `-`).
    pub group: Option<String>,
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
    pub config_directory: String,
    /// Its `multi_instance_name`, when its main.cf could be parsed.
    pub name: Option<String>,
    /// Its `multi_instance_group`, when its main.cf could be parsed.
    pub group: Option<String>,
    /// Why it could not be used, as a fatal message would say it.
    pub reason: String,
}

/// `Some(value)` for a non-empty value, `None` for an empty one.
pub fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}
