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

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use claude_kit_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The longest transcript line that is parsed; a longer one is skipped (read through in
/// pieces, never held in memory whole).
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;

/// How much of a transcript's start and end [`list_sessions`] reads.
const LITE_READ_BUF_SIZE: u64 = 65536;

/// The longest project key before it is truncated and a hash appended (file names are limited
/// to 255 bytes).
const MAX_SANITIZED_LENGTH: usize = 200;

/// How long `git worktree list` may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of `git worktree list`'s output that is read.
const GIT_OUTPUT_LIMIT: u64 = 1 << 20;

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
// The store's layout
// ---------------------------------------------------------------------------------------------

/// The CLI's config dir: `CLAUDE_CONFIG_DIR` when set and not empty, else `~/.claude`;
/// `None` without either.
///
/// ```
/// if let Some(dir) = claude_kit_code::sessions::config_dir() {
///     println!("sessions are under {}", dir.join("projects").display());
/// }
/// ```
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("CLAUDE_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => std::env::home_dir()
            .filter(|home| !home.as_os_str().is_empty())
            .map(|home| home.join(".claude")),
    }
}

fn projects_dir(config_override: Option<&Path>) -> Result<PathBuf, Error> {
    let config = match config_override {
        Some(dir) => dir.to_path_buf(),
        None => config_dir().ok_or_else(|| {
            Error::config("cannot find the Claude Code config dir: set CLAUDE_CONFIG_DIR or HOME")
        })?,
    };
    Ok(config.join("projects"))
}

/// Makes a path safe as a directory name, as the CLI names project directories: every
/// character but ASCII letters and digits becomes `-`; past 200 characters the name is cut
/// and `-<hash>` appended.
///
/// The CLI is JavaScript: "character" means UTF-16 code unit, so a character outside the
/// Basic Multilingual Plane becomes `--`.
///
/// ```
/// use claude_kit_code::sessions::sanitize_path;
///
/// assert_eq!(sanitize_path("/home/me/my_project"), "-home-me-my-project");
/// assert_eq!(sanitize_path(r"C:\Users\me\x.y"), "C--Users-me-x-y");
///
/// let long = sanitize_path(&format!("/{}", "a".repeat(300)));
/// assert!(long.starts_with(&format!("-{}-", "a".repeat(199))));
/// assert!(long.len() > 201);
/// ```
pub fn sanitize_path(name: &str) -> String {
    let sanitized: String = name
        .encode_utf16()
        .map(|unit| match u8::try_from(unit) {
            Ok(byte) if byte.is_ascii_alphanumeric() => char::from(byte),
            _ => '-',
        })
        .collect();
    if sanitized.len() <= MAX_SANITIZED_LENGTH {
        return sanitized;
    }
    format!(
        "{}-{}",
        &sanitized[..MAX_SANITIZED_LENGTH],
        simple_hash(name)
    )
}

/// The CLI's 32-bit string hash (`h = (h << 5) - h + unit | 0` over UTF-16 code units),
/// absolute value, in base 36.
fn simple_hash(name: &str) -> String {
    let mut hash: i32 = 0;
    for unit in name.encode_utf16() {
        hash = (hash << 5).wrapping_sub(hash).wrapping_add(i32::from(unit));
    }
    let mut n = i64::from(hash).unsigned_abs();
    if n == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// The name of a directory's project in the store: its canonical path (symlinks resolved),
/// [sanitized](sanitize_path).
///
/// ```
/// use std::path::Path;
/// use claude_kit_code::sessions::project_key;
///
/// assert_eq!(project_key(Path::new("/nonexistent/my.project")), "-nonexistent-my-project");
/// ```
pub fn project_key(directory: &Path) -> String {
    sanitize_path(&canonical_path(directory))
}

/// Whether `id` looks like a session id: a UUID (`8-4-4-4-12` hex digits, any case).
///
/// ```
/// use claude_kit_code::sessions::is_session_id;
///
/// assert!(is_session_id("550e8400-e29b-41d4-a716-446655440000"));
/// assert!(!is_session_id("../550e8400-e29b-41d4-a716-446655440000"));
/// ```
pub fn is_session_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `realpath`: absolute, symlinks resolved as far as the path exists, the rest normalized.
fn canonical_path(path: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(current) => current.join(path),
            Err(_) => path.to_path_buf(),
        }
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(resolved) = std::fs::canonicalize(existing) {
            break resolved;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => {
                // Nothing of it exists: normalize it whole.
                rest.clear();
                break normalize(&absolute);
            }
        }
    };
    let mut resolved = resolved;
    for name in rest.iter().rev() {
        resolved.push(name);
    }
    let resolved = normalize(&resolved);
    strip_verbatim(resolved.to_string_lossy().into_owned())
}

/// Removes `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `canonicalize` on Windows answers `\\?\C:\…`; the CLI names projects after `C:\…`.
fn strip_verbatim(path: String) -> String {
    if !cfg!(windows) {
        return path;
    }
    if let Some(unc) = path.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{unc}")
    } else if let Some(local) = path.strip_prefix(r"\\?\") {
        local.to_owned()
    } else {
        path
    }
}

/// The project directory of `project_path`: its exact key, or for a long path (whose hash
/// the CLI may have computed differently) any directory with the same 200-character prefix.
fn find_project_dir(projects: &Path, project_path: &str) -> Option<PathBuf> {
    let sanitized = sanitize_path(project_path);
    let exact = projects.join(&sanitized);
    if exact.is_dir() {
        return Some(exact);
    }
    if sanitized.len() <= MAX_SANITIZED_LENGTH {
        return None;
    }
    let prefix = format!("{}-", &sanitized[..MAX_SANITIZED_LENGTH]);
    sorted_dir_entries(projects)
        .into_iter()
        .find(|entry| entry.is_dir() && file_name(entry).starts_with(&prefix))
}

/// A directory's entries sorted by name (empty when it cannot be read): sorting makes the
/// order of sessions with the same modification time independent of the file system.
fn sorted_dir_entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    paths
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The worktrees of the git repository holding `dir` (`git worktree list --porcelain`),
/// empty when git is missing, fails, or takes more than 5 s.
fn git_worktree_paths(dir: &str) -> Vec<String> {
    use std::process::{Command, Stdio};

    let Ok(mut child) = Command::new("git")
        .args(["worktree", "list", "--porcelain"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Vec::new();
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut output = Vec::new();
        let _ = stdout.take(GIT_OUTPUT_LIMIT).read_to_end(&mut output);
        let _ = sender.send(output);
    });
    let output = receiver.recv_timeout(GIT_TIMEOUT).ok();
    if output.is_none() {
        let _ = child.kill();
    }
    let status = child.wait();
    match (output, status) {
        (Some(output), Ok(status)) if status.success() => {
            parse_worktree_list(&String::from_utf8_lossy(&output))
        }
        _ => Vec::new(),
    }
}

