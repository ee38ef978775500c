//! Desired state: a TOML manifest of the instances a host should have
//! ([`manifest`]), the host's actual instances ([`actual`]), the plan that
//! turns one into the other out of the life-cycle actions and main.cf edits
//! ([`planner`]), carrying it out under the registry lock ([`apply`]), and
//! the manifest of a host as it is ([`export`]), and which manifest files
//! are read or written ([`source`]).

pub mod actual;
pub mod apply;
pub mod export;
pub mod manifest;
pub mod planner;
pub mod source;

use crate::{bconcat, Error, Result};

/// `bytes` (a name, group, directory or value of the host) as text for a
/// manifest, or the fatal error that says a manifest cannot hold them: TOML
/// is UTF-8, Postfix's bytes need not be.
pub fn manifest_text<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        Error::fatal(bconcat!(
            what,
            " '",
            bytes,
            "' is not UTF-8: a manifest (TOML) cannot represent it"
        ))
    })
}
