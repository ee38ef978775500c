//! The error type of the crate: each variant says what went wrong and where,
//! so callers and tests can match on kinds; its `Display` is the fatal
//! message, worded as Postfix's postmulti words it where it has one. Also
//! the system's text for an I/O error ([`strerror`]).

use crate::expand::ExpandError;
use bstr::BString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A failure that stops the command; its text is what follows
/// `postmulti: fatal: ` on stderr.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal or check in its final wording (most of Postfix's own),
    /// with the bytes of the paths and values it names.
    #[error("{0}")]
    Message(BString),
    /// A system call on a path failed; shown as `PATH: strerror` (`open
    /// PATH: strerror` for [`Op::Open`], as Postfix shows it).
    #[error("{}{}: {}", op.prefix(), path.display(), strerror(error))]
    Io {
        /// What was being done.
        op: Op,
        /// The file or directory the call was about.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// A main.cf line Postfix would refuse.
    #[error("{}, line {line}: {reason}: \"{text}\"", path.display())]
    Syntax {
        /// The main.cf.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
        /// The line.
        text: BString,
    },
    /// A parameter whose `$name` references cannot be expanded.
    #[error("{}: parameter {param}: {source}", path.display())]
    Expand {
        /// The main.cf it is set in (or would default in).
        path: PathBuf,
        /// The parameter.
        param: String,
        /// Why.
        source: ExpandError,
    },
    /// Two instances claim the same name or directory.
    #[error("instance {config_directory}, {param}={value} conflicts with instance {owner_directory}, {owner_param}={value}")]
    Conflict {
        /// The instance making the claim.
        config_directory: BString,
        /// The parameter it claims the value for.
        param: &'static str,
        /// The value.
        value: BString,
        /// The instance that claimed it first.
        owner_directory: BString,
        /// The parameter it claimed it as.
        owner_param: &'static str,
    },
    /// A new instance's configuration directory is already claimed.
    #[error("new config_directory={config_directory} is already in use by instance {owner_directory}, {owner_param}={config_directory}")]
    InUse {
        /// The new instance's configuration directory.
        config_directory: BString,
        /// The instance that claimed it.
        owner_directory: BString,
        /// The parameter it claimed it as.
        owner_param: &'static str,
    },
    /// A selection that does not name what the command needs.
    #[error("{0}")]
    Selection(SelectionError),
    /// The primary has not been set up with `postmulti -e init`.
    #[error("{}", match param { Init::Wrapper => "multi_instance_wrapper is empty, run 'postmulti -e init' first.", Init::Enable => "multi_instance_enable!=yes, run 'postmulti -e init' first." })]
    NotInitialized {
        /// The primary's setting that says so.
        param: Init,
    },
    /// Another postmulti held the registry lock for too long.
    #[error("timed out after {}s waiting for the lock on {}: another postmulti is changing the instance registry", waited.as_secs_f64(), path.display())]
    LockTimeout {
        /// The locked configuration directory.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// A `postfix-files` line post-install would refuse.
    #[error("{file}: line {line}: {problem}")]
    PostfixFiles {
        /// The file (or `built-in postfix-files`).
        file: String,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: EntryProblem,
    },
    /// A user or group a `postfix-files` entry names cannot be resolved.
    #[error("{}", account_message(*kind, name, path, *errno))]
    Account {
        /// User or group.
        kind: AccountKind,
        /// The name given.
        name: String,
        /// The entry's path.
        path: PathBuf,
        /// Why the lookup failed; `None` when the name is unknown.
        errno: Option<nix::errno::Errno>,
    },
}

/// The file-system operation an [`Error::Io`] was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Opening a file to read it (shown as `open PATH`).
    Open,
    /// Reading, or looking at, a file or directory.
    Read,
    /// Writing or replacing a file.
    Write,
    /// Creating a directory.
    MakeDir,
    /// Removing a file.
    Remove,
    /// Taking the registry lock.
    Lock,
    /// Changing an owner.
    Chown,
    /// Changing a mode.
    Chmod,
}

impl Op {
    // The words before the path in the message.
    fn prefix(self) -> &'static str {
        match self {
            Op::Open => "open ",
            _ => "",
        }
    }
}