/// The `worktree <path>` lines of `git worktree list --porcelain`.
fn parse_worktree_list(output: &str) -> Vec<String> {
    output
        .split('\n')
        .filter_map(|line| line.strip_prefix("worktree "))
        .map(str::to_owned)
        .collect()
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

/// The sessions of the project of `canonical` and of the projects of `worktree_paths` (all
/// the worktrees of its repository, itself included: a single one is none to add).
fn sessions_of_project(
    projects: &Path,
    canonical: &str,
    worktree_paths: &[String],
) -> Vec<SessionInfo> {
    let own_dir = find_project_dir(projects, canonical);
    if worktree_paths.len() <= 1 {
        return own_dir
            .map(|dir| read_sessions_from_dir(&dir, Some(canonical)))
            .unwrap_or_default();
    }

    let case_insensitive = cfg!(windows);
    let fold = |name: String| {
        if case_insensitive {
            name.to_lowercase()
        } else {
            name
        }
    };
    // Longest key first, so that the most specific worktree claims a directory.
    let mut keyed: Vec<(&str, String)> = worktree_paths
        .iter()
        .map(|path| (path.as_str(), fold(sanitize_path(path))))
        .collect();
    keyed.sort_by_key(|(_, key)| std::cmp::Reverse(key.len()));

    let mut sessions = Vec::new();
    let mut seen_dirs = HashSet::new();
    // The directory itself comes first: a subdirectory of a worktree is no worktree root.
    if let Some(dir) = own_dir {
        seen_dirs.insert(fold(file_name(&dir)));
        sessions.extend(read_sessions_from_dir(&dir, Some(canonical)));
    }
    for dir in sorted_dir_entries(projects) {
        if !dir.is_dir() {
            continue;
        }
        let name = fold(file_name(&dir));
        if seen_dirs.contains(&name) {
            continue;
        }
        let owner = keyed.iter().find(|(_, key)| {
            // A long key's hash may differ from the CLI's: compare the 200-character prefix.
            *key == name
                || (key.len() > MAX_SANITIZED_LENGTH
                    && name.starts_with(&format!("{}-", &key[..MAX_SANITIZED_LENGTH])))
        });
        if let Some((worktree, _)) = owner {
            sessions.extend(read_sessions_from_dir(&dir, Some(worktree)));
            seen_dirs.insert(name);
        }
    }
    deduplicate(sessions)
}

/// Keeps one session per id: the most recently modified (the first seen on a tie), at the
/// place its id was first seen.
fn deduplicate(sessions: Vec<SessionInfo>) -> Vec<SessionInfo> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unique: Vec<SessionInfo> = Vec::new();
    for session in sessions {
        match index.get(&session.session_id) {
            Some(&at) => {
                if session.last_modified > unique[at].last_modified {
                    unique[at] = session;
                }
            }
            None => {
                index.insert(session.session_id.clone(), unique.len());
                unique.push(session);
            }
        }
    }
    unique
}

fn sort_and_page(
    mut sessions: Vec<SessionInfo>,
    limit: Option<usize>,
    offset: usize,
) -> Vec<SessionInfo> {
    sessions.sort_by_key(|session| std::cmp::Reverse(session.last_modified));
    let mut page: Vec<SessionInfo> = sessions.into_iter().skip(offset).collect();
    if let Some(limit) = limit.filter(|&limit| limit > 0) {
        page.truncate(limit);
    }
    page
}

/// The sessions of one project directory: `<uuid>.jsonl` files, others ignored.
fn read_sessions_from_dir(dir: &Path, project_path: Option<&str>) -> Vec<SessionInfo> {
    sorted_dir_entries(dir)
        .into_iter()
        .filter_map(|path| {
            let name = file_name(&path);
            let session_id = name.strip_suffix(".jsonl")?;
            if !is_session_id(session_id) {
                return None;
            }
            let lite = read_lite(&path)?;
            parse_session_info(session_id, &lite, project_path)
        })
        .collect()
}

/// A transcript's size, modification time, and first and last 64 KiB.
struct LiteFile {
    mtime: i64,
    size: u64,
    head: String,
    tail: String,
}

