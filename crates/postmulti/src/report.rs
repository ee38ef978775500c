//! Diagnostics: `postmulti: fatal: MESSAGE` (and warnings) on stderr, always,
//! and the same to syslog through `/dev/log` when it exists, tagged
//! `postmulti[PID]` with facility mail, as Postfix logs them. Like
//! Postfix's `msg_text()`, every output gets the message made printable
//! first, so a name with a newline or a byte that is not UTF-8 cannot fake
//! a second line or garble a terminal.

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

/// The bytes of a fatal error's message: those of the paths, names and
/// arguments it names as they are.
pub fn fatal_message(error: &anyhow::Error) -> Vec<u8> {
    // A core error's message names its cause already; one given a context
    // is shown with it.
    match error.downcast_ref::<postmulti_core::Error>() {
        Some(core) if error.to_string() == core.to_string() => core.to_bytes(),
        _ => format!("{error:#}").into_bytes(),
    }
}

/// Reports `message` (text or bytes) on stderr and to syslog.
pub fn report(level: Level, message: impl AsRef<[u8]>) {
    let message = message.as_ref();
    let (label, severity) = match level {
        Level::Fatal => ("fatal: ", LOG_CRIT),
        Level::Warning => ("warning: ", LOG_WARNING),
        Level::Verbose => ("", LOG_INFO),
    };
    let message = printable(message);
    let mut line = format!("postmulti: {label}").into_bytes();
    line.extend_from_slice(&message);
    line.push(b'\n');
    let _ = std::io::stderr().write_all(&line);
    if level != Level::Verbose {
        let mut text = label.as_bytes().to_vec();
        text.extend_from_slice(&message);
        send_to_syslog(LOG_MAIL | severity, &text);
    }
}

/// Sends one record to the local syslog socket, if there is one, stamped
/// as Postfix's syslog(3) stamps it (`<18>Nov 25 20:17:50 postmulti[PID]: ...`).
fn send_to_syslog(priority: u8, text: &[u8]) {
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let mut record = format!(
        "<{priority}>{} postmulti[{}]: ",
        crate::timestamp::syslog_timestamp(std::time::SystemTime::now()),
        std::process::id()
    )
    .into_bytes();
    record.extend_from_slice(text);
    let _ = socket.send_to(&record, "/dev/log");
}

/// `text` as Postfix's `msg_text()` hands it to stderr and syslog (its
/// `printable()`): UTF-8 characters kept, except ASCII control characters,
/// and each byte of what is not UTF-8 replaced by `?`.
fn printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii_control() {
                out.push(b'?');
            } else {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        out.resize(out.len() + chunk.invalid().len(), b'?');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_text_is_printable_as_postfix_makes_it() {
        assert_eq!(printable(b"-G \xe9t\xe9 \t \xc3\xa9"), b"-G ?t? ? \xc3\xa9");
    }
}
