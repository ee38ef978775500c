//! Output of the monitoring options: `-l --queues` (a table, with
//! `--status` a status column and broken rows, with `-j` JSON members) and
//! `--metrics` / `--metrics-file PATH` (the Prometheus text exposition).

use crate::listing::{self, ListFormat, ListRequest};
use crate::report::{report, Level};
use anyhow::Result;
use nix::unistd::{getegid, geteuid};
use postmulti_core::fsutil::{write_atomic, FileMeta};
use postmulti_core::metrics::{InstanceState, Scrape};
use postmulti_core::queues::{Queue, QueueCounts};
use postmulti_core::registry::Registry;
use postmulti_core::select::Selection;
use postmulti_core::trust::replaceable;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use tabled::settings::Style;

/// What `--metrics` reports, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsRequest {
    /// The effective selection (`-a`, `-g`, `-i`; none given means all).
    pub selection: Selection,
    /// `--metrics-file PATH`: the file to replace; stdout when `None`.
    pub file: Option<String>,
}

/// Mode of the file `--metrics-file` writes: node_exporter runs as another
/// user and must read it.
const METRICS_FILE_MODE: u32 = 0o644;

/// Seconds since the epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Warns about each instance whose queues could not be counted.
fn report_queue_errors(scrape: &Scrape) {
    for (instance, reason) in scrape.queue_errors() {
        report(
            Level::Warning,
            postmulti_core::bconcat!(
                "instance ",
                instance.config_directory,
                ": queues not counted: ",
                reason
            ),
        );
    }
}

/// `--metrics` / `--metrics-file PATH`: the exposition of the selected
/// instances on stdout, or written atomically to the file; returns whether
/// something selected could not be read (warned about).
pub fn metrics<K>(registry: &Registry<'_, K>, request: &MetricsRequest) -> Result<bool> {
    let scrape = Scrape::take(registry, &request.selection);
    report_queue_errors(&scrape);
    let text = scrape.exposition(now());
    match &request.file {
        Some(path) => {
            // Never through a symbolic link, and never keeping the owner of
            // a file planted there: the new file is ours.
            replaceable(Path::new(path))?;
            write_atomic(
                Path::new(path),
                text.as_bytes(),
                FileMeta {
                    mode: Some(METRICS_FILE_MODE),
                    owner: Some((geteuid().as_raw(), getegid().as_raw())),
                },
            )?
        }
        None => crate::write_stdout(text.as_bytes())?,
    }
    Ok(scrape.has_errors())
}

/// `-l --queues`: the listing with each instance's queue counts; returns
/// whether some queues could not be counted (warned about).
pub fn queue_listing<K>(registry: &Registry<'_, K>, request: &ListRequest) -> Result<bool> {
    let ListRequest {
        selection,
        reverse,
        format,
        ..
    } = request;
    let reverse = *reverse;
    let scrape = Scrape::take(registry, selection);
    report_queue_errors(&scrape);
    let now = now();
    let out = match format {
        ListFormat::Json => {
            let mut states: Vec<&InstanceState> = scrape.instances.iter().collect();
            if reverse {
                states.reverse();
            }
            states.iter().map(|state| json_line(state, now)).collect()
        }
        ListFormat::Text => table(registry, &scrape, selection, reverse, false, now),
        ListFormat::Status => table(registry, &scrape, selection, reverse, true, now),
    };
    crate::write_stdout(out.as_bytes())?;
    let failed = scrape.queue_errors().next().is_some();
    Ok(failed)
}

