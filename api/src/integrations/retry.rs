//! The one bounded retry of outgoing calls (INTEGRATIONS.md: retried only where it
//! is safe). At most two attempts, each bounded by the client's timeout, with a
//! short pause between: a caller waits at most twice the timeout plus the pause,
//! never an open-ended backoff, and a provider that keeps failing becomes a 503.

use std::time::Duration;

use reqwest::{RequestBuilder, Response};

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

/// Why a call failed once its attempts were spent. Messages carry no URL (reqwest
/// errors can echo query strings) and no request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The client's timeout elapsed.
    Timeout,
    /// Connection or protocol failure.
    Transport(String),
    /// A non-2xx answer.
    Status(u16),
}

impl CallError {
    /// Classifies a reqwest error, dropping the URL from its message.
    pub(crate) fn from_reqwest(e: reqwest::Error) -> CallError {
        if e.is_timeout() {
            CallError::Timeout
        } else {
            CallError::Transport(e.without_url().to_string())
        }
    }
}

/// Sends `request`, once more under `policy`; `Ok` only for a 2xx answer.
pub(crate) async fn send(
    request: RequestBuilder,
    policy: RetryPolicy,
) -> Result<Response, CallError> {
    // A JSON body is buffered, so the request can be cloned; a streaming body
    // cannot be replayed and gets one attempt.
    let second = request.try_clone();
    let first = attempt(request).await;
    let retryable = match &first {
        Err(Failure::Connect(_)) => true,
        Err(Failure::Other(CallError::Status(status))) => {
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

/// One attempt's failure, keeping "never connected" apart because only that one
/// is safe to repeat for every call.
#[derive(Debug)]
enum Failure {
    Connect(CallError),
    Other(CallError),
}

impl Failure {
    fn into_call_error(self) -> CallError {
        match self {
            Failure::Connect(e) | Failure::Other(e) => e,
        }
    }
}

async fn attempt(request: RequestBuilder) -> Result<Response, Failure> {
    match request.send().await {
        Ok(response) if response.status().is_success() => Ok(response),
        Ok(response) => Err(Failure::Other(CallError::Status(
            response.status().as_u16(),
        ))),
        Err(e) if e.is_connect() => Err(Failure::Connect(CallError::from_reqwest(e))),
        Err(e) => Err(Failure::Other(CallError::from_reqwest(e))),
    }
}
