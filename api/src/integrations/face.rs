//! Face service (INTEGRATIONS.md), bearer token:
//! - `POST {FACE_URL}/v1/liveness` `{"image_base64"}` → `{"live", "face_id"}`: is this
//!   a live person (blink), and a reference to their face for later matches;
//! - `POST {FACE_URL}/v1/match` `{"reference_face_id", "image_base64"}` →
//!   `{"match", "score"}`: is this the enrolled person.
//!
//! Retries: a liveness check may create state on the provider (an enrolled face,
//! a billed check), so it is never repeated once it may have reached the provider:
//! not after a timeout and not after a 5xx, only when no connection could be made.
//! A match is a comparison and is also retried once after a 5xx. Every failure is
//! a [`ProviderError`], which the caller answers as 503 `face_service_unavailable`
//! ([`unavailable`]).
//!
//! Sandbox adapter (API.md): liveness passes and faces match unless the image has
//! fewer than 100 bytes.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    provider::ProviderError,
    retry::{self, RetryPolicy},
};
use crate::{
    config::Endpoint,
    error::{ApiError, ErrorCode},
};

/// Images shorter than this fail the simulated checks (API.md), so app developers
/// can exercise the failure paths with any tiny file.
pub const SANDBOX_MIN_IMAGE_BYTES: usize = 100;

/// Outcome of a liveness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// A live face; `face_id` is the provider's reference for later matches.
    Live {
        /// Opaque id to pass as `reference_face_id`.
        face_id: String,
    },
    /// No live face (photo of a photo, no blink, no face); answered 422
    /// `face_liveness_failed` by the caller.
    NotLive,
}

/// Outcome of a face match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceMatch {
    /// The provider's verdict: same person.
    pub matched: bool,
    /// The provider's similarity score, kept for audit (the verdict decides).
    pub score: f64,
}

/// The service's name in logs.
const SERVICE: &str = "face service";

/// The 503 answer when the face service could not answer.
pub fn unavailable(e: ProviderError) -> ApiError {
    e.unavailable(ErrorCode::FaceServiceUnavailable, SERVICE)
}

/// The configured face service.
#[derive(Clone)]
pub enum FaceAdapter {
    /// The real service over HTTP.
    Http {
        /// Shared client; its timeout bounds each attempt.
        client: reqwest::Client,
        /// `FACE_URL` and `FACE_TOKEN`.
        endpoint: Endpoint,
    },
    /// Sandbox: API.md's simulated face service.
    Sandbox,
}

#[derive(Serialize)]
struct LivenessRequest {
    image_base64: String,
}

#[derive(Deserialize)]
struct LivenessResponse {
    live: bool,
    /// Documented for live faces; a provider may leave it out otherwise.
    face_id: Option<String>,
}

#[derive(Serialize)]
struct MatchRequest<'a> {
    reference_face_id: &'a str,
    image_base64: String,
}

#[derive(Deserialize)]
struct MatchResponse {
    #[serde(rename = "match")]
    matched: bool,
    score: f64,
}

impl FaceAdapter {
    /// Checks that `image` shows a live face and returns its reference id.
    pub async fn liveness(&self, image: &[u8]) -> Result<Liveness, ProviderError> {
        match self {
            FaceAdapter::Sandbox => Ok(sandbox_liveness(image)),
            FaceAdapter::Http { client, endpoint } => {
                let body = LivenessRequest {
                    image_base64: STANDARD.encode(image),
                };
                // Not idempotent on the provider's side: no retry once sent.
                let answer: LivenessResponse = retry::post_json(
                    client,
                    endpoint,
                    SERVICE,
                    "v1/liveness",
                    &body,
                    RetryPolicy::ConnectFailure,
                )
                .await?;
                match (answer.live, answer.face_id) {
                    (true, Some(face_id)) if !face_id.is_empty() => Ok(Liveness::Live { face_id }),
                    (true, _) => Err(ProviderError::Malformed("live without a `face_id`".into())),
                    (false, _) => Ok(Liveness::NotLive),
                }
            }
        }
    }

