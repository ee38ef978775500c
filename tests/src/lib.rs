//! End-to-end test support for postmulti: locating the built binary, sandbox
//! primaries in temporary directories (`-c DIR`), tree snapshots, and private
//! mount namespaces with overlays where the real postmulti and ours run side
//! by side against the real Postfix.

pub mod namespace;
pub mod sandbox;
