//! `claude-agent`: its direct-API `Client` (`Client::builder().auth(..).gateway(..)`), `send`
//! and `stream_request` (text items accumulated).

use claude_agent::client::{CreateMessageRequest, GatewayConfig, StreamItem};
use claude_agent::{Auth, Client, Message};
use futures_util::StreamExt;

use crate::harness::Gate;
use crate::{API_KEY, Args, PROMPT};

pub(crate) const NAME: &str = "claude-agent";

pub(crate) struct Peer {
    client: Client,
    model: String,
    max_tokens: u32,
}

impl Peer {
    pub(crate) async fn new(args: &Args) -> Result<Self, String> {
        let client = Client::builder()
            .auth(Auth::api_key(API_KEY))
            .await
            .map_err(|e| e.to_string())?
            .gateway(GatewayConfig::base_url(args.url.as_str()))
            .build()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            model: args.model.clone(),
            max_tokens: args.max_tokens,
        })
    }

    fn request(&self) -> CreateMessageRequest {
        CreateMessageRequest::new(&self.model, vec![Message::user(PROMPT)])
            .max_tokens(self.max_tokens)
    }

    pub(crate) async fn create(&self) -> Result<String, String> {
        let response = self
            .client
            .send(self.request())
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.text())
    }

    pub(crate) async fn stream(&self, gate: Option<&Gate>) -> Result<String, String> {
        let stream = self
            .client
            .stream_request(self.request())
            .await
            .map_err(|e| e.to_string())?;
        let mut stream = std::pin::pin!(stream);
        let mut text = String::new();
        let mut first = true;
        while let Some(item) = stream.next().await {
            let item = item.map_err(|e| e.to_string())?;
            if first {
                first = false;
                super::first_event(gate).await;
            }
            if let StreamItem::Text(delta) = item {
                text.push_str(&delta);
            }
        }
        Ok(text)
    }
}
