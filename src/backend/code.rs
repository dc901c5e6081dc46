//! The Claude Code backend behind the [`Backend`] seam: each conversation is one CLI process
//! ([`AgentClient`]); the CLI runs its own tools, and the conversation's
//! [`Toolbox`](crate::tools::Toolbox) is served to it as the in-process MCP server `tools`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use claude_kit_code::{AgentClient, CodeOptions, Message as CodeMessage, result_error};
use futures_util::stream;
use serde_json::json;

use super::{AgentOptions, Backend, Conversation, ConversationState, Prompt};
use crate::tools::{AgentEvent, AgentStream};
use crate::types::{Content, ContentBlock, ContentDelta, StreamEvent};
use crate::{Error, Message, Result};

/// The name of the in-process MCP server a conversation's toolbox is served as: the model
/// sees its tools as `mcp__tools__<name>`.
pub const TOOLBOX_SERVER: &str = "tools";

/// What the CLI puts before a toolbox tool's name.
const TOOLBOX_PREFIX: &str = "mcp__tools__";

/// Conversations on the Claude Code CLI, each a process started with these options (the
/// conversation's own options — model, system prompt, turns, tools, resume — on top).
#[derive(Debug, Clone, Default)]
pub struct CodeBackend {
    options: CodeOptions,
}

impl CodeBackend {
    /// A backend whose conversations start from `options`.
    pub fn new(options: CodeOptions) -> Self {
        Self { options }
    }

    /// The options conversations start from.
    pub fn options(&self) -> &CodeOptions {
        &self.options
    }

    /// The CLI options of a conversation with `options`.
    ///
    /// # Errors
    /// [`Error::Config`] when `options.resume` holds Messages API history, which a CLI
    /// session cannot take.
    pub fn code_options(&self, options: AgentOptions) -> Result<CodeOptions> {
        let mut code = self.options.clone();
        if let Some(model) = options.model {
            code = code.model(model);
        }
        if let Some(system) = options.system {
            code = code.system_prompt(content_text(&system));
        }
        if let Some(turns) = options.max_turns {
            code = code.max_turns(u32::try_from(turns).unwrap_or(u32::MAX));
        }
        if !options.toolbox.is_empty() {
            let names: Vec<String> = options
                .toolbox
                .definitions()
                .into_iter()
                .map(|tool| format!("mcp__{TOOLBOX_SERVER}__{}", tool.name))
                .collect();
            code = code
                .sdk_mcp_server(TOOLBOX_SERVER, options.toolbox)
                .allowed_tools(names);
        }
        match options.resume {
            None => {}
            Some(ConversationState::SessionId { session_id }) => code = code.resume(session_id),
            Some(other) => {
                return Err(Error::config(format!(
                    "the Claude Code backend resumes a CLI session id, not {other:?}"
                )));
            }
        }
        Ok(code)
    }
}

#[async_trait]
impl Backend for CodeBackend {
    async fn connect(&self, options: AgentOptions) -> Result<Box<dyn Conversation>> {
        let resumed = match &options.resume {
            Some(ConversationState::SessionId { session_id }) => Some(session_id.clone()),
            _ => None,
        };
        let client = AgentClient::connect(self.code_options(options)?).await?;
        Ok(Box::new(CodeConversation::new(client, resumed)))
    }
}

/// A conversation on one Claude Code process: the history lives in the CLI's session.
#[derive(Debug)]
pub struct CodeConversation {
    client: Arc<AgentClient>,
    session_id: Arc<Mutex<Option<String>>>,
    /// Turns sent whose result has not been read (a turn stream dropped early).
    open: Arc<AtomicU64>,
}

