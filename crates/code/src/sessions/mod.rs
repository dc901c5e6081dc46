//! Reading past sessions from the CLI's store.
//!
//! The Claude Code CLI writes every session as a JSON Lines transcript,
//! `<config dir>/projects/<project key>/<session id>.jsonl`, where the config dir is
//! `CLAUDE_CONFIG_DIR` or `~/.claude` ([`config_dir`]) and the project key is the session's
//! working directory made safe as a file name ([`project_key`]). This module reads that store
//! the way the official Python SDK (`claude-agent-sdk` 0.2.184) does:
//!
//! - [`list_sessions`] gives one [`SessionInfo`] per session, newest first, from the file's
//!   size, its modification time and its first and last 64 KiB only (no full parse): a title,
//!   the first meaningful prompt, the git branch, the tag. For a directory it also reads the
//!   sessions of the other worktrees of the same git repository.
//! - [`session_messages`] rebuilds a session's conversation: the chain of `uuid` /
//!   `parentUuid` links from the latest user or assistant entry back to the root, with the
//!   tool calls and results of parallel tool use put back, as [`SessionMessage`]s.
//!
//! Everything is synchronous [`std::fs`]: sessions are small local files. Malformed lines are
//! skipped, a line longer than [`MAX_LINE_BYTES`] is skipped without being held in memory, and
//! a missing store is an empty list.
//!
//! Where this differs from the Python SDK, on purpose:
//!
//! - an invalid session id is an [`Error::Config`] (Python: an empty list), so that a typo is
//!   not mistaken for an empty session; the id is never joined to a path unless it is a UUID;
//! - project keys count UTF-16 code units, as the CLI (JavaScript) does: a character outside
//!   the Basic Multilingual Plane becomes `--` (Python: `-`, which misses the CLI's directory);
//! - paths are not NFC-normalized (this crate has no Unicode tables): a path spelled in
//!   decomposed form gets another key than the CLI's;
//! - a worktree with a long path is matched by its 200-character prefix, so that a directory
//!   whose hash the CLI computed differently is still found (Python compares the whole key);
//! - sessions modified in the same millisecond keep the order of their file names (Python:
//!   the file system's directory order);
//! - a line that is not valid UTF-8, or longer than [`MAX_LINE_BYTES`], is skipped (Python
//!   fails on the first and holds the second); a timestamp without offset is read as UTC
//!   (Python: local time).
//!
//! Not provided: the SDK's `get_session_info`, subagent transcripts and `SessionStore`
//! variants.
//!
//! ```no_run
//! use claude_kit_code::sessions::{ListSessions, SessionMessages, list_sessions, session_messages};
//!
//! # fn main() -> Result<(), claude_kit_core::Error> {
//! for session in list_sessions(&ListSessions::new().directory("/path/to/project").limit(10))? {
//!     println!("{} {}", session.session_id, session.summary);
//!     for message in session_messages(&session.session_id, &SessionMessages::new())? {
//!         println!("  {:?}: {}", message.kind, message.message);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod chain;
mod entries;
mod iso8601;
mod lines;
mod listing;
mod lite;
mod parallel_tools;
mod store;
#[cfg(test)]
mod test_support;
mod worktrees;

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use claude_kit_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use chain::entries_to_messages;
use entries::read_transcript_entries;
use listing::{deduplicate, read_sessions_from_dir, sessions_of_project, sort_and_page};
use store::{canonical_path, find_session_file, projects_dir, sorted_dir_entries};
use worktrees::git_worktree_paths;

pub use store::{config_dir, is_session_id, project_key, sanitize_path};

/// The longest transcript line that is parsed; a longer one is skipped (read through in
/// pieces, never held in memory whole).
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options and results
// ---------------------------------------------------------------------------------------------

