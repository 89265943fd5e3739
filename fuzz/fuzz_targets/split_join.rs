//! The stream splitter: joining the chunks of any input back untouched gives the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultwire::stream::{join, split, Emit};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let s = split(input);
    let parts: Vec<Emit<'_>> = s.chunks.iter().copied().map(Emit::Original).collect();
    assert_eq!(join(s.bom, &parts), input);
    for chunk in &s.chunks {
        // The cheap text checks must not panic on any document either.
        let _ = (chunk.source(), chunk.top_level_kind(), chunk.is_blank());
        let _ = chunk.leading_comments();
    }
});
