//! `anthropic-async`: its `Client` with `AnthropicConfig::with_api_base` and
//! `messages().create` as its README shows; its built-in retries off, like every other client
//! measured. Non-streaming only: its `streaming` feature (`messages().create_stream`) does not
//! compile in any published release (0.4.0 to 0.5.4), so `--stream` and `many-streams` exit 2.

use anthropic_async::config::AnthropicConfig;
use anthropic_async::types::content::{MessageContentParam, MessageParam, MessageRole};
use anthropic_async::types::messages::MessagesCreateRequest;
use anthropic_async::{Client, retry};

use crate::{API_KEY, API_VERSION, Args, PROMPT};

pub(crate) const NAME: &str = "anthropic-async";

pub(crate) struct Peer {
    client: Client<AnthropicConfig>,
    model: String,
    max_tokens: u32,
}

impl Peer {
    pub(crate) fn new(args: &Args) -> Result<Self, String> {
        let config = AnthropicConfig::new()
            .with_api_base(args.url.as_str())
            .with_api_key(API_KEY)
            .with_version(API_VERSION);
        let client = Client::with_config(config)
            .with_backoff(retry::default_backoff_builder().with_max_times(0));
        Ok(Self {
            client,
            model: args.model.clone(),
            max_tokens: args.max_tokens,
        })
    }

    fn request(&self) -> MessagesCreateRequest {
        MessagesCreateRequest {
            model: self.model.clone(),
            max_tokens: self.max_tokens,
            messages: vec![MessageParam {
                role: MessageRole::User,
                content: MessageContentParam::String(PROMPT.to_owned()),
            }],
            ..Default::default()
        }
    }

    pub(crate) async fn create(&self) -> Result<String, String> {
        let response = self
            .client
            .messages()
            .create(self.request())
            .await
            .map_err(|e| e.to_string())?;
        Ok(response
            .content
            .iter()
            .filter_map(|block| match block {
                anthropic_async::types::content::ContentBlock::Text { text, .. } => {
                    Some(text.as_str())
                }
                _ => None,
            })
            .collect())
    }
}
