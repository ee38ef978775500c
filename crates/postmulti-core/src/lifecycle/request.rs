//! What a life-cycle command asks for: the action, its target and
//! settings ([`EditRequest`]), how to carry it out ([`EditOptions`]), and
//! what it came to ([`Outcome`]).

use super::plan::Plan;
use crate::bytes::BString;
use crate::select::Selection;
use std::path::PathBuf;
use std::time::Duration;

/// A life-cycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Hook postmulti into the primary's main.cf.
    Init,
    /// Make a new instance (or take an existing one as it is) and register it.
    Create,
    /// Register an existing instance.
    Import,
    /// Unregister an instance and move it to `alternate_config_directories`.
    Deport,
    /// Unregister an instance and remove what Postfix created for it.
    Destroy,
    /// Set `multi_instance_enable = yes`.
    Enable,
    /// Set `multi_instance_enable = no`.
    Disable,
    /// Change an instance's name or group.
    Assign,
}

impl Action {
    /// The action named by a `-e` word (exact case).
    pub fn from_word(word: &str) -> Option<Action> {
        Some(match word {
            "init" => Action::Init,
            "create" => Action::Create,
            "import" => Action::Import,
            "deport" => Action::Deport,
            "destroy" => Action::Destroy,
            "enable" => Action::Enable,
            "disable" => Action::Disable,
            "assign" => Action::Assign,
            _ => return None,
        })
    }

    /// The `-e` word of the action.
    pub fn word(self) -> &'static str {
        match self {
            Action::Init => "init",
            Action::Create => "create",
            Action::Import => "import",
            Action::Deport => "deport",
            Action::Destroy => "destroy",
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Assign => "assign",
        }
    }

    /// Whether `-I` and `-G` may be used with it.
    pub fn assigns_names(self) -> bool {
        matches!(self, Action::Create | Action::Import | Action::Assign)
    }

    /// Whether it adds an instance (and takes `param=value` operands).
    pub fn adds_instance(self) -> bool {
        matches!(self, Action::Create | Action::Import)
    }
}

/// Everything a life-cycle command line says.
#[derive(Debug, Clone)]
pub struct EditRequest {
    /// The action.
    pub action: Action,
    /// `-a`, `-g`, `-i`: the target, or where a new instance goes.
    pub selection: Selection,
    /// `-I`: `Some("")` clears the name.
    pub assign_name: Option<BString>,
    /// `-G`: `Some("")` clears the group.
    pub assign_group: Option<BString>,
    /// `param=value` operands of create and import.
    pub settings: Vec<BString>,
}

/// How to carry out an edit.
#[derive(Debug, Clone)]
pub struct EditOptions {
    /// How long to wait for another postmulti's registry lock.
    pub lock_timeout: Duration,
    /// Where main.cf.proto and master.cf.proto come from instead of
    /// `$meta_directory`.
    pub template_directory: Option<PathBuf>,
    /// `--dry-run`: plan and check only, change nothing.
    pub dry_run: bool,
}

impl Default for EditOptions {
    fn default() -> EditOptions {
        EditOptions {
            lock_timeout: Duration::from_secs(60),
            template_directory: None,
            dry_run: false,
        }
    }
}

/// What an edit did or would do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The steps, in order.
    pub plan: Plan,
    /// Warnings for the administrator (e.g. what destroy had to leave).
    pub warnings: Vec<String>,
}
