//! The systemd generator: which `postfix@NAME.service` units Debian's
//! `postfix.service` pulls in at boot, and a drop-in for each.
//!
//! Debian's `postfix@.service` runs `postmulti -i %i -p start` (`%i` is the
//! instance name, `-` for the primary). The generator links, in
//! `NORMAL_DIR/postfix.service.wants/`, `postfix@-.service` for the
//! primary and `postfix@NAME.service` for each secondary that a start of
//! the host starts ([`Registry::started_instances`]), and writes a drop-in
//! `NORMAL_DIR/postfix@NAME.service.d/postmulti.conf` for each: `PIDFile=`
//! the master's pid file (so systemd knows the main process; only for an
//! instance that runs a master), `RequiresMountsFor=` its configuration,
//! queue and data directories, and `After=` the unit of the instance
//! linked before it (list order is start order; systemd stops in reverse).
//!
//! It runs at boot, before the system is up: every main.cf is read
//! natively, compiled-in defaults come from the cache or the built-in
//! values ([`Defaults::cache_only`]), and a broken, nameless or unnameable
//! instance is skipped with a warning instead of failing the boot.

use crate::bytes::ByteSlice;
use crate::config::main_cf_path;
use crate::defaults::Defaults;
use crate::error::Op;
use crate::instance::Instance;
use crate::registry::{Registry, Strictness};
use crate::{Error, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Debian's template unit, which the links point to.
pub const TEMPLATE_UNIT: &str = "/lib/systemd/system/postfix@.service";

/// The directory of `postfix.service`'s wanted units.
pub const WANTS_DIRECTORY: &str = "postfix.service.wants";

/// The file name of each drop-in.
pub const DROP_IN_NAME: &str = "postmulti.conf";

/// The instance name of the primary's unit (`postmulti -i -`).
const PRIMARY_INSTANCE: &str = "-";

/// The longest unit name systemd accepts.
const UNIT_NAME_MAX: usize = 255;

/// One unit the generator links, with its drop-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedUnit {
    /// `postfix@NAME.service`.
    pub unit: String,
    /// The drop-in's text; `None` when the primary could not be read.
    pub drop_in: Option<String>,
}

/// What the generator makes of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generation {
    /// The units to link, in start order.
    pub units: Vec<LinkedUnit>,
    /// Why instances were skipped, one message each.
    pub warnings: Vec<String>,
}

/// Decides the units for the host whose primary is in `primary_dir`. Never
/// fails: a primary without main.cf links nothing (Postfix is not
/// configured), a primary that cannot be read links its unit alone (so the
/// failure shows when systemd starts it), and a secondary that cannot be
/// linked is named in a warning.
pub fn plan(primary_dir: &[u8], defaults: &Defaults) -> Generation {
    let mut generation = Generation::default();
    if std::fs::symlink_metadata(main_cf_path(primary_dir)).is_err() {
        return generation;
    }
    let registry = match Registry::load(primary_dir, defaults, Strictness::Lenient) {
        Ok(registry) => registry,
        Err(error) => {
            generation.warnings.push(format!(
                "primary instance {}: {error}; linking {} without a drop-in",
                crate::bytes::BStr::new(primary_dir),
                unit_name(PRIMARY_INSTANCE)
            ));
            generation.units.push(LinkedUnit {
                unit: unit_name(PRIMARY_INSTANCE),
                drop_in: None,
            });
            return generation;
        }
    };
    for broken in &registry.broken {
        generation.warnings.push(format!(
            "instance {} skipped: {}",
            broken.config_directory, broken.reason
        ));
    }
    let primary = registry.primary();
    let started: Vec<&Instance> = registry.started_instances().collect();
    let linked = std::iter::once(primary).chain(started.into_iter().filter(|i| !i.primary));
    let mut previous: Option<String> = None;
    for instance in linked {
        let unit = match instance_unit(instance) {
            Ok(unit) => unit,
            Err(why) => {
                generation.warnings.push(why);
                continue;
            }
        };
        let drop_in = match drop_in(instance, previous.as_deref()) {
            Ok(text) => text,
            Err(why) => {
                generation.warnings.push(why);
                continue;
            }
        };
        previous = Some(unit.clone());
        generation.units.push(LinkedUnit {
            unit,
            drop_in: Some(drop_in),
        });
    }
    generation
}

/// Writes the links and drop-ins of `generation` into `normal_dir`, which
/// must exist (systemd makes it); an error here is the only fatal one.
pub fn write(normal_dir: &Path, generation: &Generation) -> Result<()> {
    if generation.units.is_empty() {
        return Ok(());
    }
    let wants = normal_dir.join(WANTS_DIRECTORY);
    make_directory(&wants)?;
    for linked in &generation.units {
        let link = wants.join(&linked.unit);
        match std::os::unix::fs::symlink(TEMPLATE_UNIT, &link) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&link).map_err(|e| Error::io(&link, e))?;
                std::os::unix::fs::symlink(TEMPLATE_UNIT, &link)
                    .map_err(|e| Error::io(&link, e))?;
            }
            other => other.map_err(|e| Error::io(&link, e))?,
        }
        if let Some(text) = &linked.drop_in {
            let dir = normal_dir.join(format!("{}.d", linked.unit));
            make_directory(&dir)?;
            write_file(&dir.join(DROP_IN_NAME), text)?;
        }
    }
    Ok(())
}

