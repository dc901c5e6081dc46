//! The reader task: the CLI's stdout split into bounded lines, control frames routed, every
//! other frame typed and delivered.

use std::sync::Arc;

use claude_kit_core::code::control::Inbound;
use claude_kit_core::code::frames::{Frame, SystemMessage};
use claude_kit_core::jsonl::LineDecoder;
use claude_kit_core::redact::{self, Secrets};
use claude_kit_core::{DecodeCategory, Error, Result};
use claude_kit_rt as rt;
use futures_channel::mpsc;
use futures_io::AsyncRead;
use futures_util::AsyncReadExt;
use serde_json::Value;

use super::requests::{Callbacks, handle};
use super::shared::{EXIT_WAIT, Shared, lock};

/// How much of a malformed stdout line an error quotes.
pub(super) const EXCERPT_BYTES: usize = 200;
/// The stdout read buffer's first size: a turn's frames are a few kilobytes, and a session
/// that never writes more never zeroes more.
const READ_BUFFER_FIRST: usize = 8 * 1024;
/// The size the read buffer grows to, doubling at each read that fills it: a pipe's capacity
/// (what one read can return at most on Linux, by default).
const READ_BUFFER_MAX: usize = 64 * 1024;

/// Reads the CLI's stdout to its end, routing every line.
pub(super) async fn read_stdout(
    shared: Arc<Shared>,
    mut stdout: Box<dyn AsyncRead + Send + Unpin>,
    mut messages: mpsc::Sender<Result<Frame>>,
    callbacks: Arc<Callbacks>,
    max_line: usize,
    shutdown: async_channel::Sender<()>,
) {
    let mut lines = LineDecoder::new(max_line);
    let mut buffer = vec![0u8; READ_BUFFER_FIRST];
    let mut last_was_error_result = false;
    let fatal: Option<Error> = 'read: loop {
        let n = match stdout.read(&mut buffer).await {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) => {
                break Some(Error::Process {
                    message: format!("reading the Claude Code CLI's stdout failed: {e}"),
                    exit_code: None,
                    stderr_tail: shared.stderr_tail(),
                });
            }
        };
        if lines.push(&buffer[..n]).is_err() {
            break Some(too_long(max_line));
        }
        if n == buffer.len() && buffer.len() < READ_BUFFER_MAX {
            // A full read: more is waiting. Read in larger pieces (up to a pipe's capacity).
            buffer.resize(buffer.len() * 2, 0);
        }
        while let Some(line) = lines.next_line() {
            let Ok(line) = line else {
                break 'read Some(too_long(max_line));
            };
            let Some(object) = json_object(&line) else {
                continue;
            };
            // Checked as UTF-8 once, for every parse below. The frames of a turn parse in
            // one pass; control frames, other types and any line that does not parse that
            // way (or is not UTF-8) take the general path (and its errors).
            let text = std::str::from_utf8(object).ok();
            let frame = match text.and_then(Frame::from_turn_line) {
                Some(frame) => Some(Ok(frame)),
                None => route_line(&shared, &callbacks, object, text),
            };
            if let Some(frame) = frame {
                if let Ok(frame) = &frame {
                    last_was_error_result = note_frame(&shared, frame);
                }
                if deliver(&mut messages, frame).await.is_err() {
                    break 'read None;
                }
            }
        }
    };
    // A truncated last line (no `\n` before EOF) is dropped, as the official SDK drops it.
    if fatal.is_some() {
        // The CLI would block writing to a pipe nobody reads: end it.
        let _ = shutdown.try_send(());
    }
    drop(stdout);
    let runtime = &*shared.runtime;
    let _ = rt::timeout(runtime, EXIT_WAIT, async {
        shared.exited.wait().await;
        shared.stderr_done.wait().await;
    })
    .await;
    let exit_code = lock(&shared.exit).flatten();
    let error = fatal
        .clone()
        .unwrap_or_else(|| shared.ended_error(exit_code));
    let (waiters, handlers) = {
        let mut control = lock(&shared.control);
        control.channel.close();
        control.closed = Some(error.clone());
        (
            std::mem::take(&mut control.waiters),
            std::mem::take(&mut control.handlers),
        )
    };
    drop(handlers);
    for (_, waiter) in waiters {
        let _ = waiter.send(Err(error.clone()));
    }
    {
        let mut run = lock(&shared.run);
        run.ended = true;
    }
    shared.run_changed.notify(usize::MAX);
    // A signal, an exit status other than 0, or no exit at all within the wait: a failure.
    let failed_exit = exit_code != Some(0);
    if let Some(fatal) = fatal {
        let _ = deliver(&mut messages, Err(fatal)).await;
    } else if failed_exit && !last_was_error_result {
        let _ = deliver(&mut messages, Err(error)).await;
    }
}

/// Sends one frame to the consumer, waiting while the channel is full; `Err` once the
/// consumer is gone.
async fn deliver(
    messages: &mut mpsc::Sender<Result<Frame>>,
    frame: Result<Frame>,
) -> std::result::Result<(), mpsc::SendError> {
    std::future::poll_fn(|cx| messages.poll_ready(cx)).await?;
    messages.start_send(frame)
}

