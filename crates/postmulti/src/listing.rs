//! The `-l` listing: Postfix's fixed-width lines, byte for byte, or JSON
//! lines (`-j`) in upstream postmulti's format.

use postmulti_core::instance::Instance;
use std::fmt::Write;

/// A name or group as listed: `-` when empty.
fn shown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

/// One line of `postmulti -l`: `%-15s %-15s %-9s %s`.
pub fn text_line(instance: &Instance) -> String {
    format!(
        "{:<15} {:<15} {:<9} {}\n",
        shown(&instance.name),
        shown(&instance.group),
        if instance.enabled { "y" } else { "n" },
        instance.config_directory
    )
}

/// One line of `postmulti -l -j`:
/// `{"name": "N","group": "G","enabled": "y","config_directory": "D"}`.
pub fn json_line(instance: &Instance) -> String {
    let quote = |value: &str| serde_json::Value::from(value).to_string();
    let mut line = String::new();
    let _ = writeln!(
        line,
        "{{\"name\": {},\"group\": {},\"enabled\": {},\"config_directory\": {}}}",
        quote(shown(&instance.name)),
        quote(shown(&instance.group)),
        quote(if instance.enabled { "y" } else { "n" }),
        quote(&instance.config_directory)
    );
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_json() {
        let instance = Instance {
            config_directory: "/etc/postfix-out".into(),
            queue_directory: String::new(),
            data_directory: String::new(),
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
            "{\"name\": \"postfix-out\",\"group\": \"-\",\"enabled\": \"y\",\"config_directory\": \"/etc/postfix-out\"}\n"
        );
    }
}
