//! An incremental Server-Sent-Events decoder: bytes in, events out.
//!
//! The Messages API streams its responses as `text/event-stream`. [`SseDecoder`] turns the raw
//! body bytes into [`SseEvent`]s following the WHATWG "event stream interpretation" rules, as a
//! pure state machine: no I/O, no async, no clock. The async drivers of the facade feed it
//! whatever chunks the transport hands them, and because the output never depends on how the
//! bytes were split into chunks, any transport (and any proxy in between) gives the same events.
//!
//! # Rules
//!
//! - Lines end with CRLF, LF or CR. A CR at the end of one chunk and an LF at the start of the
//!   next are one line end, not two.
//! - A UTF-8 byte order mark at the very start of the stream is skipped.
//! - A blank line dispatches the pending event if at least one `data` field was seen since the
//!   last dispatch; otherwise it only resets the event name.
//! - A line starting with `:` is a comment. Otherwise the field name is the text before the first
//!   `:` and the value is the text after it, minus one leading space; a line without `:` is a
//!   field name with an empty value.
//! - Fields: `event` sets the event name, `data` appends a line to the data, `id` sets the last
//!   event id (ignored if it contains NUL), `retry` sets the reconnection time (ignored unless it
//!   is all ASCII digits). Other fields are ignored.
//! - Invalid UTF-8 is replaced with U+FFFD, never an error: a garbled byte in a text delta should
//!   not kill a stream the JSON layer may still be able to use.
//! - At end of input ([`SseDecoder::finish`]) a final line without a line ending is processed and
//!   a pending event is dispatched even without a closing blank line. The spec would drop it, but
//!   the API's responses often end right after the last `data:` line (`message_stop`), and losing
//!   it would lose the end of the message.
//!
//! # Bounded memory
//!
//! An event may hold at most [`SseDecoder::DEFAULT_MAX_EVENT_SIZE`] bytes (or the limit given to
//! [`SseDecoder::with_max_event_size`]), counting its data so far, its event name, the last
//! event id and the current line: everything a server can make the decoder keep. Past that the
//! decoder returns [`SseError::EventTooLarge`] before it copies the excess, so a hostile or broken
//! server sending an endless line costs at most about `limit` bytes. The last event id is shared
//! by the events it is given to ([`SseEvent::id`] is an `Arc<str>`), so a long id followed by many
//! small events is held once, not once per event. The error is sticky: the stream cannot be
//! resynchronised reliably after it.
//!
//! Each byte is scanned once: an unfinished line is kept with its length, and the next chunk is
//! searched from where the last one ended, so a line that arrives one byte per chunk costs linear
//! time, not quadratic.
//!
//! # Fuzzing
//!
//! A `cargo fuzz` target checks that no input panics and that splitting the input in two never
//! changes the output. It needs a nightly toolchain and `cargo install cargo-fuzz`:
//!
//! ```text
//! cd crates/core
//! cargo +nightly fuzz run sse_decoder
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// The UTF-8 encoding of U+FEFF, which the spec skips once at the start of a stream.
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One decoded Server-Sent Event.
///
/// For the Messages API, `event` is the event type (`message_start`, `content_block_delta`, …)
/// and `data` is one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The value of the event's `event:` field, or `None` when it had none (or an empty one,
    /// which the spec treats the same way: as the default type `message`).
    pub event: Option<String>,
    /// The values of the event's `data:` fields, joined with `'\n'`.
    pub data: String,
    /// The last event id at dispatch time. Per the spec it persists across events until another
    /// `id:` field changes it; an empty `id:` resets it to `None`. Shared, not copied: every
    /// event after one `id:` line points at the same string, so a long id costs its size once.
    pub id: Option<Arc<str>>,
    /// The `retry:` value of this event, in milliseconds, if it had a valid one. A `retry:` in a
    /// block that dispatched nothing (no `data`) is carried to the next dispatched event rather
    /// than lost.
    pub retry: Option<u64>,
}

/// Why the decoder gave up on a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// One event (its data, its event name, the last event id and the current line) grew past
    /// the size limit.
    #[error("server-sent event larger than the limit of {limit} bytes")]
    EventTooLarge {
        /// The limit in bytes that was exceeded.
        limit: usize,
    },
}

