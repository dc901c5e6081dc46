//! Fuzzes the shipped stream pipeline, `MessageStreamDecoder` (SSE → the event rules →
//! `MessageAccumulator`): no input may panic, snapshots never fail, and the events and the final
//! message (or error) do not depend on where the bytes were split.
#![no_main]

use claude_kit_core::redact::Secrets;
use claude_kit_core::stream::MessageStreamDecoder;
use claude_kit_core::types::Message;
use libfuzzer_sys::fuzz_target;

/// Every event (as text) and the message, or the first error.
fn run(chunks: &[&[u8]]) -> (Vec<String>, Result<Message, String>) {
    let mut decoder = MessageStreamDecoder::with_limits(4096, Secrets::none());
    let mut events = Vec::new();
    let mut error = None;
    let mut take = |decoder: &mut MessageStreamDecoder| {
        while let Some(event) = decoder.next_event() {
            match event {
                Ok(event) => events.push(format!("{event:?}")),
                Err(e) => error = Some(e.to_string()),
            }
            let _ = decoder.snapshot();
        }
    };
    for chunk in chunks {
        decoder.push(chunk);
        take(&mut decoder);
    }
    decoder.finish();
    take(&mut decoder);
    let outcome = match error {
        Some(error) => Err(error),
        None => decoder.into_message().map_err(|e| e.to_string()),
    };
    (events, outcome)
}

fuzz_target!(|data: &[u8]| {
    let [split, stream @ ..] = data else {
        return;
    };
    let at = usize::from(*split) * stream.len() / 255;
    let (head, tail) = stream.split_at(at);
    assert_eq!(run(&[head, tail]), run(&[stream]), "split at {at}");
});
