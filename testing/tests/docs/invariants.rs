//! Citations of PROTOCOL.md's numbered invariants across the repository's sources and documents.

use std::path::Path;

/// The numbers of the list under "## Invariants" in PROTOCOL.md, in order.
pub fn numbered(protocol: &str) -> Vec<u32> {
    let section = protocol.split("## Invariants").nth(1).expect("an Invariants section");
    section.lines().filter_map(|l| l.split_once(". **")).filter_map(|(n, _)| n.parse().ok()).collect()
}

/// Calls `visit` with the path and text of each source or document file under `dir` (build output, packages and
/// fuzzing data left out).
pub fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, &str)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | ".git" | "corpus" | "artifacts") {
                walk(&path, visit);
            }
        } else if TEXT.iter().any(|ext| name.ends_with(ext))
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            visit(&path, &text);
        }
    }
}

const TEXT: [&str; 8] = [".rs", ".md", ".sql", ".mjs", ".js", ".ts", ".py", ".sh"];

/// The invariant numbers `text` cites (`PROTOCOL.md invariant(s) N[, M and K]`); comment markers at the start
/// of lines are ignored so that a citation may wrap.
pub fn citations(text: &str) -> Vec<u32> {
    let joined: Vec<&str> =
        text.lines().map(|l| l.trim_start().trim_start_matches(['/', '!', '-', '#', '*']).trim()).collect();
    let joined = joined.join(" ");
    let mut numbers = Vec::new();
    for after in joined.split("PROTOCOL.md invariant").skip(1) {
        let after = after.strip_prefix('s').unwrap_or(after);
        for word in after.split_whitespace() {
            match word.trim_end_matches([',', ')', '.', ':', ';']).parse::<u32>() {
                Ok(n) => numbers.push(n),
                Err(_) if word == "and" => {}
                Err(_) => break,
            }
        }
    }
    numbers
}
