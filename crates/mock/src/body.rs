//! Response bodies: a full buffer, a stream of chunks (with pauses and a chosen ending), or the
//! lazily generated endless event of [`Reply::oversized_event`](crate::Reply::oversized_event).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_io::Timer;
use bytes::Bytes;
use futures_lite::{future, stream};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

/// A response body. A body error makes hyper drop the connection mid-response.
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// A body sent in one piece, with a `content-length`.
pub(crate) fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// What a chunked body does after its last chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Ends normally (the final `0` chunk).
    Finish,
    /// Never ends and never sends anything more.
    Stall,
    /// Fails, so that hyper closes the connection without the final `0` chunk.
    Reset,
}

/// A chunked body: each `(pause, chunk)` is one HTTP chunk sent after `pause`; `streamed`
/// counts the bytes handed to hyper.
pub(crate) fn chunks(chunks: Vec<(Duration, Bytes)>, end: End, streamed: Arc<AtomicU64>) -> Body {
    struct State {
        chunks: std::vec::IntoIter<(Duration, Bytes)>,
        end: Option<End>,
        streamed: Arc<AtomicU64>,
    }
    let state = State {
        chunks: chunks.into_iter(),
        end: Some(end),
        streamed,
    };
    let frames = stream::unfold(state, |mut state| async move {
        if let Some((pause, chunk)) = state.chunks.next() {
            if !pause.is_zero() {
                Timer::after(pause).await;
            }
            state
                .streamed
                .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            return Some((Ok(Frame::data(chunk)), state));
        }
        match state.end.take()? {
            End::Finish => None,
            End::Stall => future::pending().await,
            End::Reset => {
                // hyper drops buffered output on a body error: give it one turn to flush the
                // chunks already written first.
                future::yield_now().await;
                let error = io::Error::new(io::ErrorKind::ConnectionReset, "mock: reset");
                Some((Err(error), state))
            }
        }
    });
    StreamBody::new(frames).boxed_unsync()
}

/// `body`, holding `guard` until it ends or is dropped (by hyper: after its last frame, or
/// when the connection or HTTP/2 stream goes away).
pub(crate) fn guarded<G: Send + 'static>(body: Body, guard: G) -> Body {
    struct Guarded<G> {
        body: Body,
        _guard: G,
    }
    impl<G> hyper::body::Body for Guarded<G> {
        type Data = Bytes;
        type Error = io::Error;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, io::Error>>> {
            std::pin::Pin::new(&mut self.body).poll_frame(cx)
        }

        fn is_end_stream(&self) -> bool {
            self.body.is_end_stream()
        }

        fn size_hint(&self) -> hyper::body::SizeHint {
            self.body.size_hint()
        }
    }
    // `Unpin`: `Body` is a pinned box.
    impl<G> Unpin for Guarded<G> {}
    Guarded {
        body,
        _guard: guard,
    }
    .boxed_unsync()
}

/// Size of the pieces of an oversized event.
const OVERSIZED_CHUNK: usize = 64 * 1024;

/// The start of the oversized event, up to the endless text.
pub(crate) const OVERSIZED_HEAD: &[u8] = br#"event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#;

/// The end of the oversized event, after the endless text.
pub(crate) const OVERSIZED_TAIL: &[u8] = b"\"}}\n\n";

/// The start of an oversized JSON message, up to the endless text.
pub(crate) const OVERSIZED_JSON_HEAD: &[u8] = br#"{"id":"msg_mock_oversized","type":"message","role":"assistant","model":"claude-kit-mock","content":[{"type":"text","text":""#;

/// The end of an oversized JSON message, after the endless text.
pub(crate) const OVERSIZED_JSON_TAIL: &[u8] = br#""}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}"#;