/// What [`list_sessions`] lists.
///
/// ```
/// use claude_kit_code::sessions::ListSessions;
///
/// let options = ListSessions::new().directory("/path/to/project").limit(20).offset(20);
/// assert!(options.include_worktrees); // the default, as in the Python SDK
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListSessions {
    /// The project directory whose sessions to list; `None` lists the sessions of every
    /// project.
    pub directory: Option<PathBuf>,
    /// At most this many sessions (`None`, or `Some(0)` as in the Python SDK: all).
    pub limit: Option<usize>,
    /// Skip this many sessions of the sorted list first.
    pub offset: usize,
    /// With a `directory` inside a git repository, also list the sessions of the
    /// repository's other worktrees (runs `git worktree list`). Default `true`.
    pub include_worktrees: bool,
    /// The config dir to read instead of [`config_dir`]'s.
    pub config_dir: Option<PathBuf>,
}

impl Default for ListSessions {
    fn default() -> Self {
        Self {
            directory: None,
            limit: None,
            offset: 0,
            include_worktrees: true,
            config_dir: None,
        }
    }
}

impl ListSessions {
    /// Every session of every project, worktrees included.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists the sessions of this project directory only.
    #[must_use]
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// Returns at most `limit` sessions (0: all).
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` sessions.
    #[must_use]
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Whether to include the sessions of the directory's other git worktrees.
    #[must_use]
    pub fn include_worktrees(mut self, include: bool) -> Self {
        self.include_worktrees = include;
        self
    }

    /// Reads this config dir instead of `CLAUDE_CONFIG_DIR` or `~/.claude`.
    #[must_use]
    pub fn config_dir(mut self, config_dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(config_dir.into());
        self
    }
}

/// Where [`session_messages`] looks for a session, and which of its messages it returns.
///
/// ```
/// use claude_kit_code::sessions::SessionMessages;
///
/// let page = SessionMessages::new().limit(10).offset(20);
/// assert_eq!((page.limit, page.offset), (Some(10), 20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionMessages {
    /// The project directory the session belongs to; `None` searches every project.
    pub directory: Option<PathBuf>,
    /// At most this many messages (`None`, or `Some(0)` as in the Python SDK: all).
    pub limit: Option<usize>,
    /// Skip this many messages first.
    pub offset: usize,
    /// With a `directory` inside a git repository, when the session is not in the
    /// directory's project, also look in the repository's other worktrees (runs
    /// `git worktree list`). Default `true`.
    pub include_worktrees: bool,
    /// The config dir to read instead of [`config_dir`]'s.
    pub config_dir: Option<PathBuf>,
}

impl Default for SessionMessages {
    fn default() -> Self {
        Self {
            directory: None,
            limit: None,
            offset: 0,
            include_worktrees: true,
            config_dir: None,
        }
    }
}

impl SessionMessages {
    /// All messages, the session searched in every project.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks for the session in this project directory (and its worktrees).
    #[must_use]
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// Returns at most `limit` messages (0: all).
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` messages.
    #[must_use]
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Whether to look in the directory's other git worktrees.
    #[must_use]
    pub fn include_worktrees(mut self, include: bool) -> Self {
        self.include_worktrees = include;
        self
    }

    /// Reads this config dir instead of `CLAUDE_CONFIG_DIR` or `~/.claude`.
    #[must_use]
    pub fn config_dir(mut self, config_dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(config_dir.into());
        self
    }
}

/// A past session, as [`list_sessions`] reads it from the transcript's first and last
/// 64 KiB (the Python SDK's `SDKSessionInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id (a UUID), the transcript's file name.
    pub session_id: String,
    /// What to show for the session: its custom or AI title, else its last prompt, else the
    /// CLI's summary, else its first prompt. Never empty.
    pub summary: String,
    /// When the transcript was last written, in milliseconds since the Unix epoch.
    pub last_modified: i64,
    /// The transcript's size in bytes.
    pub file_size: u64,
    /// The title the user set (`customTitle`), else the one the CLI generated (`aiTitle`).
    pub custom_title: Option<String>,
    /// The first meaningful user prompt (slash commands, tool results, meta and
    /// auto-generated messages skipped), at most 200 characters and an ellipsis.
    pub first_prompt: Option<String>,
    /// The git branch at the end of the session.
    pub git_branch: Option<String>,
    /// The session's working directory.
    pub cwd: Option<String>,
    /// The tag the user set.
    pub tag: Option<String>,
    /// When the session started (its first entry's timestamp), in milliseconds since the
    /// Unix epoch.
    pub created_at: Option<i64>,
}

