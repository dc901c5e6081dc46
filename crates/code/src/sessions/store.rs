//! The store's layout: the config dir, project keys (paths sanitized and hashed as the CLI
//! names its project directories), and finding a project's or a session's file in the store,
//! the other git worktrees included.

use std::path::{Component, Path, PathBuf};

use claude_kit_core::Error;

use super::worktrees::git_worktree_paths;

/// The longest project key before it is truncated and a hash appended (file names are limited
/// to 255 bytes).
pub(super) const MAX_SANITIZED_LENGTH: usize = 200;

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

pub(super) fn projects_dir(config_override: Option<&Path>) -> Result<PathBuf, Error> {
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
pub(super) fn canonical_path(path: &Path) -> String {
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
pub(super) fn find_project_dir(projects: &Path, project_path: &str) -> Option<PathBuf> {
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
pub(super) fn sorted_dir_entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    paths
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The first non-empty `file_name` in the directory's project, its worktrees' projects, or
/// (without a directory) any project.
pub(super) fn find_session_file(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::test_support::{TempDir, expected, long_project};

    #[test]
    fn sanitizes_as_the_python_sdk() {
        let expected = expected();
        for (path, key) in expected["sanitize"].as_object().unwrap() {
            assert_eq!(sanitize_path(path), key.as_str().unwrap(), "{path}");
        }
    }

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
}
