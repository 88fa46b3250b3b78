//! Notification gateway (INTEGRATIONS.md): `POST {NOTIFY_URL}/v1/messages` with a
//! bearer token and the outbox id as `Idempotency-Key`. Any 2xx is delivered.
//!
//! Sandbox adapter: accepts every message without sending it. App developers read
//! what would have been sent in `GET /v1/sandbox/notifications`, which lists the
//! outbox itself (so a message shows as soon as it is queued).

use secrecy::ExposeSecret;
use serde::Serialize;
use uuid::Uuid;

use super::provider::ProviderError;
use crate::config::Endpoint;

/// A message as the gateway receives it.
#[derive(Debug, Serialize)]
pub struct OutgoingMessage<'a> {
    #[serde(skip)]
    pub id: Uuid,
    pub channel: &'a str,
    pub to: &'a str,
    pub template: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub data: &'a serde_json::Value,
}

/// The configured gateway.
#[derive(Clone)]
pub enum NotifyAdapter {
    /// The real gateway over HTTP.
    Http {
        client: reqwest::Client,
        endpoint: Endpoint,
    },
    /// Sandbox: accept and keep (the outbox is the record).
    Sandbox,
}

impl NotifyAdapter {
    /// Sends one message; `Ok` only on a 2xx answer. A failure is retried
    /// later by the outbox, so none is retried here.
    pub async fn send(&self, message: &OutgoingMessage<'_>) -> Result<(), ProviderError> {
        match self {
            NotifyAdapter::Sandbox => Ok(()),
            NotifyAdapter::Http { client, endpoint } => {
                let url = endpoint
                    .url
                    .join("v1/messages")
                    .map_err(|e| ProviderError::Transport(e.to_string()))?;
                let response = client
                    .post(url)
                    .bearer_auth(endpoint.token.expose_secret())
                    .header("Idempotency-Key", message.id.to_string())
                    .json(message)
                    .send()
                    .await
                    .map_err(ProviderError::from_reqwest)?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(ProviderError::Status(response.status().as_u16()))
                }
            }
        }
    }
}