    /// Compares `image` with the face enrolled as `reference_face_id`.
    pub async fn match_face(
        &self,
        reference_face_id: &str,
        image: &[u8],
    ) -> Result<FaceMatch, ProviderError> {
        match self {
            FaceAdapter::Sandbox => Ok(sandbox_match(image)),
            FaceAdapter::Http { client, endpoint } => {
                let body = MatchRequest {
                    reference_face_id,
                    image_base64: STANDARD.encode(image),
                };
                let answer: MatchResponse = retry::post_json(
                    client,
                    endpoint,
                    SERVICE,
                    "v1/match",
                    &body,
                    RetryPolicy::ConnectFailureOrServerError,
                )
                .await?;
                if !answer.score.is_finite() {
                    return Err(ProviderError::Malformed(
                        "`score` is not a finite number".into(),
                    ));
                }
                Ok(FaceMatch {
                    matched: answer.matched,
                    score: answer.score,
                })
            }
        }
    }
}

/// `sandbox-` and the hex of the first 16 bytes of SHA-256 of the image: stable
/// for one image, different for another, and obviously not a real provider id.
fn sandbox_face_id(image: &[u8]) -> String {
    let digest = Sha256::digest(image);
    format!("sandbox-{}", hex::encode(&digest[..16]))
}

fn sandbox_liveness(image: &[u8]) -> Liveness {
    if image.len() < SANDBOX_MIN_IMAGE_BYTES {
        Liveness::NotLive
    } else {
        Liveness::Live {
            face_id: sandbox_face_id(image),
        }
    }
}

