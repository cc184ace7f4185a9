//! Capture the compiler version and, inside a git checkout, the commit and whether the tracked
//! files differ from it, for the metadata of results files (`DUALBENCH_RUSTC_VERSION`,
//! `DUALBENCH_GIT_COMMIT`, `DUALBENCH_GIT_DIRTY`). Works without git and outside a checkout:
//! the commit and the dirty flag are then simply absent.
//!
//! The script reruns when HEAD, the index or any tracked file changes, so the dirty flag of a
//! binary is that of the tree it was built from.

use std::path::Path;
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(&rustc, &["--version"])
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DUALBENCH_RUSTC_VERSION={version}");

    let commit = output("git", &["rev-parse", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=DUALBENCH_GIT_COMMIT={commit}");
    let dirty = match output("git", &["status", "--porcelain", "--untracked-files=no"]) {
        Some(status) if !commit.is_empty() => (!status.is_empty()).to_string(),
        _ => String::new(),
    };
    println!("cargo:rustc-env=DUALBENCH_GIT_DIRTY={dirty}");
    if let Some(git_dir) = output("git", &["rev-parse", "--absolute-git-dir"]) {
        // A new commit, checkout or staging moves HEAD, its log or the index.
        for file in ["HEAD", "logs/HEAD", "index"] {
            let path = Path::new(&git_dir).join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    // Editing a tracked file changes the dirty flag without touching git's files.
    if let (Some(top), Some(files)) = (
        output("git", &["rev-parse", "--show-toplevel"]),
        output("git", &["ls-files"]),
    ) {
        for file in files.lines() {
            let path = Path::new(&top).join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
