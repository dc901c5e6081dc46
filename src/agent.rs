//! [`Agent`]: a conversation with either backend, with its turns counted and its state saved.
//!
//! Where [`Session`](crate::session::Session) is the Messages API's chat session (its
//! streams are the API's [`StreamEvent`](crate::StreamEvent)s), an `Agent` speaks the agent
//! vocabulary ([`AgentEvent`]) over any [`Backend`], so the same code drives the Messages API
//! with in-process tools or, with the Claude Code backend, the CLI.
//!
//! ```
//! # fn main() -> claude_kit::Result<()> {
//! use claude_kit::agent::Agent;
//! use claude_kit::backend::{AgentOptions, ApiBackend};
//!
//! let server = claude_kit_mock::MockServer::start();
//! claude_kit::rt::block_on(async {
//!     let client = claude_kit::Client::builder().base_url(server.url()).api_key("sk-ant-test").build()?;
//!     let backend = ApiBackend::new(client);
//!     let mut agent = Agent::connect(&backend, AgentOptions::new()).await?;
//!     let reply = agent.ask("My name is Ada.").await?;
//!     assert!(!reply.text().is_empty());
//!
//!     // Saved, and resumed later (or in another process) with the history.
//!     let saved = agent.save()?;
//!     agent.close().await?;
//!     let agent = Agent::resume(&backend, AgentOptions::new(), &saved).await?;
//!     assert_eq!(agent.turns(), 0); // turns of this `Agent`; the history came back
//!     agent.close().await
//! })
//! # }
//! ```

use futures_util::StreamExt;

use crate::backend::{AgentOptions, Backend, Conversation, ConversationState, Prompt};
use crate::tools::{AgentEvent, AgentStream};
use crate::{Error, Message, Result};

/// A conversation with any [`Backend`]: send turns, count them, interrupt, save and resume.
#[derive(Debug)]
#[must_use = "an agent holds a conversation: close it when done"]
pub struct Agent {
    conversation: Box<dyn Conversation>,
    turns: usize,
}

impl Agent {
    /// Connects a conversation on `backend`.
    pub async fn connect(backend: &dyn Backend, options: AgentOptions) -> Result<Self> {
        Ok(Self::from_conversation(backend.connect(options).await?))
    }

    /// Connects a conversation resuming the state [`save`](Self::save) wrote.
    ///
    /// # Errors
    /// [`Error::Decode`] when `saved` is not a saved conversation; what `connect` returns.
    pub async fn resume(backend: &dyn Backend, options: AgentOptions, saved: &str) -> Result<Self> {
        let state: ConversationState = serde_json::from_str(saved)
            .map_err(|e| Error::decode_json("invalid saved conversation", &e))?;
        Self::connect(backend, options.resume(state)).await
    }

    /// An agent over a conversation connected elsewhere.
    pub fn from_conversation(conversation: Box<dyn Conversation>) -> Self {
        Self {
            conversation,
            turns: 0,
        }
    }

    /// Sends one user turn and streams its events (see [`Conversation::send`]). Counted as a
    /// turn when sent.
    pub fn send(&mut self, prompt: impl Into<Prompt>) -> AgentStream {
        self.turns += 1;
        self.conversation.send(prompt.into())
    }

    /// Sends one user turn and returns the final message, once the turn is over.
    ///
    /// # Errors
    /// What the turn failed with; [`Error::Closed`] when it was interrupted.
    pub async fn ask(&mut self, prompt: impl Into<Prompt>) -> Result<Message> {
        let mut events = self.send(prompt);
        while let Some(event) = events.next().await {
            if let AgentEvent::Finished(message) = event? {
                return Ok(message);
            }
        }
        Err(Error::closed("the turn was interrupted before it finished"))
    }

    /// Interrupts the turn in progress (see [`Conversation::interrupt`]).
    pub async fn interrupt(&self) -> Result<()> {
        self.conversation.interrupt().await
    }

    /// How many turns this agent sent.
    pub fn turns(&self) -> usize {
        self.turns
    }

    /// What it takes to resume the conversation.
    pub fn state(&self) -> ConversationState {
        self.conversation.state()
    }

    /// The state as JSON, for [`resume`](Self::resume).
    pub fn save(&self) -> Result<String> {
        serde_json::to_string(&self.state())
            .map_err(|e| Error::decode_json("cannot serialize the conversation", &e))
    }

    /// The conversation, for what this type does not wrap.
    pub fn conversation(&self) -> &dyn Conversation {
        &*self.conversation
    }

    /// Ends the conversation.
    pub async fn close(self) -> Result<()> {
        self.conversation.close().await
    }
}
