//! The one bounded retry of outgoing calls (INTEGRATIONS.md: retried only where it
//! is safe). At most two attempts, each bounded by the client's timeout, with a
//! short pause between: a caller waits at most twice the timeout plus the pause,
//! never an open-ended backoff, and a provider that keeps failing becomes a 503.
//! [`post_json`] is the one JSON call of the HTTP adapters built on it.

use std::time::Duration;

use reqwest::{RequestBuilder, Response};
use secrecy::ExposeSecret;
use serde::{de::DeserializeOwned, Serialize};

use super::provider::{parse_json, ProviderError};
use crate::config::Endpoint;

/// When a second attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryPolicy {
    /// Only when no connection could be made: the request never reached the
    /// provider, so repeating it is safe even for a call that is not idempotent.
    /// Never after a timeout, which may have reached it.
    ConnectFailure,
    /// Also after a 5xx answer: for reads, where a repeat changes nothing.
    ConnectFailureOrServerError,
}

/// Pause before the second attempt: time for a load balancer to route around a
/// failed instance, short next to the participant's patience.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Sends `request`, once more under `policy`; `Ok` only for a 2xx answer.
pub(crate) async fn send(
    request: RequestBuilder,
    policy: RetryPolicy,
) -> Result<Response, ProviderError> {
    // A JSON body is buffered, so the request can be cloned; a streaming body
    // cannot be replayed and gets one attempt.
    let second = request.try_clone();
    let first = attempt(request).await;
    let retryable = match &first {
        Err(Failure::Connect(_)) => true,
        Err(Failure::Other(ProviderError::Status(status))) => {
            policy == RetryPolicy::ConnectFailureOrServerError && *status >= 500
        }
        _ => false,
    };
    let outcome = match (retryable, second) {
        (true, Some(second)) => {
            tracing::info!(error = ?first.as_ref().err(), "retrying an outgoing call once");
            tokio::time::sleep(RETRY_PAUSE).await;
            attempt(second).await
        }
        _ => first,
    };
    outcome.map_err(Failure::into_call_error)
}

/// One POST to `{endpoint}/{route}` of `service` with the bearer token and a
/// JSON body, sent under `policy` (see `retry`), answered with JSON. A failure
/// is logged with the service and route, never the body.
pub(crate) async fn post_json<B: Serialize, T: DeserializeOwned>(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    service: &'static str,
    route: &str,
    body: &B,
    policy: RetryPolicy,
) -> Result<T, ProviderError> {
    let result = post(client, endpoint, route, body, policy).await;
    if let Err(e) = &result {
        tracing::warn!(service, route, error = %e, "outside service call failed");
    }
    result
}

async fn post<B: Serialize, T: DeserializeOwned>(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    route: &str,
    body: &B,
    policy: RetryPolicy,
) -> Result<T, ProviderError> {
    let url = endpoint
        .url
        .join(route)
        .map_err(|e| ProviderError::Transport(e.to_string()))?;
    let request = client
        .post(url)
        .bearer_auth(endpoint.token.expose_secret())
        .json(body);
    let response = send(request, policy).await?;
    let bytes = response
        .bytes()
        .await
        .map_err(ProviderError::from_reqwest)?;
    parse_json(&bytes)
}

/// One attempt's failure, keeping "never connected" apart because only that one
/// is safe to repeat for every call.
#[derive(Debug)]
enum Failure {
    Connect(ProviderError),
    Other(ProviderError),
}

impl Failure {
    fn into_call_error(self) -> ProviderError {
        match self {
            Failure::Connect(e) | Failure::Other(e) => e,
        }
    }
}

async fn attempt(request: RequestBuilder) -> Result<Response, Failure> {
    match request.send().await {
        Ok(response) if response.status().is_success() => Ok(response),
        Ok(response) => Err(Failure::Other(ProviderError::Status(
            response.status().as_u16(),
        ))),
        Err(e) if e.is_connect() => Err(Failure::Connect(ProviderError::from_reqwest(e))),
        Err(e) => Err(Failure::Other(ProviderError::from_reqwest(e))),
    }
}
