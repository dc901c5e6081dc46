//! The optional request log: with `CLAUDE_KIT_MOCK_REQUEST_LOG=FILE` in the environment, every
//! request is appended to `FILE` as one JSON line (for capturing what a real client sends).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value, json};

use crate::{RecordedRequest, lock};

/// The environment variable naming the request log file.
pub(crate) const REQUEST_LOG_ENV: &str = "CLAUDE_KIT_MOCK_REQUEST_LOG";

/// The log file, opened (for appending) the first time a request arrives; `None` without the
/// variable or when the file cannot be opened (reported once on stderr).
fn log_file() -> Option<&'static Mutex<File>> {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var_os(REQUEST_LOG_ENV)?;
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Some(Mutex::new(file)),
            Err(e) => {
                eprintln!(
                    "claude-kit-mock: cannot open {REQUEST_LOG_ENV}={}: {e}",
                    path.to_string_lossy()
                );
                None
            }
        }
    })
    .as_ref()
}

/// Appends `request` to the log, when there is one: `{"request_id", "method", "path",
/// "headers": {name: value}, "body": <JSON, or the text when it is not JSON>}`. Credentials
/// (`x-api-key`, `authorization`) are written as `"<redacted>"`.
pub(crate) fn request(request: &RecordedRequest, request_id: &str) {
    let Some(file) = log_file() else {
        return;
    };
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        let value = match name.as_str() {
            "x-api-key" | "authorization" => "<redacted>".to_owned(),
            _ => String::from_utf8_lossy(value.as_bytes()).into_owned(),
        };
        headers.insert(name.as_str().to_owned(), Value::String(value));
    }
    let body = request
        .json()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&request.body).into_owned()));
    let line = json!({
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "headers": headers,
        "body": body,
    });
    let mut file = lock(file);
    let _ = writeln!(file, "{line}");
}
