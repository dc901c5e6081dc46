//! Parallel tool use: the tool calls and results that the `parentUuid` walk of
//! [`chain`](super::chain) leaves off, put back.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::entries::{Entry, Index, kind_of, parent_of, truthy, uuid_of};

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

/// Puts back the tool calls and results of parallel tool use that the `parentUuid` walk left
/// off (the Python SDK's `_recover_orphaned_parallel_tool_results`).
///
/// The CLI writes one assistant entry per content block, so N parallel tool calls are N
/// chained assistant entries sharing `message.id`, and each result's parent is its own call:
/// the transcript forks, and the walk follows only the branch the next turn continued from.
/// For each response on the chain, its entries and results the walk missed are inserted after
/// the response's last entry on the chain, siblings then results, each by timestamp.
pub(super) fn recover_parallel_tool_results<'a>(
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
