//! The private directories of a new instance: the rules a given path must
//! follow, and the path derived from the primary's when none is given.

use crate::{Error, Result};

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
}
