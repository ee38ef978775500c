//! Crash-safe file writes: temp file in the same directory, fsync, rename,
//! directory fsync.

use crate::Result;
use std::path::Path;

/// Ownership and mode for a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileMeta {
    /// Permission bits (e.g. `0o644`); `None` keeps the existing file's, or
    /// `0o644` for a new file.
    pub mode: Option<u32>,
    /// Owner `(uid, gid)`; `None` keeps the existing file's, or the caller's
    /// for a new file.
    pub owner: Option<(u32, u32)>,
}

/// Replaces `path` with `bytes` atomically: a reader (or a crash) sees the
/// old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8], meta: FileMeta) -> Result<()> {
    todo!()
}

/// Copies `src` to `dst` atomically, keeping the mode and the access and
/// modification times of `src` (as `cp -p` does).
pub fn copy_preserving(src: &Path, dst: &Path) -> Result<()> {
    todo!()
}

/// Flushes a directory so that renames and removals in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    todo!()
}
