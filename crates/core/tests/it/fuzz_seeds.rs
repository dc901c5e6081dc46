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

/// The `code_protocol` target's invariants on one input: only our pending requests are
/// answered, each at most once; each CLI request is answered at most once; nothing is pending
/// or owed after `close`. Returns (answered, failed at close, CLI requests, frames typed).
fn code_protocol(data: &[u8]) -> (usize, usize, usize, usize) {
    use claude_kit_core::code::control::{ControlChannel, Inbound};
    use claude_kit_core::code::frames::Frame;
    use serde_json::{Value, json};

    let [ours, stream @ ..] = data else {
        return (0, 0, 0, 0);
    };
    let mut channel = ControlChannel::new(0x1234_abcd);
    let mine: Vec<String> = (0..ours % 8)
        .map(|_| channel.request(json!({"subtype": "interrupt"})).0)
        .collect();
    let mut answered = std::collections::HashSet::new();
    let (mut requests, mut frames) = (0, 0);
    let mut lines = LineDecoder::new(1 << 16);
    let _ = lines.push(stream);
    let mut all = Vec::new();
    while let Some(Ok(line)) = lines.next_line() {
        all.push(line);
    }
    if let Some(Ok(line)) = lines.finish() {
        all.push(line);
    }
    for line in all {
        let Ok(value) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        let before = channel.pending();
        match channel.receive(value) {
            Inbound::Response { id, .. } => {
                assert!(mine.contains(&id));
                assert!(answered.insert(id));
                assert_eq!(channel.pending(), before - 1);
            }
            Inbound::Request { id, .. } => {
                requests += 1;
                assert!(channel.answer(&id, Ok(json!({}))).is_some());
                assert!(channel.answer(&id, Err("again".into())).is_none());
            }
            Inbound::Message(value) => {
                if let Ok(frame) = Frame::from_value(value) {
                    frames += 1;
                    let _ = frame.session_id().map(str::len);
                }
            }
            _ => assert_eq!(channel.pending(), before),
        }
    }
    let failed = channel.close();
    assert_eq!(failed.len() + answered.len(), mine.len());
    assert_eq!((channel.pending(), channel.owed()), (0, 0));
    (answered.len(), failed.len(), requests, frames)
}

#[test]
fn code_protocol_seeds() {
    for (name, data) in seeds("code_protocol") {
        let (answered, failed, requests, frames) = code_protocol(&data);
        match name.as_str() {
            "answers_in_order" => assert_eq!((answered, failed), (3, 0)),
            "answers_reversed_and_duplicated" => assert_eq!((answered, failed), (3, 0)),
            "stray_and_foreign_ids" => assert_eq!((answered, failed), (0, 2)),
            "cli_requests_and_cancel" => assert_eq!(requests, 2),
            "frames_of_every_type" => assert_eq!(frames, 6),
            "not_json_and_debug_lines" => assert_eq!((answered, failed), (1, 1)),
            "crlf_and_no_final_newline" => assert_eq!((answered, frames), (1, 1)),
            _ => {}
        }
    }
}