/// The unit of `instance`, or why it cannot have one.
fn instance_unit(instance: &Instance) -> std::result::Result<String, String> {
    if instance.primary {
        return Ok(unit_name(PRIMARY_INSTANCE));
    }
    let dir = &instance.config_directory;
    let Some(name) = &instance.name else {
        return Err(format!(
            "instance {dir} skipped: it has no multi_instance_name, and \
             postfix@.service needs one; name it with: postmulti -i {dir} -I postfix-NAME -e assign"
        ));
    };
    // A name that is not text is no unit instance either.
    let text = name.to_str().unwrap_or_default();
    let unit = unit_name(text);
    if !is_unit_instance(text) || unit.len() > UNIT_NAME_MAX {
        return Err(format!(
            "instance {dir} skipped: its name {name} cannot be used in a systemd unit name \
             (letters, digits, ':', '_', '.', '-'); rename it with: \
             postmulti -i {dir} -I postfix-NAME -e assign"
        ));
    }
    Ok(unit)
}

/// `postfix@INSTANCE.service`.
fn unit_name(instance: &str) -> String {
    format!("postfix@{instance}.service")
}

/// Whether systemd takes `name` as the instance part of a unit name as it
/// is, so that `%i` in `postfix@.service` is `name` itself.
fn is_unit_instance(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.-".contains(&b))
}

/// The drop-in of `instance`, started after the unit `after`, or why its
/// directories cannot be written in a unit file.
fn drop_in(instance: &Instance, after: Option<&str>) -> std::result::Result<String, String> {
    let directories = [
        &instance.config_directory,
        &instance.queue_directory,
        &instance.data_directory,
    ];
    let mut mounts = Vec::with_capacity(directories.len());
    for dir in directories {
        let path = unit_path(dir).ok_or_else(|| {
            format!(
                "instance {} skipped: directory '{dir}' cannot be written in a unit file \
                 (not absolute, not UTF-8, or white space, quotes, backslashes or control characters)",
                instance.config_directory
            )
        })?;
        if !mounts.contains(&path) {
            mounts.push(path);
        }
    }
    let mut text = format!(
        "# Written by postmulti --systemd-generator for the instance in {}.\n\
         [Unit]\nRequiresMountsFor={}\n",
        instance.config_directory,
        mounts.join(" ")
    );
    if let Some(after) = after {
        text.push_str(&format!("After={after}\n"));
    }
    if instance.enabled {
        // Checked by unit_path above.
        let queue = unit_path(&instance.queue_directory).unwrap_or_default();
        text.push_str(&format!("\n[Service]\nPIDFile={queue}/pid/master.pid\n"));
    }
    Ok(text)
}

/// `dir` as a unit file value (`%` doubled), or `None` when it is not an
/// absolute path that can be written there unquoted.
fn unit_path(dir: &[u8]) -> Option<String> {
    // systemd ignores unit file lines that are not UTF-8.
    let dir = dir.to_str().ok()?;
    let plain = dir.starts_with('/')
        && !dir
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c));
    plain
        .then(|| dir.trim_end_matches('/').replace('%', "%%"))
        .map(|path| {
            if path.is_empty() {
                "/".to_string()
            } else {
                path
            }
        })
}

/// Makes `dir` unless it exists as a directory.
fn make_directory(dir: &Path) -> Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other.map_err(|e| Error::io(dir, e)),
    }
}

/// Writes `text` to `path` (mode 0644), replacing a file but never following
/// a symbolic link. systemd reads the generator's output only after it has
/// exited, so the file need not be renamed into place.
fn write_file(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io_op(Op::Open, path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io_op(Op::Write, path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: Option<&str>, enabled: bool) -> Instance {
        Instance {
            config_directory: "/etc/postfix-a".into(),
            queue_directory: "/var/spool/postfix-a".into(),
            data_directory: "/var/lib/postfix-a".into(),
            name: name.map(Into::into),
            group: None,
            enabled,
            primary: false,
        }
    }

    #[test]
    fn a_drop_in_names_pid_file_mounts_and_predecessor() {
        let text = drop_in(
            &instance(Some("postfix-a"), true),
            Some("postfix@-.service"),
        )
        .unwrap();
        assert_eq!(
            text,
            "# Written by postmulti --systemd-generator for the instance in /etc/postfix-a.\n\
             [Unit]\n\
             RequiresMountsFor=/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a\n\
             After=postfix@-.service\n\
             \n\
             [Service]\n\
             PIDFile=/var/spool/postfix-a/pid/master.pid\n"
        );
        let disabled = drop_in(&instance(Some("postfix-a"), false), None).unwrap();
        assert!(!disabled.contains("PIDFile"));
        assert!(!disabled.contains("After"));
    }

    #[test]
    fn unit_names_and_paths_are_checked() {
        assert_eq!(
            instance_unit(&instance(Some("postfix-a.b:c_d"), true)).unwrap(),
            "postfix@postfix-a.b:c_d.service"
        );
        for bad in ["postfix-a+b", "postfix-a@b", "postfix-a!", "postfix-é"] {
            let why = instance_unit(&instance(Some(bad), true)).unwrap_err();
            assert!(
                why.contains("cannot be used in a systemd unit name"),
                "{why}"
            );
        }
        let why = instance_unit(&instance(None, true)).unwrap_err();
        assert!(why.contains("-I postfix-NAME -e assign"), "{why}");
        assert_eq!(
            unit_path(b"/var/spool/100%/").as_deref(),
            Some("/var/spool/100%%")
        );
        assert_eq!(unit_path(b"/"), Some("/".to_string()));
        assert_eq!(unit_path(b"/etc/postfix-\xe9"), None);
        for bad in [
            "relative",
            "/with space",
            "/tab\there",
            "/quote\"",
            "/back\\slash",
        ] {
            assert_eq!(unit_path(bad.as_bytes()), None, "{bad}");
        }
    }
}
