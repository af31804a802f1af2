//! Opening a policy module named by a path, which a RolloutPolicy's author
//! chooses: only a regular file is ever read.
//!
//! A FIFO or a pipe (`/dev/stderr` under a container runtime) would block a
//! read, or an open, until someone writes; a device may never end or may act
//! on being opened. So the path is looked at first (a device is never opened),
//! then opened with `O_NONBLOCK` (a FIFO swapped in meanwhile cannot hold the
//! open), and the opened handle is what is judged before a byte is read.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The regular file at `path` (through symlinks), opened for reading, and
/// its metadata as of the open. Anything else is an error saying what it is;
/// that detail is for the operator's log, not for a tenant (who could map the
/// controller's file system with it).
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    refuse_unless_regular(&std::fs::metadata(path)?)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        // A FIFO opens at once instead of waiting for a writer; a terminal
        // does not become the controlling one. The flag stays for the read:
        // a regular file's read ignores it, and one regular only in name
        // (`/proc/kmsg`) answers EAGAIN instead of waiting.
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let metadata = file.metadata()?;
    refuse_unless_regular(&metadata)?;
    Ok((file, metadata))
}

fn refuse_unless_regular(metadata: &Metadata) -> io::Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    let kind = metadata.file_type();
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{what}, not a regular file")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn mkfifo(path: &Path) {
        let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `name` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "{}", io::Error::last_os_error());
    }

    /// The refusal, which must come at once (a blocking open or read would
    /// hang the test rather than fail it, so the time is checked too).
    fn refusal(path: &Path) -> String {
        let started = Instant::now();
        let error = open_regular(path).expect_err("refused");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        error.to_string()
    }

    #[test]
    fn only_regular_files_are_opened_and_nothing_else_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let link = dir.path().join("link.wasm");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert_eq!(refusal(&fifo), "a FIFO, not a regular file");
        assert_eq!(refusal(&link), "a FIFO, not a regular file", "a symlink is judged by what it names");
        assert_eq!(refusal(Path::new("/dev/null")), "a character device, not a regular file");
        assert_eq!(refusal(dir.path()), "a directory, not a regular file");
        let regular = dir.path().join("policy.wasm");
        std::fs::write(&regular, b"\0asm").unwrap();
        let (_, metadata) = open_regular(&regular).unwrap();
        assert_eq!(metadata.len(), 4);
    }
}
