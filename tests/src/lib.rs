//! End-to-end test support for postmulti: the test harness (one table of
//! tests per file, gated by what each needs), locating the built binary,
//! sandbox primaries in temporary directories (`-c DIR`), tree snapshots
//! (one kind, for sandboxes and namespaces alike), and private mount
//! namespaces with overlays where the real postmulti and ours run side by
//! side against the real Postfix; the unprivileged attacker of the trust
//! tests (`attacker`, `src/bin/swapper.rs`).

pub mod attacker;
pub mod fixtures;
pub mod harness;
pub mod namespace;
pub mod sandbox;
pub mod tree;
