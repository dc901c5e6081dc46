//! The API's resources: each builds its requests, hands them to the
//! [`Engine`](crate::engine::Engine) and decodes what comes back.

pub mod batches;
pub(crate) mod messages;
pub mod models;
pub mod pagination;

/// `segment`, with the characters that would change a URL path percent-encoded.
pub(crate) fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
