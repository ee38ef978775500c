//! Instance selection with `-a`, `-g group` and `-i name`.

use crate::instance::Instance;

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
    Group(String),
    /// `-i name`: one instance by name, name suffix, config directory, or
    /// `-` for the primary.
    Name(String),
}

impl Selection {
    /// Whether `instance` is selected, by Postfix's rules: `-i` compares the
    /// config directory when the argument starts with `/` or the instance is
    /// nameless, the part after `postfix-` when the argument lacks the prefix
    /// and the name has it, else the whole name; `-` is the primary.
    pub fn matches(&self, instance: &Instance) -> bool {
        match self {
            Selection::Unspecified => false,
            Selection::All => true,
            Selection::Group(group) => instance.group.as_deref() == Some(group.as_str()),
            Selection::Name(wanted) => {
                let compared = match &instance.name {
                    _ if wanted.starts_with('/') => instance.config_directory.as_str(),
                    None => instance.config_directory.as_str(),
                    Some(name) if !wanted.starts_with(NAME_PREFIX) => {
                        name.strip_prefix(NAME_PREFIX).unwrap_or(name)
                    }
                    Some(name) => name.as_str(),
                };
                compared == wanted || (instance.primary && wanted == "-")
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
            queue_directory: String::new(),
            data_directory: String::new(),
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
}
