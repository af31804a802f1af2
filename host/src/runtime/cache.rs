//! Precompiled policy artifacts on disk, keyed by the module's sha256 and
//! the engine's compatibility hash, so a second load skips compilation.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// How a component was obtained, reported so users can see the cache work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheStatus {
    Compiled,
    LoadedFromCache,
}

pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    pub fn new(dir: PathBuf) -> Self {
        ArtifactCache { dir }
    }

    /// `$REWIND_CACHE_DIR`, else `$XDG_CACHE_HOME/rewind`, else
    /// `~/.cache/rewind`, else none (no caching).
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("REWIND_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("rewind"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("rewind"))
    }

    fn artifact_path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
    }

    /// The component for `bytes`, from the cache when a compatible artifact
    /// is there, else compiled and stored. A damaged or unwritable cache
    /// only costs a compilation; it never fails the load.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, CacheStatus)> {
        let path = self.artifact_path(engine, sha256);
        if path.is_file() {
            // SAFETY: the artifact was written by `precompile_component` of
            // an engine with the same compatibility hash (it is in the file
            // name), into a cache directory owned by the user running rewind;
            // wasmtime also checks the header before using it.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok((component, CacheStatus::LoadedFromCache));
            }
        }
        let artifact = engine.precompile_component(bytes)?;
        store_atomically(&path, &artifact);
        // SAFETY: `artifact` was produced by this engine just above.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        Ok((component, CacheStatus::Compiled))
    }
}

fn store_atomically(path: &Path, artifact: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&temporary, artifact).is_ok() && std::fs::rename(&temporary, path).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}
