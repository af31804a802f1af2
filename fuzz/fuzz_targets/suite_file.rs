//! Any text as a `rewind test` suite file: parsing must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = serde_yaml::from_str::<rewind::suite::SuiteFile>(text);
    let _ = serde_yaml::from_str::<rewind::suite::Expectations>(text);
});
