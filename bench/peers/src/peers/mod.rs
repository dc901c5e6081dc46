//! The clients measured, each behind its `--impl` name.

mod anthropic_async_peer;
mod claude_agent_peer;
mod misanthropic_peer;
mod plain;

use crate::Args;
use crate::harness::Gate;

/// An implementation's name and whether it can stream.
pub(crate) struct Info {
    /// The `--impl` name, also the `client` of its JSON lines.
    pub(crate) name: &'static str,
    /// It has a streaming API (`--stream` and `many-streams` work).
    pub(crate) streaming: bool,
}

/// Every implementation, in the order `list` prints them.
pub(crate) const PEERS: &[Info] = &[
    Info {
        name: plain::NAME,
        streaming: true,
    },
    Info {
        name: misanthropic_peer::NAME,
        streaming: true,
    },
    Info {
        name: anthropic_async_peer::NAME,
        // Its `streaming` feature does not compile (see anthropic_async_peer.rs).
        streaming: false,
    },
    Info {
        name: claude_agent_peer::NAME,
        streaming: true,
    },
];

/// A ready client of one implementation, shared by every worker task.
pub(crate) enum Peer {
    Plain(plain::Plain),
    Misanthropic(misanthropic_peer::Peer),
    AnthropicAsync(anthropic_async_peer::Peer),
    ClaudeAgent(claude_agent_peer::Peer),
}

impl Peer {
    /// Builds the client named by `--impl` (inside the runtime: some builders are async).
    pub(crate) async fn new(args: &Args) -> Result<Self, String> {
        Ok(match args.implementation.as_str() {
            plain::NAME => Self::Plain(plain::Plain::new(args)?),
            misanthropic_peer::NAME => Self::Misanthropic(misanthropic_peer::Peer::new(args)?),
            anthropic_async_peer::NAME => {
                Self::AnthropicAsync(anthropic_async_peer::Peer::new(args)?)
            }
            claude_agent_peer::NAME => Self::ClaudeAgent(claude_agent_peer::Peer::new(args).await?),
            other => return Err(format!("unknown --impl {other:?}")),
        })
    }

    /// One non-streaming request; `true` when it succeeded with some text.
    pub(crate) async fn create(&self) -> bool {
        let text = match self {
            Self::Plain(p) => p.create().await,
            Self::Misanthropic(p) => p.create().await,
            Self::AnthropicAsync(p) => p.create().await,
            Self::ClaudeAgent(p) => p.create().await,
        };
        matches!(text, Ok(text) if !text.is_empty())
    }

    /// One streaming request read to the end, its text accumulated; `true` when it succeeded
    /// with some text. With a `gate` (`many-streams`), waits at it after the first event.
    pub(crate) async fn stream(&self, gate: Option<&Gate>) -> bool {
        let text = match self {
            Self::Plain(p) => p.stream(gate).await,
            Self::Misanthropic(p) => p.stream(gate).await,
            Self::AnthropicAsync(_) => Err("anthropic-async: no streaming".to_owned()),
            Self::ClaudeAgent(p) => p.stream(gate).await,
        };
        matches!(text, Ok(text) if !text.is_empty())
    }
}

/// Waits at the `many-streams` gate, if there is one.
pub(crate) async fn first_event(gate: Option<&Gate>) {
    if let Some(gate) = gate {
        gate.first_event().await;
    }
}
