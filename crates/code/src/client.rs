//! [`AgentClient`]: one Claude Code process for many turns (the seeds' `ClaudeSDKClient`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use claude_kit_core::types::Content;
use claude_kit_core::{Error, Result};
use claude_kit_rt::SharedRuntime;
use futures_util::stream;
use serde_json::{Value, json};

use crate::message::{
    InterruptReceipt, Message, MessageStream, ServerInfo, result_error, user_frame,
};
use crate::options::{CodeOptions, PermissionMode};
use crate::session::{Session, StartOn};

/// A connected Claude Code CLI: send turns with [`query`](Self::query), read what happens
/// with [`receive_response`](Self::receive_response), steer it with
/// [`interrupt`](Self::interrupt), [`set_model`](Self::set_model) and
/// [`set_permission_mode`](Self::set_permission_mode), and end it with
/// [`disconnect`](Self::disconnect) — or let [`with`](Self::with) do that, whatever happens.
///
/// Dropping a client never leaves the CLI running: its stdin is closed, then it gets
/// `SIGTERM`, then `SIGKILL`, each step bounded, in the background.
///
/// Methods take `&self`, so a turn's messages can be read while another task interrupts it.
///
/// Keep reading: up to 64 messages wait unread, then the reader waits for you (the CLI's
/// output is never buffered without bound), and answers to control requests queue behind the
/// unread messages.
pub struct AgentClient {
    session: Session,
    info: ServerInfo,
}

impl fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentClient")
            .field("cli", &self.session.cli())
            .field("version", &self.info.version())
            .finish_non_exhaustive()
    }
}

/// A future borrowing the client, as [`AgentClient::with`] takes it.
pub type ScopedFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

impl AgentClient {
    /// Finds the CLI (see [`discover`](crate::discover)), starts it with `options` and completes
    /// its `initialize` handshake.
    ///
    /// # Errors
    /// [`Error::CliNotFound`] when there is no CLI, [`Error::Process`] when it cannot start or
    /// exits before answering (with its exit code and the end of its stderr),
    /// [`Error::Control`] when it refuses `initialize` or does not answer in time (60 s by
    /// default, [`CodeOptions::initialize_timeout`]), [`Error::Config`] without a runtime that
    /// can start processes.
    pub async fn connect(options: CodeOptions) -> Result<Self> {
        let runtime = crate::runtime::choose(options.runtime.clone())?;
        Self::connect_on(options, runtime, StartOn::Caller).await
    }

    pub(crate) async fn connect_on(
        options: CodeOptions,
        runtime: SharedRuntime,
        start_on: StartOn,
    ) -> Result<Self> {
        let cli = crate::discover::find_cli(options.cli_path.as_deref())?;
        let mut session = Box::pin(Session::start(cli, &options, runtime, start_on)).await?;
        let info = ServerInfo::new(session.take_server_info());
        Ok(Self { session, info })
    }

