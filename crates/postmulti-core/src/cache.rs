//! Where postmulti keeps its caches: `/var/cache/postmulti`, or the
//! directory named by `POSTMULTI_CACHE_DIRECTORY` (an absolute path; tests
//! and sandboxes use it so that the host's `/var/cache` is never written).
//! Each cache is trusted only as its own module says (owner, mode, no
//! symbolic links), wherever it lives.

use std::path::PathBuf;

/// The cache directory when `POSTMULTI_CACHE_DIRECTORY` is not set.
pub const DEFAULT_CACHE_DIRECTORY: &str = "/var/cache/postmulti";

/// The environment variable that moves the cache directory.
pub const CACHE_DIRECTORY_VARIABLE: &str = "POSTMULTI_CACHE_DIRECTORY";

/// The path of cache file `name`: in `$POSTMULTI_CACHE_DIRECTORY` when that
/// is an absolute path, else in [`DEFAULT_CACHE_DIRECTORY`].
pub fn cache_file(name: &str) -> PathBuf {
    let directory = std::env::var_os(CACHE_DIRECTORY_VARIABLE)
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE_DIRECTORY));
    directory.join(name)
}
