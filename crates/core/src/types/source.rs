//! Where an image or a document comes from: [`Source`].

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Content, Extra};

/// The `source` of an image or a document block.
///
/// Images take [`Source::Base64`] (`image/jpeg`, `image/png`, `image/gif`, `image/webp`),
/// [`Source::Url`] and [`Source::File`]; documents take those (a PDF as `application/pdf`)
/// and [`Source::Text`] (plain text) and [`Source::Content`] (your own blocks, cited by
/// block). A source of a type this version does not know is kept in [`Source::Other`].
///
/// ```
/// use claude_kit_core::types::Source;
/// use serde_json::json;
///
/// let source = Source::base64("image/png", "iVBORw0KGgo=");
/// assert_eq!(serde_json::to_value(&source).unwrap(),
///     json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}));
/// let back: Source = serde_json::from_value(json!({"type": "url", "url": "https://example.com/a.pdf"})).unwrap();
/// assert_eq!(back, Source::url("https://example.com/a.pdf"));
/// let newer: Source = serde_json::from_value(json!({"type": "hologram", "id": 7})).unwrap();
/// assert!(matches!(newer, Source::Other(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Source {
    /// Base64-encoded bytes (`{"type": "base64", "media_type": …, "data": …}`).
    Base64 {
        /// The MIME type: `image/png`, `application/pdf`, ….
        media_type: String,
        /// The bytes, base64-encoded (standard alphabet, with padding).
        data: String,
    },
    /// A URL the API fetches (`{"type": "url", "url": …}`).
    Url {
        /// The URL.
        url: String,
    },
    /// A file uploaded with the Files API (`{"type": "file", "file_id": …}`; needs the
    /// Files API beta header).
    File {
        /// The `file_…` id.
        file_id: String,
    },
    /// Plain text, for a document (`{"type": "text", "media_type": "text/plain", "data": …}`).
    Text {
        /// The MIME type, `text/plain`.
        media_type: String,
        /// The text.
        data: String,
    },
    /// Content blocks of your own, for a document (`{"type": "content", "content": …}`):
    /// citations then point at blocks instead of characters.
    Content {
        /// The document's content.
        content: Content,
    },
    /// A source of a type this version does not model, or a known type with fields it
    /// does not know, kept verbatim.
    Other(Value),
}

impl Source {
    /// Base64-encoded bytes of the given MIME type.
    pub fn base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        Source::Base64 {
            media_type: media_type.into(),
            data: data.into(),
        }
    }

    /// A URL the API fetches.
    pub fn url(url: impl Into<String>) -> Self {
        Source::Url { url: url.into() }
    }

    /// A file uploaded with the Files API.
    pub fn file(file_id: impl Into<String>) -> Self {
        Source::File {
            file_id: file_id.into(),
        }
    }

    /// Plain text (`text/plain`).
    pub fn text(text: impl Into<String>) -> Self {
        Source::Text {
            media_type: "text/plain".to_owned(),
            data: text.into(),
        }
    }

    /// Content blocks of your own.
    pub fn content(content: impl Into<Content>) -> Self {
        Source::Content {
            content: content.into(),
        }
    }
}

/// The wire form of the known sources: a variant per `type`, no other field allowed (a
/// source with more fields than these is kept whole in [`Source::Other`]).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Wire<'a> {
    Base64 {
        media_type: std::borrow::Cow<'a, str>,
        data: std::borrow::Cow<'a, str>,
    },
    Url {
        url: std::borrow::Cow<'a, str>,
    },
    File {
        file_id: std::borrow::Cow<'a, str>,
    },
    Text {
        media_type: std::borrow::Cow<'a, str>,
        data: std::borrow::Cow<'a, str>,
    },
    Content {
        content: std::borrow::Cow<'a, Content>,
    },
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use std::borrow::Cow::Borrowed;
        match self {
            Source::Base64 { media_type, data } => Wire::Base64 {
                media_type: Borrowed(media_type),
                data: Borrowed(data),
            }
            .serialize(serializer),
            Source::Url { url } => Wire::Url { url: Borrowed(url) }.serialize(serializer),
            Source::File { file_id } => Wire::File {
                file_id: Borrowed(file_id),
            }
            .serialize(serializer),
            Source::Text { media_type, data } => Wire::Text {
                media_type: Borrowed(media_type),
                data: Borrowed(data),
            }
            .serialize(serializer),
            Source::Content { content } => Wire::Content {
                content: Borrowed(content),
            }
            .serialize(serializer),
            Source::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom("a source must be a JSON object"));
        }
        Ok(match Wire::deserialize(&value) {
            Ok(Wire::Base64 { media_type, data }) => Source::Base64 {
                media_type: media_type.into_owned(),
                data: data.into_owned(),
            },
            Ok(Wire::Url { url }) => Source::Url {
                url: url.into_owned(),
            },
            Ok(Wire::File { file_id }) => Source::File {
                file_id: file_id.into_owned(),
            },
            Ok(Wire::Text { media_type, data }) => Source::Text {
                media_type: media_type.into_owned(),
                data: data.into_owned(),
            },
            Ok(Wire::Content { content }) => Source::Content {
                content: content.into_owned(),
            },
            Err(_) => Source::Other(value),
        })
    }
}

/// Whether the model may cite a document or a search result (`{"enabled": true}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CitationsConfig {
    /// Citations on.
    #[serde(default)]
    pub enabled: bool,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CitationsConfig {
    /// Citations on.
    ///
    /// ```
    /// let on = claude_kit_core::types::CitationsConfig::enabled();
    /// assert_eq!(serde_json::to_value(on).unwrap(), serde_json::json!({"enabled": true}));
    /// ```
    pub fn enabled() -> Self {
        Self {
            enabled: true,
            extra: Extra::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_known_source_round_trips() {
        for raw in [
            json!({"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}),
            json!({"type": "url", "url": "https://example.com/cat.jpg"}),
            json!({"type": "file", "file_id": "file_011"}),
            json!({"type": "text", "media_type": "text/plain", "data": "The grass is green."}),
            json!({"type": "content", "content": [{"type": "text", "text": "First."}]}),
            json!({"type": "content", "content": "Just a string."}),
        ] {
            let source: Source = serde_json::from_value(raw.clone()).unwrap();
            assert!(!matches!(source, Source::Other(_)), "{raw}");
            assert_eq!(serde_json::to_value(&source).unwrap(), raw);
        }
    }

    #[test]
    fn unknown_sources_and_unknown_fields_are_kept_whole() {
        for raw in [
            json!({"type": "s3", "bucket": "b"}),
            json!({"type": "url", "url": "https://example.com", "detail": "high"}),
            json!({"type": "base64", "data": "AAAA"}),
        ] {
            let source: Source = serde_json::from_value(raw.clone()).unwrap();
            assert_eq!(source, Source::Other(raw.clone()));
            assert_eq!(serde_json::to_value(&source).unwrap(), raw);
        }
        assert!(serde_json::from_value::<Source>(json!("https://example.com")).is_err());
    }
}
