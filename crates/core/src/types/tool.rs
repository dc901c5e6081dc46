//! Tool definitions: your own tools ([`Tool`]), the API's server tools ([`WebSearchTool`],
//! [`WebFetchTool`], [`CodeExecutionTool`]), both as a [`ToolDefinition`], and
//! [`ToolChoice`].

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{CacheControl, CitationsConfig, Extra};

/// A tool of your own: the model asks for it with a `tool_use` block, your code runs it.
///
/// ```
/// use claude_kit_core::types::{CacheControl, Tool};
/// use serde_json::json;
///
/// let tool = Tool::new("get_weather", "The weather in a city",
///     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}))
///     .cache_control(CacheControl::ephemeral());
/// let json = serde_json::to_value(&tool).unwrap();
/// assert_eq!(json["name"], "get_weather");
/// assert_eq!(json["cache_control"], json!({"type": "ephemeral"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// The name the model calls it by.
    pub name: String,
    /// What it does and when to use it: the model reads this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the input object.
    pub input_schema: Value,
    /// A prompt-cache breakpoint after this tool (set it on the last tool to cache them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Other fields (e.g. `strict`, `type: "custom"`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Tool {
    /// A tool named `name`, described by `description`, whose input follows `input_schema`
    /// (a JSON schema of an object).
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
    ) -> Self {
        Self {
            name: name.into(),
            description: Some(description.into()),
            input_schema,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// A tool whose input schema is generated from `T` (feature `schemars`): doc comments
    /// become descriptions, `Option` fields are not required (see [`crate::schema`]).
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn from_schema<T: schemars::JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::new(name, description, crate::schema::input_schema::<T>())
    }

    /// Sets a prompt-cache breakpoint after this tool.
    pub fn cache_control(mut self, cache_control: CacheControl) -> Self {
        self.cache_control = Some(cache_control);
        self
    }
}

