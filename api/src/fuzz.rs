//! Property-based fuzzing (issue 18 item 4) of what parses hostile input
//! before any rule runs: NIK and KK numbers, the partner signature headers, the
//! payout callback signature, and the JSON bodies of the money endpoints. Each
//! property holds for *every* input: no panic, and an answer that is either
//! a clean refusal or a value that round-trips.
//!
//! `cargo test` runs each with proptest's default number of cases;
//! `scripts/fuzz.sh` runs them far longer, each for a bounded time.

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use crate::{
    error::ErrorCode,
    http::json::parse_json,
    identity::{KkNumber, Nik},
    incentives::{
        callbacks::{sign_callback, verify_callback},
        views::{DisbursementCallback, LinkPayoutAccount},
    },
    partners::signature,
    purchases::views::{
        CancellationRequest, CompletionRequest, PurchaseRequest, RedemptionRequest,
    },
};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_784_426_400, 0).unwrap()
}

/// Strings that look like what a client sends: digits, near-digits, spaces,
/// and any character at all.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,20}",
        "[ 0-9]{14,18}",
        "[0-9０-９٠-٩]{16}",
        any::<String>(),
    ]
}

/// JSON bodies: well-formed values of any shape, broken text and raw bytes.
fn body_like() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("card_number".to_owned()),
                    Just("course_id".to_owned()),
                    Just("otp_code".to_owned()),
                    Just("status".to_owned()),
                    Just("reason".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        value.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// A body either parses or is refused with a client error, never anything else.
fn parses_or_refuses<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = parse_json::<T>(bytes) {
        prop_assert!(
            matches!(
                e.code(),
                ErrorCode::InvalidRequest | ErrorCode::ValidationFailed
            ),
            "{:?}",
            e.code()
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn nik_and_kk_parsing_never_panics_and_round_trips(input in id_like()) {
        if let Ok(nik) = Nik::parse(&input) {
            prop_assert_eq!(nik.expose().len(), 16);
            prop_assert!(nik.expose().bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(Nik::parse(nik.expose()).ok(), Some(nik.clone()));
            prop_assert!(!nik.masked().contains(&nik.expose()[6..12]));
        }
        if let Ok(kk) = KkNumber::parse(&input) {
            prop_assert_eq!(KkNumber::parse(kk.expose()).ok(), Some(kk.clone()));
        }
    }

    #[test]
    fn partner_signature_headers_never_panic(timestamp in any::<String>(), sig in any::<String>()) {
        if let Ok(at) = signature::check_timestamp(&timestamp, now()) {
            prop_assert!((at - now()).num_seconds().abs() <= signature::MAX_SKEW_SECS);
            prop_assert!(timestamp.bytes().all(|b| b.is_ascii_digit()));
        }
        if let Some(parsed) = signature::parse_signature(&sig) {
            prop_assert_eq!(hex::encode(parsed), sig.to_lowercase());
        }
    }

    #[test]
    fn partner_signatures_verify_only_the_signed_request(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        method in "(GET|POST|PUT)",
        path in "/v1/partner/[a-z0-9/?=&-]{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..200),
        flip in any::<prop::sample::Index>(),
    ) {
        let ts = now().timestamp().to_string();
        let payload = signature::signing_payload(&method, &path, &ts, &body);
        let mac = signature::sign(&secret, &payload);
        prop_assert!(signature::verify(&secret, &payload, &mac));
        let mut forged = mac;
        let bit = flip.index(256);
        forged[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!signature::verify(&secret, &payload, &forged));
        let other = signature::signing_payload(&method, &format!("{path}x"), &ts, &body);
        prop_assert!(!signature::verify(&secret, &other, &mac));
    }

    #[test]
    fn callback_signatures_never_panic_and_bind_the_body(
        timestamp in prop_oneof![any::<String>(), (1_784_426_000i64..1_784_426_800).prop_map(|t| t.to_string())],
        sig in prop_oneof![any::<String>(), "[0-9a-f]{64}"],
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let secret = b"webhook secret";
        let _ = verify_callback(secret, &timestamp, &sig, &body, now());
        let at = now().timestamp();
        let good = sign_callback(secret, at, &body);
        prop_assert!(verify_callback(secret, &at.to_string(), &good, &body, now()));
        let mut other = body.clone();
        other.push(b' ');
        prop_assert!(!verify_callback(secret, &at.to_string(), &good, &other, now()));
        prop_assert!(!verify_callback(secret, &(at - 301).to_string(), &sign_callback(secret, at - 301, &body), &body, now()));
    }

    #[test]
    fn money_bodies_parse_or_are_refused_cleanly(bytes in body_like()) {
        parses_or_refuses::<PurchaseRequest>(&bytes)?;
        parses_or_refuses::<CancellationRequest>(&bytes)?;
        parses_or_refuses::<RedemptionRequest>(&bytes)?;
        parses_or_refuses::<CompletionRequest>(&bytes)?;
        parses_or_refuses::<LinkPayoutAccount>(&bytes)?;
        parses_or_refuses::<DisbursementCallback>(&bytes)?;
    }
}
