//! Owners and modes of an instance's private directories, as
//! `postfix set-permissions` gives them, read from `$meta_directory/postfix-files`.

use crate::Result;
use std::path::{Path, PathBuf};

/// The values that `postfix-files` entries refer to as `$name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermContext {
    /// The instance's `config_directory`.
    pub config_directory: PathBuf,
    /// The instance's `queue_directory`.
    pub queue_directory: PathBuf,
    /// The instance's `data_directory`.
    pub data_directory: PathBuf,
    /// `mail_owner` (a user name).
    pub mail_owner: String,
    /// `setgid_group` (a group name).
    pub setgid_group: String,
}

/// One `d` or `f` entry of `postfix-files` that concerns an instance's own
/// (non-shared) files, with `$name` expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermEntry {
    /// The expanded path.
    pub path: PathBuf,
    /// `true` for a directory (`d`), `false` for a file (`f`).
    pub is_dir: bool,
    /// Owner user name.
    pub owner: String,
    /// Group name, `None` for `-` (left as it is).
    pub group: Option<String>,
    /// Permission bits.
    pub mode: u32,
    /// Flag `c`: create the directory when missing.
    pub create: bool,
    /// Flag `r`: owner and group apply recursively, and the mode to every
    /// directory below.
    pub recursive: bool,
}

/// The non-shared entries (those under `$config_directory`,
/// `$queue_directory` and `$data_directory`) of `postfix-files` and of the
/// files in `postfix-files.d`, in file order, skipping obsolete (`o`) entries
/// and links. Falls back to the entries Postfix 3.7 ships when
/// `meta_directory` has no `postfix-files`.
pub fn instance_entries(meta_directory: &Path, ctx: &PermContext) -> Result<Vec<PermEntry>> {
    todo!()
}

/// Applies `entries` like `post-install create-missing set-permissions`:
/// creates missing `c` directories, then sets owner, group and mode of every
/// entry that exists. Owners are resolved by name through the user and group
/// databases; when not running as root, ownership is left alone.
pub fn apply(entries: &[PermEntry]) -> Result<()> {
    todo!()
}
