//! What the tests that read the golden fixtures share.

use std::path::{Path, PathBuf};

/// The directories of tests/fixtures, sorted: a new one needs no list.
pub fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
            .expect("the golden fixtures")
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
    dirs.sort();
    dirs
}
