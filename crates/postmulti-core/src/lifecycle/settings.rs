//! The `param=value` operands of create and import: which parameters they
//! may set, and how a setting is split and checked.

use super::request::Action;
use crate::bconcat;
use crate::bytes::{BString, ByteSlice};
use crate::{Error, Result};

/// The private directories given as `param=value` operands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PrivatePaths {
    /// `config_directory=`.
    pub config_directory: Option<BString>,
    /// `queue_directory=` (create only).
    pub queue_directory: Option<BString>,
    /// `data_directory=` (create only).
    pub data_directory: Option<BString>,
}

/// Parses the `param=value` operands of create or import.
pub fn parse_settings(action: Action, settings: &[BString]) -> Result<PrivatePaths> {
    let mut paths = PrivatePaths::default();
    for setting in settings {
        let (name, value) = split_setting(setting)
            .ok_or_else(|| Error::fatal(bconcat!("Malformed parameter setting '", setting, "'")))?;
        let target = match name {
            b"config_directory" => &mut paths.config_directory,
            b"queue_directory" if action != Action::Import => &mut paths.queue_directory,
            b"data_directory" if action != Action::Import => &mut paths.data_directory,
            _ => {
                return Err(Error::fatal(bconcat!(
                    "Parameter '",
                    name,
                    "' not valid with action ",
                    action.word()
                )))
            }
        };
        if !value.starts_with(b"/") {
            return Err(Error::fatal(bconcat!(
                "Parameter setting '",
                name,
                "' is not an absolute path"
            )));
        }
        let trimmed = value.trim_end_with(|c| c == '/');
        if trimmed.is_empty() {
            return Err(Error::fatal(bconcat!(
                "Parameter setting '",
                name,
                "' is the root directory"
            )));
        }
        *target = Some(trimmed.into());
    }
    Ok(paths)
}

/// Splits `name = value` as Postfix's `split_nameval()` does: white space
/// around both trimmed, the name must be non-empty and free of white space.
fn split_setting(setting: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, value) = setting.split_once_str("=")?;
    let name = name.trim_with(|c| c.is_ascii_whitespace());
    if name.is_empty() || name.iter().any(u8::is_ascii_whitespace) {
        return None;
    }
    Some((name, value.trim_with(|c| c.is_ascii_whitespace())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_trimmed() {
        let parse = |words: &[&str]| {
            parse_settings(
                Action::Create,
                &words.iter().map(|&w| w.into()).collect::<Vec<_>>(),
            )
        };
        let paths = parse(&["queue_directory=/q//", "config_directory = /c"]).unwrap();
        assert_eq!(paths.queue_directory.unwrap(), "/q");
        assert_eq!(paths.config_directory.unwrap(), "/c");
        let latin = parse_settings(Action::Create, &[b"config_directory=/etc/\xe9"[..].into()]);
        assert_eq!(latin.unwrap().config_directory.unwrap(), &b"/etc/\xe9"[..]);
        let error = |words: &[&str]| parse(words).unwrap_err().to_string();
        assert_eq!(
            error(&["queue_directory"]),
            "Malformed parameter setting 'queue_directory'"
        );
        assert_eq!(
            error(&["mynetworks=/x"]),
            "Parameter 'mynetworks' not valid with action create"
        );
        assert_eq!(
            error(&["data_directory=x"]),
            "Parameter setting 'data_directory' is not an absolute path"
        );
        assert_eq!(
            error(&["data_directory=///"]),
            "Parameter setting 'data_directory' is the root directory"
        );
    }
}