/// Reads a [`LiteFile`]; `None` when the file cannot be read or is empty.
fn read_lite(path: &Path) -> Option<LiteFile> {
    let mut file = File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    let size = metadata.len();
    let mtime =
        metadata
            .modified()
            .ok()
            .map_or(0, |modified| match modified.duration_since(UNIX_EPOCH) {
                Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
                Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
            });
    let mut head = Vec::new();
    (&mut file)
        .take(LITE_READ_BUF_SIZE)
        .read_to_end(&mut head)
        .ok()?;
    if head.is_empty() {
        return None;
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let tail = if size <= LITE_READ_BUF_SIZE {
        head.clone()
    } else {
        file.seek(SeekFrom::Start(size - LITE_READ_BUF_SIZE)).ok()?;
        let mut tail = Vec::new();
        file.take(LITE_READ_BUF_SIZE).read_to_end(&mut tail).ok()?;
        String::from_utf8_lossy(&tail).into_owned()
    };
    Some(LiteFile {
        mtime,
        size,
        head,
        tail,
    })
}

/// The Python SDK's `_parse_session_info_from_lite`: `None` for a sidechain transcript or
/// one with nothing to show.
fn parse_session_info(
    session_id: &str,
    lite: &LiteFile,
    project_path: Option<&str>,
) -> Option<SessionInfo> {
    let (head, tail) = (lite.head.as_str(), lite.tail.as_str());
    let first_line = head.split('\n').next().unwrap_or_default();
    if first_line.contains(r#""isSidechain":true"#) || first_line.contains(r#""isSidechain": true"#)
    {
        return None;
    }
    let non_empty = |value: Option<String>| value.filter(|value| !value.is_empty());
    let custom_title = non_empty(last_string_field(tail, "customTitle"))
        .or_else(|| non_empty(last_string_field(head, "customTitle")))
        .or_else(|| non_empty(last_string_field(tail, "aiTitle")))
        .or_else(|| non_empty(last_string_field(head, "aiTitle")));
    let first_prompt = non_empty(Some(first_prompt(head)));
    let summary = custom_title
        .clone()
        .or_else(|| non_empty(last_string_field(tail, "lastPrompt")))
        .or_else(|| non_empty(last_string_field(tail, "summary")))
        .or_else(|| first_prompt.clone())?;
    let git_branch = non_empty(last_string_field(tail, "gitBranch"))
        .or_else(|| non_empty(first_string_field(head, "gitBranch")));
    let cwd = non_empty(first_string_field(head, "cwd"))
        .or_else(|| non_empty(project_path.map(str::to_owned)));
    // Only `{"type":"tag"` lines: a bare "tag" also appears in tool inputs (git tags, …).
    let tag = tail
        .split('\n')
        .rev()
        .find(|line| line.starts_with(r#"{"type":"tag""#))
        .and_then(|line| non_empty(last_string_field(line, "tag")));
    let created_at = first_string_field(head, "timestamp")
        .filter(|timestamp| !timestamp.is_empty())
        .and_then(|timestamp| iso8601_millis(&timestamp));
    Some(SessionInfo {
        session_id: session_id.to_owned(),
        summary,
        last_modified: lite.mtime,
        file_size: lite.size,
        custom_title,
        first_prompt,
        git_branch,
        cwd,
        tag,
        created_at,
    })
}

/// The two spellings of `"key":"` the SDK looks for (compact, and with a space).
fn field_patterns(key: &str) -> [String; 2] {
    [format!("\"{key}\":\""), format!("\"{key}\": \"")]
}

/// The end (index of the closing quote) of a JSON string's body starting at `start`, skipping
/// escapes; `None` when the text ends first (a truncated line).
fn string_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The value of the first `"key":"…"` in `text`, found without parsing (works on truncated
/// lines): the compact spelling first, then the spaced one.
fn first_string_field(text: &str, key: &str) -> Option<String> {
    for pattern in field_patterns(key) {
        let Some(at) = text.find(&pattern) else {
            continue;
        };
        let start = at + pattern.len();
        if let Some(end) = string_end(text, start) {
            return Some(unescape(&text[start..end]));
        }
    }
    None
}

/// Like [`first_string_field`], the last occurrence (of the compact spelling, then of the
/// spaced one, as the SDK scans).
fn last_string_field(text: &str, key: &str) -> Option<String> {
    let mut last = None;
    for pattern in field_patterns(key) {
        let mut from = 0;
        while let Some(at) = text.get(from..).and_then(|rest| rest.find(&pattern)) {
            let start = from + at + pattern.len();
            match string_end(text, start) {
                Some(end) => {
                    last = Some(unescape(&text[start..end]));
                    from = end + 1;
                }
                None => break,
            }
        }
    }
    last
}

/// A JSON string body's text; the body itself when it does not decode.
fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned())
}

/// The first meaningful user prompt in a transcript's head, at most 200 characters: user
/// entries that are tool results, meta or compact summaries are skipped, and so are texts
/// that are slash commands (the first command's name is the fallback) or auto-generated.
fn first_prompt(head: &str) -> String {
    let mut command_fallback = String::new();
    for line in head.split('\n') {
        if !line.contains(r#""type":"user""#) && !line.contains(r#""type": "user""#) {
            continue;
        }
        if line.contains(r#""tool_result""#)
            || line.contains(r#""isMeta":true"#)
            || line.contains(r#""isMeta": true"#)
            || line.contains(r#""isCompactSummary":true"#)
            || line.contains(r#""isCompactSummary": true"#)
        {
            continue;
        }
        let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry.get("type").and_then(Value::as_str) != Some("user") {
            continue;
        }
        let Some(Value::Object(message)) = entry.get("message") else {
            continue;
        };
        let texts: Vec<&str> = match message.get("content") {
            Some(Value::String(text)) => vec![text],
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|block| block.get("text").and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        };
        for raw in texts {
            let flattened = raw.replace('\n', " ");
            let text = flattened.trim();
            if text.is_empty() {
                continue;
            }
            if let Some(command) = command_name(text) {
                if command_fallback.is_empty() {
                    command_fallback = command.to_owned();
                }
                continue;
            }
            if is_auto_generated(text) {
                continue;
            }
            if text.chars().count() > 200 {
                let cut: String = text.chars().take(200).collect();
                return format!("{}\u{2026}", cut.trim_end());
            }
            return text.to_owned();
        }
    }
    command_fallback
}

/// The name in `<command-name>…</command-name>` (a slash command's transcript text).
fn command_name(text: &str) -> Option<&str> {
    const OPEN: &str = "<command-name>";
    let start = text.find(OPEN)? + OPEN.len();
    let end = text[start..].find("</command-name>")?;
    Some(&text[start..start + end])
}

/// Texts the CLI generates in a user entry: command output, hooks, ticks, interrupts, files
/// the IDE opened.
fn is_auto_generated(text: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "<local-command-stdout>",
        "<session-start-hook>",
        "<tick>",
        "<goal>",
    ];
    if PREFIXES.iter().any(|prefix| text.starts_with(prefix)) {
        return true;
    }
    if let Some(rest) = text.strip_prefix("[Request interrupted by user")
        && rest.contains(']')
    {
        return true;
    }
    let wrapped = |tag: &str| {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        text.strip_prefix(&open)
            .is_some_and(|rest| rest.trim_end().ends_with(&close))
    };
    wrapped("ide_opened_file") || wrapped("ide_selection")
}

/// Milliseconds since the epoch of an ISO 8601 date-time (`2025-01-15T10:30:00.123Z`,
/// offsets, basic format, date only), as Python's `datetime.fromisoformat(…).timestamp()`;
/// a time without offset is taken as UTC.
fn iso8601_millis(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let bytes = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    // The date: YYYY-MM-DD or YYYYMMDD.
    let (year, month, day, mut at) = if bytes.get(4) == Some(&b'-') {
        if bytes.get(7) != Some(&b'-') {
            return None;
        }
        (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?, 10)
    } else {
        (digits(0, 4)?, digits(4, 2)?, digits(6, 2)?, 8)
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0i64, 0i64);
    if at < bytes.len() {
        if !matches!(bytes[at], b'T' | b't' | b' ') {
            return None;
        }
        at += 1;
        // The time: hh[:mm[:ss[.f…]]] or hhmmss.
        let (time, zone) = match text[at..].find(['+', '-']) {
            Some(sign) => text[at..].split_at(sign),
            None => (&text[at..], ""),
        };
        let (clock, fraction) = match time.find(['.', ',']) {
            Some(dot) => (&time[..dot], Some(&time[dot + 1..])),
            None => (time, None),
        };
        let fields = time_fields(clock)?;
        hour = fields[0];
        minute = fields.get(1).copied().unwrap_or(0);
        second = fields.get(2).copied().unwrap_or(0);
        if let Some(fraction) = fraction {
            if fields.len() != 3
                || fraction.is_empty()
                || !fraction.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let six: String = fraction.chars().chain("000000".chars()).take(6).collect();
            micros = six.parse().ok()?;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if !zone.is_empty() {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let zone = &zone[1..];
            let (zone_clock, zone_fraction) = match zone.find('.') {
                Some(dot) => (&zone[..dot], &zone[dot + 1..]),
                None => (zone, ""),
            };
            let fields = time_fields(zone_clock)?;
            let zone_micros: i64 = if zone_fraction.is_empty() {
                0
            } else {
                let six: String = zone_fraction
                    .chars()
                    .chain("000000".chars())
                    .take(6)
                    .collect();
                six.parse().ok()?
            };
            let seconds = fields[0] * 3600
                + fields.get(1).copied().unwrap_or(0) * 60
                + fields.get(2).copied().unwrap_or(0);
            offset = sign * (seconds * 1_000_000 + zone_micros);
        }
    } else if text.len() != at {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let total_micros = ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros)
        .checked_sub(offset)?;
    // Python: int(((days * 86400 + seconds) * 10**6 + micros) / 10**6 * 1000), in floats.
    let millis = ((total_micros as f64 / 1e6) * 1000.0).trunc() as i64;
    Some(millis)
}

/// `hh`, `hh:mm`, `hh:mm:ss`, `hhmm` or `hhmmss`, as numbers.
fn time_fields(clock: &str) -> Option<Vec<i64>> {
    let parts: Vec<&str> = if clock.contains(':') {
        clock.split(':').collect()
    } else {
        if !clock.len().is_multiple_of(2) {
            return None;
        }
        (0..clock.len())
            .step_by(2)
            .map(|at| clock.get(at..at + 2))
            .collect::<Option<_>>()?
    };
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|part| part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    parts.iter().map(|part| part.parse().ok()).collect()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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

/// The first non-empty `file_name` in the directory's project, its worktrees' projects, or
/// (without a directory) any project.
fn find_session_file(
    projects: &Path,
    file_name: &str,
    directory: Option<&Path>,
    worktrees: bool,
) -> Option<PathBuf> {
    let non_empty = |dir: &Path| {
        let path = dir.join(file_name);
        std::fs::metadata(&path)
            .is_ok_and(|metadata| metadata.is_file() && metadata.len() > 0)
            .then_some(path)
    };
    let Some(directory) = directory else {
        return sorted_dir_entries(projects)
            .iter()
            .find_map(|dir| non_empty(dir));
    };
    let canonical = canonical_path(directory);
    if let Some(found) = find_project_dir(projects, &canonical).and_then(|dir| non_empty(&dir)) {
        return Some(found);
    }
    if !worktrees {
        return None;
    }
    git_worktree_paths(&canonical)
        .iter()
        .filter(|worktree| **worktree != canonical)
        .find_map(|worktree| find_project_dir(projects, worktree).and_then(|dir| non_empty(&dir)))
}

/// The entry types that carry `uuid` / `parentUuid` links.
const TRANSCRIPT_ENTRY_TYPES: [&str; 5] = ["user", "assistant", "progress", "system", "attachment"];

/// The transcript's linked entries (of [`TRANSCRIPT_ENTRY_TYPES`], with a string `uuid`), in
/// file order; other, malformed and overlong (past `cap` bytes) lines skipped.
fn read_transcript_entries(mut reader: impl BufRead, cap: usize) -> Vec<Map<String, Value>> {
    let mut entries = Vec::new();
    let mut line = Vec::new();
    loop {
        match read_capped_line(&mut reader, &mut line, cap) {
            Ok(Line::End) | Err(_) => break,
            Ok(Line::TooLong) => continue,
            Ok(Line::Complete) => {}
        }
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        let Ok(Value::Object(entry)) = serde_json::from_slice::<Value>(trimmed) else {
            continue;
        };
        let linked = entry
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| TRANSCRIPT_ENTRY_TYPES.contains(&kind))
            && entry.get("uuid").is_some_and(Value::is_string);
        if linked {
            entries.push(entry);
        }
    }
    entries
}

/// What [`read_capped_line`] read.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line (maybe the last, unterminated) is in the buffer.
    Complete,
    /// A line longer than the cap was read through and dropped.
    TooLong,
    /// The input is at its end.
    End,
}

/// Reads one line into `line` (without its terminator: `\n`, `\r\n` or `\r`, the universal
/// newlines of the SDK's text read). A line over `cap` bytes is consumed piecewise and
/// dropped, so that memory stays bounded by `cap`.
fn read_capped_line(reader: &mut impl BufRead, line: &mut Vec<u8>, cap: usize) -> io::Result<Line> {
    line.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok(match (read_any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Complete,
            });
        }
        read_any = true;
        let terminator = buffer.iter().position(|&b| b == b'\n' || b == b'\r');
        let take = terminator.unwrap_or(buffer.len());
        if !too_long {
            if line.len() + take > cap {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&buffer[..take]);
            }
        }
        match terminator {
            Some(at) => {
                // A `\r` or `\n` ends the line; `\r\n` then leaves an empty line, skipped.
                reader.consume(at + 1);
                return Ok(if too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                });
            }
            None => reader.consume(take),
        }
    }
}

/// Python truthiness of an optional JSON value.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

type Entry = Map<String, Value>;

fn uuid_of(entry: &Entry) -> &str {
    entry
        .get("uuid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn kind_of(entry: &Entry) -> Option<&str> {
    entry.get("type").and_then(Value::as_str)
}

/// A non-empty string `parentUuid`.
fn parent_of(entry: &Entry) -> Option<&str> {
    entry
        .get("parentUuid")
        .and_then(Value::as_str)
        .filter(|parent| !parent.is_empty())
}

fn is_user_or_assistant(entry: &Entry) -> bool {
    matches!(kind_of(entry), Some("user" | "assistant"))
}

/// The API `message.id` of an assistant entry.
fn assistant_message_id(entry: &Entry) -> Option<&str> {
    if kind_of(entry) != Some("assistant") {
        return None;
    }
    entry
        .get("message")?
        .get("id")?
        .as_str()
        .filter(|id| !id.is_empty())
}

/// The `field` of each `block_type` block of the entry's message content.
fn block_ids<'a>(entry: &'a Entry, block_type: &str, field: &str) -> Vec<&'a str> {
    let Some(Value::Array(blocks)) = entry
        .get("message")
        .and_then(|message| message.get("content"))
    else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some(block_type))
        .filter_map(|block| block.get(field).and_then(Value::as_str))
        .collect()
}

/// A user entry with a parent whose content has a `tool_result` block.
fn is_tool_result_entry(entry: &Entry) -> bool {
    if kind_of(entry) != Some("user") || parent_of(entry).is_none() {
        return false;
    }
    match entry
        .get("message")
        .and_then(|message| message.get("content"))
    {
        Some(Value::Array(blocks)) => blocks
            .iter()
            .any(|block| block.get("type").and_then(Value::as_str) == Some("tool_result")),
        _ => false,
    }
}

/// Whether two entries were written by the same (sub)agent.
fn same_writer(a: &Entry, b: &Entry) -> bool {
    truthy(a.get("isSidechain")) == truthy(b.get("isSidechain"))
        && a.get("agentId") == b.get("agentId")
}

fn timestamp_of(entry: &Entry) -> &str {
    entry
        .get("timestamp")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The entries indexed by `uuid`: a later duplicate wins, at its first position.
struct Index<'a> {
    entries: &'a [Entry],
    /// `uuid` -> index of its last entry.
    by_uuid: HashMap<&'a str, usize>,
    /// Each `uuid` once, in order of first appearance.
    order: Vec<&'a str>,
}

impl<'a> Index<'a> {
    fn new(entries: &'a [Entry]) -> Self {
        let mut by_uuid = HashMap::new();
        let mut order = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let uuid = uuid_of(entry);
            if by_uuid.insert(uuid, i).is_none() {
                order.push(uuid);
            }
        }
        Self {
            entries,
            by_uuid,
            order,
        }
    }

    fn parent(&self, at: usize) -> Option<usize> {
        parent_of(&self.entries[at]).and_then(|parent| self.by_uuid.get(parent).copied())
    }
}

