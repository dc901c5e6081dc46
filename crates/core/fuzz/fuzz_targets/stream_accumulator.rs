//! Fuzzes the whole streaming pipeline: bytes → `SseDecoder` → `StreamEvent::from_json` →
//! `MessageAccumulator`. No input may panic, snapshots never fail, and the final message (or
//! error) does not depend on where the bytes were split.
#![no_main]

use claude_agent_core::accumulate::MessageAccumulator;
use claude_agent_core::sse::SseDecoder;
use claude_agent_core::types::{Message, StreamEvent};
use libfuzzer_sys::fuzz_target;

/// The message, or a description of the first error.
fn run(chunks: &[&[u8]]) -> Result<Message, String> {
    let mut decoder = SseDecoder::with_max_event_size(4096);
    let mut accumulator = MessageAccumulator::new();
    let mut apply = |decoder: &mut SseDecoder| -> Result<(), String> {
        while let Some(sse) = decoder.next_event() {
            let event = StreamEvent::from_json(&sse.data).map_err(|e| e.to_string())?;
            accumulator.apply(&event).map_err(|e| e.to_string())?;
            let _ = accumulator.snapshot();
        }
        Ok(())
    };
    for chunk in chunks {
        decoder.push(chunk).map_err(|e| e.to_string())?;
        apply(&mut decoder)?;
    }
    decoder.finish().map_err(|e| e.to_string())?;
    apply(&mut decoder)?;
    accumulator.into_message().map_err(|e| e.to_string())
}

fuzz_target!(|data: &[u8]| {
    let [split, stream @ ..] = data else {
        return;
    };
    let at = usize::from(*split) * stream.len() / 255;
    let (head, tail) = stream.split_at(at);
    assert_eq!(run(&[head, tail]), run(&[stream]), "split at {at}");
});
