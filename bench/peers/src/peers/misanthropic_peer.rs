//! `misanthropic`: its `Client` with `base_url`, a `Prompt`, `Client::message` and
//! `Client::stream(..).text()` as its README shows.

use std::borrow::Cow;
use std::num::NonZeroU32;

use futures_util::{StreamExt, TryStreamExt};
use misanthropic::prompt::message::Role;
use misanthropic::stream::FilterExt;
use misanthropic::{Client, Prompt};

use crate::harness::Gate;
use crate::{API_KEY, Args, PROMPT};

pub(crate) const NAME: &str = "misanthropic";

pub(crate) struct Peer {
    client: Client,
    prompt: Prompt,
}

impl Peer {
    pub(crate) fn new(args: &Args) -> Result<Self, String> {
        // The crate only takes keys of an Anthropic key's length (108 bytes); the mock takes
        // any key.
        let key = format!("{API_KEY:-<width$}", width = misanthropic::Key::LEN);
        let client = Client::new(key)
            .map_err(|e| e.to_string())?
            .base_url(args.url.as_str())
            .map_err(|e| e.to_string())?;
        let prompt = Prompt::default()
            .model(misanthropic::model::Model::Custom(Cow::Owned(
                args.model.clone(),
            )))
            .max_tokens(NonZeroU32::new(args.max_tokens).ok_or("--max-tokens must be > 0")?)
            .add_message((Role::User, PROMPT))
            .map_err(|e| e.to_string())?;
        Ok(Self { client, prompt })
    }

    pub(crate) async fn create(&self) -> Result<String, String> {
        let message = self
            .client
            .message(&self.prompt)
            .await
            .map_err(|e| e.to_string())?;
        Ok(message.inner.content.to_string())
    }

    pub(crate) async fn stream(&self, gate: Option<&Gate>) -> Result<String, String> {
        let mut events = self
            .client
            .stream(&self.prompt)
            .await
            .map_err(|e| e.to_string())?;
        // The first event, for the many-streams gate; then the README's `.text()`.
        let first = events.next().await;
        super::first_event(gate).await;
        futures_util::stream::iter(first)
            .chain(events)
            .text()
            .try_collect::<String>()
            .await
            .map_err(|e| e.to_string())
    }
}
