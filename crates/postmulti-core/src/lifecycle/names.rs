//! Instance and group names, and the private directories of a new instance:
//! the syntax rules, the derivation of paths from a name, and the
//! `param=value` operands of create and import.

use super::{Action, EditRequest};
use crate::instance::Instance;
use crate::registry::Claims;
use crate::select::NAME_PREFIX;
use crate::{Error, Result};

/// Punctuation allowed in instance and group names besides ASCII letters and
/// digits.
const SAFE_PUNCTUATION: &str = "!@%-_=+:./";

/// Whether `name` is non-empty and holds only safe characters.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SAFE_PUNCTUATION.contains(c))
}

/// Checks the `-I` and `-G` values (an empty value clears and is always
/// valid).
pub fn check_assignments(request: &EditRequest) -> Result<()> {
    if let Some(name) = request.assign_name.as_deref().filter(|n| !n.is_empty()) {
        if !is_safe_name(name) {
            return Err(Error::fatal(format!(
                "Unsafe characters in new instance name: '{name}'"
            )));
        }
        if name.contains('/') {
            return Err(Error::fatal(format!(
                "Illegal '/' character in new instance name: '{name}'"
            )));
        }
        if !name.starts_with(NAME_PREFIX) {
            return Err(Error::fatal(format!(
                "New instance name must start with '{NAME_PREFIX}'"
            )));
        }
    }
    if let Some(group) = request.assign_group.as_deref().filter(|g| !g.is_empty()) {
        if !is_safe_name(group) {
            return Err(Error::fatal(format!("Unsafe characters in '-G {group}'")));
        }
    }
    Ok(())
}

/// The `multi_instance_name` / `multi_instance_group` settings that change
/// `target`, claiming a new name; applies them to `target`.
pub fn changed_names(
    target: &Instance,
    request: &EditRequest,
    claims: &mut Claims,
) -> Result<Vec<(&'static str, String)>> {
    let mut edits = Vec::new();
    if let Some(name) = &request.assign_name {
        if name.as_str() != target.name.as_deref().unwrap_or("") {
            claims.claim(&target.config_directory, "multi_instance_name", name)?;
            edits.push(("multi_instance_name", name.clone()));
        }
    }
    if let Some(group) = &request.assign_group {
        if group.as_str() != target.group.as_deref().unwrap_or("") {
            edits.push(("multi_instance_group", group.clone()));
        }
    }
    Ok(edits)
}

/// The private directories given as `param=value` operands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PrivatePaths {
    /// `config_directory=`.
    pub config_directory: Option<String>,
    /// `queue_directory=` (create only).
    pub queue_directory: Option<String>,
    /// `data_directory=` (create only).
    pub data_directory: Option<String>,
}

/// Parses the `param=value` operands of create or import.
pub fn parse_settings(action: Action, settings: &[String]) -> Result<PrivatePaths> {
    let mut paths = PrivatePaths::default();
    for setting in settings {
        let (name, value) = split_setting(setting)
            .ok_or_else(|| Error::fatal(format!("Malformed parameter setting '{setting}'")))?;
        let target = match name {
            "config_directory" => &mut paths.config_directory,
            "queue_directory" if action != Action::Import => &mut paths.queue_directory,
            "data_directory" if action != Action::Import => &mut paths.data_directory,
            _ => {
                return Err(Error::fatal(format!(
                    "Parameter '{name}' not valid with action {}",
                    action.word()
                )))
            }
        };
        if !value.starts_with('/') {
            return Err(Error::fatal(format!(
                "Parameter setting '{name}' is not an absolute path"
            )));
        }
        let trimmed = value.trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(Error::fatal(format!(
                "Parameter setting '{name}' is the root directory"
            )));
        }
        *target = Some(trimmed.to_string());
    }
    Ok(paths)
}

