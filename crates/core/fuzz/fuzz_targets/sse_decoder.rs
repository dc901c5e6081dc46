//! Fuzzes `SseDecoder`: no input panics, and splitting the input in two never changes the
//! events or the error.
//!
//! The first byte picks where the stream is split, the second the event size limit (small limits
//! exercise `EventTooLarge`); the rest is the stream.
#![no_main]

use claude_kit_core::sse::{SseDecoder, SseError, SseEvent};
use libfuzzer_sys::fuzz_target;

fn decode(chunks: &[&[u8]], limit: usize) -> (Vec<SseEvent>, Result<(), SseError>) {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut events = Vec::new();
    let mut result = Ok(());
    for chunk in chunks {
        result = decoder.push(chunk);
        assert!(decoder.buffered_len() <= limit + 3);
        events.extend(std::iter::from_fn(|| decoder.next_event()));
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = decoder.finish();
    } else {
        assert_eq!(decoder.finish(), result, "the error is sticky");
    }
    events.extend(std::iter::from_fn(|| decoder.next_event()));
    (events, result)
}

fuzz_target!(|data: &[u8]| {
    let [split, limit, stream @ ..] = data else {
        return;
    };
    // 0..=254 bytes, or no practical limit.
    let limit = match *limit {
        255 => SseDecoder::DEFAULT_MAX_EVENT_SIZE,
        n => usize::from(n),
    };
    let at = usize::from(*split) * stream.len() / 255;
    let whole = decode(&[stream], limit);
    let (head, tail) = stream.split_at(at);
    assert_eq!(decode(&[head, tail], limit), whole, "split at {at}");
    // A few more cuts, including inside the head (a CR LF or a BOM may straddle any of them).
    let (a, b) = head.split_at(head.len() / 2);
    assert_eq!(
        decode(&[a, b, tail], limit),
        whole,
        "split at {} and {at}",
        a.len()
    );
});