/// Who wrote a [`SessionMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionMessageKind {
    /// The user (prompts and tool results).
    User,
    /// The model.
    Assistant,
}

/// A user or assistant message of a past session (the Python SDK's `SessionMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionMessage {
    /// User or assistant.
    #[serde(rename = "type")]
    pub kind: SessionMessageKind,
    /// The entry's `uuid`.
    pub uuid: String,
    /// The entry's `sessionId` (empty when it has none).
    pub session_id: String,
    /// The API message as the CLI stored it (`role`, `content`, and for the model `id`,
    /// `model`, `usage`, …); `null` when the entry has none.
    pub message: Value,
}

// ---------------------------------------------------------------------------------------------
// list_sessions
// ---------------------------------------------------------------------------------------------

/// Lists past sessions, newest first (by the transcript's modification time), then applies
/// `offset` and `limit`.
///
/// With a [`directory`](ListSessions::directory), the sessions of that project and (with
/// [`include_worktrees`](ListSessions::include_worktrees)) of the other worktrees of its git
/// repository; without, the sessions of every project, a session found in two projects
/// listed once (the newer). Sidechain transcripts (subagents) and transcripts with nothing to
/// show (no title, prompt or summary) are left out.
///
/// # Errors
///
/// [`Error::Config`] when no config dir is given and neither `CLAUDE_CONFIG_DIR` nor the home
/// directory is known. A missing or unreadable store is an empty list; an unreadable
/// transcript is left out.
///
/// ```
/// use claude_kit_code::sessions::{ListSessions, list_sessions};
///
/// let empty = std::env::temp_dir().join("claude-kit-doc-no-such-config-dir");
/// let sessions = list_sessions(&ListSessions::new().config_dir(&empty)).unwrap();
/// assert!(sessions.is_empty());
/// ```
pub fn list_sessions(options: &ListSessions) -> Result<Vec<SessionInfo>, Error> {
    let projects = projects_dir(options.config_dir.as_deref())?;
    let sessions = match options
        .directory
        .as_deref()
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        Some(directory) => {
            let canonical = canonical_path(directory);
            let worktrees = if options.include_worktrees {
                git_worktree_paths(&canonical)
            } else {
                Vec::new()
            };
            sessions_of_project(&projects, &canonical, &worktrees)
        }
        None => {
            let mut sessions = Vec::new();
            for dir in sorted_dir_entries(&projects) {
                if dir.is_dir() {
                    sessions.extend(read_sessions_from_dir(&dir, None));
                }
            }
            deduplicate(sessions)
        }
    };
    Ok(sort_and_page(sessions, options.limit, options.offset))
}

// ---------------------------------------------------------------------------------------------
// session_messages
// ---------------------------------------------------------------------------------------------

/// Reads a session's conversation: its user and assistant messages in chronological order,
/// then applies `offset` and `limit`.
///
/// The conversation is the chain of `parentUuid` links from the latest user or assistant
/// entry of the main thread back to the root, so abandoned branches (a rewound or edited
/// turn) are left out; a turn that ran tools in parallel is returned whole, every
/// `tool_use` and every `tool_result`. Meta entries and sidechain (subagent) entries are
/// left out; compaction summaries are kept.
///
/// With a [`directory`](SessionMessages::directory) the session is looked for in that
/// project (then in its other git worktrees); without, in every project.
///
/// # Errors
///
/// [`Error::Config`] when `session_id` is not a UUID (it names a file: nothing else is ever
/// read), or when no config dir is known. A session that is not found is an empty list.
///
/// ```
/// use claude_kit_code::sessions::{SessionMessages, session_messages};
/// use claude_kit_core::Error;
///
/// let options = SessionMessages::new().config_dir(std::env::temp_dir().join("no-such-dir"));
/// let none = session_messages("550e8400-e29b-41d4-a716-446655440000", &options).unwrap();
/// assert!(none.is_empty());
/// assert!(matches!(session_messages("../../etc/passwd", &options), Err(Error::Config { .. })));
/// ```
pub fn session_messages(
    session_id: &str,
    options: &SessionMessages,
) -> Result<Vec<SessionMessage>, Error> {
    if !is_session_id(session_id) {
        return Err(Error::config(format!(
            "invalid session id {:?}: expected a UUID",
            truncate_for_message(session_id)
        )));
    }
    let projects = projects_dir(options.config_dir.as_deref())?;
    let file_name = format!("{session_id}.jsonl");
    let directory = options
        .directory
        .as_deref()
        .filter(|dir| !dir.as_os_str().is_empty());
    let Some(path) = find_session_file(&projects, &file_name, directory, options.include_worktrees)
    else {
        return Ok(Vec::new());
    };
    let Ok(file) = File::open(&path) else {
        return Ok(Vec::new());
    };
    let entries = read_transcript_entries(BufReader::new(file), MAX_LINE_BYTES);
    Ok(entries_to_messages(entries, options.limit, options.offset))
}

