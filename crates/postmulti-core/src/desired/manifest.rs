//! The manifest: a TOML file naming the secondary instances a host should
//! have, in start order, parsed with `toml_edit` and checked with the rules
//! `postmulti -e create` applies, each error located as `FILE:LINE:COL`.

use crate::lifecycle::{
    check_assignments, check_private_path, parse_settings, Action, EditRequest,
};
use crate::{Error, Result};
use std::ops::Range;
use std::path::PathBuf;
use toml_edit::{Document, Item, Table, TableLike, Value};

/// What happens to instances on the host that the manifest does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prune {
    /// Reported as unmanaged and left alone.
    #[default]
    None,
    /// Deported (`postmulti -e deport`), after a disable when enabled.
    Deport,
    /// Destroyed (`postmulti -e destroy`), when stopped and their queue is
    /// empty.
    Destroy,
}

/// A place in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The private directories a manifest gives an instance (absent: what
/// create derives, or what an existing instance has).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directories {
    /// `config_directory`.
    pub config_directory: Option<String>,
    /// `queue_directory`.
    pub queue_directory: Option<String>,
    /// `data_directory`.
    pub data_directory: Option<String>,
}

/// One `[[instance]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredInstance {
    /// `name`: the instance's `multi_instance_name`.
    pub name: String,
    /// `group`: `None` when absent or empty.
    pub group: Option<String>,
    /// `enabled`: `multi_instance_enable` (default true).
    pub enabled: bool,
    /// `template`: prototypes directory used when the instance is created.
    pub template: Option<PathBuf>,
    /// `[instance.main_cf]`: parameters set as `postconf -e` would, in file
    /// order.
    pub main_cf: Vec<(String, String)>,
    /// `[instance.directories]`.
    pub directories: Directories,
    /// Where the instance's `name` is.
    pub at: Location,
}

/// A parsed and checked manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The file name used in messages (`-` for standard input).
    pub source: String,
    /// `prune`.
    pub prune: Prune,
    /// The instances, in start order.
    pub instances: Vec<DesiredInstance>,
}

/// Parameters the manifest manages with its own keys, refused in `main_cf`.
const MANAGED_PARAMETERS: &[(&str, &str)] = &[
    ("multi_instance_name", "name"),
    ("multi_instance_group", "group"),
    ("multi_instance_enable", "enabled"),
    (
        "multi_instance_directories",
        "the order of [[instance]] tables",
    ),
    ("config_directory", "directories"),
    ("queue_directory", "directories"),
    ("data_directory", "directories"),
];

impl Manifest {
    /// Parses and checks `text`, read from `source`.
    pub fn parse(source: &str, text: &str) -> Result<Manifest> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        let parser = Parser {
            source,
            text,
            line_starts,
        };
        let doc = Document::parse(text).map_err(|e| {
            let at = e.span().map_or(0, |span| span.start);
            parser.error(Some(at..at), e.message().trim_end())
        })?;
        parser.manifest(doc.as_table())
    }

    /// An error about something at `at` in the manifest.
    pub fn error_at(&self, at: Location, message: impl std::fmt::Display) -> Error {
        error_at(&self.source, at, message)
    }
}

/// An error about something at `at` in the manifest `source`:
/// `FILE:LINE:COLUMN: MESSAGE`.
fn error_at(source: &str, at: Location, message: impl std::fmt::Display) -> Error {
    Error::fatal(format!("{source}:{}:{}: {message}", at.line, at.column))
}

/// Refuses a name and group a manifest instance cannot have: what
/// `postmulti -I NAME -G GROUP -e create` refuses, an empty name, and the
/// group `-`, which `-G -` reads as no group: a manifest that set it would
/// write a group no `-G` can give and `-l` cannot tell from none.
pub fn check_name_and_group(name: &str, group: Option<&str>) -> Result<()> {
    if name.is_empty() {
        return Err(Error::fatal("empty instance name"));
    }
    if group == Some("-") {
        return Err(Error::fatal(
            "group \"-\" is what -G says for no group: leave group out or set it to \"\"",
        ));
    }
    check_assignments(&EditRequest {
        action: Action::Create,
        selection: Default::default(),
        assign_name: Some(name.into()),
        assign_group: group.map(Into::into),
        settings: Vec::new(),
    })
}