/// A body of `total_bytes` bytes (at least `head` and `tail`): `head`, then `a`s in chunks of
/// 64 KiB (slices of one shared buffer), then `tail`.
pub(crate) fn oversized(
    total_bytes: u64,
    head: &'static [u8],
    tail: &'static [u8],
    streamed: Arc<AtomicU64>,
) -> Body {
    let fixed = (head.len() + tail.len()) as u64;
    let filler = Bytes::from(vec![b'a'; OVERSIZED_CHUNK]);
    // (bytes of `a` still to send, whether the head was sent, whether the tail was sent)
    let state = (total_bytes.saturating_sub(fixed), false, false);
    let frames = stream::unfold(state, move |(left, head_sent, tail_sent)| {
        let filler = filler.clone();
        let streamed = Arc::clone(&streamed);
        async move {
            let (chunk, next) = if !head_sent {
                (Bytes::from_static(head), (left, true, false))
            } else if left > 0 {
                let len = left.min(OVERSIZED_CHUNK as u64);
                (filler.slice(..len as usize), (left - len, true, false))
            } else if !tail_sent {
                (Bytes::from_static(tail), (0, true, true))
            } else {
                return None;
            };
            streamed.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            Some((Ok::<_, io::Error>(Frame::data(chunk)), next))
        }
    });
    StreamBody::new(frames).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(body: Body) -> Result<Vec<Bytes>, io::Error> {
        async_io::block_on(async {
            let mut body = body;
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                out.push(frame?.into_data().unwrap());
            }
            Ok(out)
        })
    }

    #[test]
    fn oversized_sizes() {
        let streamed = Arc::new(AtomicU64::new(0));
        let total = 3 * OVERSIZED_CHUNK as u64 + 10;
        let sse = |total, streamed| oversized(total, OVERSIZED_HEAD, OVERSIZED_TAIL, streamed);
        let pieces = collect(sse(total, Arc::clone(&streamed))).unwrap();
        assert_eq!(streamed.load(Ordering::SeqCst), total);
        let lens: Vec<usize> = pieces.iter().map(Bytes::len).collect();
        let fixed = OVERSIZED_HEAD.len() + OVERSIZED_TAIL.len();
        let last = OVERSIZED_CHUNK + 10 - fixed;
        assert_eq!(
            lens,
            [
                OVERSIZED_HEAD.len(),
                OVERSIZED_CHUNK,
                OVERSIZED_CHUNK,
                last,
                OVERSIZED_TAIL.len()
            ]
        );
        let body = pieces.concat();
        let text = std::str::from_utf8(&body).unwrap();
        let data = text
            .strip_prefix("event: content_block_delta\ndata: ")
            .unwrap();
        assert_eq!(data.matches('\n').count(), 2);
        let event: serde_json::Value = serde_json::from_str(data.trim_end()).unwrap();
        let delta = event["delta"]["text"].as_str().unwrap();
        assert_eq!(delta.len() as u64, total - fixed as u64);
        assert!(delta.bytes().all(|b| b == b'a'));
        // Too small a size still gives a whole event.
        let small = collect(sse(0, Arc::clone(&streamed))).unwrap().concat();
        assert_eq!(small.len(), fixed);
        // The JSON variant is one valid message.
        let body = oversized(100_000, OVERSIZED_JSON_HEAD, OVERSIZED_JSON_TAIL, streamed);
        let body = collect(body).unwrap().concat();
        assert_eq!(body.len(), 100_000);
        let message: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(message["type"], "message");
    }

    #[test]
    fn chunk_endings() {
        let streamed = Arc::new(AtomicU64::new(0));
        let pieces = vec![
            (Duration::ZERO, Bytes::from_static(b"ab")),
            (Duration::ZERO, Bytes::from_static(b"c")),
        ];
        let body = chunks(pieces.clone(), End::Finish, Arc::clone(&streamed));
        assert_eq!(collect(body).unwrap(), [&b"ab"[..], b"c"]);
        let body = chunks(pieces, End::Reset, Arc::clone(&streamed));
        assert!(collect(body).is_err());
        assert_eq!(streamed.load(Ordering::SeqCst), 6);
    }
}
