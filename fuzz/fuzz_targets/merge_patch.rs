//! JSON merge patch on arbitrary documents: never panics, and applying a
//! patch twice changes nothing more than applying it once (RFC 7386 patches
//! are idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind::actions::apply_merge_patch;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (document, patch) = text.split_once('\u{0}').unwrap_or((&text, "{}"));
    let (Ok(mut once), Ok(patch)) = (serde_json::from_str::<Value>(document), serde_json::from_str::<Value>(patch)) else {
        return;
    };
    apply_merge_patch(&mut once, &patch);
    let mut twice = once.clone();
    apply_merge_patch(&mut twice, &patch);
    assert_eq!(once, twice);
});
