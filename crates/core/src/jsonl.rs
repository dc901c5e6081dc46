//! An incremental line splitter for JSON-lines bodies, with a size guard.
//!
//! Message Batch results arrive as JSONL: one JSON document per `\n`-terminated line, in
//! chunks split anywhere. [`LineDecoder`] turns the chunks into lines, as a pure state machine:
//!
//! - Lines end with `\n`; a `\r` before it is dropped. A last line without `\n` is returned by
//!   [`finish`](LineDecoder::finish).
//! - **Linear time.** The decoder remembers how far it has searched for a line end, so every
//!   byte is scanned once however the input is split: a 4 MiB line arriving one byte per chunk
//!   costs 4 Mi steps, not 8·10¹² (rescanning the whole buffer on every chunk would).
//! - **Bounded memory.** A line longer than the limit is a [`LineTooLong`] error, raised before
//!   the excess is copied, and the error is sticky. What the decoder holds is at most the limit
//!   plus the complete lines not yet taken.
//!
//! ```
//! use claude_kit_core::jsonl::LineDecoder;
//!
//! let mut lines = LineDecoder::new(1024);
//! lines.push(b"{\"a\":1}\r\n{\"b\"")?;
//! assert_eq!(lines.next_line().transpose()?.as_deref(), Some(&b"{\"a\":1}"[..]));
//! assert_eq!(lines.next_line().transpose()?, None); // the second line is not complete yet
//! lines.push(b":2}")?;
//! assert_eq!(lines.finish().transpose()?.as_deref(), Some(&b"{\"b\":2}"[..]));
//! # Ok::<(), claude_kit_core::jsonl::LineTooLong>(())
//! ```

use bytes::{Bytes, BytesMut};

/// A line grew past the decoder's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a line exceeds the limit of {limit} bytes")]
pub struct LineTooLong {
    /// The limit in bytes.
    pub limit: usize,
}

/// Splits a byte stream into lines; see the [module docs](self).
#[derive(Debug)]
pub struct LineDecoder {
    buffer: BytesMut,
    /// `buffer[..scanned]` holds no `\n`: the next search starts there.
    scanned: usize,
    /// Bytes at the end of `buffer` after its last `\n`: the line still being received.
    partial: usize,
    limit: usize,
    failed: bool,
}

impl LineDecoder {
    /// A decoder whose lines may be at most `limit` bytes long (line end excluded).
    pub fn new(limit: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            scanned: 0,
            partial: 0,
            limit,
            failed: false,
        }
    }

    /// The line length limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Appends the next chunk. Fails, without copying it, when it would make the unfinished
    /// line longer than the limit; then every later call fails too.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), LineTooLong> {
        self.check()?;
        // Only the tail after the chunk's last line end is searched here; the rest is scanned
        // once, by `next_line`.
        let partial = match memchr::memrchr(b'\n', chunk) {
            Some(end) => chunk.len() - end - 1,
            None => self.partial.saturating_add(chunk.len()),
        };
        if partial > self.limit {
            return Err(self.fail());
        }
        self.partial = partial;
        self.buffer.extend_from_slice(chunk);
        Ok(())
    }

    /// The next complete line, without its line end; `None` until one is complete.
    pub fn next_line(&mut self) -> Option<Result<Bytes, LineTooLong>> {
        if self.failed {
            return Some(Err(LineTooLong { limit: self.limit }));
        }
        let Some(offset) = memchr::memchr(b'\n', &self.buffer[self.scanned..]) else {
            self.scanned = self.buffer.len();
            return None;
        };
        let end = self.scanned + offset;
        self.scanned = 0;
        let mut line = self.buffer.split_to(end + 1);
        line.truncate(end);
        if line.last() == Some(&b'\r') {
            line.truncate(end - 1);
        }
        if line.len() > self.limit {
            return Some(Err(self.fail()));
        }
        Some(Ok(line.freeze()))
    }

    /// Ends the input: the complete lines not taken yet come first (call this until it
    /// returns `None`), then a last line that had no line end.
    pub fn finish(&mut self) -> Option<Result<Bytes, LineTooLong>> {
        if let Some(line) = self.next_line() {
            return Some(line);
        }
        if self.buffer.is_empty() {
            return None;
        }
        self.scanned = 0;
        self.partial = 0;
        let mut line = std::mem::take(&mut self.buffer);
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        Some(Ok(line.freeze()))
    }

    /// Bytes held: the unfinished line and complete lines not taken yet.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    fn check(&self) -> Result<(), LineTooLong> {
        if self.failed {
            Err(LineTooLong { limit: self.limit })
        } else {
            Ok(())
        }
    }

    fn fail(&mut self) -> LineTooLong {
        self.failed = true;
        self.buffer = BytesMut::new();
        self.scanned = 0;
        self.partial = 0;
        LineTooLong { limit: self.limit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(decoder: &mut LineDecoder) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(line) = decoder.finish() {
            out.push(line.unwrap().to_vec());
        }
        out
    }

    #[test]
    fn any_split_gives_the_same_lines() {
        let input = b"{\"a\":1}\n\r\n{\"b\":2}\r\n\n{\"c\":3}";
        let expected: Vec<Vec<u8>> = vec![
            b"{\"a\":1}".to_vec(),
            b"".to_vec(),
            b"{\"b\":2}".to_vec(),
            b"".to_vec(),
            b"{\"c\":3}".to_vec(),
        ];
        for split in 0..=input.len() {
            for step in 1..4 {
                let mut decoder = LineDecoder::new(64);
                let mut got = Vec::new();
                let (head, tail) = input.split_at(split);
                for chunk in [head].into_iter().chain(tail.chunks(step)) {
                    decoder.push(chunk).unwrap();
                    while let Some(line) = decoder.next_line() {
                        got.push(line.unwrap().to_vec());
                    }
                }
                got.extend(lines(&mut decoder));
                assert_eq!(got, expected, "split {split}, step {step}");
            }
        }
    }

    #[test]
    fn a_long_line_is_refused_before_it_is_copied() {
        let mut decoder = LineDecoder::new(8);
        decoder.push(b"12345").unwrap();
        assert_eq!(decoder.push(b"6789"), Err(LineTooLong { limit: 8 }));
        assert_eq!(decoder.buffered_len(), 0);
        assert_eq!(decoder.push(b"\n"), Err(LineTooLong { limit: 8 }));
        assert!(matches!(decoder.next_line(), Some(Err(_))));
        // A long line inside one chunk, with a line end after it.
        let mut decoder = LineDecoder::new(8);
        decoder.push(b"123456789\nok\n").unwrap();
        assert!(matches!(decoder.next_line(), Some(Err(_))));
        // Exactly the limit is fine.
        let mut decoder = LineDecoder::new(8);
        decoder.push(b"12345678\r\n").unwrap();
        assert_eq!(decoder.next_line().unwrap().unwrap(), &b"12345678"[..]);
    }

    #[test]
    fn a_line_arriving_one_byte_per_chunk_takes_linear_time() {
        // Rescanning the buffer on every byte would be ~8·10^12 steps: this would not finish.
        let mut decoder = LineDecoder::new(8 << 20);
        let line = vec![b'x'; 4 << 20];
        for byte in &line {
            decoder.push(std::slice::from_ref(byte)).unwrap();
            assert!(decoder.next_line().is_none());
        }
        decoder.push(b"\n").unwrap();
        assert_eq!(decoder.next_line().unwrap().unwrap().len(), 4 << 20);
        assert!(decoder.finish().is_none());
    }
}