/// One entry of a request's `tools`: a tool of your own or one the API runs.
///
/// Anything with `Into<ToolDefinition>` can be passed to
/// [`MessageRequest::tool`](super::MessageRequest::tool).
///
/// ```
/// use claude_kit_core::types::{CodeExecutionTool, MessageRequest, Tool, ToolDefinition, WebFetchTool, WebSearchTool};
/// use serde_json::json;
///
/// let request = MessageRequest::new("claude-sonnet-4-5", 1024)
///     .user("What changed in the latest Rust release? Plot the release cadence.")
///     .tool(WebSearchTool::new().max_uses(3).allowed_domains(["blog.rust-lang.org"]))
///     .tool(WebFetchTool::new().citations())
///     .tool(CodeExecutionTool::new())
///     .tool(Tool::new("save_note", "Saves a note", json!({"type": "object"})));
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["tools"][0], json!({"type": "web_search_20250305", "name": "web_search",
///     "max_uses": 3, "allowed_domains": ["blog.rust-lang.org"]}));
/// assert_eq!(json["tools"][1]["type"], "web_fetch_20250910");
/// assert_eq!(json["tools"][2], json!({"type": "code_execution_20250825", "name": "code_execution"}));
/// let names: Vec<&str> = request.tools.iter().map(ToolDefinition::name).collect();
/// assert_eq!(names, ["web_search", "web_fetch", "code_execution", "save_note"]);
/// // And back, each into its own variant.
/// let back: MessageRequest = serde_json::from_value(json).unwrap();
/// assert_eq!(back, request);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ToolDefinition {
    /// A tool of your own (no `type`, or `type: "custom"`).
    Custom(Tool),
    /// The API's web search (`web_search_…`).
    WebSearch(WebSearchTool),
    /// The API's web fetch (`web_fetch_…`; needs the `web-fetch-2025-09-10` beta header).
    WebFetch(WebFetchTool),
    /// The API's code execution sandbox (`code_execution_…`; needs the
    /// `code-execution-2025-08-25` beta header).
    CodeExecution(CodeExecutionTool),
    /// Any other tool (bash, text editor, memory, computer use, a newer one), or a known
    /// one with fields of the wrong type, kept verbatim.
    Other(Value),
}

impl ToolDefinition {
    /// The name the model calls the tool by.
    pub fn name(&self) -> &str {
        match self {
            ToolDefinition::Custom(tool) => &tool.name,
            ToolDefinition::WebSearch(tool) => &tool.name,
            ToolDefinition::WebFetch(tool) => &tool.name,
            ToolDefinition::CodeExecution(tool) => &tool.name,
            ToolDefinition::Other(value) => value.get("name").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// Whether the API runs this tool (everything but [`ToolDefinition::Custom`]).
    ///
    /// ```
    /// use claude_kit_core::types::{Tool, ToolDefinition, WebSearchTool};
    ///
    /// assert!(ToolDefinition::from(WebSearchTool::new()).is_server_tool());
    /// let own = ToolDefinition::from(Tool::new("f", "Does f", serde_json::json!({"type": "object"})));
    /// assert!(!own.is_server_tool());
    /// ```
    pub fn is_server_tool(&self) -> bool {
        !matches!(self, ToolDefinition::Custom(_))
    }

    /// Sets a prompt-cache breakpoint after this tool.
    pub fn set_cache_control(&mut self, cache_control: CacheControl) {
        match self {
            ToolDefinition::Custom(tool) => tool.cache_control = Some(cache_control),
            ToolDefinition::WebSearch(tool) => tool.cache_control = Some(cache_control),
            ToolDefinition::WebFetch(tool) => tool.cache_control = Some(cache_control),
            ToolDefinition::CodeExecution(tool) => tool.cache_control = Some(cache_control),
            ToolDefinition::Other(value) => {
                if let (Some(object), Ok(cache_control)) =
                    (value.as_object_mut(), serde_json::to_value(cache_control))
                {
                    object.insert("cache_control".to_owned(), cache_control);
                }
            }
        }
    }
}

impl From<Tool> for ToolDefinition {
    fn from(tool: Tool) -> Self {
        ToolDefinition::Custom(tool)
    }
}

impl From<WebSearchTool> for ToolDefinition {
    fn from(tool: WebSearchTool) -> Self {
        ToolDefinition::WebSearch(tool)
    }
}

impl From<WebFetchTool> for ToolDefinition {
    fn from(tool: WebFetchTool) -> Self {
        ToolDefinition::WebFetch(tool)
    }
}

impl From<CodeExecutionTool> for ToolDefinition {
    fn from(tool: CodeExecutionTool) -> Self {
        ToolDefinition::CodeExecution(tool)
    }
}

impl Serialize for ToolDefinition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolDefinition::Custom(tool) => tool.serialize(serializer),
            ToolDefinition::WebSearch(tool) => tool.serialize(serializer),
            ToolDefinition::WebFetch(tool) => tool.serialize(serializer),
            ToolDefinition::CodeExecution(tool) => tool.serialize(serializer),
            ToolDefinition::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ToolDefinition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom("a tool definition must be a JSON object"));
        }
        fn typed<T: serde::de::DeserializeOwned>(
            value: Value,
            wrap: fn(T) -> ToolDefinition,
        ) -> ToolDefinition {
            match T::deserialize(&value) {
                Ok(tool) => wrap(tool),
                Err(_) => ToolDefinition::Other(value),
            }
        }
        Ok(match value.get("type").and_then(Value::as_str) {
            None => typed(value, ToolDefinition::Custom),
            Some("custom") => typed(value, ToolDefinition::Custom),
            Some(t) if t.starts_with("web_search_") => typed(value, ToolDefinition::WebSearch),
            Some(t) if t.starts_with("web_fetch_") => typed(value, ToolDefinition::WebFetch),
            Some(t) if t.starts_with("code_execution_") => {
                typed(value, ToolDefinition::CodeExecution)
            }
            Some(_) => ToolDefinition::Other(value),
        })
    }
}

