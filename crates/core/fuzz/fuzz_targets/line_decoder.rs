//! Fuzzes `LineDecoder` (the JSON-lines splitter): no input panics, the bytes held never exceed
//! the limit plus what the caller has not taken, and splitting the input never changes the
//! lines or the error.
//!
//! The first byte picks where the stream is split, the second the line limit (255: 1 MiB); the
//! rest is the stream.
#![no_main]

use claude_kit_core::jsonl::{LineDecoder, LineTooLong};
use libfuzzer_sys::fuzz_target;

fn decode(chunks: &[&[u8]], limit: usize) -> (Vec<Vec<u8>>, Option<LineTooLong>) {
    let mut decoder = LineDecoder::new(limit);
    let mut lines = Vec::new();
    for chunk in chunks {
        if let Err(error) = decoder.push(chunk) {
            return (lines, Some(error));
        }
        while let Some(line) = decoder.next_line() {
            match line {
                Ok(line) => lines.push(line.to_vec()),
                Err(error) => return (lines, Some(error)),
            }
        }
        assert!(decoder.buffered_len() <= limit, "only the unfinished line is held");
    }
    while let Some(line) = decoder.finish() {
        match line {
            Ok(line) => lines.push(line.to_vec()),
            Err(error) => return (lines, Some(error)),
        }
    }
    (lines, None)
}

fuzz_target!(|data: &[u8]| {
    let [split, limit, stream @ ..] = data else {
        return;
    };
    let limit = match *limit {
        255 => 1 << 20,
        n => usize::from(n),
    };
    let at = usize::from(*split) * stream.len() / 255;
    let whole = decode(&[stream], limit);
    let (head, tail) = stream.split_at(at);
    let split = decode(&[head, tail], limit);
    // An over-long line may be noticed in a different place, but it is always noticed, and
    // every line before it is the same.
    assert_eq!(split.1.is_some(), whole.1.is_some(), "split at {at}");
    if whole.1.is_none() {
        assert_eq!(split.0, whole.0, "split at {at}");
    }
    let bytes: Vec<u8> = stream.iter().copied().collect();
    let per_byte: Vec<&[u8]> = bytes.chunks(1).collect();
    let one_by_one = decode(&per_byte, limit);
    assert_eq!(one_by_one.1.is_some(), whole.1.is_some());
    if whole.1.is_none() {
        assert_eq!(one_by_one.0, whole.0);
    }
});