fn truncate_for_message(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::test_support::{
        PROJECT, TempDir, expected_infos, expected_messages, fixture_store, list, long_project,
        messages,
    };

    const CHAIN_SESSION: &str = "99999999-9999-4999-8999-999999999999";

    // --- list_sessions, against the Python SDK -------------------------------------------------

    #[test]
    fn lists_every_project_as_the_python_sdk() {
        let (_tmp, config) = fixture_store();
        let sessions = list_sessions(&list(&config)).unwrap();
        assert_eq!(sessions, expected_infos("list_all"));
    }

    #[test]
    fn lists_one_project_as_the_python_sdk() {
        let (_tmp, config) = fixture_store();
        let project = list(&config).directory(PROJECT);
        assert_eq!(
            list_sessions(&project).unwrap(),
            expected_infos("list_project")
        );
        assert_eq!(
            list_sessions(&project.clone().limit(2).offset(1)).unwrap(),
            expected_infos("list_project_page")
        );
        assert_eq!(
            list_sessions(&project.clone().limit(0)).unwrap(),
            expected_infos("list_project_limit_zero")
        );
        assert!(list_sessions(&project.offset(100)).unwrap().is_empty());
    }

    #[test]
    fn finds_a_long_path_project_by_its_prefix() {
        let (_tmp, config) = fixture_store();
        let sessions = list_sessions(&list(&config).directory(long_project())).unwrap();
        assert_eq!(sessions, expected_infos("list_long"));
    }

    #[test]
    fn a_missing_store_or_project_is_empty() {
        let (_tmp, config) = fixture_store();
        let none = list(&config).directory("/nonexistent-claude-kit/none");
        assert_eq!(
            list_sessions(&none).unwrap(),
            expected_infos("list_missing")
        );
        let tmp = TempDir::new();
        let missing = tmp.path().join("no-config");
        assert!(list_sessions(&list(&missing)).unwrap().is_empty());
        assert!(
            list_sessions(&list(&missing).directory(PROJECT))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_empty_directory_option_lists_everything() {
        let (_tmp, config) = fixture_store();
        let sessions = list_sessions(&list(&config).directory("")).unwrap();
        assert_eq!(sessions, expected_infos("list_all"));
    }

    // --- session_messages, against the Python SDK ----------------------------------------------

    #[test]
    fn rebuilds_the_chain_as_the_python_sdk() {
        let (_tmp, config) = fixture_store();
        let in_project = messages(&config).directory(PROJECT);
        assert_eq!(
            session_messages(CHAIN_SESSION, &in_project).unwrap(),
            expected_messages("messages_chain")
        );
        // Without a directory: searched in every project.
        assert_eq!(
            session_messages(CHAIN_SESSION, &messages(&config).limit(3).offset(2)).unwrap(),
            expected_messages("messages_chain_page")
        );
        assert_eq!(
            session_messages(CHAIN_SESSION, &messages(&config).offset(7)).unwrap(),
            expected_messages("messages_chain_offset")
        );
        assert_eq!(
            session_messages(CHAIN_SESSION, &messages(&config).limit(0)).unwrap(),
            expected_messages("messages_chain")
        );
        assert!(
            session_messages(CHAIN_SESSION, &messages(&config).offset(100))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn reads_other_sessions_as_the_python_sdk() {
        let (_tmp, config) = fixture_store();
        assert_eq!(
            session_messages("22222222-2222-4222-8222-222222222222", &messages(&config)).unwrap(),
            expected_messages("messages_skipped_prompts")
        );
        assert_eq!(
            session_messages(
                "88888888-8888-4888-8888-888888888888",
                &messages(&config).directory(long_project())
            )
            .unwrap(),
            expected_messages("messages_long")
        );
        assert_eq!(
            session_messages("55555555-5555-4555-8555-555555555555", &messages(&config)).unwrap(),
            expected_messages("messages_empty_file")
        );
    }

    #[test]
    fn a_session_in_another_project_is_not_found_with_a_directory() {
        let (_tmp, config) = fixture_store();
        let other = messages(&config).directory("/nonexistent-claude-kit/other");
        assert!(session_messages(CHAIN_SESSION, &other).unwrap().is_empty());
        let missing = "00000000-0000-4000-8000-000000000000";
        assert!(
            session_messages(missing, &messages(&config))
                .unwrap()
                .is_empty()
        );
        let tmp = TempDir::new();
        let no_store = messages(&tmp.path().join("none"));
        assert!(
            session_messages(CHAIN_SESSION, &no_store)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_invalid_session_id_is_a_config_error() {
        let (_tmp, config) = fixture_store();
        for id in [
            "",
            "..",
            "../99999999-9999-4999-8999-999999999999",
            "99999999-9999-4999-8999-999999999999/../x",
            "99999999-9999-4999-8999-99999999999",
            "99999999-9999-4999-8999-9999999999999",
            "9999999g-9999-4999-8999-999999999999",
            "99999999_9999_4999_8999_999999999999",
            "99999999-9999-4999-8999-999999999999.jsonl",
            "/etc/passwd",
        ] {
            match session_messages(id, &messages(&config)) {
                Err(Error::Config { message }) => assert!(message.contains("UUID"), "{message}"),
                other => panic!("{id:?}: {other:?}"),
            }
        }
        // Any case, as the Python SDK's pattern.
        assert!(is_session_id("ABCDEF01-2345-6789-abcd-ef0123456789"));
    }

    #[test]
    fn messages_serialize_as_the_python_sdk_names_them() {
        let message = SessionMessage {
            kind: SessionMessageKind::Assistant,
            uuid: "u".into(),
            session_id: "s".into(),
            message: serde_json::json!({"role": "assistant"}),
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "assistant", "uuid": "u", "session_id": "s", "message": {"role": "assistant"}})
        );
    }

    #[test]
    fn an_overlong_line_in_a_session_file_is_skipped() {
        let tmp = TempDir::new();
        let config = tmp.path().join("config");
        let dir = config.join("projects").join(sanitize_path(PROJECT));
        std::fs::create_dir_all(&dir).unwrap();
        let id = "c0000000-0000-4000-8000-000000000001";
        let first = serde_json::json!({"type": "user", "uuid": "u1", "parentUuid": null,
            "sessionId": id, "message": {"role": "user", "content": "kept"}});
        let overlong = serde_json::json!({"type": "assistant", "uuid": "a1", "parentUuid": "u1",
            "message": {"id": "m", "content": "y".repeat(MAX_LINE_BYTES)}});
        std::fs::write(
            dir.join(format!("{id}.jsonl")),
            format!("{first}\n{overlong}\n"),
        )
        .unwrap();
        let got = session_messages(id, &messages(&config).directory(PROJECT)).unwrap();
        let uuids: Vec<&str> = got.iter().map(|m| m.uuid.as_str()).collect();
        assert_eq!(uuids, ["u1"]);
        assert_eq!(got[0].kind, SessionMessageKind::User);
        assert_eq!(got[0].session_id, id);
    }
}