/// The text being parsed, for locating errors.
struct Parser<'a> {
    source: &'a str,
    text: &'a str,
    /// Where each line starts.
    line_starts: Vec<usize>,
}

impl Parser<'_> {
    // The line and column of a byte offset.
    fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        Location {
            line,
            column: self.text[line_start..offset].chars().count() + 1,
        }
    }

    // An error at a span (the start of the file when unknown).
    fn error(&self, span: Option<Range<usize>>, message: impl std::fmt::Display) -> Error {
        error_at(
            self.source,
            self.locate(span.map_or(0, |span| span.start)),
            message,
        )
    }

    // The whole document.
    fn manifest(&self, root: &Table) -> Result<Manifest> {
        self.known_keys(root, &["prune", "instance"], "")?;
        let prune = match root.get("prune") {
            None => Prune::None,
            Some(item) => match self.string(item, "prune")? {
                "none" => Prune::None,
                "deport" => Prune::Deport,
                "destroy" => Prune::Destroy,
                other => {
                    return Err(self.error(
                        item.span(),
                        format!("prune = {other:?}: expected \"none\", \"deport\" or \"destroy\""),
                    ))
                }
            },
        };
        let mut instances: Vec<DesiredInstance> = Vec::new();
        if let Some(item) = root.get("instance") {
            let Some(tables) = item.as_array_of_tables() else {
                return Err(self.error(
                    self.key_span(root, "instance"),
                    "instance must be an array of tables: [[instance]]",
                ));
            };
            for table in tables.iter() {
                let instance = self.instance(table)?;
                if instances.iter().any(|other| other.name == instance.name) {
                    return Err(error_at(
                        self.source,
                        instance.at,
                        format!("duplicate instance name {:?}", instance.name),
                    ));
                }
                self.no_shared_directory(&instances, &instance, table)?;
                instances.push(instance);
            }
        }
        Ok(Manifest {
            source: self.source.to_string(),
            prune,
            instances,
        })
    }

    // One [[instance]] table.
    fn instance(&self, table: &Table) -> Result<DesiredInstance> {
        self.known_keys(
            table,
            &[
                "name",
                "group",
                "enabled",
                "template",
                "main_cf",
                "directories",
            ],
            "instance.",
        )?;
        let Some(name_item) = table.get("name") else {
            return Err(self.error(table.span(), "[[instance]] without a name"));
        };
        let name = self.string(name_item, "name")?.to_string();
        let group = match table.get("group") {
            Some(item) => Some(self.string(item, "group")?.to_string()),
            None => None,
        };
        check_name_and_group(&name, group.as_deref())
            .map_err(|e| self.error(name_item.span(), e))?;
        let enabled = match table.get("enabled") {
            Some(item) => item.as_bool().ok_or_else(|| {
                self.error(item.span(), "enabled must be a boolean (true or false)")
            })?,
            None => true,
        };
        let template = match table.get("template") {
            Some(item) => {
                let path = self.string(item, "template")?;
                if !path.starts_with('/') {
                    return Err(self.error(
                        item.span(),
                        format!("template = {path:?}: specify an absolute pathname"),
                    ));
                }
                Some(PathBuf::from(path))
            }
            None => None,
        };
        let main_cf = match table.get("main_cf") {
            Some(item) => self.main_cf(self.table_like(item, "main_cf")?)?,
            None => Vec::new(),
        };
        let directories = match table.get("directories") {
            Some(item) => self.directories(self.table_like(item, "directories")?)?,
            None => Directories::default(),
        };
        let at = self.locate(name_item.span().map_or(0, |span| span.start));
        Ok(DesiredInstance {
            name,
            group: group.filter(|group| !group.is_empty()),
            enabled,
            template,
            main_cf,
            directories,
            at,
        })
    }

    // [instance.main_cf]: parameter names and string values main.cf can
    // hold as they are (a value with a line break or surrounding white
    // space would not read back the same).
    fn main_cf(&self, table: &dyn TableLike) -> Result<Vec<(String, String)>> {
        let mut settings = Vec::new();
        for (key, item) in table.iter() {
            let span = table.get_key_value(key).and_then(|(k, _)| k.span());
            if let Some((_, instead)) = MANAGED_PARAMETERS.iter().find(|(p, _)| *p == key) {
                return Err(self.error(
                    span,
                    format!("main_cf.{key}: set with {instead}, not in main_cf"),
                ));
            }
            let valid_name = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
            if !valid_name {
                return Err(self.error(span, format!("main_cf: invalid parameter name {key:?}")));
            }
            let value = self.string(item, &format!("main_cf.{key}"))?;
            if value.contains(|c: char| c.is_control()) || value.trim() != value {
                return Err(self.error(
                    item.span(),
                    format!("main_cf.{key}: control characters and leading or trailing white space cannot be kept in main.cf"),
                ));
            }
            settings.push((key.to_string(), value.to_string()));
        }
        Ok(settings)
    }

    // [instance.directories]: each checked as a create operand and as a
    // private path.
    fn directories(&self, table: &dyn TableLike) -> Result<Directories> {
        let mut directories = Directories::default();
        for (key, item) in table.iter() {
            let span = table.get_key_value(key).and_then(|(k, _)| k.span());
            let slot = match key {
                "config_directory" => &mut directories.config_directory,
                "queue_directory" => &mut directories.queue_directory,
                "data_directory" => &mut directories.data_directory,
                _ => return Err(self.error(span, format!("unknown key directories.{key}"))),
            };
            let value = self.string(item, &format!("directories.{key}"))?;
            let paths = parse_settings(Action::Create, &[format!("{key}={value}").into()])
                .map_err(|e| self.error(item.span(), e))?;
            let path = paths
                .config_directory
                .or(paths.queue_directory)
                .or(paths.data_directory)
                .unwrap_or_default();
            check_private_path(key, &path).map_err(|e| self.error(item.span(), e))?;
            *slot = Some(path.to_string());
        }
        Ok(directories)
    }

    // Refuses a directory given to two instances of the manifest.
    fn no_shared_directory(
        &self,
        earlier: &[DesiredInstance],
        instance: &DesiredInstance,
        table: &Table,
    ) -> Result<()> {
        let given = |d: &Directories| {
            [
                d.config_directory.clone(),
                d.queue_directory.clone(),
                d.data_directory.clone(),
            ]
        };
        for path in given(&instance.directories).into_iter().flatten() {
            if let Some(other) = earlier
                .iter()
                .find(|other| given(&other.directories).contains(&Some(path.clone())))
            {
                let span = table
                    .get("directories")
                    .and_then(Item::span)
                    .or_else(|| table.span());
                return Err(self.error(
                    span,
                    format!(
                        "instance {}: directory {path} is also given to instance {}",
                        instance.name, other.name
                    ),
                ));
            }
        }
        Ok(())
    }

    // Refuses keys other than `known` in `table`.
    fn known_keys(&self, table: &Table, known: &[&str], prefix: &str) -> Result<()> {
        for (key, _) in table.iter() {
            if !known.contains(&key) {
                return Err(self.error(
                    self.key_span(table, key),
                    format!("unknown key {prefix}{key}"),
                ));
            }
        }
        Ok(())
    }

    // Where a key of a table is.
    fn key_span(&self, table: &Table, key: &str) -> Option<Range<usize>> {
        let (key, item) = table.get_key_value(key)?;
        key.span().or_else(|| item.span())
    }

    // A string value.
    fn string<'i>(&self, item: &'i Item, what: &str) -> Result<&'i str> {
        item.as_str().ok_or_else(|| {
            self.error(
                item.span(),
                format!("{what} must be a string, not {}", type_name(item)),
            )
        })
    }

    // A table, standard or inline.
    fn table_like<'i>(&self, item: &'i Item, what: &str) -> Result<&'i dyn TableLike> {
        item.as_table_like().ok_or_else(|| {
            self.error(
                item.span(),
                format!("{what} must be a table, not {}", type_name(item)),
            )
        })
    }
}

