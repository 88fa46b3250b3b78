//! Payout provider (INTEGRATIONS.md), bearer token:
//! - `POST {PAYOUT_URL}/v1/account-validations` `{"provider", "account_number"}` →
//!   `{"valid", "holder_name"}`: whose account this is;
//! - `POST {PAYOUT_URL}/v1/disbursements` with `Idempotency-Key: {attempt id}` and
//!   `{"reference", "provider", "account_number", "amount_idr", "holder_name"}` →
//!   202 `{"id", "status": pending | completed | failed}`;
//! - `GET {PAYOUT_URL}/v1/disbursements/{attempt id}` → `{"reference", "status",
//!   "failure_reason"}`, 404 when the provider never received it.
//!
//! Retries: a validation and a status query are reads, and a disbursement is
//! keyed by its attempt id (the provider pays one key at most once), so each is
//! repeated once after a connection failure or a 5xx. A timeout is never
//! repeated here: the disbursement job decides, with backoff, when to send the
//! same attempt again. Every failure is a [`ProviderError`]; a participant's
//! request answers it as 503 `payout_provider_unavailable` ([`unavailable`]).
//!
//! Sandbox adapter (API.md): any account number of 8 to 16 digits is valid,
//! held by the participant (the name the caller passes), except numbers ending
//! in `0000`, held by `ORANG LAIN`; disbursements complete at once, so the
//! status of any attempt is `completed`.

use std::fmt;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    provider::{parse_json, ProviderError},
    retry::{self, RetryPolicy},
};
use crate::{
    config::Endpoint,
    db::text_enum,
    error::{ApiError, ErrorCode},
};

text_enum! {
    /// Where the money goes (API.md Fixed names): an e-wallet or a bank.
    pub enum PayoutProvider {
        Gopay => "gopay",
        Ovo => "ovo",
        Linkaja => "linkaja",
        Dana => "dana",
        Bca => "bca",
        Bri => "bri",
        Bni => "bni",
        Mandiri => "mandiri",
        Btn => "btn",
        Bsi => "bsi",
        Cimb => "cimb",
        Permata => "permata",
        Danamon => "danamon",
    }
}

/// The holder of every sandbox account number ending in `0000`.
pub const SANDBOX_OTHER_HOLDER: &str = "ORANG LAIN";

/// The service's name in logs.
const SERVICE: &str = "payout provider";

/// The 503 answer when the payout provider could not answer.
pub fn unavailable(e: ProviderError) -> ApiError {
    e.unavailable(ErrorCode::PayoutProviderUnavailable, SERVICE)
}

/// The provider's verdict on an account.
#[derive(Clone, PartialEq, Eq)]
pub enum AccountCheck {
    /// The account exists; the name it is registered under.
    Valid { holder_name: String },
    /// No such account at that bank or e-wallet.
    Invalid,
}

impl fmt::Debug for AccountCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountCheck::Valid { .. } => f.write_str("Valid { holder_name: [redacted] }"),
            AccountCheck::Invalid => f.write_str("Invalid"),
        }
    }
}

/// Where a disbursement stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisbursementStatus {
    Pending,
    Completed,
    Failed,
}

/// One payment to send: an attempt to pay one installment to one account.
pub struct Disbursement<'a> {
    /// The attempt id: `Idempotency-Key` and `reference`.
    pub attempt_id: Uuid,
    pub provider: PayoutProvider,
    pub account_number: &'a str,
    pub amount_idr: i64,
    pub holder_name: &'a str,
}

/// The provider's answer to a disbursement or a status query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisbursementState {
    /// The provider's own id, when it gave one.
    pub provider_id: Option<String>,
    pub status: DisbursementStatus,
    pub failure_reason: Option<String>,
}

/// The configured payout provider.
#[derive(Clone)]
pub enum PayoutAdapter {
    /// The real provider over HTTP.
    Http {
        /// Shared client; its timeout bounds each attempt.
        client: reqwest::Client,
        /// `PAYOUT_URL` and `PAYOUT_TOKEN`.
        endpoint: Endpoint,
    },
    /// Sandbox: API.md's simulated payout provider.
    Sandbox,
}

