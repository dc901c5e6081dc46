//! A reply's headers as a [`ResponseMeta`](crate::ResponseMeta) keeps them for as long as the
//! reply lives: every name and value in one buffer of their own.
//!
//! hyper hands a response's headers out as a `HeaderMap` whose values are slices of the
//! connection's read buffer. Kept as they are for as long as a stream is open, they would pin
//! that 8 KiB buffer (the connection then allocates a second one for the body), and the map
//! itself is ~2.5 KiB for a typical API response's 16 headers, most of it slots. A
//! [`StoredHeaders`] is one buffer of the bytes themselves and an index of a few bytes per
//! header; the `HeaderMap` that [`ResponseMeta::headers`](crate::ResponseMeta::headers) hands
//! out is built from it the first time it is asked for. What the SDK reads itself (the request
//! id, the content type) is found once, when the headers are stored, and read without a map.

use std::fmt;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

use claude_kit_core::redact::Secrets;

/// Response headers in one buffer, with the `HeaderMap` view made on first use.
#[derive(Clone, Default)]
pub(crate) struct StoredHeaders {
    /// Each header's name then its value, one header after the other.
    bytes: Box<[u8]>,
    /// One per value, in the order received.
    entries: Box<[Entry]>,
    /// The entries the SDK reads itself (for every response, in errors and traces), found
    /// when stored: a lookup would compare the names one by one each time.
    request_id: Option<u32>,
    content_type: Option<u32>,
    /// The map view, built on first use (boxed: most replies never make it, and a
    /// `HeaderMap` is 96 bytes inline in every reply and stream).
    map: OnceLock<Box<HeaderMap>>,
}

/// Where one header's name and value end in `bytes` (each starts where the previous part
/// ended), whether its value must never be shown, and (for the entries the SDK reads) whether
/// it is text.
#[derive(Clone, Copy)]
struct Entry {
    name_end: u32,
    value_end: u32,
    sensitive: bool,
    text: bool,
}

impl StoredHeaders {
    /// Copies `headers` out; a value that contains the key or token (a server that echoes it)
    /// is marked sensitive, as is one the server's map already marked, so that no `Debug` of
    /// the headers (in a response, a log line) ever shows it.
    pub(crate) fn new(headers: &HeaderMap, secrets: &Secrets) -> Self {
        let size: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        // Headers are bounded by hyper's buffer (at most 400 KiB); past `u32` nothing is kept.
        if u32::try_from(size).is_err() {
            return Self::default();
        }
        // Exactly the room needed: a second pass over the map costs less than giving back
        // what an estimate left over.
        let mut bytes = Vec::with_capacity(size);
        let mut entries = Vec::with_capacity(headers.len());
        let (mut request_id, mut content_type) = (None, None);
        for (name, value) in headers {
            // At most `size` entries: the index fits as the offsets do.
            let index = entries.len() as u32;
            let read = if name == http::header::CONTENT_TYPE {
                content_type.get_or_insert(index);
                true
            } else if name.as_str() == REQUEST_ID {
                request_id.get_or_insert(index);
                true
            } else {
                false
            };
            bytes.extend_from_slice(name.as_str().as_bytes());
            let name_end = bytes.len() as u32;
            bytes.extend_from_slice(value.as_bytes());
            entries.push(Entry {
                name_end,
                value_end: bytes.len() as u32,
                sensitive: value.is_sensitive(),
                // Checked once here, not at every read.
                text: read && value.to_str().is_ok(),
            });
        }
        // One search of all the bytes instead of one per value; only when a secret is in
        // there (in a value, a name, or across two) are the values searched one by one.
        if secrets.appears_in(&bytes) {
            for entry in &mut entries {
                let value = &bytes[entry.name_end as usize..entry.value_end as usize];
                entry.sensitive |= secrets.appears_in(value);
            }
        }
        Self {
            bytes: bytes.into_boxed_slice(),
            entries: entries.into_boxed_slice(),
            request_id,
            content_type,
            map: OnceLock::new(),
        }
    }

    /// The (first) `request-id` header, if it is text (visible ASCII).
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.value_str(self.request_id?)
    }

    /// The (first) `content-type` header, if it is text (visible ASCII).
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.value_str(self.content_type?)
    }

    /// The value of entry `index` (one the SDK reads) as text, if it is visible ASCII (as
    /// `HeaderValue::to_str` has it).
    fn value_str(&self, index: u32) -> Option<&str> {
        let entry = self
            .entries
            .get(index as usize)
            .filter(|entry| entry.text)?;
        let value = self
            .bytes
            .get(entry.name_end as usize..entry.value_end as usize)?;
        std::str::from_utf8(value).ok()
    }

    /// The headers as a `HeaderMap`, made the first time it is asked for.
    pub(crate) fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            let mut map = HeaderMap::with_capacity(self.entries.len());
            for (name, value, sensitive) in self.iter() {
                // Cannot fail: both were a valid name and value when stored.
                if let (Ok(name), Ok(mut value)) =
                    (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
                {
                    value.set_sensitive(sensitive);
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }

    /// Every (name, value, sensitive), in the order received.
    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8], bool)> {
        let mut start = 0;
        self.entries.iter().map(move |entry| {
            let (name_end, value_end) = (entry.name_end as usize, entry.value_end as usize);
            let name = &self.bytes[start..name_end];
            let value = &self.bytes[name_end..value_end];
            start = value_end;
            (name, value, entry.sensitive)
        })
    }
}

/// Marks every value of `headers` that contains the key or token sensitive (a server that
/// echoes it), so that no `Debug` of them shows it: for the headers of an error response,
/// which the retry callback sees and which are not stored.
pub(crate) fn hide_secrets(headers: &mut HeaderMap, secrets: &Secrets) {
    for value in headers.values_mut() {
        if secrets.appears_in(value.as_bytes()) {
            value.set_sensitive(true);
        }
    }
}

