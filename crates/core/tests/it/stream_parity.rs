//! Official-SDK parity of the stream protocol, with no sockets: every transcript in
//! `tests/fixtures/sse` fed to the shipped [`MessageStreamDecoder`] in several splits (whole, per
//! byte, fixed and pseudo-random sizes) gives exactly what the official Python SDK gave for the
//! same bytes: the final message (nulls dropped), the text of every `text_delta`, or the error
//! type. (`tests/streaming.rs` in the facade checks the same end to end, through the mock server
//! on every runtime.)

use std::path::{Path, PathBuf};

use claude_kit_core::Error;
use claude_kit_core::stream::MessageStreamDecoder;
use claude_kit_core::types::{ContentDelta, Message, StreamEvent};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/sse");

fn transcripts() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "{} transcripts", paths.len());
    paths
}

fn sibling(path: &Path, extension: &str) -> PathBuf {
    path.with_extension(extension)
}

fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// Feeds `chunks` as a client would: every event taken after every chunk.
fn run(chunks: &[&[u8]]) -> (String, Result<Message, Error>) {
    let mut decoder = MessageStreamDecoder::new();
    let mut text = String::new();
    let mut error = None;
    let mut take = |decoder: &mut MessageStreamDecoder| {
        while let Some(event) = decoder.next_event() {
            match event {
                Ok(StreamEvent::ContentBlockDelta {
                    delta: ContentDelta::Text(delta),
                    ..
                }) => text.push_str(&delta),
                Ok(_) => {}
                Err(e) => error = Some(e),
            }
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
        None => decoder.into_message(),
    };
    (text, outcome)
}

/// The splits each transcript is fed in.
fn splits(bytes: &[u8]) -> Vec<(String, Vec<&[u8]>)> {
    let mut splits = vec![
        ("whole".to_owned(), vec![bytes]),
        ("per byte".to_owned(), bytes.chunks(1).collect()),
        ("7 bytes".to_owned(), bytes.chunks(7).collect()),
        ("4 KiB".to_owned(), bytes.chunks(4096).collect()),
    ];
    // Pseudo-random chunk sizes (1..=97), the same every run.
    let mut seed = 0x9e37_79b9_u32;
    let mut rest = bytes;
    let mut random = Vec::new();
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed as usize % 97 + 1).min(rest.len());
        let (head, tail) = rest.split_at(n);
        random.push(head);
        rest = tail;
    }
    splits.push(("random".to_owned(), random));
    splits
}

#[test]
fn every_transcript_gives_the_official_sdks_result_in_every_split() {
    for path in transcripts() {
        let bytes = std::fs::read(&path).expect("transcript");
        let expected_text = std::fs::read_to_string(sibling(&path, "text.txt")).unwrap_or_default();
        let expected = std::fs::read_to_string(sibling(&path, "json"));
        for (how, chunks) in splits(&bytes) {
            let what = format!("{} ({how})", path.display());
            let (text, outcome) = run(&chunks);
            assert_eq!(text, expected_text, "text of {what}");
            match (outcome, &expected) {
                (Ok(message), Ok(expected)) => {
                    let ours = drop_nulls(serde_json::to_value(&message).unwrap());
                    let theirs = drop_nulls(serde_json::from_str(expected).unwrap());
                    assert_eq!(ours, theirs, "final message of {what}");
                }
                (Err(error), Err(_)) => {
                    let expected = std::fs::read_to_string(sibling(&path, "error.txt"))
                        .expect("NAME.error.txt");
                    if let Some(kind) = expected
                        .lines()
                        .find_map(|line| line.strip_prefix("type: "))
                    {
                        assert_eq!(
                            error.kind().map(|k| k.as_str()),
                            Some(kind.trim()),
                            "{what}: {error}"
                        );
                    }
                }
                (Ok(message), Err(_)) => panic!("{what}: expected an error, got {message:?}"),
                (Err(error), Ok(_)) => panic!("{what}: {error}"),
            }
        }
    }
}
