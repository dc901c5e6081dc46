//! The HTTP `CONNECT` tunnel through a proxy, opened before TLS for https requests.

use std::pin::Pin;

use claude_kit_core::Error;
use claude_kit_rt::AsyncIo;

use crate::proxy::ProxyTarget;
use crate::target::Target;

/// Longest proxy answer to `CONNECT` read before giving up.
const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// Asks the proxy for a tunnel to `target` over `stream` and reads its answer.
pub(crate) async fn tunnel(
    stream: &mut Box<dyn AsyncIo>,
    proxy: &ProxyTarget,
    target: &Target,
) -> claude_kit_core::Result<()> {
    let fail = |message: String| Error::Connect {
        target: proxy.display(),
        message,
        source: None,
    };
    let origin = target.display();
    let mut head = format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n");
    if let Some(authorization) = proxy.authorization() {
        head.push_str("Proxy-Authorization: ");
        // Built from a base64 token, so always visible ASCII.
        head.push_str(authorization.to_str().unwrap_or_default());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    write_all(stream, head.as_bytes())
        .await
        .map_err(|e| Error::connect(proxy.display(), e))?;

    let mut buf = Vec::with_capacity(1024);
    let mut scratch = [0u8; 1024];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_CONNECT_RESPONSE {
            return Err(fail(format!(
                "the proxy's answer to CONNECT {origin} is over {MAX_CONNECT_RESPONSE} bytes"
            )));
        }
        let n = std::future::poll_fn(|cx| Pin::new(&mut **stream).poll_read(cx, &mut scratch))
            .await
            .map_err(|e| Error::connect(proxy.display(), e))?;
        if n == 0 {
            return Err(fail(format!(
                "the proxy closed the connection before answering CONNECT {origin}"
            )));
        }
        buf.extend_from_slice(&scratch[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut words = status_line.splitn(3, ' ');
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => {
            code.parse::<http::StatusCode>().ok()
        }
        _ => None,
    };
    match status {
        Some(status) if status.is_success() => {
            if end < buf.len() {
                // TLS has the client speak first: a proxy sending more is broken.
                return Err(fail(format!(
                    "the proxy sent unexpected data after accepting CONNECT {origin}"
                )));
            }
            Ok(())
        }
        Some(status) => Err(fail(format!(
            "the proxy refused CONNECT {origin}: {}",
            status_line
                .split_once(' ')
                .map_or(status.as_str(), |(_, rest)| rest.trim())
        ))),
        None => Err(fail(format!(
            "the proxy answered CONNECT {origin} with an invalid status line `{}`",
            status_line.escape_debug()
        ))),
    }
}

/// Writes all of `data` and flushes.
async fn write_all(stream: &mut Box<dyn AsyncIo>, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut **stream).poll_write(cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    std::future::poll_fn(|cx| Pin::new(&mut **stream).poll_flush(cx)).await
}