/// The conversation chain, root to leaf, as indices into `entries` (the Python SDK's
/// `_build_conversation_chain`).
fn build_conversation_chain(entries: &[Entry]) -> Vec<usize> {
    if entries.is_empty() {
        return Vec::new();
    }
    let index = Index::new(entries);
    let parents: HashSet<&str> = entries.iter().filter_map(parent_of).collect();

    // From each entry nothing points to, walk back to the nearest user or assistant entry.
    let mut leaves = Vec::new();
    for terminal in (0..entries.len()).filter(|&i| !parents.contains(uuid_of(&entries[i]))) {
        let mut seen = HashSet::new();
        let mut current = Some(terminal);
        while let Some(at) = current {
            if !seen.insert(uuid_of(&entries[at])) {
                break;
            }
            if is_user_or_assistant(&entries[at]) {
                leaves.push(at);
                break;
            }
            current = index.parent(at);
        }
    }
    if leaves.is_empty() {
        return Vec::new();
    }

    // The leaf of the main thread (not a sidechain, team or meta entry) latest in the file.
    let main: Vec<usize> = leaves
        .iter()
        .copied()
        .filter(|&at| {
            let entry = &entries[at];
            !truthy(entry.get("isSidechain"))
                && !truthy(entry.get("teamName"))
                && !truthy(entry.get("isMeta"))
        })
        .collect();
    let candidates = if main.is_empty() { &leaves } else { &main };
    let position = |at: usize| index.by_uuid[uuid_of(&entries[at])];
    let mut leaf = candidates[0];
    for &candidate in &candidates[1..] {
        if position(candidate) > position(leaf) {
            leaf = candidate;
        }
    }

    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut current = Some(leaf);
    while let Some(at) = current {
        if !seen.insert(uuid_of(&entries[at])) {
            break;
        }
        chain.push(at);
        current = index.parent(at);
    }
    chain.reverse();
    recover_parallel_tool_results(&index, chain, seen)
}

