//! The stderr task: the last lines kept for errors, each line handed to the callback.

use std::sync::Arc;

use futures_io::AsyncRead;
use futures_util::AsyncReadExt;

use super::shared::{Shared, lock};

/// What is kept of stderr for errors.
pub(super) const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// How much of a stderr line is kept (and handed to the callback).
pub(super) const STDERR_LINE_BYTES: usize = 16 * 1024;
/// The stderr read buffer's first size: the CLI usually writes nothing there, and a zeroed
/// buffer is paid for by every session.
const READ_BUFFER_FIRST: usize = 1024;
/// The size the read buffer grows to, doubling at each read that fills it.
const READ_BUFFER_MAX: usize = 8 * 1024;

/// Reads stderr to its end: each line to the callback, the last ones kept for errors.
pub(super) async fn read_stderr(
    shared: Arc<Shared>,
    mut stderr: Box<dyn AsyncRead + Send + Unpin>,
    callback: Option<crate::options::StderrCallback>,
) {
    let mut buffer = vec![0u8; READ_BUFFER_FIRST];
    let mut line: Vec<u8> = Vec::new();
    let keep = |line: &mut Vec<u8>| {
        let text = String::from_utf8_lossy(line)
            .trim_end_matches('\r')
            .to_owned();
        line.clear();
        if let Some(callback) = &callback {
            callback(&text);
        }
        let mut tail = lock(&shared.stderr_tail);
        tail.push_back(text);
        let mut total: usize = tail.iter().map(String::len).sum();
        while total > STDERR_TAIL_BYTES && tail.len() > 1 {
            total -= tail.pop_front().map_or(0, |l| l.len());
        }
        if total > STDERR_TAIL_BYTES
            && let Some(only) = tail.back_mut()
        {
            let cut = only.len() - STDERR_TAIL_BYTES;
            let start = (cut..only.len())
                .find(|&i| only.is_char_boundary(i))
                .unwrap_or(0);
            *only = only[start..].to_owned();
        }
    };
    loop {
        let n = match stderr.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &buffer[..n] {
            if byte == b'\n' {
                keep(&mut line);
            } else if line.len() < STDERR_LINE_BYTES {
                line.push(byte);
            }
        }
        if n == buffer.len() && buffer.len() < READ_BUFFER_MAX {
            // A full read: more is waiting. Read in larger pieces.
            buffer.resize(buffer.len() * 2, 0);
        }
    }
    if !line.is_empty() {
        keep(&mut line);
    }
    shared.stderr_done.raise();
}