/// An incremental Server-Sent-Events decoder.
///
/// Feed it bytes with [`push`](Self::push) as they arrive, take complete events with
/// [`next_event`](Self::next_event), and call [`finish`](Self::finish) at end of input so that a
/// last event without a closing blank line is not lost.
///
/// ```
/// use claude_kit_core::sse::{SseDecoder, SseEvent};
///
/// let mut decoder = SseDecoder::new();
/// // Chunks may split anywhere, even inside a CRLF.
/// decoder.push(b"event: ping\r")?;
/// decoder.push(b"\ndata: {\"type\":\"ping\"}\r\n\r\nevent: message_stop\n")?;
/// decoder.push(b"data: {\"type\":\"message_stop\"}")?;
///
/// let ping = decoder.next_event().unwrap();
/// assert_eq!(ping.event.as_deref(), Some("ping"));
/// assert_eq!(ping.data, r#"{"type":"ping"}"#);
/// // The last event had no blank line after it: only `finish` dispatches it.
/// assert_eq!(decoder.next_event(), None);
///
/// decoder.finish()?;
/// assert_eq!(
///     decoder.next_event(),
///     Some(SseEvent {
///         event: Some("message_stop".into()),
///         data: r#"{"type":"message_stop"}"#.into(),
///         ..SseEvent::default()
///     })
/// );
/// # Ok::<(), claude_kit_core::sse::SseError>(())
/// ```
#[derive(Clone)]
pub struct SseDecoder {
    /// Maximum bytes of one event: data + event name + current line.
    limit: usize,
    /// The incomplete last line of the input so far (without its line end).
    line: Vec<u8>,
    /// Data of the pending event: the `data` values joined with `'\n'`. Handed out as the
    /// event's `String` at dispatch (no copy), so each event allocates it once.
    data: Vec<u8>,
    /// A `data` field was seen since the last dispatch (`data` may still be empty).
    has_data: bool,
    /// Event name of the pending event (empty = none). Reused across events.
    event: Vec<u8>,
    /// `retry` of the pending event.
    retry: Option<u64>,
    /// Last event id; persists across events, shared by every event it is given to.
    last_id: Option<Arc<str>>,
    /// The previous byte was a CR that ended a line: an LF right after it belongs to it.
    pending_cr: bool,
    /// No byte of the stream has been taken as content yet: a BOM may still come.
    at_start: bool,
    /// How many bytes of a possible BOM were seen at the start (0..3).
    bom_len: usize,
    /// Decoded events not yet taken.
    queue: VecDeque<SseEvent>,
    /// Set once the stream failed; every later call returns it.
    error: Option<SseError>,
}

impl fmt::Debug for SseDecoder {
    /// Shows sizes, not buffer contents: a buffer may hold megabytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseDecoder")
            .field("limit", &self.limit)
            .field("buffered_len", &self.buffered_len())
            .field("queued_events", &self.queue.len())
            .field("last_id_len", &self.last_id.as_ref().map(|id| id.len()))
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// The default bound on one event: 16 MiB, far above any real Messages API event (a large
    /// tool input arrives as many small `input_json_delta` events), small enough to stop a
    /// runaway stream before it hurts.
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

