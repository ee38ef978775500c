//! The manifest of a host as it is: every secondary in order with its name,
//! group, enable flag, and the directories that differ from what create
//! derives. An existing manifest is updated in place with `toml_edit`: its
//! comments, key order and formatting stay, only values that differ from
//! the host change, so exporting an unchanged host gives the same bytes.

use super::manifest::{check_name_and_group, Manifest};
use super::manifest_text;
use crate::config::Config;
use crate::defaults::Defaults;
use crate::instance::Instance;
use crate::lifecycle::derive_private_path;
use crate::registry::{Registry, Strictness};
use crate::select::NAME_PREFIX;
use crate::{Error, Result};
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

/// The first line of a new manifest.
const HEADER: &str = "# The Postfix instances of this host, in start order (postmulti --export).\n";

/// The exported text and what could not be exported.
#[derive(Debug)]
pub struct Exported {
    /// The manifest.
    pub text: String,
    /// Instances left out (no name, or a name a manifest cannot hold).
    pub warnings: Vec<String>,
}

/// The manifest of the host whose primary is in `primary_dir`; `existing`
/// is the current text of the file being updated (and its name for
/// messages), if there is one.
pub fn export(
    primary_dir: &[u8],
    defaults: &Defaults,
    existing: Option<(&str, &str)>,
) -> Result<Exported> {
    let registry = Registry::load(primary_dir, defaults, Strictness::Strict)?;
    let mut doc = match existing {
        Some((source, text)) => {
            Manifest::parse(source, text)?;
            text.parse::<DocumentMut>()
                .map_err(|e| Error::fatal(format!("{source}: {}", e.message())))?
        }
        None => {
            let mut doc = DocumentMut::new();
            doc.decor_mut().set_prefix(HEADER);
            doc
        }
    };
    let mut old: Vec<Table> = match doc
        .get_mut("instance")
        .and_then(Item::as_array_of_tables_mut)
    {
        Some(tables) => std::mem::take(tables).into_iter().collect(),
        None => Vec::new(),
    };
    let mut warnings = Vec::new();
    let mut tables = ArrayOfTables::new();
    for (instance, config) in registry.with_configs().skip(1) {
        let Some(name) = instance
            .name
            .as_deref()
            .filter(|n| n.starts_with(NAME_PREFIX.as_bytes()))
        else {
            warnings.push(format!(
                "instance {} not exported: a manifest instance needs a name starting with '{NAME_PREFIX}'",
                instance.config_directory
            ));
            continue;
        };
        let name = manifest_text(name, "instance name")?;
        let group = instance
            .group
            .as_deref()
            .map(|group| manifest_text(group, "group"))
            .transpose()?;
        if let Err(why) = check_name_and_group(name, group) {
            warnings.push(format!(
                "instance {} not exported: {why}",
                instance.config_directory
            ));
            continue;
        }
        let found = old
            .iter()
            .position(|t| t.get("name").and_then(Item::as_str) == Some(name));
        let mut table = match found {
            Some(at) => old.remove(at),
            None => {
                let mut table = Table::new();
                table.insert("name", value(name));
                table
            }
        };
        update(
            &mut table,
            found.is_none(),
            &registry,
            instance,
            config,
            name,
        )?;
        tables.push(table);
    }
    renumber(&mut tables);
    if tables.is_empty() {
        doc.remove("instance");
    } else {
        match doc.get_mut("instance") {
            Some(item) => *item = Item::ArrayOfTables(tables),
            None => {
                doc.insert("instance", Item::ArrayOfTables(tables));
            }
        }
    }
    Ok(Exported {
        text: doc.to_string(),
        warnings,
    })
}

