//! A plan: the ordered file-system steps of one life-cycle action, built
//! before anything is touched, so that the whole action can be checked,
//! shown (`--dry-run`) and then carried out step by step, each step atomic.

use crate::bytes::{self, BString};
use crate::config::Config;
use crate::error::Op;
use crate::fsutil::{write_atomic, write_copy, Copied, FileMeta};
use crate::perms::{self, PermEntry};
use crate::registry::{split_list, Registry};
use crate::trust::{self, Last};
use crate::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::path::{Path, PathBuf};

/// One file-system step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create a directory and its missing parents with `mode` (umask
    /// applies), as `mkdir -p`, each by `mkdirat` in the one made or
    /// reached before it ([`crate::trust::reach`]).
    MakeDir {
        /// The directory.
        path: PathBuf,
        /// Permission bits for each directory created.
        mode: u32,
    },
    /// Write a file atomically (a new main.cf, or an edited one).
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Its current bytes, if it exists (for showing a diff).
        old: Option<Vec<u8>>,
        /// Its new bytes.
        new: Vec<u8>,
        /// Mode and owner of the file written (parts left `None` keep an
        /// existing file's).
        meta: FileMeta,
    },
    /// Copy a file keeping mode and times (`cp -p`), atomically: what was
    /// read from it when planning is written.
    CopyFile {
        /// The source.
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// What was read from the source.
        copied: Copied,
    },
    /// Give an instance's private files the owners and modes of
    /// `postfix-files` (`postfix set-permissions`).
    SetPermissions(Vec<PermEntry>),
    /// Remove exactly one file (a symlink itself, never its target).
    RemoveFile(PathBuf),
    /// Remove a directory if it is empty; otherwise, or when a symbolic link
    /// is in its place (left, never followed), leave it and warn.
    RemoveDir(PathBuf),
}

/// The ordered steps of an action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in the order they are carried out.
    pub steps: Vec<Step>,
    /// What the administrator should know before it is carried out (a
    /// directory above the new queue that others can write to, ...).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Adds an edit of `config`'s main.cf: each setting as `postconf -e`,
    /// which leaves a new file owned by the user running it with mode 0644
    /// (under postmulti's umask 022), whatever owner and mode it had. A
    /// main.cf holding a NUL byte is not edited: postconf would cut the line
    /// there, newline included, and glue the next line to it.
    pub fn edit_main_cf(&mut self, config: &Config<'_>, settings: &[(&str, &[u8])]) -> Result<()> {
        if let Some(line) = config.doc().nul_line() {
            return Err(Error::fatal(crate::bconcat!(
                bytes::of_os(&config.path()),
                format!(", line {line}: NUL byte: not editing this file (postconf -e would cut the line there)")
            )));
        }
        let mut doc = config.doc().clone();
        let settings: Vec<(&[u8], &[u8])> = settings
            .iter()
            .map(|&(name, value)| (name.as_bytes(), value))
            .collect();
        doc.set_all(&settings);
        self.steps.push(Step::WriteFile {
            path: config.path(),
            old: Some(config.doc().to_bytes()),
            new: doc.to_bytes(),
            meta: FileMeta {
                mode: Some(0o644),
                owner: Some((
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                )),
            },
        });
        Ok(())
    }

    /// Plans the primary's edit for a registry change: the new
    /// `multi_instance_directories`, and `dir` added to (`alternate`) or dropped
    /// from `alternate_config_directories`, in one atomic write.
    pub fn edit_directory_lists(
        &mut self,
        registry: &Registry<'_>,
        dirs: Vec<BString>,
        dir: &[u8],
        alternate: bool,
    ) -> Result<()> {
        let primary = &registry.primary_config;
        let mut settings = vec![(
            "multi_instance_directories",
            BString::from(bytes::join(" ", &dirs)),
        )];
        let alternates = split_list(
            primary
                .explicit("alternate_config_directories")
                .unwrap_or_default(),
        );
        let listed = alternates.iter().any(|d| d == dir);
        if alternate && !listed {
            let mut kept = alternates;
            kept.push(dir.into());
            settings.push((
                "alternate_config_directories",
                BString::from(bytes::join(" ", &kept)),
            ));
        } else if !alternate && listed {
            let kept: Vec<BString> = alternates.into_iter().filter(|d| d != dir).collect();
            settings.push((
                "alternate_config_directories",
                BString::from(bytes::join(" ", &kept)),
            ));
        }
        let settings: Vec<(&str, &[u8])> =
            settings.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        self.edit_main_cf(primary, &settings)
    }

    /// Carries out every step in order; returns the warnings of steps that
    /// could not fully complete without being errors (directories left).
    pub fn execute(&self) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        for step in &self.steps {
            match step {
                Step::MakeDir { path, mode } => trust::reach(path, Last::Directory)
                    .map_err(|why| Error::fatal(format!("{}: {why}", path.display())))?
                    .make_missing(*mode)?,
                Step::WriteFile {
                    path, new, meta, ..
                } => write_atomic(path, new, *meta)?,
                Step::CopyFile { to, copied, .. } => write_copy(to, copied)?,
                Step::SetPermissions(entries) => perms::apply(entries)?,
                Step::RemoveFile(path) => remove_file(path)?,
                Step::RemoveDir(path) => {
                    if let Some(warning) = remove_dir(path) {
                        warnings.push(warning);
                    }
                }
            }
        }
        Ok(warnings)
    }
}

/// Unlinks a file (a symbolic link itself, never its target); a missing
/// file is not an error.
fn remove_file(path: &Path) -> Result<()> {
    match unlink_in_parent(path, UnlinkatFlags::NoRemoveDir) {
        Err(e) if e != Errno::ENOENT => Err(Error::errno(Op::Remove, path, e)),
        _ => Ok(()),
    }
}

/// Removes an empty directory; when that fails (it holds something, or it
/// is a symbolic link, which is left as it is), the warning is Postfix's
/// for a directory its destroy leaves. A directory already gone is no
/// warning.
fn remove_dir(path: &Path) -> Option<String> {
    match unlink_in_parent(path, UnlinkatFlags::RemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => None,
        Err(_) => Some(format!(
            "{}: please verify contents and remove by hand",
            path.display()
        )),
    }
}

/// `unlinkat` of `path`'s last component in its parent directory, which is
/// opened without following a symbolic link in its place; `path` itself is
/// never followed either (`rmdir` of a link fails with `ENOTDIR`).
fn unlink_in_parent(path: &Path, flags: UnlinkatFlags) -> nix::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Errno::EINVAL);
    };
    let open = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let dir = nix::fcntl::open(parent, open, Mode::empty())?;
    unlinkat(&dir, name, flags)
}
