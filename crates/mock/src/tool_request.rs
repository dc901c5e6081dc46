//! What a request says about tools: the tools it offers, the `tool_choice`, and the
//! `tool_result` blocks it sends back.

use serde_json::{Value, json};

/// The tools of a request's `tools` field: `(name, input_schema)` of each.
pub(crate) fn offered(tools: Option<&Value>) -> Result<Vec<(String, Value)>, String> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err("tools: Input should be a valid list".into()),
    };
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            let name = match tool.get("name") {
                Some(Value::String(name)) => name.clone(),
                Some(_) => return Err(format!("tools.{i}.name: Input should be a valid string")),
                None => return Err(format!("tools.{i}.name: Field required")),
            };
            let schema = tool
                .get("input_schema")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            Ok((name, schema))
        })
        .collect()
}

/// The `tool_result` blocks of a message: the text of each and its `is_error`.
pub(crate) fn results_of(message: &Value) -> Vec<(String, bool)> {
    let Some(Value::Array(blocks)) = message.get("content") else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|block| {
            let text = match block.get("content") {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            let is_error = block.get("is_error").and_then(Value::as_bool) == Some(true);
            (text, is_error)
        })
        .collect()
}

/// Which tool the model calls first (an index into `tools`), from `tool_choice`: the named
/// tool for `{"type":"tool","name":..}`, none for `{"type":"none"}`, else the first tool.
pub(crate) fn choice(
    tools: &[(String, Value)],
    tool_choice: Option<&Value>,
) -> Result<Option<usize>, String> {
    if tools.is_empty() {
        return Ok(None);
    }
    let Some(choice) = tool_choice.filter(|c| !c.is_null()) else {
        return Ok(Some(0));
    };
    match choice.get("type").and_then(Value::as_str) {
        Some("auto" | "any") => Ok(Some(0)),
        Some("none") => Ok(None),
        Some("tool") => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or("tool_choice.tool.name: Field required")?;
            match tools.iter().position(|(n, _)| n == name) {
                Some(index) => Ok(Some(index)),
                None => Err(format!(
                    "tool_choice: tool {name:?} is not one of the tools offered"
                )),
            }
        }
        _ => Err("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'".into()),
    }
}
