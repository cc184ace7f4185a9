//! Promises about the repository itself: the stated minimum Rust version, the layering of the
//! harness, and the documents' links.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `major.minor` of a version string, as numbers.
fn minor_version(v: &str) -> (u64, u64) {
    let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

/// The host's target triple, as `cargo -vV` states it.
fn host_triple(cargo: &str) -> String {
    let out = Command::new(cargo).arg("-vV").output().unwrap();
    assert!(out.status.success(), "`cargo -vV` failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("`cargo -vV` names the host")
        .trim()
        .to_string()
}

/// The workspace's `rust-version` is the highest any package of a default build (on this host)
/// declares: not lower, so that it is true, and not higher, so that it is the minimum.
#[test]
fn rust_version_states_the_true_minimum() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let stated = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("the workspace states a rust-version")
        .trim_matches('"');
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only the host's packages: `cargo metadata` reads every listed package's manifest, and a
    // fresh machine has downloaded only the host's (never `anstyle-wincon` and the other
    // Windows crates). Not `--offline`: on a fresh machine, or one whose cargo cache holds only
    // what the build needed, cargo fetches the manifests it lacks (the CI proves this with an
    // empty `CARGO_HOME`).
    let host = host_triple(&cargo);
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", &host])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (needed, by) = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let v = p["rust_version"].as_str()?;
            Some((minor_version(v), p["name"].as_str().unwrap().to_string()))
        })
        .max()
        .unwrap();
    assert_eq!(
        minor_version(stated),
        needed,
        "Cargo.toml says rust-version {stated}; the lock file needs {}.{} (for {by})",
        needed.0,
        needed.1
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn layering_library_modules_never_reach_into_command_modules() {
    let src = root().join("harness/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if relative.starts_with("commands") || relative == "cli.rs" || relative == "main.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("crate::commands"),
            "{relative} uses a command module; commands parse flags and call the library, \
             never the other way round"
        );
    }
}

#[test]
fn command_modules_only_parse_their_arguments_and_call_library_code() {
    let mut files = Vec::new();
    rust_files(&root().join("harness/src/commands"), &mut files);
    for file in files {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        assert!(
            lines <= 300,
            "{} has {lines} lines: move its work into a library module",
            file.display()
        );
    }
}

/// The relative link targets of a Markdown text: `](target)`, without a `#fragment`.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or("").to_string())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

#[test]
fn every_relative_link_in_the_documents_resolves() {
    let mut documents = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("a docs/ folder") {
        documents.push(entry.unwrap().path());
    }
    for doc in documents {
        let text = std::fs::read_to_string(&doc).unwrap();
        let base = doc.parent().unwrap();
        for link in relative_links(&text) {
            assert!(
                base.join(&link).exists(),
                "{}: the link `{link}` does not resolve",
                doc.display()
            );
        }
    }
}

#[test]
fn no_document_sends_readers_to_design_notes_outside_the_repository() {
    let mut files = Vec::new();
    for dir in ["harness/src", "strategies/src", "workloads/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    files.extend([
        root().join("README.md"),
        root().join("CONTRIBUTING.md"),
        root().join("claims.toml"),
    ]);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for note in [
            "LADDER.md",
            "WORKLOADS.md",
            "ARCHITECTURE.md",
            "GRADBENCH.md",
            "STYLE.md",
        ] {
            assert!(
                !text.contains(note),
                "{} refers to {note}, which is not in the repository (see docs/)",
                file.display()
            );
        }
    }
}
