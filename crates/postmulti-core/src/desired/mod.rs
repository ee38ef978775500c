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