pub(super) fn too_long(limit: usize) -> Error {
    Error::decode_as(
        DecodeCategory::TooLarge,
        format!(
            "a line of the Claude Code CLI's stdout exceeds the limit of {limit} bytes \
             (raise it with CodeOptions::max_line_bytes)"
        ),
    )
}

/// The JSON object of one stdout line, leading whitespace skipped: `None` for a line to skip
/// (blank, or not starting with `{`: the CLI's debug output).
fn json_object(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let line = &line[start..];
    (line.first() == Some(&b'{')).then_some(line)
}

/// A stdout line that starts with `{` (see [`json_object`]) as JSON, read as `text` when it
/// is UTF-8; an error for one that is not JSON (quoted, bounded).
fn parse_object(line: &[u8], text: Option<&str>, secrets: &Secrets) -> Result<Value> {
    match text {
        Some(text) => serde_json::from_str(text),
        None => serde_json::from_slice(line),
    }
    .map_err(|e| {
        let text = String::from_utf8_lossy(line);
        let excerpt = secrets.scrub_bounded(&text, EXCERPT_BYTES);
        let mut error = Error::decode_json(
            format_args!("the Claude Code CLI wrote a line that is not JSON ({excerpt:?})"),
            &e,
        );
        if let Error::Decode { message, .. } = &mut error {
            *message = redact::truncate(message, 2 * EXCERPT_BYTES + 200);
        }
        error
    })
}

/// Routes one line that is not a frame of a turn: an answer to one of our control requests
/// straight to its waiter, its JSON kept as text (an `initialize` answer is many kilobytes);
/// anything else through [`route`].
fn route_line(
    shared: &Arc<Shared>,
    callbacks: &Arc<Callbacks>,
    object: &[u8],
    text: Option<&str>,
) -> Option<Result<Frame>> {
    if let Some(text) = text {
        let mut control = lock(&shared.control);
        if let Some(inbound) = control.channel.receive_response_line(text) {
            return dispatch(shared, callbacks, control, inbound);
        }
    }
    match parse_object(object, text, &shared.secrets) {
        Ok(value) => route(shared, callbacks, value),
        Err(error) => Some(Err(error)),
    }
}

/// Routes one frame: control frames to the channel (answers to their waiters, requests to a
/// new handler task); every other frame comes back, typed, for the message channel.
pub(super) fn route(
    shared: &Arc<Shared>,
    callbacks: &Arc<Callbacks>,
    value: Value,
) -> Option<Result<Frame>> {
    let mut control = lock(&shared.control);
    let inbound = control.channel.receive(value);
    dispatch(shared, callbacks, control, inbound)
}

/// Acts on what the control channel made of a frame, with the control state still locked.
fn dispatch(
    shared: &Arc<Shared>,
    callbacks: &Arc<Callbacks>,
    mut control: std::sync::MutexGuard<'_, super::shared::Control>,
    inbound: Inbound,
) -> Option<Result<Frame>> {
    match inbound {
        Inbound::Response { id, result } => {
            let waiter = control.waiters.remove(&id);
            drop(control);
            if let Some(waiter) = waiter {
                let result = result.map_err(|e| Error::Control {
                    subtype: "control request".into(),
                    message: shared.secrets.scrub(&e.message).into_owned(),
                    code: e.code,
                });
                let _ = waiter.send(result);
            }
            None
        }
        Inbound::Request { id, request } => {
            let handler = shared.trace.in_turn(handle(
                shared.clone(),
                callbacks.clone(),
                id.clone(),
                request,
            ));
            let task = rt::spawn(&*shared.runtime, handler);
            control.handlers.insert(id, task);
            None
        }
        Inbound::Cancelled { id } => {
            // Dropping the handle cancels the handler; no answer is written.
            control.handlers.remove(&id);
            None
        }
        Inbound::StrayResponse { .. } | Inbound::Malformed { .. } => None,
        Inbound::Message(value) => {
            drop(control);
            Some(Frame::from_value(value).map_err(|e| e.redact(&shared.secrets)))
        }
        _ => None,
    }
}

/// Notes what the stdin-closing rule needs; returns whether `frame` is an error result.
pub(super) fn note_frame(shared: &Shared, frame: &Frame) -> bool {
    shared.trace.frame(frame);
    let mut changed = false;
    let mut error_result = false;
    {
        let mut run = lock(&shared.run);
        match frame {
            Frame::Result(result) => {
                run.results += 1;
                changed = true;
                error_result = result.is_error;
            }
            Frame::System(SystemMessage::Other { subtype, data })
                if subtype == "session_state_changed" =>
            {
                run.reports_state = true;
                if data.get("state").and_then(Value::as_str) == Some("idle") {
                    run.idle_at = run.results;
                }
                changed = true;
            }
            _ => {}
        }
    }
    if changed {
        shared.run_changed.notify(usize::MAX);
    }
    error_result
}
