//! How a streamed body is cut into HTTP chunks.

use bytes::Bytes;

/// How a replayed SSE transcript ([`Reply::sse`](crate::Reply::sse),
/// [`MockServerBuilder::replay`](crate::MockServerBuilder::replay)) is cut into HTTP chunks.
/// Every piece goes out as its own chunk of the chunked transfer encoding, so a client sees
/// exactly these splits (unless it reads slower than the server writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Chunking {
    /// One chunk per SSE event: a split right after each blank line (`"\n\n"`, `"\r\n\r\n"`,
    /// `"\r\r"`, or mixed line endings); whatever follows the last blank line (transcripts may
    /// end without one) is the final chunk.
    #[default]
    PerEvent,
    /// One byte per chunk.
    PerByte,
    /// Chunks of 1 to 64 bytes, their lengths drawn from a pseudo-random generator seeded with
    /// `seed` (the same seed always gives the same splits).
    Random {
        /// The generator's seed.
        seed: u64,
    },
    /// The whole transcript in one chunk.
    Whole,
}

impl Chunking {
    /// Cuts `body` into pieces; no piece is empty and their concatenation is `body`.
    pub(crate) fn split(self, body: &Bytes) -> Vec<Bytes> {
        match self {
            Chunking::PerEvent => split_events(body),
            Chunking::PerByte => (0..body.len()).map(|i| body.slice(i..=i)).collect(),
            Chunking::Random { seed } => {
                let mut rng = SplitMix64(seed);
                let mut out = Vec::new();
                let mut start = 0;
                while start < body.len() {
                    let len = 1 + (rng.next() % 64) as usize;
                    let end = (start + len).min(body.len());
                    out.push(body.slice(start..end));
                    start = end;
                }
                out
            }
            Chunking::Whole if body.is_empty() => Vec::new(),
            Chunking::Whole => vec![body.clone()],
        }
    }
}

/// Splits after each SSE event terminator, i.e. after each empty line. A line ends with
/// `"\r\n"`, `"\n"` or `"\r"`.
fn split_events(body: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line_start = 0;
    let mut i = 0;
    while i < body.len() {
        let end_len = match (body[i], body.get(i + 1)) {
            (b'\r', Some(b'\n')) => 2,
            (b'\r' | b'\n', _) => 1,
            _ => {
                i += 1;
                continue;
            }
        };
        let empty_line = i == line_start;
        i += end_len;
        line_start = i;
        if empty_line {
            out.push(body.slice(start..i));
            start = i;
        }
    }
    if start < body.len() {
        out.push(body.slice(start..));
    }
    out
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for chunk sizes and fault
/// plans.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(chunking: Chunking, body: &'static [u8]) -> Vec<Vec<u8>> {
        let body = Bytes::from_static(body);
        let out = chunking.split(&body);
        assert_eq!(out.concat(), body);
        assert!(out.iter().all(|p| !p.is_empty()));
        out.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn per_event_splits_after_blank_lines() {
        assert_eq!(
            pieces(Chunking::PerEvent, b"a: 1\n\nb: 2\n\n"),
            [&b"a: 1\n\n"[..], b"b: 2\n\n"]
        );
        assert_eq!(
            pieces(Chunking::PerEvent, b"a: 1\r\n\r\nb: 2\r\rc: 3\n\ntail"),
            [&b"a: 1\r\n\r\n"[..], b"b: 2\r\r", b"c: 3\n\n", b"tail"]
        );
        // Mixed endings, several blank lines, no final terminator.
        assert_eq!(
            pieces(Chunking::PerEvent, b"x\r\n\n\ny\ndata: z\n"),
            [&b"x\r\n\n"[..], b"\n", b"y\ndata: z\n"]
        );
        // A CR at the very end is a line ending, not the start of a CRLF.
        assert_eq!(pieces(Chunking::PerEvent, b"x\r\r"), [&b"x\r\r"[..]]);
        assert!(pieces(Chunking::PerEvent, b"").is_empty());
    }

    #[test]
    fn other_chunkings() {
        assert_eq!(pieces(Chunking::PerByte, b"abc"), [b"a", b"b", b"c"]);
        assert_eq!(pieces(Chunking::Whole, b"abc"), [b"abc"]);
        assert!(pieces(Chunking::Whole, b"").is_empty());
        let body = Bytes::from(vec![b'x'; 10_000]);
        let a = Chunking::Random { seed: 7 }.split(&body);
        let b = Chunking::Random { seed: 7 }.split(&body);
        let c = Chunking::Random { seed: 8 }.split(&body);
        let lens = |v: &[Bytes]| v.iter().map(Bytes::len).collect::<Vec<_>>();
        assert_eq!(lens(&a), lens(&b));
        assert_ne!(lens(&a), lens(&c));
        assert!(a.iter().all(|p| (1..=64).contains(&p.len())));
        // Both short and long pieces occur.
        assert!(a.iter().any(|p| p.len() < 8) && a.iter().any(|p| p.len() > 56));
        assert_eq!(a.concat(), body);
    }
}