/// Refuses a private directory path that would corrupt the registry or
/// name a place other than it seems: white space, commas or control
/// characters (`multi_instance_directories` is a list), empty, `.` or `..`
/// components, and a symbolic link where the directory goes.
pub fn check_private_path(param: &str, path: &str) -> Result<()> {
    if path.contains(|c: char| c.is_whitespace() || c == ',' || c.is_control()) {
        return Err(Error::fatal(format!(
            "{param}={path:?}: white space, commas and control characters are not allowed in an instance directory"
        )));
    }
    if path
        .split('/')
        .skip(1)
        .any(|component| matches!(component, "" | "." | ".."))
    {
        return Err(Error::fatal(format!(
            "{param}={path}: the path must not contain empty, '.' or '..' components"
        )));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::fatal(format!(
            "{param}={path}: is a symbolic link; give the directory it points to, if that is meant"
        ))),
        _ => Ok(()),
    }
}

/// Splits `name = value` as Postfix's `split_nameval()` does: white space
/// around both trimmed, the name must be non-empty and free of white space.
fn split_setting(setting: &str) -> Option<(&str, &str)> {
    let (name, value) = setting.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name, value.trim()))
}

/// A private directory of a new instance derived from the primary's: the
/// primary's path with its last component replaced by the instance name.
pub fn derive_private_path(param: &str, primary_value: &str, name: Option<&str>) -> Result<String> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(Error::fatal(format!("Missing {param} parameter value")));
    };
    if !primary_value.starts_with('/') {
        return Err(Error::fatal(format!(
            "Invalid default {param} parameter value: '{primary_value}': specify an absolute pathname"
        )));
    }
    let trimmed = primary_value.trim_end_matches('/');
    let parent = match trimmed.rfind('/') {
        Some(slash) => trimmed[..slash].trim_end_matches('/'),
        None => "",
    };
    Ok(format!("{parent}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_paths_replace_the_last_component() {
        let derive = |p: &str| derive_private_path("queue_directory", p, Some("postfix-a"));
        assert_eq!(
            derive("/var/spool/postfix").unwrap(),
            "/var/spool/postfix-a"
        );
        assert_eq!(
            derive("/var/spool/postfix//").unwrap(),
            "/var/spool/postfix-a"
        );
        assert_eq!(derive("/var//postfix").unwrap(), "/var/postfix-a");
        assert_eq!(derive("/postfix").unwrap(), "/postfix-a");
        assert_eq!(
            derive("spool").unwrap_err().to_string(),
            "Invalid default queue_directory parameter value: 'spool': specify an absolute pathname"
        );
        assert_eq!(
            derive_private_path("config_directory", "/etc/postfix", None)
                .unwrap_err()
                .to_string(),
            "Missing config_directory parameter value"
        );
    }

    #[test]
    fn settings_are_checked_and_trimmed() {
        let parse = |words: &[&str]| {
            parse_settings(
                Action::Create,
                &words.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            )
        };
        let paths = parse(&["queue_directory=/q//", "config_directory = /c"]).unwrap();
        assert_eq!(paths.queue_directory.as_deref(), Some("/q"));
        assert_eq!(paths.config_directory.as_deref(), Some("/c"));
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

    #[test]
    fn name_rules() {
        let request = |name: &str, group: &str| EditRequest {
            action: Action::Create,
            selection: Default::default(),
            assign_name: Some(name.into()),
            assign_group: Some(group.into()),
            settings: vec![],
        };
        let error = |name: &str, group: &str| {
            check_assignments(&request(name, group))
                .unwrap_err()
                .to_string()
        };
        assert!(check_assignments(&request("postfix-a!@%-_=+:.", "g/1")).is_ok());
        assert!(check_assignments(&request("", "")).is_ok());
        assert!(check_assignments(&request("postfix-", "x")).is_ok());
        assert_eq!(
            error("foo", ""),
            "New instance name must start with 'postfix-'"
        );
        assert_eq!(
            error("postfix-a/b", ""),
            "Illegal '/' character in new instance name: 'postfix-a/b'"
        );
        assert_eq!(
            error("postfix-a b", ""),
            "Unsafe characters in new instance name: 'postfix-a b'"
        );
        assert_eq!(
            error("postfix-é", ""),
            "Unsafe characters in new instance name: 'postfix-é'"
        );
        assert_eq!(error("postfix-a", "a b"), "Unsafe characters in '-G a b'");
    }
}