/// One `-l -j --queues` line: the `-l -j` members, then `queues` (messages
/// by queue name, `null` when they could not be counted) and
/// `oldest_deferred_age` (seconds, `null` when no deferred message).
fn json_line(state: &InstanceState, now: i64) -> String {
    let base = listing::json_members(&state.instance, state.master_pid);
    let (queues, oldest) = match &state.queues {
        Ok(counts) => {
            let members: Vec<String> = Queue::ALL
                .iter()
                .map(|&queue| format!("\"{}\": {}", queue.name(), counts.messages(queue)))
                .collect();
            let oldest = counts.oldest_deferred_age(now);
            (
                format!("{{{}}}", members.join(",")),
                oldest.map_or("null".to_string(), |age| age.to_string()),
            )
        }
        Err(_) => ("null".to_string(), "null".to_string()),
    };
    format!("{{{base},\"queues\": {queues},\"oldest_deferred_age\": {oldest}}}\n")
}

/// The table's queue cells of an instance: one per queue, then the oldest
/// deferred message's age (`-` when none); `?` when not counted.
fn queue_cells(queues: &Result<QueueCounts, String>, now: i64) -> Vec<String> {
    match queues {
        Ok(counts) => Queue::ALL
            .iter()
            .map(|&queue| counts.messages(queue).to_string())
            .chain(std::iter::once(
                counts
                    .oldest_deferred_age(now)
                    .map_or("-".to_string(), |age| age.to_string()),
            ))
            .collect(),
        Err(_) => vec!["?".to_string(); Queue::ALL.len() + 1],
    }
}

/// `-l --queues` as a table in listing order (reversed with `-R`); with
/// `--status` a STATUS column, and the selected broken instances where they
/// are listed.
fn table<K>(
    registry: &Registry<'_, K>,
    scrape: &Scrape,
    selection: &Selection,
    reverse: bool,
    status: bool,
    now: i64,
) -> String {
    // One slot per instance of the registry, filled when it is selected
    // (the scrape's instances are the selected ones, in registry order).
    let mut states = scrape.instances.iter().peekable();
    let mut slots: Vec<Option<Vec<String>>> = registry
        .instances
        .iter()
        .map(|instance| {
            let state = states.next_if(|state| state.instance == *instance)?;
            Some(instance_row(state, status, now))
        })
        .collect();
    if status {
        for broken in &registry.broken {
            // Slot 0 is the primary; secondaries follow in listed order.
            let at = (broken.position + 1).min(slots.len());
            let row = selection.reaches_broken(broken).then(|| {
                let mut row = vec!["?".to_string(); 3];
                row.push(format!("broken: {}", broken.reason));
                row.extend(vec!["?".to_string(); Queue::ALL.len() + 1]);
                row.push(broken.config_directory.to_string());
                row
            });
            slots.insert(at, row);
        }
    }
    let mut rows: Vec<Vec<String>> = slots.into_iter().flatten().collect();
    if reverse {
        rows.reverse();
    }
    let mut header = vec!["NAME", "GROUP", "ENABLED"];
    if status {
        header.push("STATUS");
    }
    header.extend([
        "INCOMING", "ACTIVE", "DEFERRED", "HOLD", "MAILDROP", "CORRUPT",
    ]);
    header.extend(["OLDEST_DEFERRED", "CONFIG_DIRECTORY"]);
    let mut builder = tabled::builder::Builder::default();
    builder.push_record(header);
    for row in rows {
        builder.push_record(row);
    }
    let mut table = builder.build();
    table.with(Style::blank());
    format!("{table}\n")
}

/// The table row of a selected instance.
fn instance_row(state: &InstanceState, status: bool, now: i64) -> Vec<String> {
    let instance = &state.instance;
    let shown = |value: &Option<postmulti_core::bytes::BString>| {
        value
            .as_ref()
            .map_or_else(|| "-".to_string(), ToString::to_string)
    };
    let mut row = vec![
        shown(&instance.name),
        shown(&instance.group),
        if instance.enabled { "y" } else { "n" }.to_string(),
    ];
    if status {
        row.push(match state.master_pid {
            Some(pid) => format!("running (pid {pid})"),
            None => "stopped".to_string(),
        });
    }
    row.extend(queue_cells(&state.queues, now));
    row.push(instance.config_directory.to_string());
    row
}