/// The API's web search tool: the model searches, the API answers with
/// `web_search_tool_result` blocks and cites them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebSearchTool {
    /// The tool's versioned type, [`WebSearchTool::TYPE`] by default.
    #[serde(rename = "type")]
    pub kind: String,
    /// `web_search`.
    pub name: String,
    /// The most searches in one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Only results from these domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// Never results from these domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_domains: Option<Vec<String>>,
    /// Where the user is, to localise results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_location: Option<UserLocation>,
    /// A prompt-cache breakpoint after this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl WebSearchTool {
    /// The type this version sends.
    pub const TYPE: &'static str = "web_search_20250305";

    /// Web search with the API's defaults.
    pub fn new() -> Self {
        Self {
            kind: Self::TYPE.to_owned(),
            name: "web_search".to_owned(),
            max_uses: None,
            allowed_domains: None,
            blocked_domains: None,
            user_location: None,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// At most `max_uses` searches per request.
    pub fn max_uses(mut self, max_uses: u32) -> Self {
        self.max_uses = Some(max_uses);
        self
    }

    /// Only results from these domains (not with [`blocked_domains`](Self::blocked_domains)).
    pub fn allowed_domains<S: Into<String>>(
        mut self,
        domains: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// Never results from these domains.
    pub fn blocked_domains<S: Into<String>>(
        mut self,
        domains: impl IntoIterator<Item = S>,
    ) -> Self {
        self.blocked_domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// Localises results.
    ///
    /// ```
    /// use claude_kit_core::types::{UserLocation, WebSearchTool};
    ///
    /// let tool = WebSearchTool::new().user_location(UserLocation::approximate().city("Lyon").country("FR").timezone("Europe/Paris"));
    /// let json = serde_json::to_value(&tool).unwrap();
    /// assert_eq!(json["user_location"], serde_json::json!({"type": "approximate", "city": "Lyon", "country": "FR", "timezone": "Europe/Paris"}));
    /// ```
    pub fn user_location(mut self, location: UserLocation) -> Self {
        self.user_location = Some(location);
        self
    }
}

impl Default for WebSearchTool {
    fn default() -> Self {
        Self::new()
    }
}

/// An approximate user location for [`WebSearchTool::user_location`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserLocation {
    /// `approximate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The region or state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The IANA time zone, e.g. `Europe/Paris`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl UserLocation {
    /// An approximate location with no field set yet.
    pub fn approximate() -> Self {
        Self {
            kind: "approximate".to_owned(),
            city: None,
            region: None,
            country: None,
            timezone: None,
            extra: Extra::new(),
        }
    }

    /// Sets the city.
    pub fn city(mut self, city: impl Into<String>) -> Self {
        self.city = Some(city.into());
        self
    }

    /// Sets the region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets the country (ISO 3166-1 alpha-2).
    pub fn country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(country.into());
        self
    }

    /// Sets the time zone (IANA).
    pub fn timezone(mut self, timezone: impl Into<String>) -> Self {
        self.timezone = Some(timezone.into());
        self
    }
}

/// The API's web fetch tool: the model fetches a URL it was given or found, the API answers
/// with a `web_fetch_tool_result` block (send the `web-fetch-2025-09-10` beta header).
///
/// ```
/// use claude_kit_core::types::{MessageRequest, WebFetchTool};
/// use serde_json::json;
///
/// let fetch = WebFetchTool::new().max_uses(2).allowed_domains(["docs.rs"]).citations().max_content_tokens(20_000);
/// assert_eq!(serde_json::to_value(&fetch).unwrap(), json!({"type": "web_fetch_20250910", "name": "web_fetch",
///     "max_uses": 2, "allowed_domains": ["docs.rs"], "citations": {"enabled": true}, "max_content_tokens": 20000}));
/// let request = MessageRequest::new("claude-sonnet-4-5", 1024).tool(fetch).user("Summarise https://docs.rs/serde");
/// // Send the beta header with the request: `anthropic-beta: web-fetch-2025-09-10`.
/// assert_eq!(WebFetchTool::BETA, "web-fetch-2025-09-10");
/// # let _ = request;
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebFetchTool {
    /// The tool's versioned type, [`WebFetchTool::TYPE`] by default.
    #[serde(rename = "type")]
    pub kind: String,
    /// `web_fetch`.
    pub name: String,
    /// The most fetches in one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Only these domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// Never these domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_domains: Option<Vec<String>>,
    /// Whether the model may cite fetched pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<CitationsConfig>,
    /// The most tokens of a fetched page put in context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_content_tokens: Option<u32>,
    /// A prompt-cache breakpoint after this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl WebFetchTool {
    /// The type this version sends.
    pub const TYPE: &'static str = "web_fetch_20250910";
    /// The beta header value the API requires for this tool.
    pub const BETA: &'static str = "web-fetch-2025-09-10";

    /// Web fetch with the API's defaults.
    pub fn new() -> Self {
        Self {
            kind: Self::TYPE.to_owned(),
            name: "web_fetch".to_owned(),
            max_uses: None,
            allowed_domains: None,
            blocked_domains: None,
            citations: None,
            max_content_tokens: None,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// At most `max_uses` fetches per request.
    pub fn max_uses(mut self, max_uses: u32) -> Self {
        self.max_uses = Some(max_uses);
        self
    }

    /// Only these domains.
    pub fn allowed_domains<S: Into<String>>(
        mut self,
        domains: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// Never these domains.
    pub fn blocked_domains<S: Into<String>>(
        mut self,
        domains: impl IntoIterator<Item = S>,
    ) -> Self {
        self.blocked_domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// Lets the model cite fetched pages.
    pub fn citations(mut self) -> Self {
        self.citations = Some(CitationsConfig::enabled());
        self
    }

    /// At most `tokens` tokens of a fetched page.
    pub fn max_content_tokens(mut self, tokens: u32) -> Self {
        self.max_content_tokens = Some(tokens);
        self
    }
}

impl Default for WebFetchTool {
    fn default() -> Self {
        Self::new()
    }
}

/// The API's code execution tool: the model runs code in a sandbox the API hosts (send the
/// `code-execution-2025-08-25` beta header).
///
/// ```
/// use claude_kit_core::types::{CodeExecutionTool, ContentBlock, Message};
///
/// let tool = serde_json::to_value(CodeExecutionTool::new()).unwrap();
/// assert_eq!(tool, serde_json::json!({"type": "code_execution_20250825", "name": "code_execution"}));
/// // The reply carries the call and its result as typed blocks.
/// let reply: Message = serde_json::from_value(serde_json::json!({"id": "msg_1", "type": "message",
///     "role": "assistant", "model": "m", "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1},
///     "content": [
///         {"type": "server_tool_use", "id": "srvtoolu_1", "name": "code_execution", "input": {"code": "print(2 + 2)"}},
///         {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_1",
///          "content": {"type": "code_execution_result", "stdout": "4\n", "stderr": "", "return_code": 0}},
///         {"type": "text", "text": "2 + 2 is 4."}]})).unwrap();
/// let ContentBlock::ServerToolResult(result) = &reply.content[1] else { panic!() };
/// assert_eq!(result.kind, "code_execution_tool_result");
/// assert_eq!(result.content["stdout"], "4\n");
/// assert_eq!(reply.tool_uses().count(), 0); // the API ran it: nothing for you to run
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeExecutionTool {
    /// The tool's versioned type, [`CodeExecutionTool::TYPE`] by default.
    #[serde(rename = "type")]
    pub kind: String,
    /// `code_execution`.
    pub name: String,
    /// A prompt-cache breakpoint after this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CodeExecutionTool {
    /// The type this version sends.
    pub const TYPE: &'static str = "code_execution_20250825";
    /// The beta header value the API requires for this tool.
    pub const BETA: &'static str = "code-execution-2025-08-25";

    /// Code execution.
    pub fn new() -> Self {
        Self {
            kind: Self::TYPE.to_owned(),
            name: "code_execution".to_owned(),
            cache_control: None,
            extra: Extra::new(),
        }
    }
}

impl Default for CodeExecutionTool {
    fn default() -> Self {
        Self::new()
    }
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides.
    Auto {
        /// Allow at most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must call some tool.
    Any {
        /// Allow at most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must call this tool.
    Tool {
        /// The tool.
        name: String,
        /// Allow at most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model may not call tools.
    None,
}

impl ToolChoice {
    /// The model decides whether to call a tool.
    pub fn auto() -> Self {
        ToolChoice::Auto {
            disable_parallel_tool_use: None,
        }
    }

    /// The model must call one of the tools.
    pub fn any() -> Self {
        ToolChoice::Any {
            disable_parallel_tool_use: None,
        }
    }

    /// The model must call the tool `name`.
    pub fn tool(name: impl Into<String>) -> Self {
        ToolChoice::Tool {
            name: name.into(),
            disable_parallel_tool_use: None,
        }
    }

    /// The model may not call tools.
    pub fn none() -> Self {
        ToolChoice::None
    }

    /// At most one tool call per turn (no effect on [`ToolChoice::None`]).
    ///
    /// ```
    /// use claude_kit_core::types::ToolChoice;
    ///
    /// let json = serde_json::to_value(ToolChoice::any().disable_parallel_tool_use()).unwrap();
    /// assert_eq!(json, serde_json::json!({"type": "any", "disable_parallel_tool_use": true}));
    /// assert_eq!(serde_json::to_value(ToolChoice::none()).unwrap(), serde_json::json!({"type": "none"}));
    /// ```
    pub fn disable_parallel_tool_use(mut self) -> Self {
        match &mut self {
            ToolChoice::Auto {
                disable_parallel_tool_use,
            }
            | ToolChoice::Any {
                disable_parallel_tool_use,
            }
            | ToolChoice::Tool {
                disable_parallel_tool_use,
                ..
            } => *disable_parallel_tool_use = Some(true),
            ToolChoice::None => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_deserialise_into_their_own_variant() {
        let cases = [
            (
                json!({"name": "f", "input_schema": {"type": "object"}}),
                "custom",
            ),
            (
                json!({"type": "custom", "name": "f", "input_schema": {"type": "object"}, "strict": true}),
                "custom",
            ),
            (
                json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 2}),
                "web_search",
            ),
            (
                json!({"type": "web_fetch_20250910", "name": "web_fetch", "citations": {"enabled": true}, "max_content_tokens": 1000}),
                "web_fetch",
            ),
            (
                json!({"type": "code_execution_20250522", "name": "code_execution"}),
                "code_execution",
            ),
            (json!({"type": "bash_20250124", "name": "bash"}), "other"),
            // A known type whose field has the wrong type is kept whole, not lost.
            (
                json!({"type": "web_search_20250305", "name": "web_search", "max_uses": "two"}),
                "other",
            ),
            (json!({"name": "no_schema"}), "other"),
        ];
        for (raw, expected) in cases {
            let tool: ToolDefinition = serde_json::from_value(raw.clone()).unwrap();
            let kind = match &tool {
                ToolDefinition::Custom(_) => "custom",
                ToolDefinition::WebSearch(_) => "web_search",
                ToolDefinition::WebFetch(_) => "web_fetch",
                ToolDefinition::CodeExecution(_) => "code_execution",
                ToolDefinition::Other(_) => "other",
            };
            assert_eq!(kind, expected, "{raw}");
            assert_eq!(serde_json::to_value(&tool).unwrap(), raw);
        }
        assert!(serde_json::from_value::<ToolDefinition>(json!(["web_search"])).is_err());
    }

    #[test]
    fn cache_control_goes_on_any_definition() {
        let mut other: ToolDefinition =
            serde_json::from_value(json!({"type": "memory_20250818", "name": "memory"})).unwrap();
        other.set_cache_control(CacheControl::ephemeral());
        assert_eq!(
            serde_json::to_value(&other).unwrap()["cache_control"],
            json!({"type": "ephemeral"})
        );
        let mut search = ToolDefinition::from(WebSearchTool::new());
        search.set_cache_control(CacheControl::ephemeral());
        assert_eq!(
            serde_json::to_value(&search).unwrap()["cache_control"],
            json!({"type": "ephemeral"})
        );
    }
}
