//! The push stream as the network delivers it, in chunks of any size.
#![no_main]

use herald_core::push::stream::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut parser = SseParser::default();
    for piece in rest.chunks(chunk) {
        if parser.feed(piece).is_err() {
            return;
        }
    }
});