/// The name of the `request-id` header.
const REQUEST_ID: &str = "request-id";

/// As the `HeaderMap` view shows itself (`{"name": "value", ...}`, a sensitive value as
/// `Sensitive`).
impl fmt::Debug for StoredHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.map(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As hyper hands them out: values that are slices of the connection's read buffer.
    fn from_read_buffer(read_buffer: &bytes::Bytes, key: &str) -> HeaderMap {
        let slice = |range: std::ops::Range<usize>| {
            HeaderValue::from_maybe_shared(read_buffer.slice(range)).unwrap()
        };
        let mut headers = HeaderMap::new();
        headers.insert("request-id", slice(0..10));
        headers.insert("x-echo", slice(10..10 + key.len()));
        headers.append("x-echo", slice(read_buffer.len() - 2..read_buffer.len()));
        let mut hidden = slice(0..3);
        hidden.set_sensitive(true);
        headers.insert("x-hidden", hidden);
        headers.insert(http::header::CONTENT_TYPE, slice(3..6));
        headers
    }

    #[test]
    fn headers_are_copied_out_of_the_read_buffer_and_secrets_hidden() {
        let key = "sk-ant-api03-secret-key-0123456789";
        let read_buffer = bytes::Bytes::from(format!("req_123abc{key} 42"));
        let headers = from_read_buffer(&read_buffer, key);

        let stored = StoredHeaders::new(&headers, &Secrets::new([key]));
        drop(headers);

        assert_eq!(stored.request_id(), Some("req_123abc"));
        assert_eq!(stored.content_type(), Some("_12"));

        let map = stored.map();
        let buffer = read_buffer.as_ptr_range();
        for value in map.values() {
            assert!(
                !buffer.contains(&value.as_bytes().as_ptr()),
                "a value still points into the read buffer"
            );
        }
        assert_eq!(map.len(), 5);
        assert_eq!(map["request-id"], "req_123abc");
        assert!(!map["request-id"].is_sensitive());
        let echoes: Vec<_> = map.get_all("x-echo").iter().collect();
        assert_eq!(echoes.len(), 2);
        assert_eq!(echoes[0].as_bytes(), key.as_bytes());
        assert!(echoes[0].is_sensitive(), "the echoed key is hidden");
        assert_eq!(echoes[1], "42");
        assert!(!echoes[1].is_sensitive());
        assert!(map["x-hidden"].is_sensitive(), "a sensitive value stays so");
        assert!(std::ptr::eq(map, stored.map()), "the map is made once");

        for shown in [format!("{stored:?}"), format!("{map:?}"), {
            format!("{:?}", stored.clone())
        }] {
            assert!(!shown.contains(key), "{shown}");
            assert!(shown.contains("Sensitive"), "{shown}");
            assert!(shown.contains("req_123abc"), "{shown}");
        }
    }

    #[test]
    fn the_first_request_id_and_content_type_if_they_are_text() {
        let mut headers = HeaderMap::new();
        headers.insert("x-before", HeaderValue::from_static("1"));
        headers.append("request-id", HeaderValue::from_static("req_first"));
        headers.append("request-id", HeaderValue::from_static("req_second"));
        headers.insert(
            "content-type",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        let stored = StoredHeaders::new(&headers, &Secrets::default());
        assert_eq!(stored.request_id(), Some("req_first"));
        assert_eq!(stored.content_type(), None, "not visible ASCII");
        assert_eq!(stored.map()["content-type"].as_bytes(), b"caf\xc3\xa9");
        assert_eq!(stored.map().get_all("request-id").iter().count(), 2);
        assert_eq!(stored.clone().request_id(), Some("req_first"));
    }

    #[test]
    fn secrets_in_headers_that_are_not_stored_are_hidden_in_place() {
        let key = "sk-ant-api03-secret-key-0123456789";
        let read_buffer = bytes::Bytes::from(format!("req_123abc{key} 42"));
        let mut headers = from_read_buffer(&read_buffer, key);
        hide_secrets(&mut headers, &Secrets::new([key]));
        let shown = format!("{headers:?}");
        assert!(!shown.contains(key), "{shown}");
        assert!(headers["x-hidden"].is_sensitive());
        assert!(!headers["request-id"].is_sensitive());
        assert_eq!(
            headers
                .get_all("x-echo")
                .iter()
                .filter(|v| v.is_sensitive())
                .count(),
            1
        );
    }

    #[test]
    fn a_secret_split_over_two_values_hides_neither() {
        let key = "sk-ant-api03-secret-key-0123456789";
        let (head, tail) = key.split_at(12);
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_str(head).unwrap());
        headers.insert("x-b", HeaderValue::from_str(tail).unwrap());
        headers.insert("x-c", HeaderValue::from_str(key).unwrap());
        let stored = StoredHeaders::new(&headers, &Secrets::new([key]));
        let map = stored.map();
        assert!(!map["x-a"].is_sensitive());
        assert!(!map["x-b"].is_sensitive());
        assert!(map["x-c"].is_sensitive());
        headers.remove("x-c");
        let stored = StoredHeaders::new(&headers, &Secrets::new([key]));
        assert!(!stored.map().values().any(HeaderValue::is_sensitive));
    }

    #[test]
    fn no_headers() {
        let stored = StoredHeaders::new(&HeaderMap::new(), &Secrets::default());
        assert_eq!(stored.request_id(), None);
        assert_eq!(stored.content_type(), None);
        assert!(stored.map().is_empty());
        assert_eq!(format!("{stored:?}"), "{}");
    }
}
