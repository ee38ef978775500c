//! `tree-snapshot FILE ROOT...`: records each ROOT (an absolute path) and
//! everything below it as one [`Tree`] and writes it to FILE
//! ([`Tree::to_bytes`]). What a namespace script's `snapshot LABEL` runs
//! (`postmulti_e2e::namespace`), so that namespaces and sandboxes record
//! their trees with the same walker.

use postmulti_e2e::tree::Tree;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((file, roots)) = args.split_first() else {
        eprintln!("usage: tree-snapshot FILE ROOT...");
        return ExitCode::from(2);
    };
    match std::fs::write(file, Tree::of_roots(roots).to_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tree-snapshot: write {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
