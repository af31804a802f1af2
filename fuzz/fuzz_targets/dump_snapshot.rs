//! Any text as a cluster dump: loading it and building the snapshot of
//! every object in it must never panic, whatever the ownerReferences,
//! cycles, missing fields or huge numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind::objects::ObjectSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut set = ObjectSet::new();
    if rewind::dump::add_text(&mut set, text, "fuzz").is_err() {
        return;
    }
    let ids: Vec<usize> = set.iter().map(|(id, _)| id).collect();
    for id in ids {
        let _ = rewind::snapshot::build(&set, id, 1_730_903_640, "{}");
    }
});
