//! Diagnostics: `postmulti: fatal: MESSAGE` (and warnings) on stderr, always,
//! and the same to syslog through `/dev/log` when it exists, tagged
//! `postmulti[PID]` with facility mail, as Postfix logs them.

use std::io::Write;
use std::os::unix::net::UnixDatagram;

/// syslog facility mail.
const LOG_MAIL: u8 = 2 << 3;
/// syslog severity crit (Postfix logs fatal errors as crit).
const LOG_CRIT: u8 = 2;
/// syslog severity warning.
const LOG_WARNING: u8 = 4;
/// syslog severity info.
const LOG_INFO: u8 = 6;

/// How bad a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The command stops.
    Fatal,
    /// Something the administrator must look at; the command goes on.
    Warning,
    /// `-v` detail.
    Verbose,
}

/// Reports `message` on stderr and to syslog.
pub fn report(level: Level, message: &str) {
    let (label, severity) = match level {
        Level::Fatal => ("fatal: ", LOG_CRIT),
        Level::Warning => ("warning: ", LOG_WARNING),
        Level::Verbose => ("", LOG_INFO),
    };
    let _ = writeln!(std::io::stderr(), "postmulti: {label}{message}");
    if level != Level::Verbose {
        send_to_syslog(LOG_MAIL | severity, &format!("{label}{message}"));
    }
}

/// Sends one record to the local syslog socket, if there is one, stamped
/// as Postfix's syslog(3) stamps it (`<18>Nov 25 20:17:50 postmulti[PID]: ...`).
fn send_to_syslog(priority: u8, text: &str) {
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let record = format!(
        "<{priority}>{} postmulti[{}]: {text}",
        crate::timestamp::syslog_timestamp(std::time::SystemTime::now()),
        std::process::id()
    );
    let _ = socket.send_to(record.as_bytes(), "/dev/log");
}