#[derive(Serialize)]
struct ValidationRequest<'a> {
    provider: PayoutProvider,
    account_number: &'a str,
}

#[derive(Deserialize)]
struct ValidationResponse {
    valid: bool,
    holder_name: Option<String>,
}

#[derive(Serialize)]
struct DisbursementRequest<'a> {
    reference: String,
    provider: PayoutProvider,
    account_number: &'a str,
    amount_idr: i64,
    holder_name: &'a str,
}

#[derive(Deserialize)]
struct DisbursementResponse {
    id: Option<String>,
    status: DisbursementStatus,
    failure_reason: Option<String>,
}

#[derive(Deserialize)]
struct StatusResponse {
    reference: Option<String>,
    status: DisbursementStatus,
    failure_reason: Option<String>,
}

impl PayoutAdapter {
    /// Asks whose account `account_number` at `provider` is. `participant_name`
    /// is used only by the sandbox, whose accounts belong to the participant.
    pub async fn validate_account(
        &self,
        provider: PayoutProvider,
        account_number: &str,
        participant_name: &str,
    ) -> Result<AccountCheck, ProviderError> {
        match self {
            PayoutAdapter::Sandbox => Ok(sandbox_validation(account_number, participant_name)),
            PayoutAdapter::Http { client, endpoint } => {
                let answer: ValidationResponse = retry::post_json(
                    client,
                    endpoint,
                    SERVICE,
                    "v1/account-validations",
                    &ValidationRequest {
                        provider,
                        account_number,
                    },
                    RetryPolicy::ConnectFailureOrServerError,
                )
                .await?;
                match (answer.valid, answer.holder_name) {
                    (true, Some(holder_name)) if !holder_name.trim().is_empty() => {
                        Ok(AccountCheck::Valid { holder_name })
                    }
                    (true, _) => Err(ProviderError::Malformed(
                        "valid without a `holder_name`".into(),
                    )),
                    (false, _) => Ok(AccountCheck::Invalid),
                }
            }
        }
    }

    /// Sends one attempt (again, after a timeout or a 5xx: the provider pays
    /// one `Idempotency-Key` at most once).
    pub async fn disburse(
        &self,
        payment: &Disbursement<'_>,
    ) -> Result<DisbursementState, ProviderError> {
        match self {
            PayoutAdapter::Sandbox => Ok(DisbursementState {
                provider_id: Some(format!("sandbox-{}", payment.attempt_id.simple())),
                status: DisbursementStatus::Completed,
                failure_reason: None,
            }),
            PayoutAdapter::Http { client, endpoint } => {
                let url = endpoint
                    .url
                    .join("v1/disbursements")
                    .map_err(|e| ProviderError::Transport(e.to_string()))?;
                let body = DisbursementRequest {
                    reference: payment.attempt_id.to_string(),
                    provider: payment.provider,
                    account_number: payment.account_number,
                    amount_idr: payment.amount_idr,
                    holder_name: payment.holder_name,
                };
                let request = client
                    .post(url)
                    .bearer_auth(endpoint.token.expose_secret())
                    .header("Idempotency-Key", payment.attempt_id.to_string())
                    .json(&body);
                let answer: DisbursementResponse = read(
                    request,
                    RetryPolicy::ConnectFailureOrServerError,
                    "v1/disbursements",
                )
                .await?;
                Ok(DisbursementState {
                    provider_id: answer.id,
                    status: answer.status,
                    failure_reason: answer.failure_reason,
                })
            }
        }
    }

