//! `SignedPartner`: the one way a partner request is authenticated (API.md
//! Conventions). Before anything is parsed it reads the raw body and checks,
//! in this order:
//!
//! 1. `X-Partner-Id` (a UUID), `X-Timestamp` (unix seconds) and `X-Signature`
//!    (64 hex digits) are present and well-formed;
//! 2. `X-Timestamp` is within 5 minutes of the server's *real* time (API.md:
//!    Time puts the partner window on real time, so moving the sandbox clock
//!    never opens or closes it);
//! 3. the body is read whole (413 over the route's limit);
//! 4. the signature is the HMAC of `METHOD\nPATH_WITH_QUERY\nX-Timestamp\n
//!    hex(SHA-256(body))` under the partner's current secret, or its previous one
//!    during a rotation's grace period (constant-time comparison; an unknown
//!    partner still costs an HMAC, so timing does not tell which ids exist);
//! 5. the partner is active;
//! 6. the signature has not been accepted before, by any instance: it is
//!    recorded in PostgreSQL (`accepted_signatures`), and the second insert of
//!    the same signature fails on the primary key.
//!
//! Every refusal is 401 `invalid_signature`. The extractor also carries the
//! partner's `capabilities`; a route publishing courses or vacancies asks for
//! its own with [`SignedPartner::require`] (403 `forbidden` otherwise).
//!
//! A signature is spent once it is
//! recorded, whatever the handler then answers: a platform retrying a request
//! signs it again with a new timestamp (API.md: two identical requests need
//! different timestamps).

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Bytea, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use validator::Validate;

use super::{
    model::{self, PartnerCapability, PartnerStatus},
    signature::{self, TimestampError},
};
use crate::{
    db::prepared,
    error::{ApiError, ApiResult, ErrorCode},
    http::json::{is_json, parse_json, read_body, validate, JSON_LIMIT},
    state::AppState,
};

/// The header naming the partner.
pub const PARTNER_ID_HEADER: &str = "X-Partner-Id";
/// The header with the signing time (unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Timestamp";
/// The header with the hex HMAC.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// A partner request whose signature checked out, with the exact body bytes
/// that were signed. `LIMIT` is the largest body the route takes (JSON by
/// default; a raw image route passes its own).
#[derive(Debug)]
pub struct SignedPartner<const LIMIT: usize = JSON_LIMIT> {
    pub partner_id: Uuid,
    /// What the partner may publish.
    pub capabilities: Vec<PartnerCapability>,
    pub body: web::Bytes,
    /// Whether the request said its body is JSON (for [`SignedPartner::json`]).
    is_json: bool,
}

impl<const LIMIT: usize> SignedPartner<LIMIT> {
    /// The body parsed and validated as `T`, with the same answers as
    /// `http::JsonBody`: 415 unless it is sent as JSON, 400 malformed or unknown
    /// field, 422 missing or invalid field.
    pub fn json<T: DeserializeOwned + Validate>(&self) -> ApiResult<T> {
        if !self.is_json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType)
                .detail("Send the body as application/json."));
        }
        let value: T = parse_json(&self.body)?;
        validate(&value)?;
        Ok(value)
    }

    /// 403 `forbidden` unless the partner has `capability` (API.md: only a
    /// `training` partner upserts courses, only a `jobs` partner vacancies).
    pub fn require(&self, capability: PartnerCapability) -> ApiResult<()> {
        if self.capabilities.contains(&capability) {
            return Ok(());
        }
        let what = match capability {
            PartnerCapability::Training => "courses",
            PartnerCapability::Jobs => "job vacancies",
        };
        Err(ApiError::new(ErrorCode::Forbidden).detail(format!(
            "This partner platform may not publish {what}: it lacks the `{capability}` \
             capability; ask the programme office."
        )))
    }
}

fn refused(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidSignature).detail(detail.to_owned())
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str, ApiError> {
    req.headers()
        .get(name)
        .ok_or_else(|| {
            refused(&format!(
                "Send the {name} header (API.md: partner requests)."
            ))
        })?
        .to_str()
        .map(str::trim)
        .map_err(|_| refused(&format!("{name} must be ASCII.")))
}

/// The signed parts of a request, read from its headers.
struct Claimed {
    partner_id: Uuid,
    timestamp: String,
    signed_at: DateTime<Utc>,
    signature: [u8; 32],
}

fn claimed(req: &HttpRequest, real_now: DateTime<Utc>) -> Result<Claimed, ApiError> {
    let partner_id = Uuid::try_parse(header(req, PARTNER_ID_HEADER)?)
        .map_err(|_| refused("X-Partner-Id must be the partner id (a UUID)."))?;
    let timestamp = header(req, TIMESTAMP_HEADER)?.to_owned();
    let signed_at = signature::check_timestamp(&timestamp, real_now).map_err(|e| match e {
        TimestampError::Malformed => refused("X-Timestamp must be unix time in seconds."),
        TimestampError::OutsideWindow => refused(
            "X-Timestamp is more than 5 minutes away from the server's time; check the clock \
             (unix seconds, not milliseconds) and sign again.",
        ),
    })?;
    let signature = signature::parse_signature(header(req, SIGNATURE_HEADER)?)
        .ok_or_else(|| refused("X-Signature must be 64 hex digits (HMAC-SHA256)."))?;
    Ok(Claimed {
        partner_id,
        timestamp,
        signed_at,
        signature,
    })
}

