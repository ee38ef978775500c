//! `--plan`, `--apply` and `--export`: read the manifest, hand it to the
//! core's desired-state layer, and show the plan as text (one line per
//! action, then each file's diff in `--dry-run`'s format) or as one JSON
//! document.

use crate::cli::DesiredArgs;
use crate::dry_run::file_paragraph;
use crate::report::{report, Level};
use anyhow::Result;
use postmulti_core::defaults::Defaults;
use postmulti_core::desired::apply;
use postmulti_core::desired::export::export as export_host;
use postmulti_core::desired::manifest::Manifest;
use postmulti_core::desired::planner::DesiredPlan;
use postmulti_core::desired::source::{self, Purpose};
use postmulti_core::fsutil::{write_atomic, FileMeta};
use serde_json::{json, Value};
use std::process::ExitCode;

/// `--plan FILE`: exit 0 when the host matches, 2 when changes are pending.
pub fn plan(primary_dir: &[u8], defaults: &Defaults, args: &DesiredArgs) -> Result<ExitCode> {
    let manifest = read_manifest(&args.file, Purpose::Plan)?;
    let plan = apply::plan(primary_dir, defaults, &manifest, &args.options)?;
    warn_all(&plan.notes);
    let out = if args.json {
        to_json(&plan)
    } else {
        to_text(&plan, true)
    };
    crate::write_stdout(out.as_bytes())?;
    Ok(if plan.changed() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--apply FILE`: converge, then say what changed.
pub fn apply(primary_dir: &[u8], defaults: &Defaults, args: &DesiredArgs) -> Result<ExitCode> {
    let manifest = read_manifest(&args.file, Purpose::Apply)?;
    let applied = apply::apply(
        primary_dir,
        defaults,
        &manifest,
        &args.options,
        args.lock_timeout,
    )?;
    warn_all(&applied.plan.notes);
    warn_all(&applied.warnings);
    let out = if args.json {
        to_json(&applied.plan)
    } else {
        to_text(&applied.plan, false)
    };
    crate::write_stdout(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `--export [FILE]`: print the manifest, or write FILE (updated in place,
/// left untouched when nothing changed).
pub fn export(primary_dir: &[u8], defaults: &Defaults, file: Option<&str>) -> Result<ExitCode> {
    let Some(file) = file.filter(|file| *file != "-") else {
        let exported = export_host(primary_dir, defaults, None)?;
        warn_all(&exported.warnings);
        crate::write_stdout(exported.text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    };
    let existing = source::export_target(file)?;
    let exported = export_host(
        primary_dir,
        defaults,
        existing.as_deref().map(|text| (file, text)),
    )?;
    warn_all(&exported.warnings);
    if existing.as_deref() != Some(exported.text.as_str()) {
        write_atomic(file.as_ref(), exported.text.as_bytes(), FileMeta::default())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The manifest `file` (`-` for standard input), read for `purpose`; a
/// warning about the file is reported.
fn read_manifest(file: &str, purpose: Purpose) -> Result<Manifest> {
    let read = source::read(file, purpose)?;
    warn_all(read.warning.as_slice());
    Ok(read.manifest)
}

/// Reports each warning.
fn warn_all(warnings: &[String]) {
    for warning in warnings {
        report(Level::Warning, warning);
    }
}

/// The plan for a person: one line per action, the unmanaged instances,
/// then (for `--plan`) each file's diff.
fn to_text(plan: &DesiredPlan, diffs: bool) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        out.push_str(&change.description);
        out.push('\n');
    }
    if !plan.changed() {
        out.push_str("no changes\n");
    }
    for name in &plan.unmanaged {
        out.push_str(&format!(
            "unmanaged {name}: not in the manifest, left alone\n"
        ));
    }
    if diffs {
        for file in plan.files() {
            let before = (!file.before.is_empty()).then_some(file.before.as_str());
            let after = (!file.after.is_empty()).then_some(file.after.as_str());
            out.push('\n');
            out.push_str(&file_paragraph(&file.path, before, after));
        }
    }
    out
}

/// The plan for a machine: one JSON document.
fn to_json(plan: &DesiredPlan) -> String {
    let actions: Vec<Value> = plan
        .changes
        .iter()
        .map(|change| {
            let mut action = json!({
                "kind": change.kind.word(),
                "instance": change.instance,
                "config_directory": change.config_directory,
                "description": change.description,
            });
            if let Some(parameter) = &change.parameter {
                action["parameter"] = json!(parameter.name);
                action["old"] = json!(parameter.old);
                action["new"] = json!(parameter.new);
            }
            action
        })
        .collect();
    let files: Vec<Value> = plan
        .files()
        .into_iter()
        .map(|file| json!({"path": file.path, "before": file.before, "after": file.after}))
        .collect();
    let document = json!({
        "changed": plan.changed(),
        "actions": actions,
        "files": files,
        "unmanaged": plan.unmanaged,
    });
    format!("{document}\n")
}
