//! The instance model of `postmulti` and everything in it that touches the
//! system.
//!
//! A Postfix multi-instance host has one primary instance, whose `main.cf`
//! lists the secondary instances in `multi_instance_directories`. This crate
//! reads and edits those `main.cf` files losslessly ([`maincf`], [`expand`]),
//! builds the instance registry with Postfix's conflict rules ([`registry`]),
//! selects instances ([`select`]), runs the life-cycle actions natively and
//! atomically under a lock ([`lifecycle`], [`fsutil`], [`lock`], [`perms`]),
//! runs commands across instances ([`iterate`]), answers whether an
//! instance is running ([`status`]), writes systemd units at boot
//! ([`systemd`]) and supervises master daemons in the foreground
//! ([`supervise`]). Independent per-instance steps are shared among the
//! CPUs ([`parallel`]). What it trusts as root, and never writes through,
//! is one rule ([`trust`]). Its errors ([`error`]) say what went wrong and
//! where.
//! The `postmulti` binary is a thin command-line layer over it.

pub mod arrivals;
pub mod bytes;
pub mod cache;
pub mod config;
pub mod defaults;
pub mod desired;
pub mod doctor;
pub mod error;
pub mod expand;
pub mod fsutil;
pub mod instance;
pub mod iterate;
pub mod lifecycle;
pub mod lock;
pub mod maincf;
pub mod metrics;
pub mod parallel;
pub mod perms;
pub mod queues;
pub mod registry;
pub mod select;
pub mod status;
pub mod supervise;
pub mod systemd;
pub mod trust;

#[cfg(test)]
mod test_support;

pub use error::{Error, Result};
