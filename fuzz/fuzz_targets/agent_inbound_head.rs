//! The head of an inbound push call, as anyone on the network can send it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = herald_core::push::inbound::parse_head(data);
});
