//! Where a manifest comes from and where an exported one goes, under
//! [`crate::trust`]'s rule: `--apply` changes the host as root from what
//! the manifest says (its `main_cf` may name the programs the instances
//! run), so it reads only a manifest that nobody but root (or the user
//! running postmulti) could have written; `--plan` changes nothing and
//! only warns; `--export` writes only where `--apply` would then read.
//! The prototypes of a manifest's `template` fall under the same rule.
//! `--apply` reads the manifest through the descriptor its trust was
//! checked on ([`crate::trust::reach`]: every directory from `/` opened
//! without following a link), so that nothing swapped in after the check
//! is read. A manifest is read from a regular file, never through a symbolic link,
//! and is at most [`MANIFEST_LIMIT`] bytes, from a file or from standard
//! input.

use super::manifest::Manifest;
use crate::trust::{distrust_file, open_trusted, read_limited, read_regular, replaceable, Trust};
use crate::{Error, Result};
use std::path::Path;

/// The largest manifest read (a thousand instances with their main.cf
/// settings take well under a megabyte).
pub const MANIFEST_LIMIT: u64 = 16 << 20;

/// What the manifest is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `--plan`: a manifest others could have written is read with a
    /// warning.
    Plan,
    /// `--apply`: such a manifest is refused.
    Apply,
}

/// A manifest read and parsed, with the warning about its file, if any.
#[derive(Debug)]
pub struct Read {
    /// The manifest.
    pub manifest: Manifest,
    /// Why `--apply` would refuse the file (only for [`Purpose::Plan`]).
    pub warning: Option<String>,
}

/// Reads and parses the manifest `file` (`-` for standard input) for
/// `purpose`.
pub fn read(file: &str, purpose: Purpose) -> Result<Read> {
    let mut warning = None;
    let bytes = if file == "-" {
        read_limited(std::io::stdin().lock(), Path::new(file), MANIFEST_LIMIT)?
    } else {
        let path = Path::new(file);
        match open_trusted(path) {
            Ok(opened) => read_limited(opened, path, MANIFEST_LIMIT)?,
            Err(Trust::Fatal(error)) => return Err(error),
            Err(Trust::Untrusted(reason)) => match purpose {
                Purpose::Apply => return Err(untrusted(file, &reason.0)),
                Purpose::Plan => {
                    warning = Some(format!(
                        "{file}: {reason}; --apply will refuse this manifest"
                    ));
                    read_regular(path, MANIFEST_LIMIT)?
                }
            },
        }
    };
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::fatal(format!("{file}: not UTF-8 text: {}", e.utf8_error())))?;
    Ok(Read {
        manifest: Manifest::parse(file, &text)?,
        warning,
    })
}

/// The text of the manifest `file` that `--export` updates (`None` when
/// there is none yet), refused unless the file would be trusted by
/// `--apply` afterwards: no symbolic link, a regular file in a directory
/// that only root (or the user running postmulti) can write.
pub fn export_target(file: &str) -> Result<Option<String>> {
    let path = Path::new(file);
    replaceable(path)?;
    if let Some(reason) = distrust_file(path) {
        return Err(Error::fatal(format!(
            "{file}: {reason}; --export writes only a manifest --apply would take"
        )));
    }
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let bytes = read_regular(path, MANIFEST_LIMIT)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| Error::fatal(format!("{file}: not UTF-8 text: {}", e.utf8_error())))
}

/// The refusal of an untrusted manifest by `--apply`.
fn untrusted(file: &str, reason: &str) -> Error {
    Error::fatal(format!(
        "{file}: {reason}; --apply takes a manifest only from a regular file that \
         neither group nor others can write, owned by root (or you), in a directory alike"
    ))
}
