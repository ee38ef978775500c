//! Instance and group names: the syntax of `-I` and `-G`, and the name and
//! group settings an assignment changes.

use super::request::EditRequest;
use crate::bconcat;
use crate::bytes::BString;
use crate::instance::Instance;
use crate::registry::Claims;
use crate::select::NAME_PREFIX;
use crate::{Error, Result};

/// Punctuation allowed in instance and group names besides ASCII letters and
/// digits.
const SAFE_PUNCTUATION: &str = "!@%-_=+:./";

/// Whether `name` is non-empty and holds only safe characters.
fn is_safe_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || SAFE_PUNCTUATION.as_bytes().contains(&c))
}

/// Checks the `-I` and `-G` values (an empty value clears and is always
/// valid).
pub fn check_assignments(request: &EditRequest) -> Result<()> {
    if let Some(name) = request.assign_name.as_deref().filter(|n| !n.is_empty()) {
        if !is_safe_name(name) {
            return Err(Error::fatal(bconcat!(
                "Unsafe characters in new instance name: '",
                name,
                "'"
            )));
        }
        if name.contains(&b'/') {
            return Err(Error::fatal(bconcat!(
                "Illegal '/' character in new instance name: '",
                name,
                "'"
            )));
        }
        if !name.starts_with(NAME_PREFIX.as_bytes()) {
            return Err(Error::fatal(format!(
                "New instance name must start with '{NAME_PREFIX}'"
            )));
        }
    }
    if let Some(group) = request.assign_group.as_deref().filter(|g| !g.is_empty()) {
        if !is_safe_name(group) {
            return Err(Error::fatal(bconcat!(
                "Unsafe characters in '-G ",
                group,
                "'"
            )));
        }
    }
    Ok(())
}

/// The `multi_instance_name` / `multi_instance_group` settings that change
/// `target`, claiming a new name; applies them to `target`.
pub fn changed_names(
    target: &Instance,
    request: &EditRequest,
    claims: &mut Claims,
) -> Result<Vec<(&'static str, BString)>> {
    let mut edits = Vec::new();
    if let Some(name) = &request.assign_name {
        if name.as_slice() != target.name.as_deref().map_or(&b""[..], |n| n) {
            claims.claim(&target.config_directory, "multi_instance_name", name)?;
            edits.push(("multi_instance_name", name.clone()));
        }
    }
    if let Some(group) = &request.assign_group {
        if group.as_slice() != target.group.as_deref().map_or(&b""[..], |g| g) {
            edits.push(("multi_instance_group", group.clone()));
        }
    }
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Action;

    #[test]
    fn name_rules() {
        let request = |name: &str, group: &str| EditRequest {
            action: Action::Create,
            selection: Default::default(),
            assign_name: Some(name.into()),
            assign_group: Some(group.into()),
            settings: vec![],
        };
        let error = |name: &str, group: &str| {
            check_assignments(&request(name, group))
                .unwrap_err()
                .to_string()
        };
        assert!(check_assignments(&request("postfix-a!@%-_=+:.", "g/1")).is_ok());
        assert!(check_assignments(&request("", "")).is_ok());
        assert!(check_assignments(&request("postfix-", "x")).is_ok());
        assert_eq!(
            error("foo", ""),
            "New instance name must start with 'postfix-'"
        );
        assert_eq!(
            error("postfix-a/b", ""),
            "Illegal '/' character in new instance name: 'postfix-a/b'"
        );
        assert_eq!(
            error("postfix-a b", ""),
            "Unsafe characters in new instance name: 'postfix-a b'"
        );
        assert_eq!(
            error("postfix-é", ""),
            "Unsafe characters in new instance name: 'postfix-é'"
        );
        assert_eq!(error("postfix-a", "a b"), "Unsafe characters in '-G a b'");
        let latin = EditRequest {
            assign_group: Some(b"\xe9"[..].into()),
            ..request("", "")
        };
        assert_eq!(
            check_assignments(&latin).unwrap_err().to_bytes(),
            b"Unsafe characters in '-G \xe9'"
        );
    }
}
