//! Peak-memory bounds against hostile servers, measured by a counting global allocator.
//!
//! Each test resets the peak, runs one call against the scripted server of
//! `tests/common/hostile.rs` (in this process, so its buffers count too: it writes large
//! bodies from one small repeated buffer) and asserts how far the peak rose above the bytes
//! live at the start. The bounds are on memory, never on time. Tests take a global lock so
//! that no two measure at once, and run on smol: memory use is not runtime-specific.
//!
//! The allocator refuses to hold more than [`CAP`] bytes at once, so a regression that tries
//! to allocate gigabytes aborts this binary instead of exhausting the machine.

use crate::common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use claude_kit::{Client, ContentDelta, Error, MessageRequest, StreamEvent};
use common::Rt;
use common::hostile::*;
use futures_util::StreamExt;

const MIB: usize = 1 << 20;
/// The most bytes the allocator holds at once.
const CAP: usize = 3 << 30;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// `System`, counting the bytes live now and the most live since the last reset.
struct Counting;

impl Counting {
    /// Counts `size` more bytes; false (nothing counted) when that would pass [`CAP`].
    fn grow(size: usize) -> bool {
        let now = CURRENT.fetch_add(size, Ordering::SeqCst) + size;
        if now > CAP {
            CURRENT.fetch_sub(size, Ordering::SeqCst);
            return false;
        }
        PEAK.fetch_max(now, Ordering::SeqCst);
        true
    }

    fn shrink(size: usize) {
        CURRENT.fetch_sub(size, Ordering::SeqCst);
    }
}