    /// Connects, runs `f` with the client, and disconnects whatever `f` returned — the scoped
    /// form of the seeds' `async with ClaudeSDKClient() as client`.
    ///
    /// ```no_run
    /// # async fn example() -> claude_kit_core::Result<()> {
    /// use claude_kit_code::{AgentClient, CodeOptions};
    /// use futures_util::StreamExt;
    ///
    /// let answer = AgentClient::with(CodeOptions::new(), |client| Box::pin(async move {
    ///     client.query("What is 2 + 2?").await?;
    ///     let mut text = String::new();
    ///     let mut messages = client.receive_response();
    ///     while let Some(message) = messages.next().await {
    ///         if let claude_kit_code::Message::Result(result) = message? {
    ///             text = result.result.unwrap_or_default();
    ///         }
    ///     }
    ///     Ok(text)
    /// })).await?;
    /// # let _ = answer; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Those of [`connect`](Self::connect), then `f`'s.
    pub async fn with<T, F>(options: CodeOptions, f: F) -> Result<T>
    where
        F: for<'a> FnOnce(&'a AgentClient) -> ScopedFuture<'a, T>,
    {
        let client = Self::connect(options).await?;
        let result = f(&client).await;
        client.disconnect().await;
        result
    }

    /// Sends one user turn (the CLI queues it if a turn is under way). Read its messages with
    /// [`receive_response`](Self::receive_response).
    ///
    /// # Errors
    /// [`Error::Process`] when the CLI has exited or does not read its stdin.
    pub async fn query(&self, prompt: impl Into<Content>) -> Result<()> {
        self.query_in(prompt, "default").await
    }

    /// [`query`](Self::query) in the session `session_id` of the CLI.
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn query_in(&self, prompt: impl Into<Content>, session_id: &str) -> Result<()> {
        let frame = user_frame(&prompt.into(), session_id);
        self.session.input().send_user(&frame).await
    }

    /// The next message, `None` once the CLI has exited and everything it wrote was read.
    pub async fn next_message(&self) -> Option<Result<Message>> {
        self.session.next_message().await
    }

    /// Whether the CLI is still running and reading (its stdout has not ended).
    pub fn is_alive(&self) -> bool {
        self.session.is_alive()
    }

    /// Every message from now on, until the CLI exits.
    pub fn receive_messages(&self) -> MessageStream<'_> {
        Box::pin(stream::unfold(Some(&self.session), |session| async move {
            let session = session?;
            match session.next_message().await? {
                Ok(message) => Some((Ok(message), Some(session))),
                Err(error) => Some((Err(error), None)),
            }
        }))
    }

    /// The messages of the current turn, up to and including its [`Message::Result`]; an
    /// error result is followed by its typed [`Error::AgentResult`].
    pub fn receive_response(&self) -> MessageStream<'_> {
        enum Step<'a> {
            Reading(&'a Session),
            Failing(Error),
            Done,
        }
        Box::pin(stream::unfold(
            Step::Reading(&self.session),
            |step| async move {
                match step {
                    Step::Reading(session) => match session.next_message().await? {
                        Ok(Message::Result(result)) => {
                            let next = result_error(&result).map_or(Step::Done, Step::Failing);
                            Some((Ok(Message::Result(result)), next))
                        }
                        Ok(message) => Some((Ok(message), Step::Reading(session))),
                        Err(error) => Some((Err(error), Step::Done)),
                    },
                    Step::Failing(error) => Some((Err(error), Step::Done)),
                    Step::Done => None,
                }
            },
        ))
    }

    /// Interrupts the turn under way: it ends with an `error_during_execution` result (read it
    /// with [`receive_response`](Self::receive_response)); the session stays usable.
    ///
    /// # Errors
    /// [`Error::Control`] when the CLI refuses or does not answer in time, [`Error::Process`]
    /// when it has exited.
    pub async fn interrupt(&self) -> Result<InterruptReceipt> {
        let answer = self
            .session
            .control(json!({"subtype": "interrupt"}))
            .await?;
        Ok(InterruptReceipt::from_wire(answer))
    }

    /// Changes the permission mode for the rest of the session.
    ///
    /// # Errors
    /// As [`interrupt`](Self::interrupt).
    pub async fn set_permission_mode(&self, mode: PermissionMode) -> Result<()> {
        self.session
            .control(json!({"subtype": "set_permission_mode", "mode": mode.as_str()}))
            .await
            .map(drop)
    }

    /// Changes the model of the next turns (`None`: the default model).
    ///
    /// # Errors
    /// As [`interrupt`](Self::interrupt).
    pub async fn set_model(&self, model: Option<&str>) -> Result<()> {
        self.session
            .control(json!({"subtype": "set_model", "model": model}))
            .await
            .map(drop)
    }

    /// The status of the session's MCP servers (`{"mcpServers": […]}`).
    ///
    /// # Errors
    /// As [`interrupt`](Self::interrupt).
    pub async fn mcp_status(&self) -> Result<Value> {
        self.session.control(json!({"subtype": "mcp_status"})).await
    }

    /// How the context window is used (categories, totals).
    ///
    /// # Errors
    /// As [`interrupt`](Self::interrupt).
    pub async fn context_usage(&self) -> Result<Value> {
        self.session
            .control(json!({"subtype": "get_context_usage"}))
            .await
    }

    /// Sends any control request (`{"subtype": …, …}`) and returns the CLI's answer.
    ///
    /// # Errors
    /// As [`interrupt`](Self::interrupt); an unknown subtype is the CLI's
    /// `unsupported_request` [`Error::Control`].
    pub async fn control(&self, request: Value) -> Result<Value> {
        self.session.control(request).await
    }

    /// The CLI's answer to `initialize`.
    pub fn server_info(&self) -> &ServerInfo {
        &self.info
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// The runtime the session runs on.
    pub fn runtime(&self) -> &SharedRuntime {
        self.session.runtime()
    }

    /// Ends the session: closes stdin (the CLI finishes what it is doing and exits), then, if
    /// it is still running after 5 s, `SIGTERM`, then `SIGKILL` — and waits until the process
    /// is gone. Returns its exit code (`None` when a signal ended it).
    pub async fn disconnect(self) -> Option<i32> {
        self.session.shutdown().await
    }
}
