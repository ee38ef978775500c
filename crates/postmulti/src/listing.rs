//! The `-l` listing: Postfix's fixed-width lines, byte for byte; JSON lines
//! (`-j`) with upstream postmulti's four members first; or a status table
//! (`--status`).

use postmulti_core::instance::Instance;
use postmulti_core::registry::Registry;
use postmulti_core::select::Selection;
use postmulti_core::status::master_pid;
use std::path::Path;
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
fn shown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
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
pub fn render(registry: &Registry<'_>, request: &ListRequest) -> String {
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
        ListFormat::Text => instances.into_iter().map(text_line).collect(),
        ListFormat::Json => instances.into_iter().map(json_line).collect(),
        ListFormat::Status => status_table(registry, selection, *reverse),
    }
}

/// One line of `postmulti -l`: `%-15s %-15s %-9s %s`.
pub fn text_line(instance: &Instance) -> String {
    format!(
        "{:<15} {:<15} {:<9} {}\n",
        shown(&instance.name),
        shown(&instance.group),
        yes_no(instance.enabled),
        instance.config_directory
    )
}

/// One line of `postmulti -l -j`: upstream's
/// `{"name": "N","group": "G","enabled": "y","config_directory": "D"` then
/// our members (readers ignore members they don't know).
pub fn json_line(instance: &Instance) -> String {
    let quote = |value: &str| serde_json::Value::from(value).to_string();
    let pid = master_pid(Path::new(&instance.queue_directory));
    format!(
        "{{\"name\": {},\"group\": {},\"enabled\": {},\"config_directory\": {},\
         \"queue_directory\": {},\"data_directory\": {},\"running\": {},\"pid\": {},\"primary\": {}}}\n",
        quote(shown(&instance.name)),
        quote(shown(&instance.group)),
        quote(yes_no(instance.enabled)),
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
fn status_table(registry: &Registry<'_>, selection: &Selection, reverse: bool) -> String {
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
            broken.config_directory.clone(),
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
    let status = match master_pid(Path::new(&instance.queue_directory)) {
        Some(pid) => format!("running (pid {pid})"),
        None => "stopped".to_string(),
    };
    [
        shown(&instance.name).to_string(),
        shown(&instance.group).to_string(),
        yes_no(instance.enabled).to_string(),
        status,
        instance.config_directory.clone(),
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
            "postfix-out     -               y         /etc/postfix-out\n"
        );
        assert_eq!(
            json_line(&instance),
            "{\"name\": \"postfix-out\",\"group\": \"-\",\"enabled\": \"y\",\"config_directory\": \"/etc/postfix-out\",\
             \"queue_directory\": \"/nonexistent/spool\",\"data_directory\": \"/nonexistent/lib\",\"running\": false,\"pid\": null,\"primary\": false}\n"
        );
    }
}
