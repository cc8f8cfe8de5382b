//! Times as an administrator types them: never a panic, and every time
//! accepted lies in the API's range.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = std::str::from_utf8(data) else {
        return;
    };
    for now in [
        chrono::Utc::now(),
        chrono::DateTime::from_timestamp_millis(herald_protocol::LATEST_MS).unwrap_or_default(),
    ] {
        if let Ok(t) = herald_server::domain::messages::timespec::parse(spec, now) {
            assert!(herald_protocol::time_in_range(t), "{spec} gave {t}");
        }
    }
});
