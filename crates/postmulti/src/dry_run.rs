//! `--dry-run`: a life-cycle plan described for a person, with a unified
//! diff of each file it would write.

use postmulti_core::lifecycle::{Plan, Step};
use postmulti_core::perms::PermEntry;
use similar::TextDiff;
use std::fmt::Write;
use std::os::unix::fs::MetadataExt;

/// What carrying out `plan` would do, one paragraph per step.
pub fn describe(plan: &Plan) -> String {
    let mut out = String::new();
    for step in &plan.steps {
        let _ = match step {
            Step::MakeDir { path, mode } => writeln!(
                out,
                "would create directory {} (mode {mode:04o}, owner {}, with missing parents)",
                path.display(),
                creator()
            ),
            Step::WriteFile { path, old, new, .. } => {
                let old_text = old.as_deref().map(String::from_utf8_lossy);
                let new_text = String::from_utf8_lossy(new);
                let label = path.display().to_string();
                writeln!(
                    out,
                    "{}",
                    file_paragraph(&label, old_text.as_deref(), Some(&new_text))
                )
            }
            Step::CopyFile { from, to, copied } => {
                let label = to.display().to_string();
                let new_text = String::from_utf8_lossy(&copied.bytes);
                let diff = TextDiff::from_lines("", new_text.as_ref())
                    .unified_diff()
                    .header("/dev/null", &label)
                    .to_string();
                writeln!(
                    out,
                    "would copy {} to {label} (mode and times kept):\n{diff}",
                    from.display()
                )
            }
            Step::SetPermissions(entries) => {
                for entry in entries {
                    let _ = writeln!(out, "{}", describe_permission(entry));
                }
                Ok(())
            }
            Step::RemoveFile(path) => writeln!(out, "would remove file {}", path.display()),
            Step::RemoveDir(path) => match std::fs::symlink_metadata(path) {
                Ok(meta) => writeln!(
                    out,
                    "would remove directory {} (mode {:04o}, owner {}) if empty",
                    path.display(),
                    meta.mode() & 0o7777,
                    owner_names(meta.uid(), meta.gid())
                ),
                Err(_) => writeln!(out, "would remove directory {} if empty", path.display()),
            },
        };
    }
    out
}

/// `would create|edit|remove PATH:` and the unified diff of the file's
/// text (`None`: no such file before, or none after), as `--dry-run` and
/// `--plan` show each file they would write.
pub fn file_paragraph(path: &str, old: Option<&str>, new: Option<&str>) -> String {
    let (verb, old_label, new_label) = match (old, new) {
        (None, _) => ("create", "/dev/null", path),
        (Some(_), None) => ("remove", path, "/dev/null"),
        (Some(_), Some(_)) => ("edit", path, path),
    };
    let diff = TextDiff::from_lines(old.unwrap_or_default(), new.unwrap_or_default())
        .unified_diff()
        .header(old_label, new_label)
        .to_string();
    format!("would {verb} {path}:\n{diff}")
}

/// `USER:GROUP` of the directories this process creates (its effective
/// ids).
fn creator() -> String {
    owner_names(
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    )
}

/// `USER:GROUP` for numeric ids, by name where they have one.
fn owner_names(uid: u32, gid: u32) -> String {
    use nix::unistd::{Gid, Group, Uid, User};
    let user = User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |user| user.name);
    let group = Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map_or_else(|| gid.to_string(), |group| group.name);
    format!("{user}:{group}")
}

/// One `postfix-files` entry as it would be applied.
fn describe_permission(entry: &PermEntry) -> String {
    let what = if entry.is_dir { "directory" } else { "file" };
    let create = if entry.create && entry.is_dir {
        " (created if missing)"
    } else {
        ""
    };
    let recursive = if entry.recursive { ", recursively" } else { "" };
    format!(
        "would set {what} {}{create} to owner {}, group {}, mode {:04o}{recursive}",
        entry.path.display(),
        entry.owner,
        entry.group.as_deref().unwrap_or("unchanged"),
        entry.mode
    )
}
