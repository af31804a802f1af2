//! Reading the snapshot. The typed lookups (`snapshot.current_release()`,
//! `pods_under`, `lookup` ...) live with the snapshot types; this adds the
//! reads that go through the host and text helpers.

use crate::Snapshot;
use crate::raw::RawObject;
use serde_json::Value;

pub use rewind_snapshot::{condition, condition_is, lookup};

/// The full JSON of a tree object, fetched from the host on demand.
pub fn raw_object(index: u32) -> Option<Value> {
    let text = crate::host::get_object(index)?;
    serde_json::from_str(&text).ok()
}

/// The target's full JSON (index 0 of the tree).
pub fn target_raw(snapshot: &Snapshot) -> Result<RawObject, String> {
    raw_object(0).map(RawObject::new).ok_or_else(|| {
        format!("the host did not provide the JSON of {}/{}", snapshot.target.kind, snapshot.target.name)
    })
}

/// At most `max_chars` characters of `text`, marked when cut: for quoting
/// untrusted input (an annotation value, say) in reasons and events.
pub fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

/// Reads a value by JSON pointer (`/status/activeStrategy`) as a string.
pub fn pointer_str<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer)?.as_str()
}
