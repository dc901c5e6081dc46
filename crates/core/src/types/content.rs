//! Content blocks: the pieces of a message.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{CacheControl, CitationsConfig, Content, Extra, Source};

/// One block of a message's content, in either direction.
///
/// The same type is used for requests and responses, so an assistant reply can be put back
/// into the conversation as it is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContentBlock {
    /// `text`: text, with optional citations.
    Text(TextBlock),
    /// `image`: an image in a user message.
    Image(ImageBlock),
    /// `document`: a PDF, plain text or your own content blocks, which the model can cite.
    Document(DocumentBlock),
    /// `search_result`: a search result your application found, which the model can cite.
    SearchResult(SearchResultBlock),
    /// `tool_use`: the model asks the application to run a tool.
    ToolUse(ToolUseBlock),
    /// `server_tool_use`: the model ran a tool on the API's side (web search, code execution).
    ServerToolUse(ToolUseBlock),
    /// `tool_result`: the application's answer to a `tool_use`.
    ToolResult(ToolResultBlock),
    /// The result of a server tool (`web_search_tool_result`, `web_fetch_tool_result`,
    /// `code_execution_tool_result`, … : every `*_tool_result` type but `tool_result`).
    ServerToolResult(ServerToolResultBlock),
    /// `thinking`: the model's extended thinking, with its signature.
    Thinking(ThinkingBlock),
    /// `redacted_thinking`: thinking the API returns encrypted.
    RedactedThinking(RedactedThinkingBlock),
    /// A block of a type this version does not model (newer types), kept as raw JSON with
    /// its `type` field.
    Unknown(Value),
}

/// A `text` block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextBlock {
    /// The text.
    pub text: String,
    /// Citations supporting the text, as the API sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Value>>,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An `image` block.