/// Why a selection does not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// An action on an existing instance without `-i`.
    #[error("Select an instance via '-i name'")]
    NameRequired,
    /// `-i NAME` names no instance.
    #[error("No instance named {0}")]
    NoInstanceNamed(BString),
    /// `-g`/`-i` of create or import matches no secondary to go before.
    #[error("No matching secondary instances")]
    NoMatchingSecondary,
    /// The selection matches no instance at all.
    #[error("No matching instances")]
    NoMatchingInstances,
}

/// The primary's settings that `postmulti -e init` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// `multi_instance_wrapper` is empty.
    Wrapper,
    /// `multi_instance_enable` is not `yes`.
    Enable,
}

/// What is wrong with a `postfix-files` line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    /// A type other than `d`, `f`, `h` or `l`.
    #[error("unknown type '{kind}' for {path}")]
    UnknownType {
        /// The type field.
        kind: String,
        /// The path field, unexpanded.
        path: String,
    },
    /// An empty or `-` owner.
    #[error("no owner for {0}")]
    NoOwner(String),
    /// A mode that is not an octal number up to 7777.
    #[error("bad mode '{mode}' for {path}")]
    BadMode {
        /// The mode field.
        mode: String,
        /// The expanded path.
        path: String,
    },
    /// A `$name` that is not an instance parameter.
    #[error("unknown parameter ${0}")]
    UnknownParameter(String),
    /// A `${` without its `}`.
    #[error("unterminated '${{' in {0}")]
    Unterminated(String),
}

/// User or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A user name.
    User,
    /// A group name.
    Group,
}

// The message of an Error::Account.
fn account_message(
    kind: AccountKind,
    name: &str,
    path: &Path,
    errno: Option<nix::errno::Errno>,
) -> String {
    let kind = match kind {
        AccountKind::User => "user",
        AccountKind::Group => "group",
    };
    match errno {
        None => format!("unknown {kind} '{name}' for {}", path.display()),
        Some(errno) => format!(
            "cannot look up {kind} '{name}' for {}: {}",
            path.display(),
            errno.desc()
        ),
    }
}

impl Error {
    /// An error with the given message, in its final wording.
    pub fn fatal(message: impl Into<BString>) -> Error {
        Error::Message(message.into())
    }

    /// The message as bytes: the paths, names and values in it as they are
    /// (the `Display` form shows bytes that are not UTF-8 as U+FFFD).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Error::Message(message) => message.to_vec(),
            Error::Io { op, path, error } => crate::bconcat!(
                op.prefix(),
                crate::bytes::of_os(path),
                ": ",
                strerror(error)
            )
            .into(),
            Error::Conflict {
                config_directory,
                param,
                value,
                owner_directory,
                owner_param,
            } => crate::bconcat!(
                "instance ",
                config_directory,
                format!(", {param}="),
                value,
                " conflicts with instance ",
                owner_directory,
                format!(", {owner_param}="),
                value
            )
            .into(),
            Error::InUse {
                config_directory,
                owner_directory,
                owner_param,
            } => crate::bconcat!(
                "new config_directory=",
                config_directory,
                " is already in use by instance ",
                owner_directory,
                format!(", {owner_param}="),
                config_directory
            )
            .into(),
            Error::Syntax {
                path,
                line,
                reason,
                text,
            } => crate::bconcat!(
                crate::bytes::of_os(path),
                format!(", line {line}: {reason}: \""),
                text,
                "\""
            )
            .into(),
            Error::Expand {
                path,
                param,
                source,
            } => crate::bconcat!(
                crate::bytes::of_os(path),
                format!(": parameter {param}: "),
                source.to_bytes()
            )
            .into(),
            Error::Selection(SelectionError::NoInstanceNamed(name)) => {
                crate::bconcat!("No instance named ", name).into()
            }
            other => other.to_string().into_bytes(),
        }
    }

    /// An I/O error on `path` where the operation goes without saying
    /// (shown as `PATH: strerror`).
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::io_op(Op::Read, path, source)
    }

    /// An I/O error of operation `op` on `path`.
    pub fn io_op(op: Op, path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.as_ref().to_path_buf(),
            error: source,
        }
    }

    /// A failed system call of operation `op` on `path`, from its errno.
    pub fn errno(op: Op, path: impl AsRef<Path>, errno: nix::errno::Errno) -> Error {
        Error::io_op(op, path, std::io::Error::from(errno))
    }
}

impl From<SelectionError> for Error {
    fn from(error: SelectionError) -> Error {
        Error::Selection(error)
    }
}

/// The system's text for an I/O error, as `%m` prints it in Postfix.
pub fn strerror(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => error.to_string(),
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
