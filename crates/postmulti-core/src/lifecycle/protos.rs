//! The files of a new instance: main.cf from `main.cf.proto` with the shared
//! install settings cloned from the primary (or commented out), and
//! master.cf from `master.cf.proto`; postmulti's own templates stand in
//! where the prototypes are missing.

use crate::config::Config;
use crate::maincf::MainCf;
use crate::{Error, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Install parameters shared by all instances: cloned from the primary's
/// explicit non-empty settings, else commented out in the new main.cf.
const SHARED_PARAMETERS: &[&str] = &[
    "command_directory",
    "daemon_directory",
    "meta_directory",
    "mail_owner",
    "setgid_group",
    "sendmail_path",
    "mailq_path",
    "newaliases_path",
    "html_directory",
    "manpage_directory",
    "sample_directory",
    "readme_directory",
    "shlib_directory",
];

/// postmulti's own main.cf prototype.
const MAIN_CF_TEMPLATE: &str = include_str!("../../protos/main.cf.proto");

/// postmulti's own master.cf prototype.
pub const MASTER_CF_TEMPLATE: &str = include_str!("../../protos/master.cf.proto");

/// Where the prototypes of a new instance come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prototypes {
    /// `main.cf.proto`, or `None` for our template.
    pub main_cf: Option<PathBuf>,
    /// `master.cf.proto`, or `None` for our template.
    pub master_cf: Option<PathBuf>,
}

impl Prototypes {
    /// The prototypes in `dir`, each only if it is there.
    pub fn find(dir: &Path) -> Prototypes {
        let existing = |name: &str| Some(dir.join(name)).filter(|path| path.is_file());
        Prototypes {
            main_cf: existing("main.cf.proto"),
            master_cf: existing("master.cf.proto"),
        }
    }
}

/// The new instance's main.cf and its mode.
pub fn new_main_cf(
    prototypes: &Prototypes,
    primary: &Config<'_>,
    queue_directory: &[u8],
    data_directory: &[u8],
) -> Result<(MainCf, u32)> {
    let (mut doc, mode) = match &prototypes.main_cf {
        Some(path) => {
            let doc = MainCf::read(path)?;
            let mode = path
                .metadata()
                .map_err(|e| Error::io(path, e))?
                .permissions()
                .mode()
                & 0o7777;
            (doc, mode)
        }
        None => (MainCf::parse(MAIN_CF_TEMPLATE.as_bytes()), 0o644),
    };
    let mut cloned = Vec::new();
    for &param in SHARED_PARAMETERS {
        match primary.explicit(param).filter(|value| !value.is_empty()) {
            Some(value) => cloned.push((param, value)),
            None => doc.comment_out(param),
        }
    }
    doc.set("queue_directory", queue_directory);
    doc.set("data_directory", data_directory);
    doc.set("authorized_submit_users", "");
    doc.set("master_service_disable", "inet");
    for (param, value) in cloned {
        doc.set(param, value);
    }
    Ok((doc, mode))
}
