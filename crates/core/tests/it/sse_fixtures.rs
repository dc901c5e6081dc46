//! Every recorded transcript in `tests/fixtures/sse` decodes to JSON events, and the CRLF
//! variants decode exactly like their LF originals.
//!
//! The recorded transcripts are the `sdk_*` files (from the official SDKs' test fixtures) and
//! the `derived_*` files (CRLF versions of two of them): every event there is one JSON document
//! named after its `type`. Other fixtures in the directory (hand-written ones for faults: an
//! `error` event that is not JSON, `retry`/`id` fields, empty `ping` data, …) are only required
//! to decode, to at least one event, without error.

use std::path::{Path, PathBuf};

use claude_kit_core::sse::{SseDecoder, SseEvent};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/sse");

fn fixture_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
        .collect();
    paths.sort();
    assert!(
        paths.iter().filter(|p| is_recorded(p)).count() >= 10,
        "expected the recorded transcripts in {FIXTURES}"
    );
    paths
}

/// A transcript recorded from the API (or derived from one byte for byte).
fn is_recorded(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.starts_with("sdk_") || name.starts_with("derived_")
}

fn decode(bytes: &[u8]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    decoder.push(bytes).expect("decodes");
    decoder.finish().expect("decodes");
    std::iter::from_fn(|| decoder.next_event()).collect()
}

fn decode_file(name: &str) -> Vec<SseEvent> {
    decode(&std::fs::read(Path::new(FIXTURES).join(name)).expect("fixture"))
}

#[test]
fn every_fixture_decodes_to_json_events() {
    for path in fixture_paths() {
        let name = path.display();
        let events = decode(&std::fs::read(&path).expect("fixture"));
        assert!(!events.is_empty(), "{name}: no events");
        if !is_recorded(&path) {
            continue;
        }
        for (i, event) in events.iter().enumerate() {
            let json: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_else(|e| {
                panic!("{name}: event {i} is not JSON ({e}): {:?}", event.data)
            });
            // The API names each event after its JSON `type`.
            let ty = json["type"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: event {i} has no type"));
            assert_eq!(event.event.as_deref(), Some(ty), "{name}: event {i}");
            assert_eq!(event.id, None, "{name}: event {i}");
            assert_eq!(event.retry, None, "{name}: event {i}");
        }
        assert_eq!(events[0].event.as_deref(), Some("message_start"), "{name}");
    }
}

#[test]
fn final_event_without_blank_line_is_kept() {
    // These transcripts end right after the last `data:` line.
    for path in fixture_paths() {
        let bytes = std::fs::read(&path).expect("fixture");
        // Drop the last line end (CRLF, LF or CR); another one before it is a blank line.
        let last_line = [&b"\r\n"[..], b"\n", b"\r"]
            .iter()
            .find_map(|end| bytes.strip_suffix(*end))
            .unwrap_or(&bytes);
        if last_line.ends_with(b"\n") || last_line.ends_with(b"\r") {
            continue;
        }
        let mut decoder = SseDecoder::new();
        decoder.push(&bytes).expect("decodes");
        let before = std::iter::from_fn(|| decoder.next_event()).count();
        decoder.finish().expect("decodes");
        let last = decoder.next_event();
        assert!(
            last.is_some(),
            "{}: finish dispatched nothing",
            path.display()
        );
        assert_eq!(before + 1, decode(&bytes).len());
    }
}

#[test]
fn crlf_fixtures_match_their_lf_originals() {
    for (crlf, lf) in [
        ("derived_tool_use_crlf.sse", "sdk_tool_use.sse"),
        (
            "derived_thinking_refusal_crlf.chunk1.sse",
            "sdk_thinking_signature_refusal.sse",
        ),
    ] {
        let crlf_events = decode_file(crlf);
        assert!(!crlf_events.is_empty());
        assert_eq!(crlf_events, decode_file(lf), "{crlf} vs {lf}");
    }
}

#[test]
fn data_is_byte_exact_including_padding() {
    // The transcripts pad some JSON with spaces (`"..."}   }`): the data must keep every byte
    // after `data: `. Each event here has exactly one data line, so the data lines of the file,
    // in order, are the events' data.
    for path in fixture_paths().into_iter().filter(|p| is_recorded(p)) {
        let text = String::from_utf8(std::fs::read(&path).expect("fixture")).expect("UTF-8");
        let lines: Vec<&str> = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter_map(|line| line.strip_prefix("data: "))
            .collect();
        let events = decode(text.as_bytes());
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, lines, "{}", path.display());
    }
    let events = decode_file("sdk_long_text_markdown.sse");
    assert!(events.iter().any(|e| e.data.ends_with("   }")));
}
