//! Byte strings as Postfix keeps them: parameter values, instance names,
//! groups and paths are bytes, not text, and are carried from the file to
//! the output, other files, the environment and the file system unchanged.

pub use bstr::{join, BStr, BString, ByteSlice, ByteVec};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The path whose bytes are `bytes`.
pub fn path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// The path whose bytes are `bytes`, owned.
pub fn path_buf(bytes: impl Into<Vec<u8>>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes.into()))
}

/// The bytes of a path or any other OS string.
pub fn of_os(text: &(impl AsRef<OsStr> + ?Sized)) -> &BStr {
    BStr::new(text.as_ref().as_bytes())
}

/// An OS string (an environment value, an argument) with bytes `bytes`.
pub fn os_string(bytes: impl Into<Vec<u8>>) -> OsString {
    OsString::from_vec(bytes.into())
}

/// Joins pieces that are bytes or text (`&str`, `String`, `&[u8]`, `BStr`,
/// `BString`, ...) into one [`BString`], as a message that names a path or
/// a value is written: its bytes as they are.
#[macro_export]
macro_rules! bconcat {
    ($($part:expr),* $(,)?) => {{
        let mut out: ::std::vec::Vec<u8> = ::std::vec::Vec::new();
        $( out.extend_from_slice(::std::convert::AsRef::<[u8]>::as_ref(&$part)); )*
        $crate::bytes::BString::from(out)
    }};
}

/// The OS string (an argument, an environment value) whose bytes are
/// `bytes`.
pub fn os(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}
