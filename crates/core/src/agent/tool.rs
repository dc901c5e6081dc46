//! Tools the model can call, and the tool call itself: [`ToolError`], [`ToolCall`],
//! [`ToolOutput`] and [`ToolFn`], a typed async Rust function behind a JSON schema.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::types::Tool;

/// The error a tool returns; its text is sent to the model as an `is_error` tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }

    /// The message sent to the model.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        Self { message }
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<serde_json::Error> for ToolError {
    fn from(error: serde_json::Error) -> Self {
        Self::new(error)
    }
}

impl From<crate::Error> for ToolError {
    fn from(error: crate::Error) -> Self {
        Self::new(error)
    }
}

impl From<std::io::Error> for ToolError {
    fn from(error: std::io::Error) -> Self {
        Self::new(error)
    }
}

/// One tool call the model asked for (a `tool_use` block).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The `tool_use` block's id, which the result answers.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The input, as the model wrote it (or as a [`HookDecision::Rewrite`](super::HookDecision::Rewrite) replaced it).
    pub input: Value,
}

/// What a tool call produced: the `tool_result` content sent back to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// The result's text: the tool's output (a string as is, anything else as JSON), or the
    /// error message.
    pub content: String,
    /// Whether this is an error (`is_error: true`).
    pub is_error: bool,
}

impl ToolOutput {
    /// A successful result.
    pub fn ok(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: false,
        }
    }

    /// An error result.
    pub fn error(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: true,
        }
    }
}

type Handler = dyn Fn(Value) -> BoxFuture<'static, ToolOutput> + Send + Sync;

/// A tool backed by an async Rust function with a typed input and output.
///
/// The input type is deserialized from the model's JSON (`serde::de::DeserializeOwned`); a
/// mismatch is answered to the model as an error result, so the model can correct itself. The
/// output is any `Serialize` type: a `String` is sent as is, anything else as JSON.
///
/// The schema is a hand-written JSON schema (`serde_json::Value`), or generated from the
/// input type with [`ToolFn::from_schema`] (feature `schemars`).
///
/// ```
/// use claude_kit_core::agent::{ToolError, ToolFn};
/// use serde_json::json;
///
/// #[derive(serde::Deserialize)]
/// struct Add { a: i64, b: i64 }
///
/// let add = ToolFn::new(
///     "add",
///     "Adds two integers",
///     json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}),
///     |input: Add| async move { Ok::<_, ToolError>(input.a + input.b) },
/// );
/// assert_eq!(add.definition().name, "add");
/// let output = futures::executor::block_on(add.call(json!({"a": 2, "b": 3})));
/// assert_eq!(output.content, "5");
/// let output = futures::executor::block_on(add.call(json!({"a": "two"})));
/// assert!(output.is_error);
/// ```
#[derive(Clone)]
pub struct ToolFn {
    definition: Tool,
    handler: Arc<Handler>,
}

impl ToolFn {
    /// A tool named `name`, described by `description`, whose input follows `input_schema`,
    /// run by `function`.
    pub fn new<I, O, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        function: F,
    ) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        let name = name.into();
        let tool_name = name.clone();
        let handler = move |input: Value| -> BoxFuture<'static, ToolOutput> {
            let input: I = match serde_json::from_value(input) {
                Ok(input) => input,
                Err(e) => {
                    let message = format!("invalid input for tool {tool_name}: {e}");
                    return Box::pin(std::future::ready(ToolOutput::error(message)));
                }
            };
            let future = function(input);
            let tool_name = tool_name.clone();
            Box::pin(async move {
                match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(Ok(output)) => match serde_json::to_value(output) {
                        Ok(Value::String(text)) => ToolOutput::ok(text),
                        Ok(value) => ToolOutput::ok(value.to_string()),
                        Err(e) => ToolOutput::error(format!("tool {tool_name}: {e}")),
                    },
                    Ok(Err(error)) => ToolOutput::error(error.message),
                    Err(_) => ToolOutput::error(format!("tool {tool_name} panicked")),
                }
            })
        };
        Self {
            definition: Tool::new(name, description, input_schema),
            handler: Arc::new(handler),
        }
    }

    /// A tool whose input schema is generated from its input type `I` (feature `schemars`).
    ///
    /// ```
    /// use claude_kit_core::agent::{ToolError, ToolFn};
    ///
    /// /// Two integers to add.
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Add { a: i64, b: i64 }
    ///
    /// let add = ToolFn::from_schema("add", "Adds two integers",
    ///     |input: Add| async move { Ok::<_, ToolError>(input.a + input.b) });
    /// assert_eq!(add.definition().input_schema["properties"]["a"]["type"], "integer");
    /// let output = futures::executor::block_on(add.call(serde_json::json!({"a": 2, "b": 3})));
    /// assert_eq!(output.content, "5");
    /// // Input that does not match the type is answered to the model as an error.
    /// let output = futures::executor::block_on(add.call(serde_json::json!({"a": 2})));
    /// assert!(output.is_error && output.content.contains("missing field `b`"), "{}", output.content);
    /// ```
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn from_schema<I, O, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        function: F,
    ) -> Self
    where
        I: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        Self::new(
            name,
            description,
            crate::schema::input_schema::<I>(),
            function,
        )
    }

    /// The definition sent to the model.
    pub fn definition(&self) -> &Tool {
        &self.definition
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// Runs the tool on `input`. Never fails: errors are an [`ToolOutput`] with `is_error`.
    pub fn call(&self, input: Value) -> BoxFuture<'static, ToolOutput> {
        (self.handler)(input)
    }
}

impl fmt::Debug for ToolFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolFn")
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}
