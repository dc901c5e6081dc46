//! Property tests of the SSE decoder: the output never depends on how the input is split into
//! chunks, arbitrary input never panics, and memory stays bounded.

use claude_kit_core::sse::{SseDecoder, SseError, SseEvent};
use proptest::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/sse");

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
        .map(|path| {
            let bytes = std::fs::read(&path).expect("fixture");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// What a whole decode produced: the events (drained after every push, as a consumer would)
/// and how it ended.
type Outcome = (Vec<SseEvent>, Result<(), SseError>);

/// Decodes `input` cut at the given positions (sorted and clamped here), then `finish`.
fn decode_split(input: &[u8], cuts: &[usize], limit: usize) -> Outcome {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.sort_unstable();
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut events = Vec::new();
    let mut start = 0;
    let mut result = Ok(());
    for end in cuts.into_iter().chain([input.len()]) {
        result = decoder.push(&input[start..end]);
        assert!(decoder.buffered_len() <= limit + 3);
        events.extend(std::iter::from_fn(|| decoder.next_event()));
        start = end;
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

fn decode_whole(input: &[u8], limit: usize) -> Outcome {
    decode_split(input, &[], limit)
}

#[test]
fn fixtures_in_one_byte_chunks() {
    for (name, bytes) in fixtures() {
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        let whole = decode_whole(&bytes, SseDecoder::DEFAULT_MAX_EVENT_SIZE);
        assert!(whole.1.is_ok() && !whole.0.is_empty(), "{name}");
        assert_eq!(
            decode_split(&bytes, &cuts, SseDecoder::DEFAULT_MAX_EVENT_SIZE),
            whole,
            "{name}"
        );
    }
}

/// Bytes biased toward what matters to the grammar: field names, colons, spaces, every kind of
/// line end, a BOM, NUL, digits, and invalid UTF-8.
fn sse_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        3 => any::<u8>().prop_map(|b| vec![b]),
        3 => Just(b":".to_vec()),
        3 => Just(b" ".to_vec()),
        4 => Just(b"\n".to_vec()),
        3 => Just(b"\r".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        4 => Just(b"data".to_vec()),
        3 => Just(b"data: ".to_vec()),
        2 => Just(b"event".to_vec()),
        1 => Just(b"id".to_vec()),
        1 => Just(b"retry".to_vec()),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => Just(b"\0".to_vec()),
        2 => Just(b"123".to_vec()),
        2 => Just("é€".as_bytes().to_vec()),
        1 => Just(b"\xFF\xC3".to_vec()),
    ];
    prop::collection::vec(token, 0..120).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any split of any fixture gives exactly the events of a single push.
    #[test]
    fn fixtures_are_split_invariant(
        which in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..64),
    ) {
        let files = fixtures();
        let (name, bytes) = &files[which.index(files.len())];
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        let limit = SseDecoder::DEFAULT_MAX_EVENT_SIZE;
        prop_assert_eq!(decode_split(bytes, &cuts, limit), decode_whole(bytes, limit), "{}", name);
    }

    /// Fixtures cut into small pieces of random sizes (1 to 8 bytes), as a trickling server
    /// sends them.
    #[test]
    fn fixtures_in_tiny_chunks(
        which in any::<prop::sample::Index>(),
        sizes in prop::collection::vec(1usize..=8, 1..32),
    ) {
        let files = fixtures();
        let (name, bytes) = &files[which.index(files.len())];
        let mut cuts = Vec::new();
        let mut at = 0;
        for size in sizes.iter().cycle() {
            at += size;
            if at >= bytes.len() {
                break;
            }
            cuts.push(at);
        }
        let limit = SseDecoder::DEFAULT_MAX_EVENT_SIZE;
        prop_assert_eq!(decode_split(bytes, &cuts, limit), decode_whole(bytes, limit), "{}", name);
    }

    /// Arbitrary input never panics, and any split gives the same events and the same error.
    #[test]
    fn arbitrary_input_is_split_invariant(
        input in sse_like_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        limit in prop_oneof![Just(SseDecoder::DEFAULT_MAX_EVENT_SIZE), 0usize..64],
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        prop_assert_eq!(decode_split(&input, &cuts, limit), decode_whole(&input, limit));
        // Every byte its own chunk.
        let every: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(decode_split(&input, &every, limit), decode_whole(&input, limit));
    }

    /// With a small limit, the decoder never holds much more than the limit, whatever arrives.
    #[test]
    fn memory_stays_bounded(
        input in sse_like_bytes(),
        long_line in 0usize..4096,
        chunk in 1usize..512,
        limit in 0usize..256,
    ) {
        let mut input = input;
        input.extend(std::iter::repeat_n(b'x', long_line));
        let mut decoder = SseDecoder::with_max_event_size(limit);
        for part in input.chunks(chunk) {
            let result = decoder.push(part);
            let held = decoder.buffered_len();
            prop_assert!(held <= limit + 3, "{} > {}", held, limit);
            while decoder.next_event().is_some() {}
            if let Err(err) = result {
                prop_assert_eq!(err, SseError::EventTooLarge { limit });
                prop_assert_eq!(decoder.buffered_len(), 0);
            }
        }
        let _ = decoder.finish();
        prop_assert!(decoder.buffered_len() <= limit + 3);
    }
}
