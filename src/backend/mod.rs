//! One agent vocabulary over either backend: a [`Backend`] connects, a [`Conversation`] takes
//! turns.
//!
//! The Messages API backend ([`ApiBackend`]) runs the tool loop in-process; the Claude Code
//! backend (next) drives the CLI, which runs its own. Code written against these traits —
//! [`Agent`](crate::agent::Agent), the [`patterns`](crate::patterns) — runs on either.
//!
//! ```
//! # fn main() -> claude_kit::Result<()> {
//! use claude_kit::agent::Agent;
//! use claude_kit::backend::{AgentOptions, ApiBackend};
//! use claude_kit::tools::AgentEvent;
//! use futures_util::StreamExt;
//!
//! let server = claude_kit_mock::MockServer::start();
//! claude_kit::rt::block_on(async {
//!     let client = claude_kit::Client::builder().base_url(server.url()).api_key("sk-ant-test").build()?;
//!     let backend = ApiBackend::new(client);
//!     let mut agent = Agent::connect(&backend, AgentOptions::new().system("Be brief.")).await?;
//!     let mut events = agent.send("Hello");
//!     while let Some(event) = events.next().await {
//!         if let AgentEvent::Finished(message) = event? {
//!             assert!(!message.text().is_empty());
//!         }
//!     }
//!     drop(events);
//!     assert_eq!(agent.turns(), 1);
//!     agent.close().await
//! })
//! # }
//! ```
//!
//! # Implementing a backend
//!
//! Both traits are written with [`async_trait`](macro@async_trait), so an implementation is a plain `async fn`.
//! [`Conversation::send`] is not async: it returns the turn's stream at once, and takes `&self`
//! so that [`interrupt`](Conversation::interrupt) can be called while a turn streams.

#[cfg(feature = "backend-api")]
mod api;
#[cfg(feature = "backend-code")]
mod code;

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::tools::{AgentStream, Toolbox};
use crate::types::{Content, MessageParam};
use crate::{Result, Usage};

#[cfg(feature = "backend-api")]
pub use api::{ApiBackend, ApiConversation};
#[cfg(feature = "backend-code")]
pub use code::{CodeBackend, CodeConversation, TOOLBOX_SERVER};

/// What a conversation starts with: the model, the system prompt, limits and tools, and
/// optionally the state of an earlier conversation to resume.
///
/// Every field is optional; a backend fills in its defaults (the API backend: the client's
/// model and [`DEFAULT_MAX_TOKENS`](crate::DEFAULT_MAX_TOKENS)).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
#[must_use]
pub struct AgentOptions {
    /// The model of every turn.
    pub model: Option<String>,
    /// The system prompt.
    pub system: Option<Content>,
    /// `max_tokens` of each model call.
    pub max_tokens: Option<u32>,
    /// At most this many model calls per turn (the tool loop's bound).
    pub max_turns: Option<usize>,
    /// The tools the model may call, run in-process.
    pub toolbox: Toolbox,
    /// The state to resume (see [`Conversation::state`]).
    pub resume: Option<ConversationState>,
}

impl AgentOptions {
    /// No options: every backend default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the system prompt.
    pub fn system(mut self, system: impl Into<Content>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets `max_tokens` of each model call.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the bound on model calls per turn.
    pub fn max_turns(mut self, max_turns: usize) -> Self {
        self.max_turns = Some(max_turns);
        self
    }

    /// Sets the tools.
    pub fn toolbox(mut self, toolbox: Toolbox) -> Self {
        self.toolbox = toolbox;
        self
    }

    /// Resumes a conversation from its saved state.
    pub fn resume(mut self, state: ConversationState) -> Self {
        self.resume = Some(state);
        self
    }
}

/// One user turn: text, or content blocks (images, documents, tool results).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Prompt {
    /// Content for the user turn.
    Content(Content),
}

impl Prompt {
    /// The content of the user turn.
    pub fn into_content(self) -> Content {
        match self {
            Prompt::Content(content) => content,
        }
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::Content(Content::Text(text.to_owned()))
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Self {
        Prompt::Content(Content::Text(text))
    }
}

impl From<Content> for Prompt {
    fn from(content: Content) -> Self {
        Prompt::Content(content)
    }
}

/// What it takes to resume a conversation: where its history lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
// Made once per save, never in a hot path: boxing `Usage` would only cost readability.
#[allow(clippy::large_enum_variant)]
pub enum ConversationState {
    /// The Messages API backend keeps the history itself: the turns so far, and the tokens
    /// they used.
    Messages {
        /// User and assistant turns, tool results included.
        messages: Vec<MessageParam>,
        /// Tokens summed over the conversation.
        #[serde(default)]
        usage: Usage,
    },
    /// A backend that keeps the history elsewhere (Claude Code: in the CLI's session store)
    /// saves only the session's id.
    SessionId {
        /// The CLI session's id (for `--resume`).
        session_id: String,
    },
}

/// A backend: connects conversations.
///
/// ```
/// use claude_kit::backend::{AgentOptions, Backend, Conversation};
///
/// /// A backend wrapping another, e.g. to log or to pick a model per user.
/// #[derive(Debug)]
/// struct WithModel<B>(B, &'static str);
///
/// #[async_trait::async_trait]
/// impl<B: Backend> Backend for WithModel<B> {
///     async fn connect(&self, options: AgentOptions) -> claude_kit::Result<Box<dyn Conversation>> {
///         self.0.connect(options.model(self.1)).await
///     }
/// }
/// ```
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Starts a conversation (for Claude Code: spawns the CLI and completes its handshake).
    async fn connect(&self, options: AgentOptions) -> Result<Box<dyn Conversation>>;
}

/// A live conversation: turns in, agent events out.
#[async_trait]
pub trait Conversation: Send + Sync + fmt::Debug {
    /// Sends one user turn and streams what happens: text deltas, tool calls and results,
    /// each model message, and last [`AgentEvent::Finished`](crate::tools::AgentEvent::Finished)
    /// with the final message. The turn becomes part of the history only when the stream
    /// reaches `Finished`; dropping the stream earlier cancels the turn and keeps nothing.
    fn send(&self, prompt: Prompt) -> AgentStream;

    /// Interrupts the turn in progress, if any: its stream ends (without `Finished`) and the
    /// turn is not kept.
    async fn interrupt(&self) -> Result<()>;

    /// What it takes to resume this conversation later.
    fn state(&self) -> ConversationState;

    /// Ends the conversation, releasing what it holds (bounded).
    async fn close(self: Box<Self>) -> Result<()>;
}