fn sandbox_match(image: &[u8]) -> FaceMatch {
    let matched = image.len() >= SANDBOX_MIN_IMAGE_BYTES;
    FaceMatch {
        matched,
        score: if matched { 1.0 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use serde_json::json;
    use wiremock::{
        matchers::{body_json, header, method, path},
        Mock, MockServer, ResponseTemplate,
    };

    use super::*;

    #[tokio::test]
    async fn sandbox_face_service_follows_the_api_rules() {
        // (image length, live, match)
        let cases = [
            (0, false, false),
            (1, false, false),
            (99, false, false),
            (100, true, true),
            (150_000, true, true),
        ];
        for (len, live, matched) in cases {
            let image = vec![0x42u8; len];
            let liveness = FaceAdapter::Sandbox.liveness(&image).await.unwrap();
            assert_eq!(
                matches!(liveness, Liveness::Live { .. }),
                live,
                "{len} bytes"
            );
            let result = FaceAdapter::Sandbox
                .match_face("any", &image)
                .await
                .unwrap();
            assert_eq!(result.matched, matched, "{len} bytes");
        }
    }

    #[test]
    fn sandbox_face_id_is_stable_per_image() {
        let a = vec![1u8; 100];
        let b = vec![2u8; 100];
        let Liveness::Live { face_id } = sandbox_liveness(&a) else {
            panic!("100 bytes are live");
        };
        assert_eq!(face_id.len(), "sandbox-".len() + 32);
        assert!(face_id.starts_with("sandbox-"));
        assert_eq!(
            sandbox_liveness(&a),
            Liveness::Live {
                face_id: face_id.clone()
            }
        );
        assert_ne!(sandbox_liveness(&b), Liveness::Live { face_id });
    }

    const TOKEN: &str = "face-test-token";

    fn adapter(server: &MockServer, timeout: Duration) -> FaceAdapter {
        FaceAdapter::Http {
            client: crate::integrations::http_client(timeout),
            endpoint: Endpoint {
                url: url::Url::parse(&server.uri()).unwrap(),
                token: SecretString::from(TOKEN),
            },
        }
    }

    fn image() -> Vec<u8> {
        (0..=255u8).collect()
    }

    fn liveness_mock(response: ResponseTemplate) -> Mock {
        Mock::given(method("POST"))
            .and(path("/v1/liveness"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(json!({"image_base64": STANDARD.encode(image())})))
            .respond_with(response)
    }

    fn match_mock(response: ResponseTemplate) -> Mock {
        Mock::given(method("POST"))
            .and(path("/v1/match"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(
                json!({"reference_face_id": "face-123", "image_base64": STANDARD.encode(image())}),
            ))
            .respond_with(response)
    }

    #[tokio::test]
    async fn http_liveness_pass() {
        let server = MockServer::start().await;
        liveness_mock(
            ResponseTemplate::new(200).set_body_json(json!({"live": true, "face_id": "face-123"})),
        )
        .expect(1)
        .mount(&server)
        .await;
        let result = adapter(&server, Duration::from_secs(2))
            .liveness(&image())
            .await
            .unwrap();
        assert_eq!(
            result,
            Liveness::Live {
                face_id: "face-123".into()
            }
        );
    }

    #[tokio::test]
    async fn http_liveness_fail() {
        for body in [
            json!({"live": false, "face_id": "face-123"}),
            json!({"live": false}),
        ] {
            let server = MockServer::start().await;
            liveness_mock(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
            let result = adapter(&server, Duration::from_secs(2))
                .liveness(&image())
                .await
                .unwrap();
            assert_eq!(result, Liveness::NotLive);
        }
    }

    #[tokio::test]
    async fn http_liveness_malformed() {
        for body in [
            json!({"live": true}),
            json!({"live": true, "face_id": ""}),
            json!({"face_id": "x"}),
        ] {
            let server = MockServer::start().await;
            liveness_mock(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
            let err = adapter(&server, Duration::from_secs(2))
                .liveness(&image())
                .await
                .unwrap_err();
            assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
        }
    }

    #[tokio::test]
    async fn http_liveness_server_error_is_not_retried() {
        let server = MockServer::start().await;
        liveness_mock(ResponseTemplate::new(500))
            .expect(1)
            .mount(&server)
            .await;
        let err = adapter(&server, Duration::from_secs(2))
            .liveness(&image())
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Status(500));
        assert_eq!(unavailable(err).code(), ErrorCode::FaceServiceUnavailable);
    }

    #[tokio::test]
    async fn http_liveness_timeout_is_not_retried() {
        let server = MockServer::start().await;
        // `expect(1)`: one attempt, checked when the server drops; the client's
        // timeout bounds the wait, not a clock in this test.
        liveness_mock(
            ResponseTemplate::new(200)
                .set_body_json(json!({"live": true, "face_id": "late"}))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
        let err = adapter(&server, Duration::from_millis(300))
            .liveness(&image())
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Timeout);
    }

    #[tokio::test]
    async fn http_match_pass_and_fail() {
        for (matched, score) in [(true, 0.93), (false, 0.12)] {
            let server = MockServer::start().await;
            match_mock(
                ResponseTemplate::new(200).set_body_json(json!({"match": matched, "score": score})),
            )
            .expect(1)
            .mount(&server)
            .await;
            let result = adapter(&server, Duration::from_secs(2))
                .match_face("face-123", &image())
                .await
                .unwrap();
            assert_eq!(result, FaceMatch { matched, score });
        }
    }

    #[tokio::test]
    async fn http_match_server_error_is_retried_once_then_fails() {
        let server = MockServer::start().await;
        match_mock(ResponseTemplate::new(500))
            .expect(2)
            .mount(&server)
            .await;
        let err = adapter(&server, Duration::from_secs(2))
            .match_face("face-123", &image())
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Status(500));
        assert_eq!(unavailable(err).problem().status, 503);
    }

    #[tokio::test]
    async fn http_match_malformed() {
        for body in [json!({"match": true}), json!({"score": 0.5}), json!("yes")] {
            let server = MockServer::start().await;
            match_mock(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
            let err = adapter(&server, Duration::from_secs(2))
                .match_face("face-123", &image())
                .await
                .unwrap_err();
            assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
        }
    }
}
