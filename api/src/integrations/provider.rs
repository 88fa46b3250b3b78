//! What every HTTP adapter of an outside service shares: one error type for a
//! provider that could not answer, and one way to read its JSON answer (sent
//! with `retry::post_json`). Each
//! adapter maps [`ProviderError`] to its own 503 code (registry, face, and the
//! payout provider next), so a client learns which service failed and nothing
//! of how.

use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// Why an outside service could not answer. Messages carry no URL, token,
/// request body or personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The client's timeout elapsed.
    #[error("timed out")]
    Timeout,
    /// Connection or protocol failure (after the one retry where it is safe).
    #[error("unreachable: {0}")]
    Transport(String),
    /// A non-2xx answer.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// A 2xx answer that is not the documented shape.
    #[error("answer is malformed: {0}")]
    Malformed(String),
}

impl ProviderError {
    /// Classifies a reqwest error, dropping the URL from its message (it can
    /// echo query strings).
    pub fn from_reqwest(e: reqwest::Error) -> ProviderError {
        if e.is_timeout() {
            ProviderError::Timeout
        } else {
            ProviderError::Transport(e.without_url().to_string())
        }
    }

    /// The 503 answer with `code`; the cause, named by `service`, goes only to
    /// the log.
    pub fn unavailable(self, code: ErrorCode, service: &'static str) -> ApiError {
        ApiError::unavailable(code, anyhow::anyhow!("{service}: {self}"))
    }
}

/// Reads a 2xx JSON body. Errors name the JSON path and the kind of problem,
/// never a value: values may be personal data.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProviderError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        ProviderError::Malformed(format!(
            "{:?} error at `{}`",
            e.inner().classify(),
            e.path()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Shape {
        #[allow(dead_code)]
        ok: bool,
    }

    #[test]
    fn malformed_answers_name_the_path_not_the_value() {
        let err = parse_json::<Shape>(br#"{"ok": "3174055704950001"}"#).unwrap_err();
        let ProviderError::Malformed(message) = &err else {
            panic!("{err:?}");
        };
        assert!(message.contains("`ok`"), "{message}");
        assert!(!message.contains("3174"), "{message}");
    }

    #[test]
    fn each_adapter_answers_its_own_503() {
        let e = ProviderError::Status(500).unavailable(ErrorCode::RegistryUnavailable, "registry");
        assert_eq!(e.code(), ErrorCode::RegistryUnavailable);
        assert_eq!(e.problem().status, 503);
        assert!(!e.problem().detail.contains("500"));
    }
}
