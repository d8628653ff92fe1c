//! ARCHITECTURE.md read as data: the dependency table's rows and the diagram's lines of the form
//! `crate (…) → crate, crate`.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifests::Deps;

/// The rows of the table under "## Who may depend on whom", by package name.
pub fn table(doc: &str) -> BTreeMap<String, Deps> {
    let section = doc.split("## Who may depend on whom").nth(1).expect("the dependency table's section");
    let rows = section.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|'));
    // The first two lines are the header and its separator.
    rows.skip(2).map(row).collect()
}

fn row(line: &str) -> (String, Deps) {
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    let [_, name, workspace, other, ..] = cells[..] else { panic!("a row of four cells: {line}") };
    let name = backticked(name).into_iter().next().unwrap_or_else(|| panic!("a crate name in `…`: {line}"));
    let (code, tests) = workspace.split_once("tests:").unwrap_or((workspace, ""));
    let deps = Deps {
        workspace: backticked(&outside_parentheses(code)).into_iter().collect(),
        tests_only: backticked(&outside_parentheses(tests)).into_iter().collect(),
        other: names(other),
    };
    (name, deps)
}

/// The diagram's lines naming a crate and, after `→`, the crates of the repository it uses.
pub fn diagram_edges(doc: &str, known: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for line in diagram(doc).lines() {
        let Some(first) = line.split_whitespace().next().filter(|w| known.contains(*w)) else { continue };
        let Some((_, uses)) = line.split_once(" → ") else { continue };
        let words = outside_parentheses(uses);
        let used = words.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        edges.insert(first.to_owned(), used.filter(|w| known.contains(*w)).map(str::to_owned).collect());
    }
    edges
}

/// The first fenced block: the crate diagram.
pub fn diagram(doc: &str) -> &str {
    doc.split("```").nth(1).expect("a fenced crate diagram")
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Crate names of a comma- or semicolon-separated list whose items may carry a note in parentheses.
fn names(cell: &str) -> BTreeSet<String> {
    let plain = outside_parentheses(cell);
    let items = plain.split([',', ';']).filter_map(|item| item.split_whitespace().next());
    items.filter(|w| *w != "—").map(str::to_owned).collect()
}

fn outside_parentheses(text: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
