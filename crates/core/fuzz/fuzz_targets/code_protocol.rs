//! Fuzzes the pure half of the Claude Code protocol: stdout lines from a hostile CLI through
//! `ControlChannel` (ids, routing, answers, cancels, fail-all at close) and `Frame::from_value`.
//! No input panics; only our own pending requests are ever answered, each at most once; every
//! CLI request is answered at most once; after `close` nothing is pending or owed.
//!
//! The first byte says how many requests of ours are pending before the stream (0..=7); the
//! rest is the CLI's stdout.
#![no_main]

use std::collections::HashSet;

use claude_kit_core::code::control::{ControlChannel, Inbound};
use claude_kit_core::code::frames::Frame;
use claude_kit_core::jsonl::LineDecoder;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let [ours, stream @ ..] = data else {
        return;
    };
    let mut channel = ControlChannel::new(0x1234_abcd);
    let mine: Vec<String> = (0..ours % 8)
        .map(|_| channel.request(json!({"subtype": "interrupt"})).0)
        .collect();
    let mut answered = HashSet::new();
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
                assert!(mine.contains(&id), "only our requests are answered");
                assert!(answered.insert(id), "each at most once");
                assert_eq!(channel.pending(), before - 1);
            }
            Inbound::Request { id, .. } => {
                assert!(channel.answer(&id, Ok(json!({}))).is_some());
                assert!(channel.answer(&id, Err("again".into())).is_none());
            }
            Inbound::Message(value) => {
                if let Ok(frame) = Frame::from_value(value) {
                    let _ = frame.session_id().map(str::len);
                }
            }
            _ => assert_eq!(channel.pending(), before),
        }
    }
    let failed = channel.close();
    assert_eq!(failed.len() + answered.len(), mine.len());
    assert_eq!((channel.pending(), channel.owed()), (0, 0));
    assert!(channel.answer("anything", Ok(Value::Null)).is_none());
});