    /// The provider's view of an attempt; `None` when it never received it.
    pub async fn status(
        &self,
        attempt_id: Uuid,
    ) -> Result<Option<DisbursementState>, ProviderError> {
        match self {
            PayoutAdapter::Sandbox => Ok(Some(DisbursementState {
                provider_id: None,
                status: DisbursementStatus::Completed,
                failure_reason: None,
            })),
            PayoutAdapter::Http { client, endpoint } => {
                let url = endpoint
                    .url
                    .join(&format!("v1/disbursements/{attempt_id}"))
                    .map_err(|e| ProviderError::Transport(e.to_string()))?;
                let request = client.get(url).bearer_auth(endpoint.token.expose_secret());
                let answer: StatusResponse = match read(
                    request,
                    RetryPolicy::ConnectFailureOrServerError,
                    "v1/disbursements/{id}",
                )
                .await
                {
                    Ok(answer) => answer,
                    Err(ProviderError::Status(404)) => return Ok(None),
                    Err(e) => return Err(e),
                };
                if answer
                    .reference
                    .as_deref()
                    .is_some_and(|r| r != attempt_id.to_string())
                {
                    return Err(ProviderError::Malformed(
                        "`reference` names another attempt".into(),
                    ));
                }
                Ok(Some(DisbursementState {
                    provider_id: None,
                    status: answer.status,
                    failure_reason: answer.failure_reason,
                }))
            }
        }
    }
}

/// Sends `request` under `policy` and reads its JSON answer; failures are
/// logged with the route, never the body.
async fn read<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    policy: RetryPolicy,
    route: &'static str,
) -> Result<T, ProviderError> {
    let result = async {
        let response = retry::send(request, policy).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(ProviderError::from_reqwest)?;
        parse_json(&bytes)
    }
    .await;
    match &result {
        // The status query's "never received": an answer, not a failure.
        Err(ProviderError::Status(404)) => {}
        Err(e) => {
            tracing::warn!(service = SERVICE, route, error = %e, "outside service call failed")
        }
        Ok(_) => {}
    }
    result
}

