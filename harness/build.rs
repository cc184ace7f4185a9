//! Capture the compiler version and, inside a git checkout, the commit, for the metadata of
//! results files (`DUALBENCH_RUSTC_VERSION`, `DUALBENCH_GIT_COMMIT`). Works without git and
//! outside a checkout: the commit is then simply absent.

use std::path::Path;
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DUALBENCH_RUSTC_VERSION={version}");

    let commit = output("git", &["rev-parse", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=DUALBENCH_GIT_COMMIT={commit}");
    if let Some(git_dir) = output("git", &["rev-parse", "--absolute-git-dir"]) {
        // A new commit or checkout moves HEAD or its log; rebuild to record the new commit.
        for file in ["HEAD", "logs/HEAD"] {
            let path = Path::new(&git_dir).join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
