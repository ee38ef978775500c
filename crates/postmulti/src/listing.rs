//! The `-l` listing: Postfix's fixed-width lines, byte for byte (names,
//! groups and directories as the bytes they are, padded by byte count as
//! printf's `%-15s` pads); JSON lines (`-j`) with upstream postmulti's four
//! members first; or a status table (`--status`). JSON and the table are
//! text: bytes that are not UTF-8 show there as U+FFFD.

use postmulti_core::bytes::{BStr, BString};
use postmulti_core::instance::Instance;
use postmulti_core::registry::Registry;
use postmulti_core::select::Selection;
use postmulti_core::status::master_pid;
use tabled::settings::Style;

/// The shapes of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// Postfix's fixed-width lines.
    Text,
    /// `-j`: JSON lines.
    Json,
    /// `--status`: a table with each instance's process status.
    Status,
}

/// What `-l` lists, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// The effective selection (`-a`, `-g`, `-i`; none given means all).
    pub selection: Selection,
    /// `-R`: last instance first.
    pub reverse: bool,
    /// Lines, JSON lines or the status table.
    pub format: ListFormat,
    /// `--queues`: each instance's messages per queue too.
    pub queues: bool,
}

/// A name or group as listed: `-` when empty.
fn shown(value: &Option<BString>) -> &BStr {
    value
        .as_ref()
        .map_or(BStr::new("-"), |value| value.as_ref())
}

/// `y` or `n`.
fn yes_no(enabled: bool) -> &'static str {
    if enabled {
        "y"
    } else {
        "n"
    }
}

/// The listing `request` asks for of the instances of `registry`.
pub fn render<K>(registry: &Registry<'_, K>, request: &ListRequest) -> Vec<u8> {
    let ListRequest {
        selection,
        reverse,
        format,
        ..
    } = request;
    let mut instances: Vec<&Instance> = registry
        .instances
        .iter()
        .filter(|i| selection.matches(i))
        .collect();
    if *reverse {
        instances.reverse();
    }
    match format {
        ListFormat::Text => instances.into_iter().flat_map(text_line).collect(),
        ListFormat::Json => instances
            .into_iter()
            .map(json_line)
            .collect::<String>()
            .into_bytes(),
        ListFormat::Status => status_table(registry, selection, *reverse).into_bytes(),
    }
}

/// One line of `postmulti -l`: `%-15s %-15s %-9s %s`, as the bytes printf
/// writes (padding counts bytes, not characters).
pub fn text_line(instance: &Instance) -> Vec<u8> {
    let mut line = Vec::with_capacity(48 + instance.config_directory.len());
    for (value, width) in [
        (shown(&instance.name), 15_usize),
        (shown(&instance.group), 15),
        (BStr::new(yes_no(instance.enabled)), 9),
    ] {
        line.extend_from_slice(value);
        line.resize(line.len() + width.saturating_sub(value.len()), b' ');
        line.push(b' ');
    }
    line.extend_from_slice(&instance.config_directory);
    line.push(b'\n');
    line
}

/// One line of `postmulti -l -j`: upstream's
/// `{"name": "N","group": "G","enabled": "y","config_directory": "D"` then
/// our members (readers ignore members they don't know).
pub fn json_line(instance: &Instance) -> String {
    let pid = master_pid(instance.queue_path());
    format!("{{{}}}\n", json_members(instance, pid))
}

/// The members of an instance's `-l -j` object, without its braces, for
/// an instance whose master runs as `pid` (if it does).
pub fn json_members(instance: &Instance, pid: Option<i32>) -> String {
    let quote = |value: &[u8]| serde_json::Value::from(BStr::new(value).to_string()).to_string();
    format!(
        "\"name\": {},\"group\": {},\"enabled\": {},\"config_directory\": {},\
         \"queue_directory\": {},\"data_directory\": {},\"running\": {},\"pid\": {},\"primary\": {}",
        quote(shown(&instance.name)),
        quote(shown(&instance.group)),
        quote(yes_no(instance.enabled).as_bytes()),
        quote(&instance.config_directory),
        quote(&instance.queue_directory),
        quote(&instance.data_directory),
        pid.is_some(),
        pid.map_or("null".to_string(), |pid| pid.to_string()),
        instance.primary
    )
}

/// The `--status` table: selected instances, and broken ones where they are
/// listed.
fn status_table<K>(registry: &Registry<'_, K>, selection: &Selection, reverse: bool) -> String {
    let mut rows: Vec<(bool, [String; 5])> = registry
        .instances
        .iter()
        .map(|instance| (selection.matches(instance), status_row(instance)))
        .collect();
    for broken in &registry.broken {
        let selected = selection.reaches_broken(broken);

        let row = [
            "?".to_string(),
            "?".to_string(),
            "?".to_string(),
            format!("broken: {}", broken.reason),
            broken.config_directory.to_string(),
        ];
        // Row 0 is the primary; secondaries follow in listed order.
        let at = (broken.position + 1).min(rows.len());
        rows.insert(at, (selected, row));
    }
    rows.retain(|(selected, _)| *selected);
    if reverse {
        rows.reverse();
    }
    let mut builder = tabled::builder::Builder::default();
    builder.push_record(["NAME", "GROUP", "ENABLED", "STATUS", "CONFIG_DIRECTORY"]);
    for (_, row) in rows {
        builder.push_record(row);
    }
    let mut table = builder.build();
    table.with(Style::blank());
    format!("{table}\n")
}

/// The `--status` row of a usable instance.
fn status_row(instance: &Instance) -> [String; 5] {
    let status = match master_pid(instance.queue_path()) {
        Some(pid) => format!("running (pid {pid})"),
        None => "stopped".to_string(),
    };
    [
        shown(&instance.name).to_string(),
        shown(&instance.group).to_string(),
        yes_no(instance.enabled).to_string(),
        status,
        instance.config_directory.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_json() {
        let instance = Instance {
            config_directory: "/etc/postfix-out".into(),
            queue_directory: "/nonexistent/spool".into(),
            data_directory: "/nonexistent/lib".into(),
            name: Some("postfix-out".into()),
            group: None,
            enabled: true,
            primary: false,
        };
        assert_eq!(
            text_line(&instance),
            b"postfix-out     -               y         /etc/postfix-out\n"
        );
        let latin = Instance {
            config_directory: b"/etc/postfix-\xe9"[..].into(),
            group: Some(b"\xe9t\xe9"[..].into()),
            ..instance.clone()
        };
        assert_eq!(
            text_line(&latin),
            b"postfix-out     \xe9t\xe9             y         /etc/postfix-\xe9\n"
        );
        assert!(json_line(&latin).contains("\"group\": \"\u{fffd}t\u{fffd}\""));
        assert_eq!(
            json_line(&instance),
            "{\"name\": \"postfix-out\",\"group\": \"-\",\"enabled\": \"y\",\"config_directory\": \"/etc/postfix-out\",\
             \"queue_directory\": \"/nonexistent/spool\",\"data_directory\": \"/nonexistent/lib\",\"running\": false,\"pid\": null,\"primary\": false}\n"
        );
    }
}
