//! The private directories of a new instance: the rules a given path must
//! follow, and the path derived from the primary's when none is given.

use crate::bconcat;
use crate::bytes::{self, BString, ByteSlice};
use crate::config::Config;
use crate::trust::{self, Last};
use crate::{Error, Result};

/// Directories of the system that are never an instance's configuration,
/// queue or data directory: set-permissions would give them to root or to
/// the mail owner with mode 0700 or 0755, and destroy would empty them.
const SYSTEM_DIRECTORIES: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/spool",
    "/var/tmp",
];

/// The primary's shared directories, which every instance uses: never an
/// instance's own (Postfix already refuses the command, daemon and shlib
/// directories, and the primary's private ones, as conflicts).
const SHARED_DIRECTORIES: &[&str] = &[
    "meta_directory",
    "html_directory",
    "manpage_directory",
    "readme_directory",
    "sample_directory",
];

/// Refuses `path` as the private directory `param` of a new or imported
/// instance when it is a system directory or one of the primary's shared
/// directories, or when it is reached through a symbolic link or a
/// directory others could change ([`trust::require_reachable`]; the
/// configuration directory, when it exists, must be under the rule too).
pub fn check_new_private_dir(param: &str, path: &[u8], primary: &Config<'_>) -> Result<()> {
    let trimmed = match path.trim_end_with(|c| c == '/') {
        b"" => b"/".as_slice(),
        trimmed => trimmed,
    };
    let shared = SHARED_DIRECTORIES.iter().find(|&&name| {
        primary
            .expanded(name)
            .is_ok_and(|dir| dir.trim_end_with(|c| c == '/') == trimmed)
    });
    if let Some(name) = shared {
        return Err(Error::fatal(bconcat!(
            param,
            "=",
            path,
            format!(": is the primary's {name}, which all instances share")
        )));
    }
    if SYSTEM_DIRECTORIES
        .iter()
        .any(|dir| dir.as_bytes() == trimmed)
    {
        return Err(Error::fatal(bconcat!(
            param,
            "=",
            path,
            ": is a system directory; an instance's directories must be its own"
        )));
    }
    // The configuration directory names the programs the instance runs:
    // nobody else may own or write it either.
    let last = match param {
        "config_directory" => Last::Trusted,
        _ => Last::Directory,
    };
    trust::require_reachable(param, bytes::path(path), last)
}

/// Refuses a private directory path that would corrupt the registry or
/// name a place other than it seems: white space, commas or control
/// characters (`multi_instance_directories` is a list), empty, `.` or `..`
/// components, and a symbolic link where the directory goes.
pub fn check_private_path(param: &str, path: &[u8]) -> Result<()> {
    if path
        .iter()
        .any(|&c| c.is_ascii_whitespace() || c == b',' || c.is_ascii_control())
    {
        return Err(Error::fatal(format!(
            "{param}={:?}: white space, commas and control characters are not allowed in an instance directory",
            path.as_bstr()
        )));
    }
    if path
        .split(|&c| c == b'/')
        .skip(1)
        .any(|component| matches!(component, b"" | b"." | b".."))
    {
        return Err(Error::fatal(bconcat!(
            param,
            "=",
            path,
            ": the path must not contain empty, '.' or '..' components"
        )));
    }
    match std::fs::symlink_metadata(bytes::path(path)) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::fatal(bconcat!(
            param,
            "=",
            path,
            ": is a symbolic link; give the directory it points to, if that is meant"
        ))),
        _ => Ok(()),
    }
}

/// Refuses a `$` in a private directory given on the command line of
/// create: Postfix's create makes the directory as it is written, but
/// Postfix expands the value wherever it uses it, so the instance would
/// live elsewhere (a missing queue directory: create fails half-way, the
/// instance already registered; an unknown parameter: the parent directory
/// taken over; a configuration directory: a registry no later command can
/// read).
pub fn refuse_reference(param: &str, path: &[u8]) -> Result<()> {
    if !path.contains(&b'$') {
        return Ok(());
    }
    Err(Error::fatal(bconcat!(
        param,
        "=",
        path,
        ": '$' is not allowed in an instance directory: Postfix would create the \
         directory as written, but use the one the expanded value names"
    )))
}

/// A private directory of a new instance derived from the primary's: the
/// primary's path with its last component replaced by the instance name.
pub fn derive_private_path(
    param: &str,
    primary_value: &[u8],
    name: Option<&[u8]>,
) -> Result<BString> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(Error::fatal(format!("Missing {param} parameter value")));
    };
    if !primary_value.starts_with(b"/") {
        return Err(Error::fatal(bconcat!(
            format!("Invalid default {param} parameter value: '"),
            primary_value,
            "': specify an absolute pathname"
        )));
    }
    let trimmed = primary_value.trim_end_with(|c| c == '/');
    let parent = match trimmed.rfind_byte(b'/') {
        Some(slash) => trimmed[..slash].trim_end_with(|c| c == '/'),
        None => b"",
    };
    Ok(bconcat!(parent, "/", name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_refused() {
        assert!(refuse_reference("queue_directory", b"/var/spool/postfix-a").is_ok());
        for path in [
            "/var/spool/$multi_instance_name",
            "/var/lib/${multi_instance_name}",
            "/etc/$(nosuch)",
            "/x/a$$b",
        ] {
            assert_eq!(
                refuse_reference("data_directory", path.as_bytes())
                    .unwrap_err()
                    .to_string(),
                format!(
                    "data_directory={path}: '$' is not allowed in an instance directory: \
                     Postfix would create the directory as written, but use the one the \
                     expanded value names"
                )
            );
        }
    }

    #[test]
    fn derived_paths_replace_the_last_component() {
        let derive =
            |p: &str| derive_private_path("queue_directory", p.as_bytes(), Some(b"postfix-a"));
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
            derive_private_path("config_directory", b"/etc/postfix", None)
                .unwrap_err()
                .to_string(),
            "Missing config_directory parameter value"
        );
    }
}
