//! The payout provider's callbacks (INTEGRATIONS.md): `POST
//! /v1/webhooks/disbursements`, signed with `X-Callback-Signature` = lowercase
//! hex HMAC-SHA256, keyed with `PAYOUT_WEBHOOK_SECRET`, over
//! `{X-Callback-Timestamp}.{raw body}`, within 300 s of real time.
//!
//! Unlike partner requests a signature may be presented again: the provider
//! repeats callbacks, and each repeat is verified, answered 200 and
//! deduplicated by `event_id` (the event row and its effect commit together,
//! so two copies arriving at once apply once). The signed bytes differ
//! from the partners' (no method or path, no body hash); the window, the
//! signature's form and the constant-time check are the partners' functions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    settle::{self, Outcome, Settled},
    views::{CallbackAck, CallbackStatus, DisbursementCallback},
};
use crate::{db::schema::payout_callbacks, partners::signature};

/// The bytes the provider signs: `{X-Callback-Timestamp}.{raw body}`.
fn callback_payload(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(timestamp.len() + 1 + body.len());
    payload.extend_from_slice(timestamp.as_bytes());
    payload.push(b'.');
    payload.extend_from_slice(body);
    payload
}

/// Whether `signature` (hex) signs `{timestamp}.{body}` with `secret`, and
/// `timestamp` (unix seconds) is within 300 s of `real_now`. The timestamp
/// window, the signature's form and the constant-time comparison are the
/// partners' (`partners::signature`): only the signed bytes differ.
pub fn verify_callback(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    real_now: DateTime<Utc>,
) -> bool {
    let timestamp = timestamp.trim();
    let Some(given) = signature::parse_signature(signature.trim()) else {
        return false;
    };
    signature::check_timestamp(timestamp, real_now).is_ok()
        && signature::verify(secret, &callback_payload(timestamp, body), &given)
}

/// The signature of `{timestamp}.{body}` (for the sandbox and tests).
pub fn sign_callback(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let payload = callback_payload(&timestamp.to_string(), body);
    hex::encode(signature::sign(secret, &payload))
}

/// Records a verified callback once and applies it.
pub async fn receive(
    conn: &mut AsyncPgConnection,
    callback: &DisbursementCallback,
    now: DateTime<Utc>,
) -> anyhow::Result<CallbackAck> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let first = diesel::insert_into(payout_callbacks::table)
            .values((
                payout_callbacks::event_id.eq(&callback.event_id),
                payout_callbacks::reference.eq(&callback.reference),
                payout_callbacks::status.eq(callback.status),
                payout_callbacks::failure_reason.eq(&callback.failure_reason),
                payout_callbacks::effect.eq("pending"),
                payout_callbacks::received_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?
            == 1;
        if !first {
            return Ok(CallbackAck {
                received: true,
                duplicate: true,
            });
        }
        let effect = match Uuid::try_parse(&callback.reference) {
            Err(_) => Settled::UnknownAttempt,
            Ok(attempt) => {
                let outcome = match callback.status {
                    CallbackStatus::Completed => Outcome::Completed,
                    CallbackStatus::Failed => Outcome::Failed {
                        reason: callback.failure_reason.clone(),
                    },
                };
                settle::settle(conn, attempt, &outcome, now).await?
            }
        };
        if effect == Settled::UnknownAttempt {
            tracing::warn!(event = %callback.event_id, "a payout callback names no attempt of ours");
        }
        let effect = serde_json::to_value(effect)?;
        diesel::update(payout_callbacks::table.find(&callback.event_id))
            .set(payout_callbacks::effect.eq(effect.as_str().unwrap_or("unknown")))
            .execute(conn)
            .await?;
        Ok(CallbackAck {
            received: true,
            duplicate: false,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    const SECRET: &[u8] = b"payout-webhook-secret";

    #[test]
    fn a_signed_callback_verifies_and_any_change_breaks_it() {
        let now = Utc::now();
        let ts = now.timestamp();
        let body = br#"{"event_id":"e1","reference":"r","status":"completed"}"#;
        let sig = sign_callback(SECRET, ts, body);
        assert_eq!(sig.len(), 64);
        assert!(verify_callback(SECRET, &ts.to_string(), &sig, body, now));
        // Verified again: repeats are allowed (dedup is by event id).
        assert!(verify_callback(SECRET, &ts.to_string(), &sig, body, now));
        assert!(!verify_callback(b"other", &ts.to_string(), &sig, body, now));
        assert!(!verify_callback(
            SECRET,
            &(ts + 1).to_string(),
            &sig,
            body,
            now
        ));
        assert!(!verify_callback(SECRET, &ts.to_string(), &sig, b"{}", now));
        assert!(!verify_callback(SECRET, &ts.to_string(), "zz", body, now));
        assert!(!verify_callback(SECRET, "soon", &sig, body, now));
        assert!(!verify_callback(
            SECRET,
            &ts.to_string(),
            &sig.to_uppercase()[..10],
            body,
            now
        ));
    }

    #[test]
    fn callbacks_are_accepted_within_300_seconds_of_real_time_only() {
        let now = Utc::now();
        let body = b"{}";
        for (offset, ok) in [
            (-301, false),
            (-300, true),
            (0, true),
            (300, true),
            (301, false),
        ] {
            let ts = (now + TimeDelta::seconds(offset)).timestamp();
            let sig = sign_callback(SECRET, ts, body);
            assert_eq!(
                verify_callback(SECRET, &ts.to_string(), &sig, body, now),
                ok,
                "{offset}"
            );
        }
    }
}
