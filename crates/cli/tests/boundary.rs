//! The authority boundary: front ends (the server and the CLI) reach the store only
//! through the authority. They do not depend on the store crate (so they cannot open a
//! store or name its engines), and the authority keeps its store to itself.

use std::path::Path;

fn crate_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn front_ends_do_not_depend_on_the_store() {
    for front_end in ["server", "cli"] {
        let manifest = std::fs::read_to_string(crate_dir(front_end).join("Cargo.toml")).unwrap();
        let dependencies = manifest.split("[dev-dependencies]").next().unwrap();
        assert!(!dependencies.contains("ironpki-store"), "crates/{front_end} must not depend on the store crate");
        let mut files = Vec::new();
        sources(&crate_dir(front_end).join("src"), &mut files);
        assert!(!files.is_empty());
        for (path, text) in files {
            assert!(!text.contains("ironpki_store::"), "{path} names the store crate");
            assert!(!text.contains(".store()"), "{path} reaches for the store");
        }
    }
    let authority = std::fs::read_to_string(crate_dir("authority").join("src/authority.rs")).unwrap();
    assert!(authority.contains("pub(crate) fn store(&self)"), "the authority keeps its store to itself");
}