/// Puts back the tool calls and results of parallel tool use that the `parentUuid` walk left
/// off (the Python SDK's `_recover_orphaned_parallel_tool_results`).
///
/// The CLI writes one assistant entry per content block, so N parallel tool calls are N
/// chained assistant entries sharing `message.id`, and each result's parent is its own call:
/// the transcript forks, and the walk follows only the branch the next turn continued from.
/// For each response on the chain, its entries and results the walk missed are inserted after
/// the response's last entry on the chain, siblings then results, each by timestamp.
fn recover_parallel_tool_results<'a>(
    index: &Index<'a>,
    chain: Vec<usize>,
    mut seen: HashSet<&'a str>,
) -> Vec<usize> {
    let entries = index.entries;
    let chain_assistants: Vec<usize> = chain
        .iter()
        .copied()
        .filter(|&at| kind_of(&entries[at]) == Some("assistant"))
        .collect();
    // The last entry on the chain of each response.
    let mut anchors: HashMap<&str, usize> = HashMap::new();
    for &at in &chain_assistants {
        if let Some(id) = assistant_message_id(&entries[at]) {
            anchors.insert(id, at);
        }
    }
    if anchors.is_empty() {
        return chain;
    }

    // Every entry of each response, and which entry made each call (`None`: claimed by two
    // responses, so never used to place a result).
    let mut siblings: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut call_owner: HashMap<&str, Option<usize>> = HashMap::new();
    let mut tool_results = Vec::new();
    for uuid in &index.order {
        let at = index.by_uuid[uuid];
        let entry = &entries[at];
        if let Some(id) = assistant_message_id(entry) {
            siblings.entry(id).or_default().push(at);
            for call in block_ids(entry, "tool_use", "id") {
                match call_owner.get(call) {
                    None => {
                        call_owner.insert(call, Some(at));
                    }
                    Some(owner) => {
                        let same_response = owner
                            .is_some_and(|owner| assistant_message_id(&entries[owner]) == Some(id));
                        call_owner.insert(call, same_response.then_some(at));
                    }
                }
            }
        } else if is_tool_result_entry(entry) {
            tool_results.push(at);
        }
    }

    // Each result under the entries it may belong to: its parent, its
    // `sourceToolAssistantUUID` and the owner of each call it answers (the last two only when
    // written by the same agent).
    let mut results_by_assistant: HashMap<&str, Vec<usize>> = HashMap::new();
    for &at in &tool_results {
        let result = &entries[at];
        if let Some(parent) = parent_of(result) {
            results_by_assistant.entry(parent).or_default().push(at);
        }
        if let Some(source) = result
            .get("sourceToolAssistantUUID")
            .and_then(Value::as_str)
            && let Some(&source_at) = index.by_uuid.get(source)
            && same_writer(result, &entries[source_at])
        {
            results_by_assistant.entry(source).or_default().push(at);
        }
        for call in block_ids(result, "tool_result", "tool_use_id") {
            if let Some(Some(owner)) = call_owner.get(call)
                && same_writer(result, &entries[*owner])
            {
                results_by_assistant
                    .entry(uuid_of(&entries[*owner]))
                    .or_default()
                    .push(at);
            }
        }
    }

    let answered_on_chain: HashSet<&str> = chain
        .iter()
        .flat_map(|&at| block_ids(&entries[at], "tool_result", "tool_use_id"))
        .collect();
    let file_position: HashMap<&str, usize> = index
        .order
        .iter()
        .enumerate()
        .map(|(i, uuid)| (*uuid, i))
        .collect();

    let mut processed = HashSet::new();
    let mut inserts: HashMap<&str, Vec<usize>> = HashMap::new();
    for &assistant in &chain_assistants {
        let Some(id) = assistant_message_id(&entries[assistant]) else {
            continue;
        };
        if !processed.insert(id) {
            continue;
        }
        let fallback = [assistant];
        let group: &[usize] = siblings.get(id).map_or(&fallback, Vec::as_slice);
        let members: HashSet<&str> = group.iter().map(|&at| uuid_of(&entries[at])).collect();
        let mut orphaned_siblings: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&at| !seen.contains(uuid_of(&entries[at])))
            .collect();
        let mut orphaned_results = Vec::new();
        // Results indexed under the response whose parent is none of its entries: recovered
        // only when they answer a call still unanswered.
        let mut strays = Vec::new();
        let mut collected = HashSet::new();
        for &member in group {
            let Some(results) = results_by_assistant.get(uuid_of(&entries[member])) else {
                continue;
            };
            for &result in results {
                let uuid = uuid_of(&entries[result]);
                if seen.contains(uuid) || !collected.insert(uuid) {
                    continue;
                }
                if parent_of(&entries[result]).is_some_and(|parent| members.contains(parent)) {
                    orphaned_results.push(result);
                } else {
                    strays.push(result);
                }
            }
        }
        if !strays.is_empty() {
            let mut answered = answered_on_chain.clone();
            for &result in &orphaned_results {
                answered.extend(block_ids(&entries[result], "tool_result", "tool_use_id"));
            }
            strays.sort_by_key(|&at| file_position[uuid_of(&entries[at])]);
            for stray in strays {
                let calls = block_ids(&entries[stray], "tool_result", "tool_use_id");
                let answers_open_call = calls.iter().any(|call| {
                    !answered.contains(call)
                        && call_owner.get(call).is_some_and(|owner| {
                            owner.is_some_and(|owner| members.contains(uuid_of(&entries[owner])))
                        })
                });
                if answers_open_call {
                    answered.extend(calls);
                    orphaned_results.push(stray);
                }
            }
        }
        if orphaned_siblings.is_empty() && orphaned_results.is_empty() {
            continue;
        }
        // Stable: on a tie, siblings keep file order and results the order of their calls.
        orphaned_siblings.sort_by_key(|&at| timestamp_of(&entries[at]));
        orphaned_results.sort_by_key(|&at| timestamp_of(&entries[at]));
        let recovered: Vec<usize> = orphaned_siblings
            .into_iter()
            .chain(orphaned_results)
            .collect();
        for &at in &recovered {
            seen.insert(uuid_of(&entries[at]));
        }
        inserts.insert(uuid_of(&entries[anchors[id]]), recovered);
    }
    if inserts.is_empty() {
        return chain;
    }
    let mut with_recovered = Vec::with_capacity(chain.len());
    for at in chain {
        with_recovered.push(at);
        if let Some(recovered) = inserts.get(uuid_of(&entries[at])) {
            with_recovered.extend(recovered);
        }
    }
    with_recovered
}