/// Brings one `[[instance]]` table in line with the instance (whose main.cf
/// is `config`), touching only what differs.
fn update(
    table: &mut Table,
    new: bool,
    registry: &Registry<'_>,
    instance: &Instance,
    config: &Config<'_>,
    name: &str,
) -> Result<()> {
    let group = manifest_text(instance.group.as_deref().map_or(&b""[..], |g| g), "group")?;
    if table.get("group").and_then(Item::as_str).unwrap_or("") != group {
        if group.is_empty() {
            table.remove("group");
        } else {
            set(table, "group", Value::from(group));
        }
    }
    match table.get("enabled").and_then(Item::as_bool) {
        Some(enabled) if enabled == instance.enabled => {}
        None if !new && instance.enabled => {}
        _ => set(table, "enabled", Value::from(instance.enabled)),
    }
    update_directories(table, registry, instance, name)?;
    if let Some(main_cf) = table.get_mut("main_cf").and_then(Item::as_table_like_mut) {
        update_main_cf(main_cf, config)?;
    }
    Ok(())
}

/// Writes the directories that differ from what create derives from the
/// name; drops given ones that no longer hold.
fn update_directories(
    table: &mut Table,
    registry: &Registry<'_>,
    instance: &Instance,
    name: &str,
) -> Result<()> {
    let primary = registry.primary();
    let mut wanted = Vec::new();
    for (param, actual, primary_value) in [
        (
            "config_directory",
            &instance.config_directory,
            &primary.config_directory,
        ),
        (
            "queue_directory",
            &instance.queue_directory,
            &primary.queue_directory,
        ),
        (
            "data_directory",
            &instance.data_directory,
            &primary.data_directory,
        ),
    ] {
        let derived = derive_private_path(param, primary_value, Some(name.as_bytes())).ok();
        let needed = derived.as_ref() != Some(actual);
        wanted.push((param, manifest_text(actual, param)?, needed));
    }
    if !table.contains_key("directories") {
        if !wanted.iter().any(|(_, _, needed)| *needed) {
            return Ok(());
        }
        let mut directories = Table::new();
        directories.set_implicit(false);
        table.insert("directories", Item::Table(directories));
    }
    let Some(directories) = table
        .get_mut("directories")
        .and_then(Item::as_table_like_mut)
    else {
        return Ok(()); // Manifest::parse refused any other type
    };
    for (param, actual, needed) in wanted {
        let given = directories.get(param).and_then(Item::as_str);
        match given {
            Some(given) if given.trim_end_matches('/') == actual => {}
            _ if needed => set(directories, param, Value::from(actual)),
            Some(_) => {
                directories.remove(param);
            }
            None => {}
        }
    }
    if directories.is_empty() {
        table.remove("directories");
    }
    Ok(())
}

/// Sets the parameters a manifest lists to their values in main.cf; drops
/// those main.cf no longer sets.
fn update_main_cf(main_cf: &mut dyn TableLike, config: &Config<'_>) -> Result<()> {
    let keys: Vec<String> = main_cf.iter().map(|(key, _)| key.to_string()).collect();
    for key in keys {
        let explicit = match config.explicit(&key) {
            Some(value) => Some(manifest_text(value, &key)?),
            None => None,
        };
        match explicit {
            Some(actual) if main_cf.get(&key).and_then(Item::as_str) == Some(actual) => {}
            Some(actual) => set(main_cf, &key, Value::from(actual)),
            None => {
                main_cf.remove(&key);
            }
        }
    }
    Ok(())
}

/// Sets a value, keeping the decor (spacing, trailing comment) of the one
/// it replaces.
fn set(table: &mut dyn TableLike, key: &str, mut new: Value) {
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *new.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(new));
}

/// Gives the tables and their subtables positions in their new order
/// (`toml_edit` prints tables by position).
fn renumber(tables: &mut ArrayOfTables) {
    let mut position = 1;
    for table in tables.iter_mut() {
        table.set_position(Some(position));
        position += 1;
        for (_, item) in table.iter_mut() {
            if let Item::Table(subtable) = item {
                subtable.set_position(Some(position));
                position += 1;
            }
        }
    }
}
