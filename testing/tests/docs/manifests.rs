//! The crates of the workspace, and of `fuzz/` (its own workspace), with their dependencies as `cargo metadata`
//! reads them from the manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What a crate depends on, in the sets ARCHITECTURE.md's table lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deps {
    /// Crates of the repository its code uses (normal and build dependencies).
    pub workspace: BTreeSet<String>,
    /// Crates of the repository only its tests, benches or examples use.
    pub tests_only: BTreeSet<String>,
    /// Other crates its code uses (normal and build dependencies).
    pub other: BTreeSet<String>,
}

/// Every crate of the two workspaces under `root`, by package name.
pub fn crates(root: &Path) -> BTreeMap<String, Deps> {
    let mut all = packages(&root.join("Cargo.toml"));
    all.extend(packages(&root.join("fuzz").join("Cargo.toml")));
    all.iter().map(|p| (text(&p["name"]), deps(p))).collect()
}

fn packages(manifest: &Path) -> Vec<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--offline", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    metadata["packages"].as_array().cloned().unwrap_or_default()
}

fn deps(package: &Value) -> Deps {
    let mut d = Deps::default();
    let mut dev = BTreeSet::new();
    for dep in package["dependencies"].as_array().into_iter().flatten() {
        let name = text(&dep["name"]);
        // A dependency by path is a crate of this repository (workspace ones included: metadata resolves them).
        let local = !dep["path"].is_null();
        match (dep["kind"].as_str(), local) {
            (Some("dev"), true) => {
                dev.insert(name);
            }
            (Some("dev"), false) => {}
            (_, true) => {
                d.workspace.insert(name);
            }
            (_, false) => {
                d.other.insert(name);
            }
        }
    }
    let own = text(&package["name"]);
    d.tests_only = dev.into_iter().filter(|n| !d.workspace.contains(n) && *n != own).collect();
    d
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