/// The chain's visible messages (user and assistant, not meta, sidechain or team entries),
/// paged.
fn entries_to_messages(
    mut entries: Vec<Entry>,
    limit: Option<usize>,
    offset: usize,
) -> Vec<SessionMessage> {
    let chain = build_conversation_chain(&entries);
    let visible: Vec<usize> = chain
        .into_iter()
        .filter(|&at| {
            let entry = &entries[at];
            is_user_or_assistant(entry)
                && !truthy(entry.get("isMeta"))
                && !truthy(entry.get("isSidechain"))
                && !truthy(entry.get("teamName"))
        })
        .skip(offset)
        .collect();
    let end = match limit.filter(|&limit| limit > 0) {
        Some(limit) => limit.min(visible.len()),
        None => visible.len(),
    };
    // The chain holds each entry once: its fields can be moved out.
    visible[..end]
        .iter()
        .map(|&at| {
            let mut entry = std::mem::take(&mut entries[at]);
            let kind = if kind_of(&entry) == Some("user") {
                SessionMessageKind::User
            } else {
                SessionMessageKind::Assistant
            };
            SessionMessage {
                kind,
                uuid: uuid_of(&entry).to_owned(),
                session_id: entry
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                message: entry.remove("message").unwrap_or(Value::Null),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    const PROJECT: &str = "/nonexistent-claude-kit/project";
    const CHAIN_SESSION: &str = "99999999-9999-4999-8999-999999999999";

    fn long_project() -> String {
        format!("/nonexistent-claude-kit/{}", "x".repeat(250))
    }

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos());
            let name = format!(
                "claude-kit-sessions-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(name);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions")
    }

    /// What `python-reference.py` recorded from the Python SDK on the fixture store.
    fn expected() -> Value {
        let text = std::fs::read_to_string(fixtures().join("expected-python.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }

    fn set_mtime(path: &Path, seconds: f64) {
        let time = UNIX_EPOCH + Duration::from_secs_f64(seconds);
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(time).unwrap();
    }

    /// The fixture store copied to a temp dir, with the modification times the Python
    /// reference run gave it.
    fn fixture_store() -> (TempDir, PathBuf) {
        let expected = expected();
        let tmp = TempDir::new();
        let config = tmp.path().join("config");
        copy_tree(&fixtures().join("config"), &config);
        let default = expected["default_mtime"].as_f64().unwrap();
        let mut stack = vec![config.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = file_name(&path);
                let stem = name.split('.').next().unwrap();
                let mtime = match &expected["mtimes"][stem] {
                    Value::Object(by_project) => by_project[&file_name(&dir)].as_f64().unwrap(),
                    Value::Number(n) => n.as_f64().unwrap(),
                    _ => default,
                };
                set_mtime(&path, mtime);
            }
        }
        (tmp, config)
    }

    fn expected_infos(key: &str) -> Vec<SessionInfo> {
        serde_json::from_value(expected()[key].clone()).unwrap()
    }

    fn expected_messages(key: &str) -> Vec<SessionMessage> {
        serde_json::from_value(expected()[key].clone()).unwrap()
    }

    fn list(config: &Path) -> ListSessions {
        ListSessions::new()
            .config_dir(config)
            .include_worktrees(false)
    }

    fn messages(config: &Path) -> SessionMessages {
        SessionMessages::new()
            .config_dir(config)
            .include_worktrees(false)
    }

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

    #[test]
    fn sanitizes_as_the_python_sdk() {
        let expected = expected();
        for (path, key) in expected["sanitize"].as_object().unwrap() {
            assert_eq!(sanitize_path(path), key.as_str().unwrap(), "{path}");
        }
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
    fn builds_edge_case_chains_as_the_python_sdk() {
        let expected = expected();
        for (name, case) in expected["chains"].as_object().unwrap() {
            let entries: Vec<Entry> = serde_json::from_value(case["entries"].clone()).unwrap();
            let want: Vec<&str> = case["expected"]
                .as_array()
                .unwrap()
                .iter()
                .map(|uuid| uuid.as_str().unwrap())
                .collect();
            let got = entries_to_messages(entries, None, 0);
            let got: Vec<&str> = got.iter().map(|message| message.uuid.as_str()).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_duplicated_uuid_keeps_the_later_entry() {
        let expected = expected();
        let entries: Vec<Entry> =
            serde_json::from_value(expected["chains"]["duplicate_uuid"]["entries"].clone())
                .unwrap();
        let got = entries_to_messages(entries, None, 0);
        assert_eq!(got[0].message["content"], "dup");
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

    // --- Worktrees -----------------------------------------------------------------------------

    fn write_session(dir: &Path, id: &str, prompt: &str, mtime: f64) {
        std::fs::create_dir_all(dir).unwrap();
        let line = serde_json::json!({
            "type": "user", "uuid": "10000000-0000-4000-8000-000000000001", "parentUuid": null,
            "sessionId": id, "message": {"role": "user", "content": prompt},
        });
        let path = dir.join(format!("{id}.jsonl"));
        std::fs::write(&path, format!("{line}\n")).unwrap();
        set_mtime(&path, mtime);
    }

    #[test]
    fn worktree_projects_are_listed_with_the_directory() {
        let tmp = TempDir::new();
        let projects = tmp.path().join("projects");
        let (main, feature) = ("/repo/main", "/repo/feature");
        let sub = "/repo/main/packages/app";
        let long = format!("/repo/{}", "w".repeat(220));
        let long_dir = format!(
            "{}-otherhash",
            &sanitize_path(&long)[..MAX_SANITIZED_LENGTH]
        );
        write_session(
            &projects.join(sanitize_path(sub)),
            "a0000000-0000-4000-8000-000000000001",
            "in sub",
            100.0,
        );
        write_session(
            &projects.join(sanitize_path(main)),
            "a0000000-0000-4000-8000-000000000002",
            "in main",
            200.0,
        );
        write_session(
            &projects.join(sanitize_path(feature)),
            "a0000000-0000-4000-8000-000000000003",
            "in feature",
            300.0,
        );
        write_session(
            &projects.join(&long_dir),
            "a0000000-0000-4000-8000-000000000004",
            "in long",
            400.0,
        );
        // Not a worktree: a sibling whose key merely starts like one.
        write_session(
            &projects.join(sanitize_path("/repo/feature-x")),
            "a0000000-0000-4000-8000-000000000005",
            "elsewhere",
            500.0,
        );
        let worktrees = [main.to_owned(), feature.to_owned(), long.clone()];

        let prompts = |sessions: Vec<SessionInfo>| -> Vec<(String, Option<String>)> {
            sessions
                .into_iter()
                .map(|session| (session.summary, session.cwd))
                .collect()
        };
        let all = sort_and_page(sessions_of_project(&projects, sub, &worktrees), None, 0);
        assert_eq!(
            prompts(all),
            [
                ("in long".to_owned(), Some(long.clone())),
                ("in feature".to_owned(), Some(feature.to_owned())),
                ("in main".to_owned(), Some(main.to_owned())),
                ("in sub".to_owned(), Some(sub.to_owned())),
            ]
        );
        // A single worktree (or none): only the directory's own project.
        let alone = sessions_of_project(&projects, sub, &worktrees[..1]);
        assert_eq!(
            prompts(alone),
            [("in sub".to_owned(), Some(sub.to_owned()))]
        );
    }

    #[test]
    fn parses_the_porcelain_worktree_list() {
        let output = "worktree /repo/main\nHEAD 0123\nbranch refs/heads/main\n\n\
                      worktree /repo/with space\nHEAD 4567\ndetached\n\n";
        assert_eq!(
            parse_worktree_list(output),
            ["/repo/main", "/repo/with space"]
        );
        // A directory that does not exist: git cannot even start there.
        assert!(git_worktree_paths("/nonexistent-claude-kit/none").is_empty());
    }

    // --- Paths ---------------------------------------------------------------------------------

    #[test]
    fn hashes_as_the_cli() {
        // Values from the Python SDK's `_simple_hash`.
        assert_eq!(simple_hash(""), "0");
        assert_eq!(simple_hash("hello"), "1n1e4y");
        assert_eq!(simple_hash(&long_project()), "tnhzv7");
    }

    #[test]
    fn sanitizes_utf16_code_units_as_the_cli() {
        assert_eq!(sanitize_path("/é"), "--");
        // U+1F600 is two UTF-16 code units: two dashes in the CLI (one in the Python SDK).
        assert_eq!(sanitize_path("/\u{1F600}"), "---");
        let cut = sanitize_path(&format!("/{}", "\u{1F600}".repeat(150)));
        assert!(cut.starts_with(&"-".repeat(200)));
        assert_eq!(cut.as_bytes()[200], b'-');
    }

    #[test]
    fn canonical_paths_resolve_what_exists() {
        let tmp = TempDir::new();
        let real = std::fs::canonicalize(tmp.path()).unwrap();
        let missing = tmp.path().join("a/./b/../c");
        assert_eq!(canonical_path(&missing), real.join("a/c").to_string_lossy());
        assert_eq!(
            canonical_path(Path::new("/nonexistent-claude-kit/x/../y")),
            "/nonexistent-claude-kit/y"
        );
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(tmp.path().join("target"), &link).unwrap();
            std::fs::create_dir_all(tmp.path().join("target")).unwrap();
            assert_eq!(
                canonical_path(&link.join("deeper")),
                real.join("target/deeper").to_string_lossy()
            );
        }
        let relative = canonical_path(Path::new("some-relative-dir"));
        assert!(Path::new(&relative).is_absolute());
    }

    // --- Lite metadata -------------------------------------------------------------------------

    #[test]
    fn extracts_string_fields_without_parsing() {
        let text = r#"{"a":"one","k":"first"} {"k": "spaced"} {"k":"esc\"aped\n"} {"k":"trunc"#;
        assert_eq!(first_string_field(text, "k").as_deref(), Some("first"));
        // The compact spelling's last, then the spaced one's: the SDK's scan order.
        assert_eq!(last_string_field(text, "k").as_deref(), Some("spaced"));
        let compact = r#"{"k":"first"} {"k":"esc\"aped\n"} {"k":"trunc"#;
        assert_eq!(
            last_string_field(compact, "k").as_deref(),
            Some("esc\"aped\n")
        );
        assert_eq!(first_string_field(r#"{"k":"tr\"unc"#, "k"), None);
        assert_eq!(first_string_field("{}", "k"), None);
        // An escape that does not decode is kept as written.
        assert_eq!(
            first_string_field(r#"{"k":"bad\q"}"#, "k").as_deref(),
            Some(r"bad\q")
        );
    }

    fn user_line(content: Value) -> String {
        serde_json::json!({"type": "user", "message": {"role": "user", "content": content}})
            .to_string()
    }

    #[test]
    fn the_first_prompt_skips_generated_text() {
        let head = [
            user_line("<ide_selection>lines 1-3</ide_selection>".into()),
            user_line("<tick>".into()),
            user_line("<goal>ship</goal>".into()),
            user_line("<session-start-hook>hi</session-start-hook>".into()),
            user_line("[Request interrupted by user]".into()),
            user_line("<command-name>/first</command-name>".into()),
            user_line("<command-name>/second</command-name>".into()),
        ]
        .join("\n");
        assert_eq!(first_prompt(&head), "/first");
        let head = format!(
            "{head}\n{}",
            user_line("[Request interrupted by user".into())
        );
        // No closing bracket: not the interrupt marker.
        assert_eq!(first_prompt(&head), "[Request interrupted by user");
        // Exactly 200 characters: kept whole.
        let exact = "é".repeat(200);
        assert_eq!(first_prompt(&user_line(exact.clone().into())), exact);
        let longer = format!("{} {}", "é".repeat(199), "x".repeat(10));
        assert_eq!(
            first_prompt(&user_line(longer.into())),
            format!("{}\u{2026}", "é".repeat(199))
        );
    }

    #[test]
    fn parses_timestamps_as_python() {
        // Values from Python's `int(datetime.fromisoformat(…).timestamp() * 1000)` (UTC).
        for (text, millis) in [
            ("2025-01-15T10:30:00.001+00:00", Some(1_736_937_000_001)),
            ("2025-01-15T10:30:00.123456+00:00", Some(1_736_937_000_123)),
            ("2025-01-15T10:30:00.1234567+00:00", Some(1_736_937_000_123)),
            ("2025-01-15T10:30:00.12+00:00", Some(1_736_937_000_120)),
            ("2025-01-15 10:30+01:00", Some(1_736_933_400_000)),
            ("2025-01-15", Some(1_736_899_200_000)),
            ("2025-01-15T10:30:00,5+00:00", Some(1_736_937_000_500)),
            ("2025-01-15T10:30:00.5-0130", Some(1_736_942_400_500)),
            ("20250115T103000+00:00", Some(1_736_937_000_000)),
            ("2025-01-15T10:30:00.5+01:30:15", Some(1_736_931_585_500)),
            ("2025-01-15T10", Some(1_736_935_200_000)),
            ("2025-01-15T10:30:00.123Z", Some(1_736_937_000_123)),
            ("2025-01-15T24:00:00+00:00", None),
            ("2025-02-30T00:00:00Z", None),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000)),
            ("1969-12-31T23:59:59Z", Some(-1000)),
            ("not a date", None),
            ("", None),
        ] {
            assert_eq!(iso8601_millis(text), millis, "{text}");
        }
    }

    #[test]
    fn deduplicates_to_the_newest_and_sorts_stably() {
        let info = |id: &str, summary: &str, modified: i64| SessionInfo {
            session_id: id.into(),
            summary: summary.into(),
            last_modified: modified,
            file_size: 1,
            custom_title: None,
            first_prompt: None,
            git_branch: None,
            cwd: None,
            tag: None,
            created_at: None,
        };
        let sessions = vec![
            info("a", "a-old", 1),
            info("b", "b", 5),
            info("a", "a-new", 7),
            info("c", "c", 5),
            info("b", "b-same", 5),
        ];
        let sorted = sort_and_page(deduplicate(sessions), None, 0);
        let summaries: Vec<&str> = sorted.iter().map(|s| s.summary.as_str()).collect();
        assert_eq!(summaries, ["a-new", "b", "c"]);
    }

    // --- Bounded reading -----------------------------------------------------------------------

    #[test]
    fn capped_lines_skip_what_is_too_long() {
        let input = b"short\r\nexactly-10\nthis one is too long\rlast";
        let mut reader = BufReader::with_capacity(4, Cursor::new(&input[..]));
        let mut line = Vec::new();
        let mut got = Vec::new();
        loop {
            match read_capped_line(&mut reader, &mut line, 10).unwrap() {
                Line::End => break,
                Line::TooLong => got.push("<too long>".to_owned()),
                Line::Complete => got.push(String::from_utf8(line.clone()).unwrap()),
            }
        }
        assert_eq!(got, ["short", "", "exactly-10", "<too long>", "last"]);
        // A too-long last line without a terminator.
        let mut reader = Cursor::new(&b"0123456789abc"[..]);
        assert_eq!(
            read_capped_line(&mut reader, &mut line, 10).unwrap(),
            Line::TooLong
        );
        assert_eq!(
            read_capped_line(&mut reader, &mut line, 10).unwrap(),
            Line::End
        );
    }

    #[test]
    fn transcript_reading_skips_bad_lines() {
        let huge = format!(
            r#"{{"type":"user","uuid":"big","message":{{"content":"{}"}}}}"#,
            "x".repeat(500)
        );
        let lines = [
            r#"{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"hi"}}"#,
            "",
            "   ",
            "{not json",
            "[1,2,3]",
            r#""a string""#,
            r#"{"type":"summary","summary":"s","leafUuid":"u1"}"#,
            r#"{"type":"user","uuid":7}"#,
            r#"{"type":"custom-title","uuid":"t","customTitle":"x"}"#,
            &huge,
            "\u{0}\u{1}binary",
            r#"  {"type":"attachment","uuid":"at1","parentUuid":"u1"}  "#,
            r#"{"type":"system","uuid":"sy1","parentUuid":"at1"}"#,
            r#"{"type":"progress","uuid":"p1","parentUuid":"sy1"}"#,
        ];
        let mut bytes = lines.join("\n").into_bytes();
        bytes.extend_from_slice(b"\n\xff\xfe{\"type\":\"user\",\"uuid\":\"bad-utf8\"}\n");
        bytes.extend_from_slice(br#"{"type":"assistant","uuid":"a1","parentUuid":"p1"}"#);
        let entries = read_transcript_entries(Cursor::new(bytes), 300);
        let uuids: Vec<&str> = entries.iter().map(uuid_of).collect();
        assert_eq!(uuids, ["u1", "at1", "sy1", "p1", "a1"]);
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

    #[test]
    fn list_reads_only_the_head_and_tail() {
        let tmp = TempDir::new();
        let config = tmp.path().join("config");
        let dir = config.join("projects").join(sanitize_path(PROJECT));
        std::fs::create_dir_all(&dir).unwrap();
        let id = "d0000000-0000-4000-8000-000000000001";
        let first = serde_json::json!({"type": "user", "uuid": "u1", "cwd": "/elsewhere",
            "gitBranch": "start", "timestamp": "2025-01-01T00:00:00Z",
            "message": {"role": "user", "content": "the first"}});
        let padding = serde_json::json!({"type": "assistant", "uuid": "a1",
            "message": {"a": "z".repeat(150_000), "customTitle": "hidden in the middle",
            "b": "z".repeat(150_000)}});
        let last = serde_json::json!({"type": "user", "uuid": "u2", "gitBranch": "end",
            "message": {"role": "user", "content": "the last"}});
        let tag = serde_json::json!({"type": "tag", "tag": "t1"});
        let path = dir.join(format!("{id}.jsonl"));
        std::fs::write(&path, format!("{first}\n{padding}\n{last}\n{tag}\n")).unwrap();
        let sessions = list_sessions(&list(&config).directory(PROJECT)).unwrap();
        assert_eq!(sessions.len(), 1);
        let session = &sessions[0];
        assert_eq!(session.summary, "the first");
        assert_eq!(session.custom_title, None);
        assert_eq!(session.git_branch.as_deref(), Some("end"));
        assert_eq!(session.cwd.as_deref(), Some("/elsewhere"));
        assert_eq!(session.tag.as_deref(), Some("t1"));
        assert_eq!(session.created_at, Some(1_735_689_600_000));
        assert_eq!(session.file_size, std::fs::metadata(&path).unwrap().len());
    }
}