    /// A decoder with the [default event size limit](Self::DEFAULT_MAX_EVENT_SIZE).
    pub fn new() -> Self {
        Self::with_max_event_size(Self::DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that fails with [`SseError::EventTooLarge`] once one event (its data so far, its
    /// event name and the current line, in bytes) would exceed `limit`.
    pub fn with_max_event_size(limit: usize) -> Self {
        Self {
            limit,
            line: Vec::new(),
            data: Vec::new(),
            has_data: false,
            event: Vec::new(),
            retry: None,
            last_id: None,
            pending_cr: false,
            at_start: true,
            bom_len: 0,
            queue: VecDeque::new(),
            error: None,
        }
    }

    /// Feeds the next bytes of the stream; complete events are queued for
    /// [`next_event`](Self::next_event).
    ///
    /// On `Err`, the events decoded before the error are still queued (drain them with
    /// `next_event`: nothing is lost), and the decoder stays in the error state: every later
    /// `push` or `finish` returns the same error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SseError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let rest = self.skip_bom(chunk)?;
        let result = self.feed(rest);
        if let Err(err) = &result {
            self.fail(err.clone());
        }
        result
    }

    /// Takes the oldest decoded event, if any.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.queue.pop_front()
    }

    /// Ends the input: a final line without a line ending is processed, and a pending event that
    /// was never followed by a blank line is dispatched (the API's transcripts often end right
    /// after the last `data:` line, and that event must not be lost).
    ///
    /// Afterwards the decoder is ready for a new stream (say, after a reconnect): a BOM is
    /// skipped again, and the last event id is kept, as the spec's `EventSource` does.
    /// In the error state it returns the error, like [`push`](Self::push).
    pub fn finish(&mut self) -> Result<(), SseError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if self.at_start && self.bom_len > 0 {
            // The stream was only the start of a BOM: those bytes were content after all.
            let held = std::mem::replace(&mut self.bom_len, 0);
            self.at_start = false;
            if let Err(err) = self.feed(&BOM[..held]) {
                self.fail(err.clone());
                return Err(err);
            }
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line);
            self.line = line;
            self.line.clear();
        }
        self.dispatch();
        self.event.clear();
        self.retry = None;
        self.pending_cr = false;
        self.at_start = true;
        self.bom_len = 0;
        Ok(())
    }

    /// Bytes held for the incomplete current line, the pending event (data and event name) and
    /// the last event id, plus up to 3 bytes of a possible BOM. Never more than the limit + 3; 0 after an error.
    pub fn buffered_len(&self) -> usize {
        self.line.len() + self.data.len() + self.event.len() + self.id_len() + self.bom_len
    }

    fn id_len(&self) -> usize {
        self.last_id.as_ref().map_or(0, |id| id.len())
    }

    /// Enters the sticky error state and frees the buffers.
    fn fail(&mut self, err: SseError) {
        self.error = Some(err);
        self.line = Vec::new();
        self.data = Vec::new();
        self.has_data = false;
        self.event = Vec::new();
        self.last_id = None;
        self.bom_len = 0;
    }

    /// Skips a BOM at the very start of the stream, which may arrive split across chunks, and
    /// returns the rest of `chunk`.
    fn skip_bom<'a>(&mut self, chunk: &'a [u8]) -> Result<&'a [u8], SseError> {
        if !self.at_start || chunk.is_empty() {
            return Ok(chunk);
        }
        let expected = &BOM[self.bom_len..];
        let n = expected.len().min(chunk.len());
        if chunk[..n] == expected[..n] {
            self.bom_len += n;
            if self.bom_len == BOM.len() {
                self.at_start = false;
                self.bom_len = 0;
            }
            // Either the BOM is complete, or the chunk ended inside it (and so is used up).
            return Ok(&chunk[n..]);
        }
        // Not a BOM: the bytes held back so far are ordinary content.
        self.at_start = false;
        let held = std::mem::replace(&mut self.bom_len, 0);
        if held > 0
            && let Err(err) = self.feed(&BOM[..held])
        {
            self.fail(err.clone());
            return Err(err);
        }
        Ok(chunk)
    }

    /// Checks that a line of `line_len` bytes fits in the current event.
    #[inline]
    fn check(&self, line_len: usize) -> Result<(), SseError> {
        // Saturating: `line_len` comes from the caller's chunk and may be anything.
        let total = self
            .data
            .len()
            .saturating_add(self.event.len())
            .saturating_add(self.id_len())
            .saturating_add(line_len);
        if total > self.limit {
            Err(SseError::EventTooLarge { limit: self.limit })
        } else {
            Ok(())
        }
    }

    /// Splits `chunk` into lines and processes them. Complete lines are read straight from
    /// `chunk`; only an unfinished last line is copied, into `self.line`.
    fn feed(&mut self, chunk: &[u8]) -> Result<(), SseError> {
        let mut rest = chunk;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        if !self.line.is_empty() {
            // Finish the line begun in an earlier chunk.
            let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.check(self.line.len().saturating_add(rest.len()))?;
                self.line.extend_from_slice(rest);
                return Ok(());
            };
            self.check(self.line.len() + end)?;
            self.line.extend_from_slice(&rest[..end]);
            let line = std::mem::take(&mut self.line);
            self.process_line(&line);
            self.line = line;
            self.line.clear();
            rest = self.skip_line_end(rest, end);
        }
        loop {
            // Fast path: the blank line that ends almost every event (LF only; a CR may need the
            // next chunk to tell CR from CRLF, so it takes the general path).
            if let Some(after) = rest.strip_prefix(b"\n") {
                self.dispatch();
                rest = after;
                continue;
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
                break;
            };
            let line = &rest[..end];
            self.check(line.len())?;
            self.process_line(line);
            rest = self.skip_line_end(rest, end);
        }
        if !rest.is_empty() {
            // Checked before copying: a huge unterminated chunk is refused, not buffered.
            self.check(rest.len())?;
            self.line.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Returns what follows the line end at `rest[end]` (CR, LF or CRLF). A CR that ends the
    /// chunk is remembered, so that an LF at the start of the next chunk is not a second line end.
    #[inline]
    fn skip_line_end<'a>(&mut self, rest: &'a [u8], end: usize) -> &'a [u8] {
        if rest[end] == b'\r' {
            match rest.get(end + 1) {
                Some(b'\n') => &rest[end + 2..],
                Some(_) => &rest[end + 1..],
                None => {
                    self.pending_cr = true;
                    &rest[end + 1..]
                }
            }
        } else {
            &rest[end + 1..]
        }
    }

    /// Interprets one complete line (without its line end).
    #[inline]
    fn process_line(&mut self, line: &[u8]) {
        // The common Messages API line first: `data: {...}`.
        if let Some(value) = line.strip_prefix(b"data:") {
            self.push_data(strip_one_space(value));
            return;
        }
        if let Some(value) = line.strip_prefix(b"event:") {
            self.set_event(strip_one_space(value));
            return;
        }
        match line.first() {
            None => {
                self.dispatch();
                return;
            }
            Some(b':') => return, // comment
            Some(_) => {}
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => (&line[..colon], strip_one_space(&line[colon + 1..])),
            None => (line, &b""[..]),
        };
        match field {
            b"data" => self.push_data(b""), // `data` without a colon: an empty data line
            b"event" => self.set_event(value),
            // An id with NUL is ignored: it could not be sent back in a `Last-Event-ID` header.
            b"id" if !value.contains(&0) => {
                self.last_id = (!value.is_empty()).then(|| Arc::from(lossy(value)));
            }
            b"retry" => self.retry = parse_retry(value).or(self.retry),
            _ => {} // unknown field: ignored, per spec
        }
    }

    /// Sets the event name of the pending event.
    #[inline]
    fn set_event(&mut self, name: &[u8]) {
        self.event.clear();
        self.event.extend_from_slice(name);
    }

    /// Appends one `data` value (the text after `data:`).
    #[inline]
    fn push_data(&mut self, value: &[u8]) {
        if self.has_data {
            self.data.push(b'\n');
        } else {
            // Usually the event's only data line: allocate exactly what it needs.
            self.data.reserve_exact(value.len());
            self.has_data = true;
        }
        self.data.extend_from_slice(value);
    }

    /// Ends the pending event: queues it if it had data, and resets the event name either way.
    fn dispatch(&mut self) {
        if self.has_data {
            self.has_data = false;
            let data = match String::from_utf8(std::mem::take(&mut self.data)) {
                Ok(data) => data,
                Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
            };
            let event = (!self.event.is_empty()).then(|| lossy(&self.event));
            self.queue.push_back(SseEvent {
                event,
                data,
                id: self.last_id.clone(),
                retry: self.retry.take(),
            });
        }
        self.event.clear();
    }
}

