//! The generator, run as a user runs it, on the cdylib this test run built: Kotlin, Swift and Python each come out
//! and carry the API (a Kotlin or Swift generation failure fails the workspace's tests, not only scripts/test.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cdylib cargo built for this test (a dev-dependency): next to the test binary, in `target/<profile>/deps`.
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary's directory");
    deps.join(format!("{}seqsync{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
}

fn generate(language: &str, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_uniffi-bindgen"))
        .args(["generate", "--library"])
        .arg(library())
        .args(["--language", language, "--no-format", "--out-dir"])
        .arg(out)
        .status()
        .expect("uniffi-bindgen runs");
    assert!(status.success(), "uniffi-bindgen generate --language {language} failed: {status}");
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} was not generated: {e}", path.display()))
}

#[test]
fn kotlin_swift_and_python_are_generated_with_the_whole_api() {
    assert!(library().exists(), "no cdylib at {}", library().display());
    let out = tempfile::tempdir().expect("a temporary directory");
    for language in ["kotlin", "swift", "python"] {
        generate(language, &out.path().join(language));
    }
    let kotlin = read(out.path().join("kotlin/uniffi/seqsync/seqsync.kt"));
    let swift = read(out.path().join("swift/seqsync.swift"));
    let python = read(out.path().join("python/seqsync.py"));
    read(out.path().join("swift/seqsyncFFI.h"));
    read(out.path().join("swift/seqsyncFFI.modulemap"));

    for name in ["openEngine", "syncAll", "syncCollection", "cancelHandle", "syncState", "listRows", "onProgress"] {
        assert!(kotlin.contains(&format!("fun `{name}`")), "Kotlin lacks {name}");
        assert!(swift.contains(&format!("func {name}(")), "Swift lacks {name}");
    }
    for name in
        ["open_engine", "sync_all", "sync_collection", "cancel_handle", "sync_state", "list_rows", "on_progress"]
    {
        assert!(python.contains(&format!("def {name}(")), "Python lacks {name}");
    }
    assert!(kotlin.contains("class Unauthorized(message: String) : SeqsyncException(message)"));
    assert!(swift.contains("case Unauthorized(message: String)"));
    assert!(python.contains("class Unauthorized(_UniffiTempSeqsyncError)"));
}
