//! `--dry-run`: a life-cycle plan described for a person, with a unified
//! diff of each file it would write.

use postmulti_core::lifecycle::{Plan, Step};
use postmulti_core::perms::PermEntry;
use similar::TextDiff;
use std::fmt::Write;

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
                let old_text = String::from_utf8_lossy(old.as_deref().unwrap_or_default());
                let new_text = String::from_utf8_lossy(new);
                let label = path.display().to_string();
                let (verb, old_label) = match old {
                    Some(_) => ("edit", label.clone()),
                    None => ("create", "/dev/null".to_string()),
                };
                let diff = TextDiff::from_lines(old_text.as_ref(), new_text.as_ref())
                    .unified_diff()
                    .header(&old_label, &label)
                    .to_string();
                writeln!(out, "would {verb} {label}:\n{diff}")
            }
            Step::CopyFile { from, to } => {
                let label = to.display().to_string();
                let _ = write!(
                    out,
                    "would copy {} to {label} (mode and times kept)",
                    from.display()
                );
                match std::fs::read(from) {
                    Ok(bytes) => {
                        let new_text = String::from_utf8_lossy(&bytes);
                        let diff = TextDiff::from_lines("", new_text.as_ref())
                            .unified_diff()
                            .header("/dev/null", &label)
                            .to_string();
                        writeln!(out, ":\n{diff}")
                    }
                    Err(_) => writeln!(out),
                }
            }
            Step::SetPermissions(entries) => {
                for entry in entries {
                    let _ = writeln!(out, "{}", describe_permission(entry));
                }
                Ok(())
            }
            Step::RemoveFile(path) => writeln!(out, "would remove file {}", path.display()),
            Step::RemoveDir(path) => {
                writeln!(out, "would remove directory {} if empty", path.display())
            }
        };
    }
    out
}

/// `USER:GROUP` of the directories this process creates (its effective
/// ids, by name where they have one).
fn creator() -> String {
    use nix::unistd::{getegid, geteuid, Group, User};
    let user = User::from_uid(geteuid())
        .ok()
        .flatten()
        .map_or_else(|| geteuid().to_string(), |user| user.name);
    let group = Group::from_gid(getegid())
        .ok()
        .flatten()
        .map_or_else(|| getegid().to_string(), |group| group.name);
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
