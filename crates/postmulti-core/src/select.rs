//! Instance selection with `-a`, `-g group` and `-i name`.

use crate::bytes::BString;
use crate::instance::{BrokenInstance, Instance};

/// The prefix every non-empty instance name must have.
pub const NAME_PREFIX: &str = "postfix-";

/// Which instances a command applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// None given (iterators then take all).
    #[default]
    Unspecified,
    /// `-a`: all instances.
    All,
    /// `-g group`: the members of a group.
    Group(BString),
    /// `-i name`: one instance by name, name suffix, config directory, or
    /// `-` for the primary.
    Name(BString),
}

impl Selection {
    /// The selection a listing, an iterator or the doctor works on: none
    /// given means all (Postfix's rule for `-l`, `-p` and `-x`).
    pub fn effective(&self) -> Selection {
        match self {
            Selection::Unspecified => Selection::All,
            other => other.clone(),
        }
    }

    /// Whether `instance` is selected, by Postfix's rules: `-i` compares the
    /// config directory when the argument starts with `/` or the instance is
    /// nameless, the part after `postfix-` when the argument lacks the prefix
    /// and the name has it, else the whole name; `-` is the primary.
    pub fn matches(&self, instance: &Instance) -> bool {
        self.picks(
            &instance.config_directory,
            instance.name.as_ref().map(|name| name.as_slice()),
            instance.group.as_ref().map(|group| group.as_slice()),
            instance.primary,
        )
    }

    /// Whether a broken secondary is selected, with the effective selection
    /// (none given means all). Its name and group count when its main.cf
    /// could be parsed; when they are unknown (main.cf missing, unreadable
    /// or invalid), only `-a`, no selection, or `-i` with its config
    /// directory select it.
    pub fn reaches_broken(&self, broken: &BrokenInstance) -> bool {
        self.effective().picks(
            &broken.config_directory,
            broken.name.as_ref().map(|name| name.as_slice()),
            broken.group.as_ref().map(|group| group.as_slice()),
            false,
        )
    }

    // The one rule behind matches and reaches_broken.
    fn picks(
        &self,
        config_directory: &[u8],
        name: Option<&[u8]>,
        group: Option<&[u8]>,
        primary: bool,
    ) -> bool {
        match self {
            Selection::Unspecified => false,
            Selection::All => true,
            Selection::Group(wanted) => group == Some(wanted.as_slice()),
            Selection::Name(wanted) => {
                let compared = match name {
                    _ if wanted.starts_with(b"/") => config_directory,
                    None => config_directory,
                    Some(name) if !wanted.starts_with(NAME_PREFIX.as_bytes()) => {
                        name.strip_prefix(NAME_PREFIX.as_bytes()).unwrap_or(name)
                    }
                    Some(name) => name,
                };
                compared == wanted.as_slice() || (primary && wanted == "-")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(dir: &str, name: Option<&str>, group: Option<&str>, primary: bool) -> Instance {
        Instance {
            config_directory: dir.into(),
            queue_directory: BString::default(),
            data_directory: BString::default(),
            name: name.map(Into::into),
            group: group.map(Into::into),
            enabled: true,
            primary,
        }
    }

    #[test]
    fn name_suffix_path_and_dash() {
        let out = instance("/etc/postfix-out", Some("postfix-out"), Some("mta"), false);
        let nameless = instance("/etc/postfix-x", None, None, false);
        let primary = instance("/etc/postfix", None, None, true);
        let odd = instance("/etc/odd", Some("odd"), None, false);
        let sel = |s: &str| Selection::Name(s.into());
        assert!(sel("out").matches(&out));
        assert!(sel("postfix-out").matches(&out));
        assert!(sel("/etc/postfix-out").matches(&out));
        assert!(!sel("postfix-").matches(&out));
        assert!(sel("/etc/postfix-x").matches(&nameless));
        assert!(sel("-").matches(&primary));
        assert!(!sel("-").matches(&nameless));
        assert!(sel("odd").matches(&odd));
        assert!(!sel("postfix-odd").matches(&odd));
        assert!(Selection::Group("mta".into()).matches(&out));
        assert!(!Selection::Group("mta".into()).matches(&nameless));
        assert!(!Selection::Unspecified.matches(&out));
        assert!(Selection::All.matches(&nameless));
    }

    #[test]
    fn broken_instances_by_known_name_and_group() {
        let known = BrokenInstance {
            position: 0,
            config_directory: "/etc/postfix-c".into(),
            name: Some("postfix-c".into()),
            group: Some("mta".into()),
            reason: "conflict".into(),
        };
        let unknown = BrokenInstance {
            name: None,
            group: None,
            ..known.clone()
        };
        let sel = |s: &str| Selection::Name(s.into());
        for selection in [sel("c"), sel("postfix-c"), Selection::Group("mta".into())] {
            assert!(selection.reaches_broken(&known), "{selection:?}");
            assert!(!selection.reaches_broken(&unknown), "{selection:?}");
        }
        for selection in [
            sel("/etc/postfix-c"),
            Selection::All,
            Selection::Unspecified,
        ] {
            assert!(selection.reaches_broken(&known), "{selection:?}");
            assert!(selection.reaches_broken(&unknown), "{selection:?}");
        }
        assert!(!sel("d").reaches_broken(&known));
        assert!(!Selection::Group("other".into()).reaches_broken(&known));
    }

    #[test]
    fn bytes_that_are_not_utf8_select() {
        let latin = Instance {
            config_directory: b"/etc/postfix-\xe9"[..].into(),
            name: Some(b"postfix-\xe9"[..].into()),
            group: Some(b"\xe9"[..].into()),
            ..instance("", None, None, false)
        };
        assert!(Selection::Name(b"\xe9"[..].into()).matches(&latin));
        assert!(Selection::Name(b"/etc/postfix-\xe9"[..].into()).matches(&latin));
        assert!(Selection::Group(b"\xe9"[..].into()).matches(&latin));
        assert!(!Selection::Group("\u{e9}".into()).matches(&latin));
    }
}
