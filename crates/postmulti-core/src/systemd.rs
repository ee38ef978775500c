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
use crate::parallel;
use crate::registry::{InstancesOnly, Registry, Strictness};
use crate::trust::{reach, replaceable, Last};
use crate::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{symlinkat, unlinkat, UnlinkatFlags};
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

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
    let registry = match Registry::<InstancesOnly>::load(primary_dir, defaults, Strictness::Lenient)
    {
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
    let linked =
        std::iter::once(primary).chain(registry.started_instances().filter(|i| !i.primary));
    let mut previous: Option<String> = None;
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for instance in linked {
        // A directory listed again (or the primary's own, listed among the
        // secondaries) would link its unit twice and order it after itself
        // in a cycle, which systemd breaks by dropping start jobs.
        if !seen.insert(instance.config_directory.as_slice()) {
            generation.warnings.push(format!(
                "instance {} skipped: it is listed again in multi_instance_directories; \
                 its unit is linked once, where it is listed first",
                instance.config_directory
            ));
            continue;
        }
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
/// Everything is made relative to descriptors of the output directories
/// (no path is looked up twice, no link is followed), and the units are
/// shared among the CPUs: at boot the time goes to the kernel making the
/// three file-system objects of each unit.
pub fn write(normal_dir: &Path, generation: &Generation) -> Result<()> {
    if generation.units.is_empty() {
        return Ok(());
    }
    let normal = OutputDir::open(normal_dir)?;
    check_targets(normal_dir, generation)?;
    let wants = normal.subdirectory(WANTS_DIRECTORY)?;
    let written = parallel::map_in_order(&generation.units, MIN_UNITS_PER_THREAD, |linked| {
        wants.link_template(&linked.unit)?;
        match &linked.drop_in {
            Some(text) => normal.write_drop_in(&linked.unit, text),
            None => Ok(()),
        }
    });
    written.into_iter().collect()
}

/// Refuses, before anything is written, a planted symbolic link or other
/// file where the generator makes a directory, and one that is not a
/// regular file where it writes a drop-in, naming it. Only names already
/// there are looked at (each directory is listed once): at boot systemd
/// hands over empty directories, and nothing needs checking.
fn check_targets(normal_dir: &Path, generation: &Generation) -> Result<()> {
    let present = entry_names(normal_dir)?;
    if present.is_empty() {
        return Ok(());
    }
    let wants = normal_dir.join(WANTS_DIRECTORY);
    let linked_before = match present.contains(OsStr::new(WANTS_DIRECTORY)) {
        true if directory_or_absent(&wants)? => entry_names(&wants)?,
        _ => HashSet::new(),
    };
    for linked in &generation.units {
        if linked_before.contains(OsStr::new(&linked.unit)) {
            let link = wants.join(&linked.unit);
            if std::fs::symlink_metadata(&link).is_ok_and(|meta| meta.is_dir()) {
                return Err(Error::fatal(format!("{}: is a directory", link.display())));
            }
        }
        let dir_name = format!("{}.d", linked.unit);
        if linked.drop_in.is_some() && present.contains(OsStr::new(&dir_name)) {
            let dir = normal_dir.join(dir_name);
            if directory_or_absent(&dir)? {
                replaceable(&dir.join(DROP_IN_NAME))?;
            }
        }
    }
    Ok(())
}

/// The names of the entries of the directory `dir`.
fn entry_names(dir: &Path) -> Result<HashSet<OsString>> {
    std::fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.map(|entry| entry.file_name()))
                .collect()
        })
        .map_err(|e| Error::io(dir, e))
}

/// Refuses `dir` unless it is a directory (not a link to one) or absent;
/// whether it is a directory.
fn directory_or_absent(dir: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::fatal(format!(
            "{}: is a symbolic link; postmulti does not write through one",
            dir.display()
        ))),
        Ok(meta) if !meta.is_dir() => Err(Error::fatal(format!(
            "{}: is not a directory",
            dir.display()
        ))),
        Ok(_) => Ok(true),
        Err(_) => Ok(false),
    }
}

/// The fewest units worth a writer thread of their own.
const MIN_UNITS_PER_THREAD: usize = 32;

