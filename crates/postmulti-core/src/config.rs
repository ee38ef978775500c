//! One instance's parameters: its main.cf, read natively, in the context in
//! which Postfix expands it (its own `config_directory`, then the compiled-in
//! defaults).

use crate::bytes::{self, BStr, BString};
use crate::defaults::Defaults;
use crate::expand::expand;
use crate::maincf::MainCf;
use crate::{Error, Result};
use std::path::PathBuf;

/// The parameters of the instance whose configuration directory is `dir`.
#[derive(Debug, Clone)]
pub struct Config<'d> {
    dir: BString,
    doc: MainCf,
    defaults: &'d Defaults,
}

impl<'d> Config<'d> {
    /// Reads and checks `dir/main.cf`: a file Postfix would refuse is an
    /// error naming the file and line.
    pub fn load(dir: &[u8], defaults: &'d Defaults) -> Result<Config<'d>> {
        let path = main_cf_path(dir);
        let doc = MainCf::read(&path)?;
        Config::from_doc(dir, doc, defaults)
    }

    /// Wraps an already parsed main.cf of `dir`, checking its syntax.
    pub fn from_doc(dir: &[u8], doc: MainCf, defaults: &'d Defaults) -> Result<Config<'d>> {
        if let Some(bad) = doc.syntax_errors().first() {
            return Err(Error::Syntax {
                path: main_cf_path(dir),
                line: bad.line,
                reason: bad.reason,
                text: bad.text.clone(),
            });
        }
        Ok(Config {
            dir: dir.into(),
            doc,
            defaults,
        })
    }

    /// The configuration directory this main.cf belongs to.
    pub fn dir(&self) -> &BStr {
        self.dir.as_ref()
    }

    /// The path of this main.cf.
    pub fn path(&self) -> PathBuf {
        main_cf_path(&self.dir)
    }

    /// The compiled-in defaults this configuration falls back to.
    pub fn defaults(&self) -> &'d Defaults {
        self.defaults
    }

    /// The parsed document.
    pub fn doc(&self) -> &MainCf {
        &self.doc
    }

    /// The value set in main.cf itself (`postconf -nh name`), if any.
    pub fn explicit(&self, name: &str) -> Option<&BStr> {
        self.doc.get(name)
    }

    /// The unexpanded value: `config_directory` is always the directory read,
    /// else main.cf's setting, else the compiled-in default.
    pub fn raw(&self, name: &str) -> Option<&BStr> {
        if name == "config_directory" {
            return Some(self.dir.as_ref());
        }
        self.doc
            .get(name)
            .or_else(|| self.defaults.get(name).map(BStr::new))
    }

    /// The value with every `$name` reference expanded (`postconf -xh name`);
    /// empty for an unknown parameter.
    pub fn expanded(&self, name: &str) -> Result<BString> {
        let raw = self.raw(name).unwrap_or_default();
        expand(raw, &|reference| self.raw(reference).map(BString::from)).map_err(|source| {
            Error::Expand {
                path: self.path(),
                param: name.to_string(),
                source,
            }
        })
    }
}

/// `dir/main.cf`.
pub fn main_cf_path(dir: &[u8]) -> PathBuf {
    bytes::path(dir).join("main.cf")
}
