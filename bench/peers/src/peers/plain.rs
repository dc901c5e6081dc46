//! `reqwest-eventsource`: a client written the way most Rust code talks to the API — one
//! shared `reqwest::Client`, small serde structs, `eventsource-stream` for the SSE.

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::harness::Gate;
use crate::{API_KEY, API_VERSION, Args, PROMPT};

pub(crate) const NAME: &str = "reqwest-eventsource";

pub(crate) struct Plain {
    http: reqwest::Client,
    url: String,
    model: String,
    max_tokens: u32,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    max_tokens: u32,
    messages: [InputMessage<'a>; 1],
    stream: bool,
}

#[derive(Serialize)]
struct InputMessage<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Message {
    content: Vec<Block>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    ContentBlockDelta {
        delta: Delta,
    },
    MessageStop,
    Error {
        error: ApiError,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    TextDelta {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ApiError {
    message: String,
}

impl Plain {
    pub(crate) fn new(args: &Args) -> Result<Self, String> {
        Ok(Self {
            http: reqwest::Client::new(),
            url: format!("{}/v1/messages", args.url),
            model: args.model.clone(),
            max_tokens: args.max_tokens,
        })
    }

    fn post(&self, stream: bool) -> reqwest::RequestBuilder {
        self.http
            .post(&self.url)
            .header("x-api-key", API_KEY)
            .header("anthropic-version", API_VERSION)
            .json(&Request {
                model: &self.model,
                max_tokens: self.max_tokens,
                messages: [InputMessage {
                    role: "user",
                    content: PROMPT,
                }],
                stream,
            })
    }

    pub(crate) async fn create(&self) -> Result<String, String> {
        let message: Message = self
            .post(false)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        Ok(message
            .content
            .into_iter()
            .filter_map(|block| match block {
                Block::Text { text } => Some(text),
                Block::Other => None,
            })
            .collect())
    }

    pub(crate) async fn stream(&self, gate: Option<&Gate>) -> Result<String, String> {
        let response = self
            .post(true)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        let mut events = response.bytes_stream().eventsource();
        let mut text = String::new();
        let mut stopped = false;
        let mut first = true;
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| e.to_string())?;
            if first {
                first = false;
                super::first_event(gate).await;
            }
            match serde_json::from_str::<Event>(&event.data).map_err(|e| e.to_string())? {
                Event::ContentBlockDelta {
                    delta: Delta::TextDelta { text: delta },
                } => text.push_str(&delta),
                Event::MessageStop => stopped = true,
                Event::Error { error } => return Err(error.message),
                Event::ContentBlockDelta { .. } | Event::Other => {}
            }
        }
        if stopped {
            Ok(text)
        } else {
            Err("the stream ended before message_stop".into())
        }
    }
}
