//! The HMAC scheme of API.md (Conventions: partner platform), as plain functions
//! with no HTTP or database in them, so every signed caller verifies the same way:
//! the partner extractor (`partners::auth`) and the payout provider's webhooks.
//!
//! `X-Signature` = lowercase hex HMAC-SHA256, keyed with the caller's secret (its
//! UTF-8 bytes), over `METHOD\nPATH_WITH_QUERY\nX-Timestamp\nhex(SHA-256(body))`.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How far `X-Timestamp` may be from the server's real time, either way.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

type HmacSha256 = Hmac<Sha256>;

/// The bytes a caller signs: `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nhex(SHA-256(body))`.
/// `timestamp` is the header's text exactly as sent; an empty body hashes as the
/// SHA-256 of zero bytes.
pub fn signing_payload(
    method: &str,
    path_with_query: &str,
    timestamp: &str,
    body: &[u8],
) -> Vec<u8> {
    let body_hash = hex::encode(Sha256::digest(body));
    format!("{method}\n{path_with_query}\n{timestamp}\n{body_hash}").into_bytes()
}

/// HMAC-SHA256 of `payload` under `key`.
pub fn sign(key: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// Whether `signature` is the HMAC of `payload` under `key`, compared in
/// constant time (the time taken says nothing about how many bytes matched).
pub fn verify(key: &[u8], payload: &[u8], signature: &[u8; 32]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(payload);
    mac.verify_slice(signature).is_ok()
}

/// Decodes an `X-Signature` value: exactly 64 hex digits (lowercase as sent by
/// the scheme; uppercase is read the same).
pub fn parse_signature(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Why an `X-Timestamp` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    /// Not unix seconds (digits only, at most 13 of them).
    Malformed,
    /// More than [`MAX_SKEW_SECS`] before or after `now`.
    OutsideWindow,
}

/// Parses `X-Timestamp` (unix seconds) and checks it is within
/// [`MAX_SKEW_SECS`] of `now`, which must be real time (API.md: Time), never the
/// settable sandbox clock: a replay window that a clock change could reopen
/// would protect nothing.
pub fn check_timestamp(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimestampError> {
    if text.is_empty() || text.len() > 13 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimestampError::Malformed);
    }
    let secs: i64 = text.parse().map_err(|_| TimestampError::Malformed)?;
    let at = DateTime::from_timestamp(secs, 0).ok_or(TimestampError::Malformed)?;
    if (secs - now.timestamp()).abs() > MAX_SKEW_SECS {
        return Err(TimestampError::OutsideWindow);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_the_four_lines_of_api_md() {
        let payload = signing_payload("PUT", "/v1/partner/courses/k-1?x=1", "1764635400", b"");
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            "PUT\n/v1/partner/courses/k-1?x=1\n1764635400\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &mac));
        let mut wrong = mac;
        wrong[31] ^= 1;
        assert!(!verify(b"Jefe", b"what do ya want for nothing?", &wrong));
        assert!(!verify(b"Jeff", b"what do ya want for nothing?", &mac));
    }

    #[test]
    fn signature_is_64_hex_digits() {
        let hex64 = "ab".repeat(32);
        assert_eq!(parse_signature(&hex64), Some([0xab; 32]));
        assert_eq!(parse_signature(&hex64[..62]), None);
        assert_eq!(parse_signature(&format!("{hex64}00")), None);
        assert_eq!(parse_signature(&"zz".repeat(32)), None);
        assert_eq!(parse_signature(""), None);
    }

    #[test]
    fn timestamp_window_is_five_minutes_either_way() {
        let now = DateTime::from_timestamp(1_764_635_400, 0).unwrap();
        let at = |d: i64| (now.timestamp() + d).to_string();
        assert!(check_timestamp(&at(0), now).is_ok());
        assert!(check_timestamp(&at(-300), now).is_ok());
        assert!(check_timestamp(&at(300), now).is_ok());
        assert_eq!(
            check_timestamp(&at(-301), now),
            Err(TimestampError::OutsideWindow)
        );
        assert_eq!(
            check_timestamp(&at(301), now),
            Err(TimestampError::OutsideWindow)
        );
        for bad in [
            "",
            "-1",
            "+1764635400",
            "1764635400.0",
            " 1764635400",
            "1e9",
            "12345678901234",
        ] {
            assert_eq!(
                check_timestamp(bad, now),
                Err(TimestampError::Malformed),
                "{bad:?}"
            );
        }
        // Milliseconds are a common mistake: far outside the window, not malformed.
        assert_eq!(
            check_timestamp(&(now.timestamp() * 1000).to_string(), now),
            Err(TimestampError::OutsideWindow)
        );
    }
}