fn sandbox_validation(account_number: &str, participant_name: &str) -> AccountCheck {
    let digits = account_number.bytes().all(|b| b.is_ascii_digit());
    if !digits || !(8..=16).contains(&account_number.len()) {
        return AccountCheck::Invalid;
    }
    let holder_name = if account_number.ends_with("0000") {
        SANDBOX_OTHER_HOLDER.to_owned()
    } else {
        participant_name.to_owned()
    };
    AccountCheck::Valid { holder_name }
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

    const TOKEN: &str = "payout-test-token";

    fn adapter(server: &MockServer, timeout: Duration) -> PayoutAdapter {
        PayoutAdapter::Http {
            client: crate::integrations::http_client(timeout),
            endpoint: Endpoint {
                url: url::Url::parse(&format!("{}/", server.uri())).unwrap(),
                token: SecretString::from(TOKEN),
            },
        }
    }

    #[tokio::test]
    async fn sandbox_accounts_follow_the_api_rules() {
        let cases = [
            ("1234567", None),
            ("12345678", Some("PESERTA 010101")),
            ("1234567890123456", Some("PESERTA 010101")),
            ("12345678901234567", None),
            ("0812345670000", Some(SANDBOX_OTHER_HOLDER)),
            ("08123x5678", None),
        ];
        for (number, holder) in cases {
            let check = PayoutAdapter::Sandbox
                .validate_account(PayoutProvider::Gopay, number, "PESERTA 010101")
                .await
                .unwrap();
            let expected = match holder {
                Some(h) => AccountCheck::Valid {
                    holder_name: h.to_owned(),
                },
                None => AccountCheck::Invalid,
            };
            assert_eq!(check, expected, "{number}");
        }
        let id = Uuid::new_v4();
        let paid = PayoutAdapter::Sandbox
            .disburse(&Disbursement {
                attempt_id: id,
                provider: PayoutProvider::Bca,
                account_number: "12345678",
                amount_idr: 600_000,
                holder_name: "PESERTA 010101",
            })
            .await
            .unwrap();
        assert_eq!(paid.status, DisbursementStatus::Completed);
        let seen = PayoutAdapter::Sandbox.status(id).await.unwrap().unwrap();
        assert_eq!(seen.status, DisbursementStatus::Completed);
    }

    fn validation_mock(response: ResponseTemplate) -> Mock {
        Mock::given(method("POST"))
            .and(path("/v1/account-validations"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(
                json!({"provider": "gopay", "account_number": "081234567890"}),
            ))
            .respond_with(response)
    }

    #[tokio::test]
    async fn http_validation_reads_the_holder_name() {
        let server = MockServer::start().await;
        validation_mock(
            ResponseTemplate::new(200)
                .set_body_json(json!({"valid": true, "holder_name": "SITI RAHAYU"})),
        )
        .expect(1)
        .mount(&server)
        .await;
        let check = adapter(&server, Duration::from_secs(2))
            .validate_account(PayoutProvider::Gopay, "081234567890", "ignored")
            .await
            .unwrap();
        assert_eq!(
            check,
            AccountCheck::Valid {
                holder_name: "SITI RAHAYU".into()
            }
        );
    }

    #[tokio::test]
    async fn http_validation_invalid_and_malformed() {
        for (body, invalid) in [
            (json!({"valid": false}), true),
            (json!({"valid": true}), false),
            (json!({"holder_name": "X"}), false),
        ] {
            let server = MockServer::start().await;
            validation_mock(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
            let result = adapter(&server, Duration::from_secs(2))
                .validate_account(PayoutProvider::Gopay, "081234567890", "ignored")
                .await;
            if invalid {
                assert_eq!(result.unwrap(), AccountCheck::Invalid);
            } else {
                assert!(
                    matches!(result, Err(ProviderError::Malformed(_))),
                    "{result:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn http_validation_timeout_is_a_provider_error_answered_503() {
        let server = MockServer::start().await;
        validation_mock(
            ResponseTemplate::new(200)
                .set_body_json(json!({"valid": true, "holder_name": "late"}))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
        let err = adapter(&server, Duration::from_millis(300))
            .validate_account(PayoutProvider::Gopay, "081234567890", "ignored")
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Timeout);
        let e = unavailable(err);
        assert_eq!(e.code(), ErrorCode::PayoutProviderUnavailable);
        assert_eq!(e.problem().status, 503);
    }

    #[tokio::test]
    async fn http_disbursement_sends_the_attempt_as_key_and_reference() {
        let server = MockServer::start().await;
        let id = Uuid::new_v4();
        Mock::given(method("POST"))
            .and(path("/v1/disbursements"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("idempotency-key", id.to_string().as_str()))
            .and(body_json(json!({
                "reference": id.to_string(), "provider": "bca", "account_number": "1234567890",
                "amount_idr": 600000, "holder_name": "SITI RAHAYU"
            })))
            .respond_with(
                ResponseTemplate::new(202).set_body_json(json!({"id": "p-1", "status": "pending"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let answer = adapter(&server, Duration::from_secs(2))
            .disburse(&Disbursement {
                attempt_id: id,
                provider: PayoutProvider::Bca,
                account_number: "1234567890",
                amount_idr: 600_000,
                holder_name: "SITI RAHAYU",
            })
            .await
            .unwrap();
        assert_eq!(answer.status, DisbursementStatus::Pending);
        assert_eq!(answer.provider_id.as_deref(), Some("p-1"));
    }

    #[tokio::test]
    async fn http_status_reads_404_as_never_received() {
        let server = MockServer::start().await;
        let (known, unknown) = (Uuid::new_v4(), Uuid::new_v4());
        Mock::given(method("GET"))
            .and(path(format!("/v1/disbursements/{known}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"reference": known.to_string(), "status": "failed", "failure_reason": "account_closed"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/v1/disbursements/{unknown}")))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let a = adapter(&server, Duration::from_secs(2));
        let seen = a.status(known).await.unwrap().unwrap();
        assert_eq!(seen.status, DisbursementStatus::Failed);
        assert_eq!(seen.failure_reason.as_deref(), Some("account_closed"));
        assert_eq!(a.status(unknown).await.unwrap(), None);
    }
}
