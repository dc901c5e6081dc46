//! Throughput of the streaming pipeline on a large, realistic Messages API transcript: the
//! [`SseDecoder`] alone; decode + event parsing + [`MessageAccumulator`] assembled by hand (the
//! floor: the same work without the protocol rules); and the shipped [`MessageStreamDecoder`]
//! (what a `MessageStream` does with every byte), side by side.
//!
//! Run: `cargo bench -p claude-kit-core --bench sse -- --warm-up-time 1 --measurement-time 3`
//!
//! The transcript is `tests/fixtures/sse/sdk_long_text_markdown.sse` with its
//! `content_block_delta` events repeated until it is about 8 MiB (tens of thousands of
//! events), as a long streamed answer looks on the wire. It is decoded fed in 16 KiB chunks (what
//! an HTTP body usually delivers) and in one push; each event is taken out and dropped, so the
//! figure includes the per-event allocations a real consumer pays for.

use std::hint::black_box;

use claude_kit_core::accumulate::MessageAccumulator;
use claude_kit_core::sse::SseDecoder;
use claude_kit_core::stream::MessageStreamDecoder;
use claude_kit_core::types::StreamEvent;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/sse/sdk_long_text_markdown.sse"
);
const TARGET_SIZE: usize = 8 * 1024 * 1024;
const CHUNK: usize = 16 * 1024;

/// The fixture with its delta events repeated up to [`TARGET_SIZE`] bytes.
fn transcript() -> Vec<u8> {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let blocks: Vec<&str> = text.split_inclusive("\n\n").collect();
    let is_delta = |b: &&str| b.starts_with("event: content_block_delta");
    let first = blocks.iter().position(is_delta).expect("a delta");
    let last = blocks.iter().rposition(is_delta).expect("a delta");
    let deltas: Vec<&str> = blocks[first..=last]
        .iter()
        .copied()
        .filter(is_delta)
        .collect();
    let head = blocks[..first].concat();
    let tail = blocks[last + 1..].concat();
    let mut out = head.into_bytes();
    'fill: loop {
        for d in &deltas {
            out.extend_from_slice(d.as_bytes());
            if out.len() >= TARGET_SIZE {
                break 'fill;
            }
        }
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

/// Decodes `input` in chunks of `chunk` bytes, returning the number of events.
fn decode(input: &[u8], chunk: usize) -> usize {
    let mut decoder = SseDecoder::new();
    let mut events = 0;
    for part in input.chunks(chunk) {
        decoder.push(part).expect("decodes");
        while let Some(event) = decoder.next_event() {
            black_box(&event);
            events += 1;
        }
    }
    decoder.finish().expect("decodes");
    while let Some(event) = decoder.next_event() {
        black_box(&event);
        events += 1;
    }
    events
}

/// Decodes, parses and accumulates `input` fed in chunks of `chunk` bytes, returning the
/// length of the final message's text.
fn accumulate(input: &[u8], chunk: usize) -> usize {
    let mut decoder = SseDecoder::new();
    let mut accumulator = MessageAccumulator::new();
    let mut apply = |decoder: &mut SseDecoder| {
        while let Some(sse) = decoder.next_event() {
            if sse.event.is_some() && !sse.data.is_empty() {
                let event = StreamEvent::from_json(&sse.data).expect("valid event");
                accumulator.apply(&event).expect("in order");
            }
        }
    };
    for part in input.chunks(chunk) {
        decoder.push(part).expect("decodes");
        apply(&mut decoder);
    }
    decoder.finish().expect("decodes");
    apply(&mut decoder);
    accumulator.into_message().expect("a message").text().len()
}

/// The same through the shipped [`MessageStreamDecoder`].
fn stream_decoder(input: &[u8], chunk: usize) -> usize {
    let mut decoder = MessageStreamDecoder::new();
    for part in input.chunks(chunk) {
        decoder.push(part);
        while let Some(event) = decoder.next_event() {
            black_box(event.expect("valid event"));
        }
    }
    decoder.finish();
    while let Some(event) = decoder.next_event() {
        black_box(event.expect("valid event"));
    }
    decoder.into_message().expect("a message").text().len()
}

fn bench(c: &mut Criterion) {
    let input = transcript();
    let events = decode(&input, input.len());
    assert_eq!(events, decode(&input, CHUNK));
    eprintln!(
        "transcript: {} bytes, {events} events ({} bytes/event)",
        input.len(),
        input.len() / events
    );
    let mut group = c.benchmark_group("sse_decode");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(20);
    group.bench_function("chunks_16k", |b| {
        b.iter(|| decode(black_box(&input), CHUNK))
    });
    group.bench_function("one_push", |b| {
        b.iter(|| decode(black_box(&input), input.len()))
    });
    group.finish();

    let mut group = c.benchmark_group("sse_decode_parse_accumulate");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(20);
    group.bench_function("chunks_16k", |b| {
        b.iter(|| accumulate(black_box(&input), CHUNK))
    });
    assert_eq!(accumulate(&input, CHUNK), stream_decoder(&input, CHUNK));
    group.bench_function("message_stream_decoder_chunks_16k", |b| {
        b.iter(|| stream_decoder(black_box(&input), CHUNK))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