impl CodeConversation {
    /// A conversation on a connected client (from a [`WarmPool`](claude_kit_code::WarmPool),
    /// say), resuming `session_id` when given.
    pub fn new(client: AgentClient, session_id: Option<String>) -> Self {
        Self {
            client: Arc::new(client),
            session_id: Arc::new(Mutex::new(session_id)),
            open: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The CLI session's id, once the CLI has named it.
    pub fn session_id(&self) -> Option<String> {
        self.session_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Where a turn's translation from CLI messages to agent events stands.
struct Turn {
    client: Arc<AgentClient>,
    open: Arc<AtomicU64>,
    session_id: Arc<Mutex<Option<String>>>,
    prompt: Option<Content>,
    pending: std::collections::VecDeque<Result<AgentEvent>>,
    last: Option<Message>,
    streamed_text: bool,
    done: bool,
}

impl Turn {
    /// Translates one CLI message into agent events.
    fn translate(&mut self, message: CodeMessage) {
        if let Some(id) = message.session_id().filter(|id| !id.is_empty()) {
            *self
                .session_id
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(id.to_owned());
        }
        match message {
            CodeMessage::StreamEvent(event) => {
                if let StreamEvent::ContentBlockDelta {
                    delta: ContentDelta::Text(text),
                    ..
                } = event.event
                    && event.parent_tool_use_id.is_none()
                {
                    self.streamed_text = true;
                    self.pending.push_back(Ok(AgentEvent::TextDelta(text)));
                }
            }
            CodeMessage::Assistant(assistant) if assistant.parent_tool_use_id.is_none() => {
                let message = assistant.message;
                if !self.streamed_text {
                    let text = message.text();
                    if !text.is_empty() {
                        self.pending.push_back(Ok(AgentEvent::TextDelta(text)));
                    }
                }
                self.streamed_text = false;
                for block in &message.content {
                    if let ContentBlock::ToolUse(tool) = block {
                        // The toolbox's own name, as on the API backend: the CLI calls it
                        // `mcp__tools__<name>`.
                        let name = tool.name.strip_prefix(TOOLBOX_PREFIX).unwrap_or(&tool.name);
                        self.pending.push_back(Ok(AgentEvent::ToolCall {
                            id: tool.id.clone(),
                            name: name.to_owned(),
                            input: tool.input.clone(),
                        }));
                    }
                }
                self.pending
                    .push_back(Ok(AgentEvent::TurnComplete(message.clone())));
                self.last = Some(message);
            }
            CodeMessage::User(user) if user.parent_tool_use_id.is_none() => {
                let Content::Blocks(blocks) = &user.message.content else {
                    return;
                };
                for block in blocks {
                    if let ContentBlock::ToolResult(result) = block {
                        self.pending.push_back(Ok(AgentEvent::ToolResult {
                            id: result.tool_use_id.clone(),
                            content: result
                                .content
                                .as_ref()
                                .map(content_text)
                                .unwrap_or_default(),
                            is_error: result.is_error == Some(true),
                        }));
                    }
                }
            }
            CodeMessage::Result(result) => {
                self.open.fetch_sub(1, Ordering::AcqRel);
                self.done = true;
                if let Some(error) = result_error(&result) {
                    self.pending.push_back(Err(error));
                    return;
                }
                if result.was_interrupted() {
                    return; // an interrupted turn ends without `Finished`
                }
                let message = match self.last.take() {
                    Some(message) => message,
                    None => synthetic(result.result.as_deref().unwrap_or_default()),
                };
                self.pending.push_back(Ok(AgentEvent::Finished(message)));
            }
            _ => {}
        }
    }
}

/// Ends the turns whose streams were dropped before their result: interrupts the CLI and
/// reads (and drops) their messages up to their results, so that the next turn reads only its
/// own.
async fn finish_open_turns(client: &AgentClient, open: &AtomicU64) -> Result<()> {
    if open.load(Ordering::Acquire) == 0 {
        return Ok(());
    }
    // The CLI may have finished already: an interrupt then has nothing to stop.
    let _ = client.interrupt().await;
    while open.load(Ordering::Acquire) > 0 {
        match client.next_message().await {
            Some(Ok(CodeMessage::Result(_))) => {
                open.fetch_sub(1, Ordering::AcqRel);
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error),
            None => return Err(Error::closed("the Claude Code CLI has exited")),
        }
    }
    Ok(())
}

/// An assistant message holding only `text`, for a result without an assistant frame.
fn synthetic(text: &str) -> Message {
    serde_json::from_value(json!({
        "id": "", "type": "message", "role": "assistant", "model": "",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }))
    .expect("a well-formed message")
}

fn content_text(content: &Content) -> String {
    match content {
        Content::Text(text) => text.clone(),
        Content::Blocks(blocks) => blocks
            .iter()
            .filter_map(ContentBlock::as_text)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[async_trait]
impl Conversation for CodeConversation {
    fn send(&self, prompt: Prompt) -> AgentStream {
        let turn = Turn {
            client: self.client.clone(),
            open: self.open.clone(),
            session_id: self.session_id.clone(),
            prompt: Some(prompt.into_content()),
            pending: std::collections::VecDeque::new(),
            last: None,
            streamed_text: false,
            done: false,
        };
        Box::pin(stream::unfold(turn, |mut turn| async move {
            loop {
                if let Some(event) = turn.pending.pop_front() {
                    let failed = event.is_err();
                    if failed {
                        turn.done = true;
                        turn.pending.clear();
                    }
                    return Some((event, turn));
                }
                if turn.done {
                    return None;
                }
                if let Some(prompt) = turn.prompt.take() {
                    if let Err(error) = finish_open_turns(&turn.client, &turn.open).await {
                        turn.done = true;
                        return Some((Err(error), turn));
                    }
                    if let Err(error) = turn.client.query(prompt).await {
                        turn.done = true;
                        return Some((Err(error), turn));
                    }
                    turn.open.fetch_add(1, Ordering::AcqRel);
                }
                match turn.client.next_message().await {
                    Some(Ok(message)) => turn.translate(message),
                    Some(Err(error)) => turn.pending.push_back(Err(error)),
                    None => {
                        turn.done = true;
                        let error = Error::Process {
                            message: "the Claude Code CLI ended before the turn's result".into(),
                            exit_code: None,
                            stderr_tail: String::new(),
                        };
                        return Some((Err(error), turn));
                    }
                }
            }
        }))
    }

    async fn interrupt(&self) -> Result<()> {
        self.client.interrupt().await.map(drop)
    }

    fn state(&self) -> ConversationState {
        ConversationState::SessionId {
            session_id: self.session_id().unwrap_or_default(),
        }
    }

    async fn close(self: Box<Self>) -> Result<()> {
        // Streams of unfinished turns may still hold the client: the last holder's drop ends
        // the process then (bounded, in the background).
        if let Ok(client) = Arc::try_unwrap(self.client) {
            client.disconnect().await;
        }
        Ok(())
    }
}
