//! Embeds the guest SDK's sources (and the snapshot crate's, and the
//! contract it binds) so `rewind new` can write a copy of them into a new
//! policy crate: the crate then builds wherever it is, without a checkout
//! of rewind and before the SDK is on a registry.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Vendored crate directory → the directory its files come from.
const VENDORED: &[(&str, &str)] = &[("rewind-sdk", "../plugins/sdk"), ("rewind-snapshot", "../snapshot")];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut table = String::from("&[\n");
    for (name, source) in VENDORED {
        let root = manifest_dir.join(source);
        println!("cargo::rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        collect(&root, &root, &mut files);
        files.sort();
        for relative in files {
            // Following the SDK's `wit` link: the copy holds the contract itself.
            let absolute = root.join(&relative).canonicalize().expect("vendored files resolve");
            println!("cargo::rerun-if-changed={}", absolute.display());
            writeln!(
                table,
                "    ({:?}, include_str!({:?})),",
                format!("{name}/{}", relative.display()),
                absolute.display()
            )
            .expect("writing to a string");
        }
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("vendored_sdk.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}

/// The crate's files below `dir`, relative to `root`: its manifest, README
/// and everything under `src/` and `wit/`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("vendored directories are readable") {
        let path = entry.expect("directory entries are readable").path();
        let relative = path.strip_prefix(root).expect("below the root").to_path_buf();
        let top = relative.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or_default();
        if path.is_dir() {
            if ["src", "wit"].contains(&top) {
                collect(root, &path, files);
            }
        } else if ["Cargo.toml", "README.md"].contains(&top) || ["src", "wit"].contains(&top) {
            files.push(relative);
        }
    }
}
