//! [`Toolbox`]: a set of tools by name, as offered to the model and called back.

use std::collections::HashMap;

use futures_util::future::BoxFuture;

use super::{ToolCall, ToolFn, ToolOutput};
use crate::types::Tool;

/// A set of tools, by name.
///
/// ```
/// use claude_kit_core::agent::{ToolError, ToolFn, Toolbox};
/// use serde_json::json;
///
/// let echo = ToolFn::new("echo", "Echoes", json!({"type": "object"}), |v: serde_json::Value| async move {
///     Ok::<_, ToolError>(v)
/// });
/// let toolbox = Toolbox::new().with(echo);
/// assert_eq!(toolbox.definitions()[0].name, "echo");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Toolbox {
    tools: Vec<ToolFn>,
    by_name: HashMap<String, usize>,
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `tool` (replacing a tool of the same name).
    pub fn with(mut self, tool: ToolFn) -> Self {
        self.add(tool);
        self
    }

    /// Adds `tool` (replacing a tool of the same name).
    pub fn add(&mut self, tool: ToolFn) {
        match self.by_name.get(tool.name()) {
            Some(&index) => self.tools[index] = tool,
            None => {
                self.by_name
                    .insert(tool.name().to_owned(), self.tools.len());
                self.tools.push(tool);
            }
        }
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&ToolFn> {
        self.by_name.get(name).map(|&index| &self.tools[index])
    }

    /// The definitions to offer the model (`MessageRequest::tools`), in the order added.
    pub fn definitions(&self) -> Vec<Tool> {
        self.tools.iter().map(|t| t.definition().clone()).collect()
    }

    /// How many tools there are.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Runs `call` with the tool of its name; an unknown name is an error result
    /// (`"unknown tool NAME"`).
    pub fn call(&self, call: &ToolCall) -> BoxFuture<'static, ToolOutput> {
        match self.get(&call.name) {
            Some(tool) => tool.call(call.input.clone()),
            None => Box::pin(std::future::ready(ToolOutput::error(format!(
                "unknown tool {}",
                call.name
            )))),
        }
    }
}