/// A `retry` value: only ASCII digits, at least one. A value too large for `u64` is ignored
/// like any other invalid one.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |ms, &byte| {
        if byte.is_ascii_digit() {
            ms.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
        } else {
            None
        }
    })
}

/// Removes one leading space, as the spec does for field values.
#[inline]
fn strip_one_space(value: &[u8]) -> &[u8] {
    value.strip_prefix(b" ").unwrap_or(value)
}

/// UTF-8 to an owned `String`, invalid sequences replaced with U+FFFD.
///
/// Validates with `str::from_utf8` first: it is several times faster than the replacing
/// iterator behind `from_utf8_lossy`, and almost every input is valid.
#[inline]
fn lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
            id: None,
            retry: None,
        }
    }

    /// Decodes `input` in one push plus finish.
    fn decode(input: &[u8]) -> Vec<SseEvent> {
        decode_chunks(&[input])
    }

    fn decode_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        for c in chunks {
            d.push(c).unwrap();
        }
        d.finish().unwrap();
        drain(&mut d)
    }

    fn drain(d: &mut SseDecoder) -> Vec<SseEvent> {
        std::iter::from_fn(|| d.next_event()).collect()
    }

    /// Decodes without `finish`: only events closed by a blank line.
    fn decode_unfinished(input: &[u8]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        d.push(input).unwrap();
        drain(&mut d)
    }

    #[test]
    fn lf_line_ends() {
        assert_eq!(
            decode_unfinished(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n"),
            vec![ev(Some("a"), "1"), ev(Some("b"), "2")]
        );
    }

    #[test]
    fn cr_line_ends() {
        assert_eq!(
            decode_unfinished(b"event: a\rdata: 1\r\revent: b\rdata: 2\r\r"),
            vec![ev(Some("a"), "1"), ev(Some("b"), "2")]
        );
    }

    #[test]
    fn crlf_line_ends() {
        assert_eq!(
            decode_unfinished(b"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n"),
            vec![ev(Some("a"), "1"), ev(Some("b"), "2")]
        );
    }

    #[test]
    fn mixed_line_ends() {
        assert_eq!(
            decode_unfinished(b"data: 1\r\n\ndata: 2\n\rdata: 3\r\r\n"),
            vec![ev(None, "1"), ev(None, "2"), ev(None, "3")]
        );
    }

    #[test]
    fn crlf_split_across_pushes_is_one_line_end() {
        let mut d = SseDecoder::new();
        d.push(b"data: 1\r").unwrap();
        // If the LF were a second line end, this would be a blank line and dispatch.
        d.push(b"\n").unwrap();
        assert_eq!(d.next_event(), None);
        d.push(b"data: 2\r").unwrap();
        d.push(b"").unwrap(); // an empty push must not forget the CR
        d.push(b"\n\r").unwrap();
        d.push(b"\n").unwrap();
        assert_eq!(drain(&mut d), vec![ev(None, "1\n2")]);
        // A CR at the end of a chunk followed by a non-LF byte.
        assert_eq!(
            decode_chunks(&[b"data: 1\r", b"\r", b"data: 2\r", b"\ndata: 3"]),
            vec![ev(None, "1"), ev(None, "2\n3")]
        );
    }

    #[test]
    fn bom_is_skipped_once() {
        assert_eq!(decode(b"\xEF\xBB\xBFdata: x\n\n"), vec![ev(None, "x")]);
        // Split across pushes.
        assert_eq!(
            decode_chunks(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]),
            vec![ev(None, "x")]
        );
        // Only at the start: a second BOM is part of the field name, an unknown field.
        assert_eq!(
            decode(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"),
            vec![ev(None, "y")]
        );
        // A partial BOM is content: here it makes the line's field name unknown.
        assert_eq!(
            decode_chunks(&[b"\xEF\xBB", b"data: x\n\ndata: y\n\n"]),
            vec![ev(None, "y")]
        );
        // A partial BOM alone is content too, decoded lossily.
        assert_eq!(decode(b"data: \xEF\xBB"), vec![ev(None, "\u{FFFD}")]);
        let mut d = SseDecoder::new();
        d.push(b"\xEF\xBB").unwrap();
        assert_eq!(d.buffered_len(), 2);
        d.finish().unwrap();
        assert_eq!(d.next_event(), None);
    }

    #[test]
    fn comments_are_ignored() {
        assert_eq!(
            decode(b": keep-alive\n:\ndata: x\n: in the middle\ndata: y\n\n"),
            vec![ev(None, "x\ny")]
        );
    }

    #[test]
    fn field_without_colon() {
        // `data` alone is an empty data line, `event` alone an empty (= no) name.
        assert_eq!(decode(b"data\n\n"), vec![ev(None, "")]);
        assert_eq!(decode(b"event: a\nevent\ndata\n\n"), vec![ev(None, "")]);
        assert_eq!(decode(b"data\ndata\ndata: x\n\n"), vec![ev(None, "\n\nx")]);
    }

    #[test]
    fn one_leading_space_is_removed() {
        assert_eq!(decode(b"data:x\n\n"), vec![ev(None, "x")]);
        assert_eq!(decode(b"data: x\n\n"), vec![ev(None, "x")]);
        assert_eq!(decode(b"data:  x\n\n"), vec![ev(None, " x")]);
        assert_eq!(decode(b"event:a\ndata:\tx\n\n"), vec![ev(Some("a"), "\tx")]);
        assert_eq!(decode(b"event:  a\ndata:x\n\n"), vec![ev(Some(" a"), "x")]);
        // Only the first colon separates: the value keeps the rest.
        assert_eq!(decode(b"data: a: b:c\n\n"), vec![ev(None, "a: b:c")]);
    }

    #[test]
    fn trailing_spaces_are_kept() {
        assert_eq!(
            decode(b"data: {\"a\":1}   \n\n"),
            vec![ev(None, "{\"a\":1}   ")]
        );
    }

    #[test]
    fn multi_line_data() {
        assert_eq!(
            decode(b"data: a\ndata: b\ndata: c\n\n"),
            vec![ev(None, "a\nb\nc")]
        );
    }

    #[test]
    fn empty_data_lines() {
        assert_eq!(decode(b"data:\n\n"), vec![ev(None, "")]);
        assert_eq!(decode(b"data: \n\n"), vec![ev(None, "")]);
        assert_eq!(decode(b"data:\ndata:\n\n"), vec![ev(None, "\n")]);
        assert_eq!(decode(b"data: a\ndata:\n\n"), vec![ev(None, "a\n")]);
    }

    #[test]
    fn event_name_is_per_event() {
        assert_eq!(
            decode(b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\n"),
            vec![ev(Some("a"), "1"), ev(None, "2"), ev(Some("c"), "3")]
        );
    }

    #[test]
    fn id_persists_and_nul_is_ignored() {
        let events = decode(
            b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\n\
              id: 3\ndata: d\n\nid\ndata: e\n\nid: \ndata: f\n\n",
        );
        let ids: Vec<_> = events.iter().map(|e| e.id.as_deref()).collect();
        assert_eq!(
            ids,
            vec![Some("1"), Some("1"), Some("1"), Some("3"), None, None]
        );
        // An id line alone does not dispatch, but the id applies to later events.
        let events = decode(b"id: 7\n\ndata: x\n\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn id_persists_across_finish() {
        let mut d = SseDecoder::new();
        d.push(b"id: 42\ndata: a").unwrap();
        d.finish().unwrap();
        d.push(b"data: b\n\n").unwrap();
        let ids: Vec<_> = drain(&mut d).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![Some("42".into()), Some("42".into())]);
    }

    #[test]
    fn retry_valid_and_invalid() {
        let retries = |input: &[u8]| -> Vec<Option<u64>> {
            decode(input).into_iter().map(|e| e.retry).collect()
        };
        assert_eq!(retries(b"retry: 3000\ndata: x\n\n"), vec![Some(3000)]);
        assert_eq!(retries(b"retry:0\ndata: x\n\n"), vec![Some(0)]);
        for bad in [
            &b"retry: 3000ms\n"[..],
            b"retry: -1\n",
            b"retry: 1.5\n",
            b"retry:\n",
            b"retry\n",
            b"retry:  30\n", // the second space is part of the value
            b"retry: 99999999999999999999999\n", // overflows u64
            b"retry: \xD9\xA3\n", // ARABIC-INDIC DIGIT THREE: not ASCII
        ] {
            let mut input = bad.to_vec();
            input.extend_from_slice(b"data: x\n\n");
            assert_eq!(
                retries(&input),
                vec![None],
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Per event, not persistent; a later valid one wins; an invalid one keeps the valid one.
        assert_eq!(
            retries(b"retry: 1\nretry: 2\nretry: x\ndata: a\n\ndata: b\n\n"),
            vec![Some(2), None]
        );
        // A retry in a block without data is carried to the next event, not lost.
        assert_eq!(retries(b"retry: 5\n\ndata: a\n\n"), vec![Some(5)]);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert_eq!(
            decode(b"foo: bar\nDATA: no\nData: no\nevents: no\ndata: x\nx\n\n"),
            vec![ev(None, "x")]
        );
    }

    #[test]
    fn blank_line_without_data_does_not_dispatch() {
        assert_eq!(decode(b"\n\n\n"), vec![]);
        // It resets the event name, though.
        assert_eq!(decode(b"event: a\n\ndata: x\n\n"), vec![ev(None, "x")]);
        assert_eq!(decode(b"event: a\n: comment\nid: 1\n\n"), vec![]);
    }

    #[test]
    fn finish_dispatches_the_last_event() {
        // No blank line after the last data line.
        let mut d = SseDecoder::new();
        d.push(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n")
            .unwrap();
        assert_eq!(d.next_event(), None);
        d.finish().unwrap();
        assert_eq!(
            drain(&mut d),
            vec![ev(Some("message_stop"), "{\"type\":\"message_stop\"}")]
        );
        // Not even a line end.
        assert_eq!(decode(b"event: e\ndata: x"), vec![ev(Some("e"), "x")]);
        assert_eq!(decode(b"data: x\r"), vec![ev(None, "x")]);
        // Nothing pending: nothing dispatched.
        assert_eq!(decode(b"event: e"), vec![]);
        assert_eq!(decode(b""), vec![]);
        // Calling finish twice is harmless.
        let mut d = SseDecoder::new();
        d.push(b"data: x").unwrap();
        d.finish().unwrap();
        d.finish().unwrap();
        assert_eq!(drain(&mut d), vec![ev(None, "x")]);
        assert_eq!(d.buffered_len(), 0);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            decode(b"event: a\xFFb\ndata: x\xC3\ndata: \xE2\x82\n\n"),
            vec![ev(Some("a\u{FFFD}b"), "x\u{FFFD}\n\u{FFFD}")]
        );
        // A multi-byte character split across pushes is intact.
        assert_eq!(
            decode_chunks(&[b"data: \xE2", b"\x82", b"\xAC\n\n"]),
            vec![ev(None, "\u{20AC}")]
        );
    }

    #[test]
    fn too_large_line_in_many_small_pushes() {
        let limit = 1000;
        let mut d = SseDecoder::with_max_event_size(limit);
        d.push(b"data: ok\n\n").unwrap();
        let chunk = [b'a'; 7];
        let mut result = Ok(());
        for _ in 0..1000 {
            result = d.push(&chunk);
            assert!(d.buffered_len() <= limit, "{}", d.buffered_len());
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::EventTooLarge { limit }));
        // The error is sticky, and the event before it is still there.
        assert_eq!(
            d.push(b"\n\ndata: more\n\n"),
            Err(SseError::EventTooLarge { limit })
        );
        assert_eq!(d.finish(), Err(SseError::EventTooLarge { limit }));
        assert_eq!(drain(&mut d), vec![ev(None, "ok")]);
        assert_eq!(d.buffered_len(), 0);
    }

    #[test]
    fn too_large_line_in_one_giant_push() {
        let limit = 4096;
        let mut d = SseDecoder::with_max_event_size(limit);
        let mut input = b"data: first\n\ndata: second\n\n".to_vec();
        input.resize(input.len() + 1024 * 1024, b'x');
        assert_eq!(d.push(&input), Err(SseError::EventTooLarge { limit }));
        assert!(d.buffered_len() <= limit);
        assert_eq!(drain(&mut d), vec![ev(None, "first"), ev(None, "second")]);
        assert_eq!(d.push(b"\n\n"), Err(SseError::EventTooLarge { limit }));
        // Same with the giant line terminated in the same push: still refused.
        let mut d = SseDecoder::with_max_event_size(limit);
        let mut input = vec![b'x'; 1024 * 1024];
        input.extend_from_slice(b"\n\n");
        assert_eq!(d.push(&input), Err(SseError::EventTooLarge { limit }));
    }

    #[test]
    fn too_large_event_from_many_data_lines() {
        let limit = 100;
        let mut d = SseDecoder::with_max_event_size(limit);
        let mut result = Ok(());
        for _ in 0..20 {
            result = d.push(b"data: 0123456789\n");
            assert!(d.buffered_len() <= limit);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::EventTooLarge { limit }));
        assert_eq!(d.next_event(), None);
    }

    #[test]
    fn event_at_the_limit_is_accepted() {
        // data (value + '\n') + the current line must stay <= limit.
        let line = b"data: 0123456789"; // 16 bytes; buffers 11
        let mut d = SseDecoder::with_max_event_size(16);
        d.push(line).unwrap();
        d.push(b"\n\n").unwrap();
        assert_eq!(drain(&mut d), vec![ev(None, "0123456789")]);
        let mut d = SseDecoder::with_max_event_size(15);
        assert!(d.push(line).is_err());
    }

    #[test]
    fn decoder_is_reusable_after_finish() {
        let mut d = SseDecoder::new();
        d.push(b"event: a\ndata: 1\n\nevent: b\n").unwrap();
        d.finish().unwrap();
        // A BOM is skipped again at the start of the new stream; the old event name is gone.
        d.push(b"\xEF\xBB\xBFdata: 2\n\n").unwrap();
        assert_eq!(drain(&mut d), vec![ev(Some("a"), "1"), ev(None, "2")]);
    }

    #[test]
    fn default_debug_and_clone() {
        let mut d = SseDecoder::default();
        d.push(b"data: x").unwrap();
        let mut copy = d.clone();
        copy.finish().unwrap();
        assert_eq!(copy.next_event(), Some(ev(None, "x")));
        assert!(format!("{d:?}").contains("buffered_len: 7"));
        assert_eq!(
            SseError::EventTooLarge { limit: 5 }.to_string(),
            "server-sent event larger than the limit of 5 bytes"
        );
    }

    #[test]
    fn every_split_of_a_small_stream_gives_the_same_events() {
        let input: &[u8] = b"\xEF\xBB\xBF: hi\r\nevent: a\r\ndata: 1\r\n\r\n\
            id: 9\rdata:2\r\rdata\nretry: 7\n\ndata: \xE2\x82\xAC";
        let expected = decode(input);
        assert_eq!(expected.len(), 4);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let got = decode_chunks(&[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(got, expected, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn a_long_id_is_shared_by_the_events_not_copied_into_each() {
        let mut d = SseDecoder::with_max_event_size(1 << 20);
        let id = "i".repeat(512 * 1024);
        d.push(format!("id: {id}\n").as_bytes()).unwrap();
        for _ in 0..100 {
            d.push(b"data: x\n\n").unwrap();
        }
        let events = drain(&mut d);
        assert_eq!(events.len(), 100);
        let first = events[0].id.clone().unwrap();
        assert_eq!(first.len(), id.len());
        assert!(
            events
                .iter()
                .all(|e| Arc::ptr_eq(e.id.as_ref().unwrap(), &first))
        );
    }

    #[test]
    fn the_last_id_counts_toward_the_event_size_limit() {
        let mut d = SseDecoder::with_max_event_size(1024);
        d.push(format!("id: {}\n", "i".repeat(1000)).as_bytes())
            .unwrap();
        assert_eq!(d.buffered_len(), 1000);
        // 1000 bytes of id + a 30-byte data line: over the limit.
        let error = d.push(format!("data: {}\n\n", "d".repeat(24)).as_bytes());
        assert_eq!(error, Err(SseError::EventTooLarge { limit: 1024 }));
        assert_eq!(d.buffered_len(), 0);
    }

    #[test]
    fn a_line_arriving_one_byte_per_chunk_is_decoded_in_linear_time() {
        // Quadratic rescanning of a 4 MiB line is ~8·10^12 byte visits: this test would not
        // finish. Linear, it is 4 M pushes.
        let mut d = SseDecoder::with_max_event_size(8 << 20);
        let line = format!("data: {}\n\n", "x".repeat(4 << 20));
        for byte in line.as_bytes() {
            d.push(std::slice::from_ref(byte)).unwrap();
        }
        let events = drain(&mut d);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), 4 << 20);
    }
}