/// A directory the generator writes into, open as a descriptor.
struct OutputDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl OutputDir {
    /// Opens `path`, which must be a directory (systemd hands it over),
    /// reached under the rule of [`reach`]: nobody but root (or us) can
    /// change it or a directory above it.
    fn open(path: &Path) -> Result<OutputDir> {
        let reached = reach(path, Last::Trusted).map_err(|why| {
            Error::fatal(format!(
                "{why}; the generator writes only into a directory that nobody but \
                 root (or you) can change, nor one above it"
            ))
        })?;
        let fd = reached
            .into_directory()
            .ok_or_else(|| Error::errno(Op::Open, path, Errno::ENOENT))?;
        Ok(OutputDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Makes the directory `name` in this one unless it is there, and opens
    /// it; a symbolic link there is refused, not followed.
    fn subdirectory(&self, name: &str) -> Result<OutputDir> {
        let path = self.path.join(name);
        self.make_directory(name)?;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(&self.fd, name, flags, Mode::empty())
            .map_err(|e| Error::errno(Op::Open, &path, e))?;
        Ok(OutputDir { fd, path })
    }

    /// Makes the directory `name` (mode 0755) unless a directory of that
    /// name is there, and says whether it made it; anything else there, a
    /// link included, is an error.
    fn make_directory(&self, name: &str) -> Result<bool> {
        let path = || self.path.join(name);
        match mkdirat(&self.fd, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) => Ok(true),
            Err(Errno::EEXIST) => {
                let found = fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(|e| Error::errno(Op::Read, path(), e))?;
                if SFlag::from_bits_truncate(found.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
                    Ok(false)
                } else {
                    Err(Error::errno(Op::MakeDir, path(), Errno::EEXIST))
                }
            }
            Err(e) => Err(Error::errno(Op::MakeDir, path(), e)),
        }
    }

    /// Links `unit` here to Debian's template unit, replacing a link or file
    /// of that name.
    fn link_template(&self, unit: &str) -> Result<()> {
        let link = || self.path.join(unit);
        match symlinkat(TEMPLATE_UNIT, &self.fd, unit) {
            Err(Errno::EEXIST) => {
                unlinkat(&self.fd, unit, UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| Error::errno(Op::Remove, link(), e))?;
                symlinkat(TEMPLATE_UNIT, &self.fd, unit)
                    .map_err(|e| Error::errno(Op::Write, link(), e))
            }
            other => other.map_err(|e| Error::errno(Op::Write, link(), e)),
        }
    }

    /// Writes `text` as `UNIT.d/postmulti.conf` here (mode 0644), replacing
    /// a file but never following a symbolic link nor writing into a
    /// planted hard link (the old name is removed first). systemd reads the
    /// generator's output only after it has exited, so the file need not be
    /// renamed into place.
    fn write_drop_in(&self, unit: &str, text: &str) -> Result<()> {
        let dir = format!("{unit}.d");
        let made = self.make_directory(&dir)?;
        let name = format!("{dir}/{DROP_IN_NAME}");
        let path = self.path.join(&name);
        if !made {
            match unlinkat(&self.fd, name.as_str(), UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(Error::errno(Op::Remove, &path, e)),
            }
        }
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(
            &self.fd,
            name.as_str(),
            flags,
            Mode::from_bits_truncate(0o644),
        )
        .map_err(|e| Error::errno(Op::Open, &path, e))?;
        std::fs::File::from(fd)
            .write_all(text.as_bytes())
            .map_err(|e| Error::io_op(Op::Write, &path, e))
    }
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
    let [config, queue, data] = [
        &instance.config_directory,
        &instance.queue_directory,
        &instance.data_directory,
    ]
    .map(|dir| {
        unit_path(dir).ok_or_else(|| {
            format!(
                "instance {} skipped: directory '{dir}' cannot be written in a unit file \
                 (not absolute, not UTF-8, or white space, quotes, backslashes or control characters)",
                instance.config_directory
            )
        })
    });
    let (config, queue, data) = (config?, queue?, data?);
    let mut mounts: Vec<&str> = Vec::with_capacity(3);
    for path in [&config, &queue, &data] {
        if !mounts.contains(&path.as_str()) {
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

    // Enough units for the writer threads, each with a drop-in.
    fn many_units(count: usize) -> Generation {
        let units = (0..count)
            .map(|i| LinkedUnit {
                unit: unit_name(&format!("postfix-{i}")),
                drop_in: Some(format!("# unit {i}\n")),
            })
            .collect();
        Generation {
            units,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn writing_twice_gives_the_same_links_and_drop_ins() {
        let out = tempfile::tempdir().unwrap();
        let generation = many_units(100);
        write(out.path(), &generation).unwrap();
        write(out.path(), &generation).unwrap();
        let wants = out.path().join(WANTS_DIRECTORY);
        assert_eq!(std::fs::read_dir(&wants).unwrap().count(), 100);
        for (i, linked) in generation.units.iter().enumerate() {
            let target = std::fs::read_link(wants.join(&linked.unit)).unwrap();
            assert_eq!(target, Path::new(TEMPLATE_UNIT));
            let drop_in = out.path().join(format!("{}.d/{DROP_IN_NAME}", linked.unit));
            assert_eq!(
                std::fs::read_to_string(drop_in).unwrap(),
                format!("# unit {i}\n")
            );
        }
    }

    #[test]
    fn planted_links_are_refused_not_followed() {
        let elsewhere = tempfile::tempdir().unwrap();
        let generation = many_units(1);
        let unit = &generation.units[0].unit;
        for planted in [format!("{unit}.d"), WANTS_DIRECTORY.to_string()] {
            let out = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(elsewhere.path(), out.path().join(&planted)).unwrap();
            let error = write(out.path(), &generation).unwrap_err().to_string();
            assert!(error.contains(&planted), "{error}");
            assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        }
    }
}