/// The TOML type of an item, for messages.
fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(value) => match value {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::InlineTable(_) => "an inline table",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Manifest::parse("m.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn a_full_manifest() {
        let manifest = Manifest::parse(
            "m.toml",
            "prune = \"deport\"\n[[instance]]\nname = \"postfix-out\"\ngroup = \"mta\"\n\
             [instance.main_cf]\nrelayhost = \"[r]:587\"\ninet_interfaces = \"127.0.0.1\"\n\
             [instance.directories]\nqueue_directory = \"/q/out/\"\n\
             [[instance]]\nname = \"postfix-in\"\ngroup = \"\"\nenabled = false\n\
             template = \"/t\"\n",
        )
        .unwrap();
        assert_eq!(manifest.prune, Prune::Deport);
        let [out, inb] = &manifest.instances[..] else {
            panic!("{manifest:?}")
        };
        assert_eq!(out.name, "postfix-out");
        assert_eq!(out.group.as_deref(), Some("mta"));
        assert!(out.enabled);
        assert_eq!(
            out.main_cf,
            vec![
                ("relayhost".into(), "[r]:587".into()),
                ("inet_interfaces".into(), "127.0.0.1".into())
            ]
        );
        assert_eq!(out.directories.queue_directory.as_deref(), Some("/q/out"));
        assert_eq!(out.at, Location { line: 3, column: 8 });
        assert_eq!(inb.group, None);
        assert!(!inb.enabled);
        assert_eq!(inb.template, Some(PathBuf::from("/t")));
    }

    #[test]
    fn refusals_name_the_place() {
        assert_eq!(error("bogus = 1\n"), "m.toml:1:1: unknown key bogus");
        assert_eq!(
            error("[[instance]]\nname = \"postfix-a\"\nnmae = 1\n"),
            "m.toml:3:1: unknown key instance.nmae"
        );
        assert_eq!(
            error("[[instance]]\nname = 3\n"),
            "m.toml:2:8: name must be a string, not an integer"
        );
        assert_eq!(
            error("[[instance]]\nname = \"foo\"\n"),
            "m.toml:2:8: New instance name must start with 'postfix-'"
        );
        assert_eq!(
            error("[[instance]]\nname = \"postfix-a\"\n[[instance]]\nname = \"postfix-a\"\n"),
            "m.toml:4:8: duplicate instance name \"postfix-a\""
        );
        assert_eq!(
            error("[[instance]]\nname = \"postfix-a\"\nenabled = \"yes\"\n"),
            "m.toml:3:11: enabled must be a boolean (true or false)"
        );
        assert_eq!(
            error("[[instance]]\nname = \"postfix-a\"\ndirectories = { queue_directory = \"/a/../b\" }\n"),
            "m.toml:3:35: queue_directory=/a/../b: the path must not contain empty, '.' or '..' components"
        );
        assert_eq!(
            error("[[instance]]\nname = \"postfix-a\"\ndirectories = { data_directory = \"x\" }\n"),
            "m.toml:3:34: Parameter setting 'data_directory' is not an absolute path"
        );
        assert_eq!(
            error("[[instance]]\nname = \"postfix-a\"\n[instance.main_cf]\nmulti_instance_group = \"x\"\n"),
            "m.toml:4:1: main_cf.multi_instance_group: set with group, not in main_cf"
        );
        assert!(error(
            "[[instance]]\nname = \"postfix-a\"\n[instance.main_cf]\nx = \"a\\nb = c\"\n"
        )
        .starts_with("m.toml:4:5: main_cf.x: control characters"));
        assert!(error("prune = \"all\"\n").starts_with("m.toml:1:9: prune = \"all\""));
        assert!(error("[[instance]\n").starts_with("m.toml:1:"));
        assert_eq!(
            error(
                "[[instance]]\nname = \"postfix-a\"\ndirectories.queue_directory = \"/q\"\n\
                   [[instance]]\nname = \"postfix-b\"\ndirectories.data_directory = \"/q\"\n"
            ),
            "m.toml:6:1: instance postfix-b: directory /q is also given to instance postfix-a"
        );
    }
}