/// The signer name of a partner in `accepted_signatures`.
fn signer(partner_id: Uuid) -> String {
    format!("partner:{partner_id}")
}

/// How long past its timestamp a signature is kept: beyond the window (plus a
/// margin for instances' clocks) it can no longer be accepted anyway.
const KEEP_SIGNATURES_FOR: Duration = Duration::minutes(10);

/// Records `signature` of `signer` as accepted; false when it already was (a
/// replay). Now and then (about one request in 128) also deletes signatures too
/// old to be replayed, so the table stays the size of ten minutes of traffic
/// without a job.
pub async fn accept_once(
    conn: &mut AsyncPgConnection,
    signer: &str,
    signature: &[u8; 32],
    signed_at: DateTime<Utc>,
    real_now: DateTime<Utc>,
) -> diesel::QueryResult<bool> {
    let inserted = prepared(
        diesel::sql_query(
            "INSERT INTO accepted_signatures (signer, signature, signed_at, accepted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind::<Text, _>(signer)
        .bind::<Bytea, _>(signature.as_slice())
        .bind::<Timestamptz, _>(signed_at)
        .bind::<Timestamptz, _>(real_now),
    )
    .execute(conn)
    .await?;
    if signature[0] & 0x7f == 0 {
        // The signature's own bits are uniformly random: a free coin.
        diesel::sql_query(
            "DELETE FROM accepted_signatures WHERE (signer, signature) IN \
             (SELECT signer, signature FROM accepted_signatures WHERE signed_at < $1 LIMIT 10000)",
        )
        .bind::<Timestamptz, _>(real_now - KEEP_SIGNATURES_FOR)
        .execute(conn)
        .await?;
    }
    Ok(inserted == 1)
}

/// A key nobody holds, to spend the same HMAC work on an unknown partner id.
const NO_PARTNER_KEY: &[u8] = b"no partner has this key";

async fn verify(
    state: &AppState,
    req: &HttpRequest,
    claimed: &Claimed,
    body: &[u8],
    real_now: DateTime<Utc>,
) -> Result<Vec<PartnerCapability>, ApiError> {
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |pq| pq.as_str());
    let payload = signature::signing_payload(req.method().as_str(), path, &claimed.timestamp, body);
    let mut conn = state.db.get().await?;
    let keys = model::keys(&mut conn, claimed.partner_id).await?;
    let secrets = match &keys {
        Some(keys) => keys.valid_secrets(&state.pii, claimed.partner_id, real_now)?,
        None => Vec::new(),
    };
    let mut matched = false;
    for secret in &secrets {
        // No early exit: each valid secret is tried, so timing does not tell
        // which one (if any) matched.
        matched |= signature::verify(secret.as_bytes(), &payload, &claimed.signature);
    }
    if secrets.is_empty() {
        let _ = signature::verify(NO_PARTNER_KEY, &payload, &claimed.signature);
    }
    if !matched {
        return Err(refused(
            "The signature does not match: sign METHOD\\nPATH_WITH_QUERY\\nX-Timestamp\\n\
             hex(SHA-256(body)) with the partner's secret (API.md).",
        ));
    }
    // Only a caller holding the secret learns that the partner is disabled.
    if keys
        .as_ref()
        .is_some_and(|k| k.status == PartnerStatus::Disabled)
    {
        return Err(refused(
            "This partner platform is disabled; contact the programme office.",
        ));
    }
    let fresh = accept_once(
        &mut conn,
        &signer(claimed.partner_id),
        &claimed.signature,
        claimed.signed_at,
        real_now,
    )
    .await?;
    if !fresh {
        return Err(refused(
            "This signature was already used: each signed request is accepted once; \
             sign a new request with a new X-Timestamp.",
        ));
    }
    Ok(keys.map(|k| k.capabilities).unwrap_or_default())
}

impl<const LIMIT: usize> FromRequest for SignedPartner<LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no application state")))?
                .clone();
            let real_now = state.clock.security_now();
            let claimed = claimed(&req, real_now)?;
            let body = read_body(&req, &mut payload, LIMIT).await?;
            let capabilities = verify(&state, &req, &claimed, &body, real_now).await?;
            let is_json = is_json(&req);
            Ok(SignedPartner {
                partner_id: claimed.partner_id,
                capabilities,
                body: web::Bytes::from(body),
                is_json,
            })
        })
    }
}
