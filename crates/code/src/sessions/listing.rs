//! Collecting [`SessionInfo`]s for [`list_sessions`](super::list_sessions): from one project
//! directory, from a project and its worktrees' projects, one per session id, newest first.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::SessionInfo;
use super::lite::{parse_session_info, read_lite};
use super::store::{
    MAX_SANITIZED_LENGTH, file_name, find_project_dir, is_session_id, sanitize_path,
    sorted_dir_entries,
};

/// The sessions of the project of `canonical` and of the projects of `worktree_paths` (all
/// the worktrees of its repository, itself included: a single one is none to add).
pub(super) fn sessions_of_project(
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
pub(super) fn deduplicate(sessions: Vec<SessionInfo>) -> Vec<SessionInfo> {
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

pub(super) fn sort_and_page(
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
pub(super) fn read_sessions_from_dir(dir: &Path, project_path: Option<&str>) -> Vec<SessionInfo> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::test_support::{TempDir, set_mtime};

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
}