// SAFETY: every call is forwarded to `System` with the caller's arguments; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            Self::shrink(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            Self::shrink(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::grow(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > old {
                Self::shrink(new_size - old);
            }
        } else if new_size < old {
            Self::shrink(old - new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `test` on a fresh smol runtime and returns its output and how many bytes the peak
/// rose above what was live at the start.
fn measure<T, F: Future<Output = T>>(test: impl FnOnce(Rt) -> F) -> (T, usize) {
    // Only one test of the binary runs at a time, so only this one is measured.
    let _only_me = crate::exclusive();
    let rt: Rt = Arc::new(claude_kit_smol::SmolRuntime::new());
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let output = smol::block_on(test(rt));
    let peak = PEAK.load(Ordering::SeqCst);
    (output, peak.saturating_sub(base))
}

fn client(server: &HostileServer, rt: &Rt) -> claude_kit::ClientBuilder {
    Client::builder()
        .api_key("sk-ant-memory-test")
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .use_env_proxy(false)
        .max_retries(0)
        .response_header_timeout(Duration::from_secs(120))
        .idle_timeout(Duration::from_secs(120))
        .timeout(Duration::from_secs(600))
}

fn request() -> MessageRequest {
    MessageRequest::new("hostile-model", 64).user("memory")
}

/// The head of a `content-length` response.
fn head(status: u16, content_type: &str, length: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} OK\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Streams the reply: the text of its deltas, or the first error.
async fn stream_text(client: &Client) -> claude_kit::Result<String> {
    let mut stream = client.messages().stream(request()).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::ContentBlockDelta {
            delta: ContentDelta::Text(piece),
            ..
        } = event?
        {
            text.push_str(&piece);
        }
    }
    stream.final_message().await?;
    Ok(text)
}

#[track_caller]
fn assert_peak(what: &str, growth: usize, bound: usize) {
    assert!(
        growth < bound,
        "{what}: peak memory rose by {:.1} MiB, bound {} MiB",
        growth as f64 / MIB as f64,
        bound / MIB
    );
    eprintln!(
        "{what}: peak growth {:.2} MiB (bound {} MiB)",
        growth as f64 / MIB as f64,
        bound / MIB
    );
}

#[test]
fn a_4_mib_id_line_is_not_copied_into_every_event() {
    const ID_CHUNKS: u64 = 64; // 64 × 64 KiB = 4 MiB
    const EVENTS: u64 = 2000;
    let (text, growth) = measure(|rt| async move {
        let prefix = message_start() + &text_block_start(0) + "id: ";
        let delta = text_delta(0, "x");
        let end = block_stop(0) + &message_end();
        let length = prefix.len()
            + (ID_CHUNKS as usize) * 64 * 1024
            + 1
            + delta.len() * EVENTS as usize
            + end.len();
        let server = HostileServer::start(vec![vec![
            Step::ReadRequest,
            Step::write(head(200, "text/event-stream", length)),
            Step::write(&prefix),
            Step::repeat([b'i'; 64 * 1024], ID_CHUNKS),
            Step::write("\n"),
            Step::repeat(&delta, EVENTS),
            Step::write(&end),
        ]]);
        let client = client(&server, &rt).build().unwrap();
        stream_text(&client).await
    });
    assert_peak("4 MiB id + 2,000 events", growth, 64 * MIB);
    assert_eq!(text.unwrap(), "x".repeat(EVENTS as usize));
}

#[test]
fn a_million_pings_before_content_are_not_buffered() {
    const PINGS_PER_WRITE: usize = 1000;
    const WRITES: u64 = 1000;
    let (text, growth) = measure(|rt| async move {
        let start = message_start();
        let pings = ping().repeat(PINGS_PER_WRITE);
        let rest = text_block_start(0)
            + &text_delta(0, "after the pings")
            + &block_stop(0)
            + &message_end();
        let length = start.len() + pings.len() * WRITES as usize + rest.len();
        let server = HostileServer::start(vec![vec![
            Step::ReadRequest,
            Step::write(head(200, "text/event-stream", length)),
            Step::write(&start),
            Step::repeat(&pings, WRITES),
            Step::write(&rest),
        ]]);
        let client = client(&server, &rt).build().unwrap();
        stream_text(&client).await
    });
    assert_peak("1,000,000 pings before content", growth, 32 * MIB);
    assert_eq!(text.unwrap(), "after the pings");
}

async fn block_index_far_beyond(rt: Rt, event: String) -> claude_kit::Result<String> {
    let events = message_start() + &event + &message_end();
    let server = HostileServer::start(vec![vec![
        Step::ReadRequest,
        Step::write(head(200, "text/event-stream", events.len())),
        Step::write(&events),
    ]]);
    let client = client(&server, &rt).build().unwrap();
    stream_text(&client).await
}

#[test]
fn a_delta_for_block_index_1e8_fails_without_allocating() {
    let (outcome, growth) =
        measure(|rt| block_index_far_beyond(rt, text_delta(100_000_000, "far")));
    assert_peak("content_block_delta index 1e8", growth, 16 * MIB);
    let error = outcome.expect_err("a delta for a block never started");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}

#[test]
fn a_block_start_at_index_1e8_fails_without_allocating() {
    let (outcome, growth) = measure(|rt| block_index_far_beyond(rt, text_block_start(100_000_000)));
    assert_peak("content_block_start index 1e8", growth, 16 * MIB);
    let error = outcome.expect_err("a block far beyond the next index");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}

#[test]
fn a_100_mib_json_body_over_max_response_bytes_stays_bounded() {
    let (outcome, growth) = measure(|rt| async move {
        let server = HostileServer::start(vec![vec![
            Step::ReadRequest,
            Step::write(head(200, "application/json", 100 * MIB)),
            Step::write("{\"id\":\""),
            Step::repeat([b'a'; 64 * 1024], 1600),
        ]]);
        let client = client(&server, &rt)
            .max_response_bytes(MIB)
            .build()
            .unwrap();
        let outcome = client.messages().create(request()).await;
        (outcome.map(|reply| reply.text()), server.bytes_written())
    });
    assert_peak("100 MiB JSON body, 1 MiB limit", growth, 16 * MIB);
    let (outcome, written) = outcome;
    let error = outcome.expect_err("over max_response_bytes");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(written < 64 * MIB as u64, "the client read {written} bytes");
}

#[test]
fn a_64_mib_event_line_over_max_event_size_stays_bounded() {
    let (outcome, growth) = measure(|rt| async move {
        let prefix = message_start() + "event: content_block_delta\ndata: ";
        let server = HostileServer::start(vec![vec![
            Step::ReadRequest,
            Step::write(head(200, "text/event-stream", prefix.len() + 64 * MIB)),
            Step::write(&prefix),
            Step::repeat([b'd'; 64 * 1024], 1024),
        ]]);
        let client = client(&server, &rt).max_event_size(MIB).build().unwrap();
        stream_text(&client).await
    });
    assert_peak("64 MiB event line, 1 MiB limit", growth, 16 * MIB);
    let error = outcome.expect_err("over max_event_size");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}
