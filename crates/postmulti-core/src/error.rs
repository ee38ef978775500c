//! The error type of the crate: every failure ends as one fatal message, worded
//! as Postfix's postmulti words it where it has one.

use std::path::{Path, PathBuf};

/// A failure that stops the command; its text is what follows
/// `postmulti: fatal: ` on stderr.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message in its final wording.
    #[error("{0}")]
    Fatal(String),
    /// A system call on a path failed; shown as `PATH: strerror`.
    #[error("{}: {}", path.display(), crate::config::strerror(error))]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
}

impl Error {
    /// A fatal error with the given message.
    pub fn fatal(message: impl Into<String>) -> Error {
        Error::Fatal(message.into())
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            error: source,
        }
    }
}

impl From<nix::Error> for Error {
    fn from(errno: nix::Error) -> Error {
        Error::Fatal(errno.desc().to_string())
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
