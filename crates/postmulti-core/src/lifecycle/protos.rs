//! The files of a new instance: main.cf from `main.cf.proto` with the shared
//! install settings cloned from the primary (or commented out), and
//! master.cf from `master.cf.proto`; postmulti's own templates stand in
//! where the prototypes are missing.

use crate::config::Config;
use crate::fsutil::Copied;
use crate::maincf::MainCf;
use crate::trust::{self, Last, Trust, Untrusted};
use crate::Result;
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

/// The largest prototype read.
const PROTOTYPE_LIMIT: u64 = 16 << 20;

/// The prototypes of a new instance, read through the descriptor of their
/// directory, which was checked with them under [`crate::trust`]'s rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prototypes {
    /// `main.cf.proto`, or `None` for our template.
    pub main_cf: Option<Prototype>,
    /// `master.cf.proto`, or `None` for our template.
    pub master_cf: Option<Prototype>,
}

/// One prototype: where it was, and what was read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prototype {
    /// Its path.
    pub path: PathBuf,
    /// Its bytes, mode, owner and times.
    pub copied: Copied,
}

impl Prototypes {
    /// The prototypes in `dir`, each only if it is there: the directory is
    /// reached from `/` under the rule ([`trust::reach`]) and both files
    /// are opened and read through its descriptor, never by path again.
    /// The error says why the directory or a prototype in it may not be
    /// trusted; they become a new instance's main.cf and master.cf, which
    /// name the programs it runs.
    pub fn read(dir: &Path) -> std::result::Result<Prototypes, Trust> {
        let reached = trust::reach(dir, Last::Trusted).map_err(Trust::Untrusted)?;
        let read = |name: &str| {
            let path = dir.join(name);
            let prefix = |why: Untrusted| Trust::Untrusted(Untrusted(format!("{name}: {why}")));
            match reached.open_file(name) {
                Ok(Some(file)) => Copied::read(file, &path, PROTOTYPE_LIMIT)
                    .map(|copied| Some(Prototype { path, copied }))
                    .map_err(Trust::Fatal),
                Ok(None) => Ok(None),
                Err(Trust::Untrusted(why)) => Err(prefix(why)),
                Err(fatal) => Err(fatal),
            }
        };
        Ok(Prototypes {
            main_cf: read("main.cf.proto")?,
            master_cf: read("master.cf.proto")?,
        })
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
        Some(proto) => (MainCf::parse(&proto.copied.bytes), proto.copied.mode),
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
