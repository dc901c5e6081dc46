//! The conversation of a transcript: the chain of `parentUuid` links from the latest user
//! or assistant entry of the main thread back to the root, as [`SessionMessage`]s.

use std::collections::HashSet;

use serde_json::Value;

use super::entries::{Entry, Index, is_user_or_assistant, kind_of, parent_of, truthy, uuid_of};
use super::parallel_tools::recover_parallel_tool_results;
use super::{SessionMessage, SessionMessageKind};

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

/// The chain's visible messages (user and assistant, not meta, sidechain or team entries),
/// paged.
pub(super) fn entries_to_messages(
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
    use crate::sessions::test_support::expected;

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
}
