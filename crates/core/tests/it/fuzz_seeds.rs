//! Every seed input of the fuzz targets (`fuzz/seeds/<target>/`, hostile cases included: block
//! indices up to `u64::MAX`, events after `message_stop`, long ids, deep nesting, invalid UTF-8)
//! run on stable, with the targets' invariants: no panic, bounded buffers, and output that does
//! not depend on how the input is split.

use std::path::Path;

use claude_kit_core::jsonl::LineDecoder;
use claude_kit_core::redact::Secrets;
use claude_kit_core::sse::SseDecoder;
use claude_kit_core::stream::MessageStreamDecoder;
use claude_kit_core::types::Message;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "{target}: {} seeds", seeds.len());
    seeds
}

/// Splits `stream` at `at` (scaled from 0..=255) and at the middle of the head.
fn splits(stream: &[u8], at: u8) -> Vec<Vec<&[u8]>> {
    let at = usize::from(at) * stream.len() / 255;
    let (head, tail) = stream.split_at(at);
    let (a, b) = head.split_at(head.len() / 2);
    vec![vec![head, tail], vec![a, b, tail]]
}

/// The shipped stream pipeline, as the `stream_accumulator` target drives it: every event (as
/// text) and the message, or the first error.
fn pipeline(chunks: &[&[u8]]) -> (Vec<String>, Result<Message, String>) {
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

#[test]
fn stream_accumulator_seeds() {
    for (name, data) in seeds("stream_accumulator") {
        let [split, stream @ ..] = data.as_slice() else {
            continue;
        };
        let whole = pipeline(&[stream]);
        for chunks in splits(stream, *split) {
            assert_eq!(pipeline(&chunks), whole, "{name}");
        }
        let (_, outcome) = &whole;
        if name.starts_with("index_") || name.contains("never_started") {
            assert!(outcome.is_err(), "{name}: {outcome:?}");
        }
        if name.contains("after_stop") || name.starts_with("pings_then") {
            assert_eq!(outcome.as_ref().unwrap().text(), "Hi", "{name}");
        }
    }
}

fn sse(chunks: &[&[u8]], limit: usize) -> (Vec<String>, bool) {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut events = Vec::new();
    let mut failed = false;
    for chunk in chunks {
        failed = decoder.push(chunk).is_err();
        assert!(decoder.buffered_len() <= limit + 3);
        events.extend(std::iter::from_fn(|| decoder.next_event()).map(|e| format!("{e:?}")));
        if failed {
            break;
        }
    }
    if !failed {
        failed = decoder.finish().is_err();
        events.extend(std::iter::from_fn(|| decoder.next_event()).map(|e| format!("{e:?}")));
    }
    (events, failed)
}

#[test]
fn sse_decoder_seeds() {
    for (name, data) in seeds("sse_decoder") {
        let [split, limit, stream @ ..] = data.as_slice() else {
            continue;
        };
        let limit = match *limit {
            255 => SseDecoder::DEFAULT_MAX_EVENT_SIZE,
            n => usize::from(n),
        };
        let whole = sse(&[stream], limit);
        for chunks in splits(stream, *split) {
            assert_eq!(sse(&chunks, limit), whole, "{name}");
        }
    }
}

fn lines(chunks: &[&[u8]], limit: usize) -> (Vec<Vec<u8>>, bool) {
    let mut decoder = LineDecoder::new(limit);
    let mut lines = Vec::new();
    for chunk in chunks {
        if decoder.push(chunk).is_err() {
            return (lines, true);
        }
        while let Some(line) = decoder.next_line() {
            match line {
                Ok(line) => lines.push(line.to_vec()),
                Err(_) => return (lines, true),
            }
        }
        assert!(decoder.buffered_len() <= limit);
    }
    while let Some(line) = decoder.finish() {
        match line {
            Ok(line) => lines.push(line.to_vec()),
            Err(_) => return (lines, true),
        }
    }
    (lines, false)
}

#[test]
fn line_decoder_seeds() {
    for (name, data) in seeds("line_decoder") {
        let [split, limit, stream @ ..] = data.as_slice() else {
            continue;
        };
        let limit = match *limit {
            255 => 1 << 20,
            n => usize::from(n),
        };
        let whole = lines(&[stream], limit);
        let per_byte: Vec<&[u8]> = stream.chunks(1).collect();
        for chunks in splits(stream, *split).into_iter().chain([per_byte]) {
            let split = lines(&chunks, limit);
            assert_eq!(split.1, whole.1, "{name}");
            if !whole.1 {
                assert_eq!(split.0, whole.0, "{name}");
            }
        }
    }
}