///
/// ```
/// use claude_kit_core::types::{CacheControl, ContentBlock, ImageBlock, MessageRequest};
/// use serde_json::json;
///
/// let request = MessageRequest::new("claude-sonnet-4-5", 1024).user(vec![
///     ImageBlock::base64("image/png", "iVBORw0KGgo=").into(),
///     ImageBlock::url("https://example.com/cat.jpg").cache_control(CacheControl::ephemeral()).into(),
///     ContentBlock::text("What is different between these two?"),
/// ]);
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["messages"][0]["content"][1], json!({"type": "image",
///     "source": {"type": "url", "url": "https://example.com/cat.jpg"}, "cache_control": {"type": "ephemeral"}}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageBlock {
    /// Where the image comes from.
    pub source: Source,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageBlock {
    /// An image from `source`.
    pub fn new(source: Source) -> Self {
        Self {
            source,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// A base64-encoded image: `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub fn base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        Self::new(Source::base64(media_type, data))
    }

    /// An image the API fetches from `url`.
    pub fn url(url: impl Into<String>) -> Self {
        Self::new(Source::url(url))
    }

    /// An image uploaded with the Files API.
    pub fn file(file_id: impl Into<String>) -> Self {
        Self::new(Source::file(file_id))
    }

    /// Sets a prompt-cache breakpoint after this block.
    pub fn cache_control(mut self, cache_control: CacheControl) -> Self {
        self.cache_control = Some(cache_control);
        self
    }
}

impl From<ImageBlock> for ContentBlock {
    fn from(block: ImageBlock) -> Self {
        ContentBlock::Image(block)
    }
}

/// A `document` block: a PDF, plain text, or content blocks of your own.
///
/// ```
/// use claude_kit_core::types::{ContentBlock, DocumentBlock, MessageRequest};
/// use serde_json::json;
///
/// let document = DocumentBlock::text("The grass is green. The sky is blue.")
///     .title("Facts")
///     .citations();
/// let request = MessageRequest::new("claude-sonnet-4-5", 1024)
///     .user(vec![document.into(), ContentBlock::text("What colour is the grass?")]);
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["messages"][0]["content"][0], json!({
///     "type": "document",
///     "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."},
///     "title": "Facts",
///     "citations": {"enabled": true},
/// }));
/// assert_eq!(serde_json::to_value(DocumentBlock::pdf_url("https://example.com/a.pdf")).unwrap()["source"],
///     json!({"type": "url", "url": "https://example.com/a.pdf"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocumentBlock {
    /// The document itself.
    pub source: Source,
    /// A title, which the model may use and cite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Context about the document (not cited), e.g. where it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Whether the model may cite the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<CitationsConfig>,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DocumentBlock {
    /// A document from `source`.
    pub fn new(source: Source) -> Self {
        Self {
            source,
            title: None,
            context: None,
            citations: None,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// A base64-encoded PDF.
    pub fn pdf_base64(data: impl Into<String>) -> Self {
        Self::new(Source::base64("application/pdf", data))
    }

    /// A PDF the API fetches from `url`.
    pub fn pdf_url(url: impl Into<String>) -> Self {
        Self::new(Source::url(url))
    }

    /// A plain-text document.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(Source::text(text))
    }

    /// A document made of your own content blocks (citations point at blocks).
    pub fn content(content: impl Into<Content>) -> Self {
        Self::new(Source::content(content))
    }

    /// A document uploaded with the Files API.
    pub fn file(file_id: impl Into<String>) -> Self {
        Self::new(Source::file(file_id))
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the context.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Lets the model cite the document: its answer's text blocks then carry
    /// [`citations`](ContentBlock::citations).
    pub fn citations(mut self) -> Self {
        self.citations = Some(CitationsConfig::enabled());
        self
    }

    /// Sets a prompt-cache breakpoint after this block.
    pub fn cache_control(mut self, cache_control: CacheControl) -> Self {
        self.cache_control = Some(cache_control);
        self
    }
}

impl From<DocumentBlock> for ContentBlock {
    fn from(block: DocumentBlock) -> Self {
        ContentBlock::Document(block)
    }
}

/// A `search_result` block: a result your own search found, with its source and text.
///
/// ```
/// use claude_kit_core::types::{ContentBlock, SearchResultBlock};
/// use serde_json::json;
///
/// let result = SearchResultBlock::new("https://docs.example.com/api", "API reference",
///     ["Requests are authenticated with a key."]).citations();
/// assert_eq!(serde_json::to_value(ContentBlock::from(result)).unwrap(), json!({
///     "type": "search_result", "source": "https://docs.example.com/api", "title": "API reference",
///     "content": [{"type": "text", "text": "Requests are authenticated with a key."}],
///     "citations": {"enabled": true},
/// }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchResultBlock {
    /// Where the result comes from (a URL, a document id).
    pub source: String,
    /// The result's title.
    pub title: String,
    /// The result's text, as `text` blocks.
    pub content: Vec<ContentBlock>,
    /// Whether the model may cite the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<CitationsConfig>,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SearchResultBlock {
    /// A result from `source` titled `title`, with one text block per item of `texts`.
    pub fn new<T: Into<String>>(
        source: impl Into<String>,
        title: impl Into<String>,
        texts: impl IntoIterator<Item = T>,
    ) -> Self {
        Self {
            source: source.into(),
            title: title.into(),
            content: texts.into_iter().map(ContentBlock::text).collect(),
            citations: None,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// Lets the model cite the result.
    pub fn citations(mut self) -> Self {
        self.citations = Some(CitationsConfig::enabled());
        self
    }

    /// Sets a prompt-cache breakpoint after this block.
    pub fn cache_control(mut self, cache_control: CacheControl) -> Self {
        self.cache_control = Some(cache_control);
        self
    }
}

impl From<SearchResultBlock> for ContentBlock {
    fn from(block: SearchResultBlock) -> Self {
        ContentBlock::SearchResult(block)
    }
}

/// The result of a server tool the API ran (`web_search_tool_result`, …): which call it
/// answers and its content, as the API sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerToolResultBlock {
    /// The block's `type`, e.g. `web_search_tool_result`.
    #[serde(skip)]
    pub kind: String,
    /// The `id` of the `server_tool_use` this answers.
    pub tool_use_id: String,
    /// The result (search results, fetched page, code output, or an error object).
    #[serde(default)]
    pub content: Value,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `tool_use` or `server_tool_use` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolUseBlock {
    /// The id to answer with in a `tool_result`.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's input, a JSON object matching the tool's schema.
    #[serde(default)]
    pub input: Value,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model (e.g. `caller`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `tool_result` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResultBlock {
    /// The `id` of the `tool_use` this answers.
    pub tool_use_id: String,
    /// The result: a string or content blocks (text, images, documents, search results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Whether the tool failed; the model sees the content as an error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// A prompt-cache breakpoint after this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `thinking` block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThinkingBlock {
    /// The model's reasoning.
    pub thinking: String,
    /// The signature that lets the API verify the block when it is sent back.
    #[serde(default)]
    pub signature: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `redacted_thinking` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedactedThinkingBlock {
    /// The encrypted thinking.
    pub data: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContentBlock {
    /// A `text` block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextBlock {
            text: text.into(),
            ..TextBlock::default()
        })
    }

    /// A `tool_result` block answering `tool_use_id`: a string, or content blocks (text,
    /// images, documents, search results).
    ///
    /// ```
    /// use claude_kit_core::types::{ContentBlock, SearchResultBlock};
    /// use serde_json::json;
    ///
    /// let plain = ContentBlock::tool_result("toolu_1", "22 °C", false);
    /// assert_eq!(serde_json::to_value(&plain).unwrap(),
    ///     json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "22 °C"}));
    /// let found = ContentBlock::tool_result("toolu_2", vec![
    ///     SearchResultBlock::new("kb://42", "Refunds", ["Refunds take 5 days."]).citations().into(),
    /// ], false);
    /// assert_eq!(serde_json::to_value(&found).unwrap()["content"][0]["type"], "search_result");
    /// ```
    pub fn tool_result(
        tool_use_id: impl Into<String>,
        content: impl Into<Content>,
        is_error: bool,
    ) -> Self {
        ContentBlock::ToolResult(ToolResultBlock {
            tool_use_id: tool_use_id.into(),
            content: Some(content.into()),
            is_error: is_error.then_some(true),
            cache_control: None,
            extra: Extra::new(),
        })
    }

    /// An `image` block from `source` (see [`ImageBlock`] for the shortcuts).
    pub fn image(source: Source) -> Self {
        ContentBlock::Image(ImageBlock::new(source))
    }

    /// A `document` block from `source` (see [`DocumentBlock`] for the shortcuts).
    pub fn document(source: Source) -> Self {
        ContentBlock::Document(DocumentBlock::new(source))
    }

    /// Sets a prompt-cache breakpoint after this block; blocks that cannot carry one
    /// (thinking, unknown types) are returned unchanged (see [`set_cache_control`](Self::set_cache_control)).
    ///
    /// ```
    /// use claude_kit_core::types::{CacheControl, CacheTtl, ContentBlock};
    ///
    /// let block = ContentBlock::text("A long, stable prefix.").cache_control(CacheControl::ephemeral().ttl(CacheTtl::OneHour));
    /// assert_eq!(serde_json::to_value(&block).unwrap()["cache_control"]["ttl"], "1h");
    /// ```
    pub fn cache_control(mut self, cache_control: CacheControl) -> Self {
        self.set_cache_control(cache_control);
        self
    }

    /// Sets a prompt-cache breakpoint after this block, if it is of a kind that can carry
    /// one; returns whether it was set.
    pub fn set_cache_control(&mut self, cache_control: CacheControl) -> bool {
        let slot = match self {
            ContentBlock::Text(b) => &mut b.cache_control,
            ContentBlock::Image(b) => &mut b.cache_control,
            ContentBlock::Document(b) => &mut b.cache_control,
            ContentBlock::SearchResult(b) => &mut b.cache_control,
            ContentBlock::ToolUse(b) | ContentBlock::ServerToolUse(b) => &mut b.cache_control,
            ContentBlock::ToolResult(b) => &mut b.cache_control,
            ContentBlock::ServerToolResult(b) => &mut b.cache_control,
            ContentBlock::Thinking(_)
            | ContentBlock::RedactedThinking(_)
            | ContentBlock::Unknown(_) => return false,
        };
        *slot = Some(cache_control);
        true
    }

    /// The block's `type` string.
    pub fn type_name(&self) -> &str {
        match self {
            ContentBlock::Text(_) => "text",
            ContentBlock::Image(_) => "image",
            ContentBlock::Document(_) => "document",
            ContentBlock::SearchResult(_) => "search_result",
            ContentBlock::ToolUse(_) => "tool_use",
            ContentBlock::ServerToolUse(_) => "server_tool_use",
            ContentBlock::ToolResult(_) => "tool_result",
            ContentBlock::ServerToolResult(block) => &block.kind,
            ContentBlock::Thinking(_) => "thinking",
            ContentBlock::RedactedThinking(_) => "redacted_thinking",
            ContentBlock::Unknown(value) => value.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The text of a `text` block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(block) => Some(&block.text),
            _ => None,
        }
    }

    /// The block, if it is a `tool_use` (not a `server_tool_use`: the API ran those).
    pub fn as_tool_use(&self) -> Option<&ToolUseBlock> {
        match self {
            ContentBlock::ToolUse(block) => Some(block),
            _ => None,
        }
    }

    /// The reasoning of a `thinking` block.
    pub fn as_thinking(&self) -> Option<&str> {
        match self {
            ContentBlock::Thinking(block) => Some(&block.thinking),
            _ => None,
        }
    }

    /// The citations of a `text` block, as the API sent them (empty for other blocks and
    /// for text without citations).
    ///
    /// ```
    /// use claude_kit_core::types::ContentBlock;
    ///
    /// let block: ContentBlock = serde_json::from_str(
    ///     r#"{"type":"text","text":"Paris.","citations":[{"type":"char_location","cited_text":"Paris is the capital","document_index":0,"start_char_index":0,"end_char_index":20}]}"#,
    /// ).unwrap();
    /// assert_eq!(block.as_text(), Some("Paris."));
    /// assert_eq!(block.citations()[0]["cited_text"], "Paris is the capital");
    /// assert!(ContentBlock::text("no sources").citations().is_empty());
    /// ```
    pub fn citations(&self) -> &[Value] {
        match self {
            ContentBlock::Text(TextBlock {
                citations: Some(citations),
                ..
            }) => citations,
            _ => &[],
        }
    }
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a, T: Serialize> {
            #[serde(rename = "type")]
            kind: &'a str,
            #[serde(flatten)]
            block: &'a T,
        }
        let kind = self.type_name();
        match self {
            ContentBlock::Text(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Image(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Document(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::SearchResult(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::ServerToolResult(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::ToolUse(b) | ContentBlock::ServerToolUse(b) => {
                Tagged { kind, block: b }.serialize(serializer)
            }
            ContentBlock::ToolResult(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Thinking(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::RedactedThinking(b) => Tagged { kind, block: b }.serialize(serializer),
            ContentBlock::Unknown(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let Some(object) = value.as_object_mut() else {
            return Err(D::Error::custom("a content block must be a JSON object"));
        };
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(D::Error::custom("a content block needs a string `type`")),
        };
        fn known<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            mut object: serde_json::Map<String, Value>,
        ) -> Result<T, E> {
            object.remove("type");
            serde_json::from_value(Value::Object(object)).map_err(E::custom)
        }
        let object = std::mem::take(object);
        Ok(match kind.as_str() {
            "text" => ContentBlock::Text(known(object)?),
            "image" => ContentBlock::Image(known(object)?),
            "document" => ContentBlock::Document(known(object)?),
            "search_result" => ContentBlock::SearchResult(known(object)?),
            "tool_use" => ContentBlock::ToolUse(known(object)?),
            "server_tool_use" => ContentBlock::ServerToolUse(known(object)?),
            "tool_result" => ContentBlock::ToolResult(known(object)?),
            "thinking" => ContentBlock::Thinking(known(object)?),
            "redacted_thinking" => ContentBlock::RedactedThinking(known(object)?),
            server if server.ends_with("_tool_result") => {
                let mut block: ServerToolResultBlock = known(object)?;
                block.kind = kind;
                ContentBlock::ServerToolResult(block)
            }
            _ => ContentBlock::Unknown(Value::Object(object)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_known_and_unknown_fields() {
        let raw = json!({"type":"tool_use","id":"t1","name":"get","input":{"a":1},"caller":{"type":"direct"}});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        let ContentBlock::ToolUse(tool) = &block else {
            panic!("{block:?}")
        };
        assert_eq!(tool.extra["caller"], json!({"type":"direct"}));
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn unknown_types_are_kept_verbatim() {
        let raw = json!({"type":"compaction","content":"x","nested":{"k":[1,2]}});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(block.type_name(), "compaction");
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn new_block_types_round_trip() {
        for raw in [
            json!({"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="},"title":"T","context":"C","citations":{"enabled":true},"cache_control":{"type":"ephemeral","ttl":"5m"}}),
            json!({"type":"search_result","source":"s","title":"t","content":[{"type":"text","text":"x"}]}),
            json!({"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://e.com","title":"E","encrypted_content":"abc"}]}),
            json!({"type":"code_execution_tool_result","tool_use_id":"srvtoolu_2","content":{"type":"code_execution_result","stdout":"4\n","stderr":"","return_code":0}}),
            json!({"type":"image","source":{"type":"file","file_id":"file_1"},"cache_control":{"type":"ephemeral","ttl":"30m"}}),
            json!({"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"url","url":"https://e.com/a.png"}}],"is_error":true}),
        ] {
            let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
            assert!(!matches!(block, ContentBlock::Unknown(_)), "{raw}");
            assert_eq!(block.type_name(), raw["type"].as_str().unwrap());
            assert_eq!(serde_json::to_value(&block).unwrap(), raw);
        }
    }

    #[test]
    fn cache_control_lands_on_blocks_that_take_it() {
        let mut thinking = ContentBlock::Thinking(ThinkingBlock::default());
        assert!(!thinking.set_cache_control(CacheControl::ephemeral()));
        assert_eq!(
            serde_json::to_value(&thinking)
                .unwrap()
                .get("cache_control"),
            None
        );
        let result =
            ContentBlock::tool_result("t", "ok", false).cache_control(CacheControl::ephemeral());
        assert_eq!(
            serde_json::to_value(&result).unwrap()["cache_control"],
            json!({"type": "ephemeral"})
        );
    }

    #[test]
    fn malformed_known_block_is_an_error() {
        let raw = json!({"type":"text","text":5});
        assert!(serde_json::from_value::<ContentBlock>(raw).is_err());
        assert!(serde_json::from_value::<ContentBlock>(json!("text")).is_err());
    }
}
