//! The documents stay true to the code: ARCHITECTURE.md's dependency table and crate diagram against the
//! manifests (`cargo metadata`), every "PROTOCOL.md invariant N" cited in the tree against PROTOCOL.md, and the
//! README's Rust example against the compiled example it is taken from.

mod architecture;
mod invariants;
mod manifests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository root").to_path_buf()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

#[test]
fn the_dependency_table_lists_each_crates_dependencies_as_its_manifest_declares_them() {
    let crates = manifests::crates(&root());
    let table = architecture::table(&read("ARCHITECTURE.md"));
    let mut drift = Vec::new();
    for (name, deps) in &crates {
        match table.get(name) {
            None => drift.push(format!("`{name}` has no row")),
            Some(row) if row != deps => drift.push(format!("`{name}`: the table says {row:?}, the manifest {deps:?}")),
            Some(_) => {}
        }
    }
    drift.extend(table.keys().filter(|n| !crates.contains_key(*n)).map(|n| format!("`{n}` is not a crate")));
    assert!(drift.is_empty(), "ARCHITECTURE.md's dependency table drifted:\n{}", drift.join("\n"));
}

#[test]
fn the_crate_diagram_names_every_crate_and_its_arrow_lines_hold() {
    let crates = manifests::crates(&root());
    let doc = read("ARCHITECTURE.md");
    let diagram = architecture::diagram(&doc);
    let missing: Vec<_> = crates.keys().filter(|n| !diagram.contains(n.as_str())).collect();
    assert!(missing.is_empty(), "the diagram does not show {missing:?}");
    let known: BTreeSet<String> = crates.keys().cloned().collect();
    let edges = architecture::diagram_edges(&doc, &known);
    assert!(edges.len() >= 4, "the diagram's `crate → crates` lines were not found: {edges:?}");
    for (name, uses) in edges {
        assert_eq!(uses, crates[&name].workspace, "the diagram's line for `{name}`");
    }
}

#[test]
fn every_cited_protocol_invariant_exists() {
    let numbered = invariants::numbered(&read("PROTOCOL.md"));
    let count = numbered.len() as u32;
    assert!(count >= 10 && numbered == (1..=count).collect::<Vec<_>>(), "invariants numbered 1 to N: {numbered:?}");
    let (mut cited, mut stale) = (Vec::new(), Vec::new());
    // Spelled in two pieces so that this file is not a mention itself.
    let old_design = ["DESIGN", ".md"].concat();
    invariants::walk(&root(), &mut |path, text| {
        cited.extend(invariants::citations(text).into_iter().map(|n| (path.display().to_string(), n)));
        if text.contains(&old_design) {
            stale.push(path.display().to_string());
        }
    });
    assert!(stale.is_empty(), "{old_design} is not in the repository; cite PROTOCOL.md instead: {stale:?}");
    assert!(cited.len() >= 20, "the tree's citations were not found: {cited:?}");
    let wrong: Vec<_> = cited.iter().filter(|(_, n)| !(1..=count).contains(n)).collect();
    assert!(wrong.is_empty(), "citations of invariants PROTOCOL.md does not have: {wrong:?}");
}

#[test]
fn a_wrapped_citation_of_several_invariants_is_read_whole() {
    let text = "//! holds (PROTOCOL.md\n//! invariants 1, 3 and 11) here; PROTOCOL.md invariant 4: more";
    assert_eq!(invariants::citations(text), vec![1, 3, 11, 4]);
}

#[test]
fn the_readmes_rust_example_is_the_compiled_quickstart_example() {
    let readme = read("README.md");
    let start = readme.find("```rust").expect("README has a Rust example");
    let body = &readme[start..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    let snippet = &body[..body.find("```").expect("the example's closing fence")];
    let example = read("sync-client/examples/quickstart.rs");
    let missing: Vec<_> = snippet.lines().map(str::trim).filter(|l| !l.is_empty() && !example.contains(*l)).collect();
    assert!(missing.is_empty(), "README lines not in sync-client/examples/quickstart.rs: {missing:?}");
}
