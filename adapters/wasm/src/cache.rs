//! Precompiled policy artifacts on disk, keyed by the module's sha256 and
//! the engine's compatibility hash, so a second load skips compilation.
//!
//! An artifact is native code that is run as rewind, so it is trusted only
//! after two checks: the directory is the user's own (not a symlink, owned
//! by the user running rewind, writable by no one else), and each artifact
//! carries an HMAC-SHA256 over the engine, the module's digest and its
//! bytes, under a key kept outside the cache directory. Whoever can write
//! the cache but not the key cannot plant or swap an artifact: it is
//! refused and the module compiled again.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
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

const MAC_BYTES: usize = 32;

pub struct ArtifactCache {
    dir: PathBuf,
    key: [u8; 32],
}

/// Bytes from the kernel's random source, by system call: a minimal root
/// file system (the image, run in a chroot) may have no `/dev/urandom`.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let mut filled = 0;
    while filled < N {
        // SAFETY: the pointer and length describe the unfilled part of `bytes`.
        let got = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), N - filled, 0) };
        match got {
            n if n > 0 => filled += n as usize,
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => panic!("getrandom failed: {}", std::io::Error::last_os_error()),
        }
    }
    bytes
}

impl ArtifactCache {
    /// Artifacts in `dir`, authenticated with the key of
    /// [`ArtifactCache::default_key_file`] (created on first use), or with
    /// a key of this process alone when no key file can be kept there.
    pub fn new(dir: PathBuf) -> Self {
        let key = Self::default_key_file()
            .filter(|file| !file.starts_with(&dir))
            .and_then(|file| read_or_create_key(&file).ok())
            .unwrap_or_else(random_bytes);
        ArtifactCache { dir, key }
    }

    /// Artifacts in `dir` under `key`, e.g. one an operator mounts from a
    /// Secret so that replicas share what they compiled.
    pub fn with_key(dir: PathBuf, key: [u8; 32]) -> Self {
        ArtifactCache { dir, key }
    }

    /// `$REWIND_CACHE_KEY_FILE`, else `$XDG_CONFIG_HOME/rewind/cache.key`,
    /// else `~/.config/rewind/cache.key`: outside the cache directory.
    pub fn default_key_file() -> Option<PathBuf> {
        if let Some(file) = std::env::var_os("REWIND_CACHE_KEY_FILE") {
            return Some(PathBuf::from(file));
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
        Some(config.join("rewind").join("cache.key"))
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

    /// Creates the directory owner-only if missing; refuses one that is a
    /// symlink, owned by someone else or writable by others.
    pub fn check_dir(&self) -> Result<(), String> {
        trusted_dir(&self.dir)
    }

    fn artifact_path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{:016x}.cwasm", engine_hash(engine)))
    }

    fn mac(&self, engine: &Engine, sha256: &str, artifact: &[u8]) -> [u8; MAC_BYTES] {
        let header = format!("rewind artifact\0{:016x}\0{sha256}\0", engine_hash(engine));
        hmac_sha256(&self.key, &[header.as_bytes(), artifact])
    }

    /// The component for `bytes`, from the cache when an authentic artifact
    /// of this engine is there, else compiled and stored. A damaged, forged
    /// or unwritable cache entry only costs a compilation.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
        precompile: &dyn Fn(&[u8]) -> wasmtime::Result<Vec<u8>>,
    ) -> wasmtime::Result<(Component, CacheStatus)> {
        let path = self.artifact_path(engine, sha256);
        if let Some(artifact) = self.authentic(engine, sha256, &path) {
            // SAFETY: the artifact carries this process's cache key's MAC
            // over this engine's hash and this module's digest, so this
            // engine's `precompile_component` wrote it for these bytes.
            if let Ok(component) = unsafe { Component::deserialize(engine, &artifact) } {
                return Ok((component, CacheStatus::LoadedFromCache));
            }
        }
        let artifact = precompile(bytes)?;
        // SAFETY: `artifact` was produced just above by this engine or by
        // the compile worker, this executable with this engine's
        // configuration (and `deserialize` checks the engine's header).
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        let mac = self.mac(engine, sha256, &artifact);
        store_atomically(&path, &[&artifact, &mac]);
        Ok((component, CacheStatus::Compiled))
    }

    /// The artifact at `path` without its MAC, if the MAC is right.
    fn authentic(&self, engine: &Engine, sha256: &str, path: &Path) -> Option<Vec<u8>> {
        let metadata = std::fs::symlink_metadata(path).ok()?;
        if !metadata.is_file() || metadata.uid() != current_uid() {
            return None;
        }
        let mut stored = std::fs::read(path).ok()?;
        let split = stored.len().checked_sub(MAC_BYTES)?;
        let mac = stored.split_off(split);
        let expected = self.mac(engine, sha256, &stored);
        // Compared in constant time: the MAC is a secret's function.
        let same = mac.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        same.then_some(stored)
    }
}

fn engine_hash(engine: &Engine) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn trusted_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create the cache directory {shown}: {e}"))?;
    }
    let metadata =
        std::fs::symlink_metadata(dir).map_err(|e| format!("cannot read the cache directory {shown}: {e}"))?;
    if metadata.file_type().is_symlink() {
        return Err(format!("the cache directory {shown} is a symlink; give its target with --cache-dir"));
    }
    if !metadata.is_dir() {
        return Err(format!("the cache directory {shown} is not a directory"));
    }
    if metadata.uid() != current_uid() {
        return Err(format!(
            "the cache directory {shown} is owned by uid {}, not by this user ({}): its artifacts run as native code",
            metadata.uid(),
            current_uid()
        ));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(format!(
            "the cache directory {shown} is writable by others (mode {:o}): chmod go-w it, or choose another with --cache-dir",
            metadata.mode() & 0o777
        ));
    }
    Ok(())
}

/// The key in `file`, or a new one written there owner-only.
fn read_or_create_key(file: &Path) -> std::io::Result<[u8; 32]> {
    if let Ok(text) = std::fs::read(file) {
        let mut key = [0u8; 32];
        if text.len() < 32 {
            return Err(std::io::Error::other("a cache key file needs at least 32 bytes"));
        }
        key.copy_from_slice(&hmac_sha256(b"rewind cache key", &[&text])[..32]);
        return Ok(key);
    }
    if let Some(parent) = file.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
    }
    let key: [u8; 32] = random_bytes();
    let mut created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(file)?;
    created.write_all(hex::encode(key).as_bytes())?;
    read_or_create_key(file)
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    parts.iter().for_each(|part| inner.update(part));
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Best effort: a cache entry that cannot be written costs a compilation.
fn store_atomically(path: &Path, parts: &[&[u8]]) {
    let Some(dir) = path.parent() else { return };
    if trusted_dir(dir).is_ok() {
        let _ = write_atomically(path, parts);
    }
}

/// Writes `parts` to a new file of a random name beside `path` (created
/// exclusively, owner-only, never through a symlink), then renames it into
/// place; nothing is left behind on failure.
pub fn write_atomically(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("tmp-{}", hex::encode(random_bytes::<8>())));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&temporary)
        .and_then(|mut file| parts.iter().try_for_each(|part| file.write_all(part)))
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The lowercase hex sha256 of `bytes`: how modules are named by digest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = super::hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
