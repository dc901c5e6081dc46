//! Every recorded transcript in `tests/fixtures/sse` decodes to JSON events, and the CRLF
//! variants decode exactly like their LF originals.

use std::path::{Path, PathBuf};

use claude_agent_core::sse::{SseDecoder, SseEvent};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/sse");

fn fixture_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "expected the recorded transcripts in {FIXTURES}"
    );
    paths
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
        if bytes.ends_with(b"\n\n") || bytes.ends_with(b"\r\n\r\n") {
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
fn trailing_spaces_after_json_are_kept() {
    // sdk_long_text_markdown.sse pads its data lines with spaces after the JSON.
    let events = decode_file("sdk_long_text_markdown.sse");
    assert!(events.iter().any(|e| e.data.ends_with("} ")));
}
