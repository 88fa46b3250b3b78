//! Access tokens: HS256 JWTs, algorithm pinned, `iss`/`aud`/`exp` checked, a
//! `typ` claim so no other token kind can pass as an access token. They carry
//! the session id; the session itself is checked on every request. Lifetimes use
//! real time, never the sandbox clock (API.md: Time).

use chrono::Utc;
use jsonwebtoken::{
    decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Settings;

const ACCESS_TYP: &str = "access";

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// Account id.
    pub sub: Uuid,
    /// Session id.
    pub sid: Uuid,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Issues and checks access tokens.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl TokenIssuer {
    /// From JWT_SIGNING_KEY, JWT_ISSUER, JWT_AUDIENCE, ACCESS_TOKEN_TTL_SECONDS
    /// and JWT_LEEWAY_SECONDS.
    pub fn new(settings: &Settings) -> Self {
        let key = settings.jwt_signing_key.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.jwt_issuer.as_str()]);
        validation.set_audience(&[settings.jwt_audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = settings.jwt_leeway.as_secs();
        TokenIssuer {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            ttl_secs: settings.access_token_ttl.as_secs() as i64,
        }
    }

    /// Lifetime of an access token in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs an access token for a session, issued now (real time).
    pub fn issue(&self, account_id: Uuid, session_id: Uuid) -> anyhow::Result<String> {
        self.issue_at(account_id, session_id, Utc::now().timestamp())
    }

    /// Signs an access token as if issued at `issued_at` (unix seconds), so a
    /// test can hold a token that has already expired without waiting for it.
    pub fn issue_at(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        issued_at: i64,
    ) -> anyhow::Result<String> {
        let now = issued_at;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account_id,
            sid: session_id,
            typ: ACCESS_TYP.to_owned(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and kind.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == ACCESS_TYP => Ok(data.claims),
            Ok(_) => Err(TokenError::Invalid),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(TokenError::Expired),
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn issuer(key: &str) -> TokenIssuer {
        let vars: HashMap<String, String> = [
            ("APP_ENV", "sandbox"),
            ("DATABASE_URL", "postgres://x/y"),
            ("JWT_SIGNING_KEY", key),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        TokenIssuer::new(&Settings::from_map(&vars).unwrap())
    }

    #[test]
    fn issued_token_verifies() {
        let t = issuer(&"a".repeat(32));
        let (acct, sid) = (Uuid::new_v4(), Uuid::new_v4());
        let claims = t.verify(&t.issue(acct, sid).unwrap()).unwrap();
        assert_eq!((claims.sub, claims.sid), (acct, sid));
    }

    #[test]
    fn wrong_key_none_alg_and_tampering_are_refused() {
        let t = issuer(&"a".repeat(32));
        let other = issuer(&"b".repeat(32));
        let token = other.issue(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        assert_eq!(t.verify(&token).err(), Some(TokenError::Invalid));
        // alg "none": header {"alg":"none","typ":"JWT"}, same claims, empty signature.
        let good = t.issue(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        let payload = good.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(t.verify(&none).err(), Some(TokenError::Invalid));
        let mut tampered = good.clone();
        tampered.insert(good.find('.').unwrap() + 3, 'x');
        assert_eq!(t.verify(&tampered).err(), Some(TokenError::Invalid));
    }

    #[test]
    fn expired_token_says_expired() {
        let t = issuer(&"a".repeat(32));
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: "prakerja-api".into(),
            aud: "prakerja-app".into(),
            sub: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            typ: "access".into(),
            iat: now - 1000,
            exp: now - 100,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &t.encoding).unwrap();
        assert_eq!(t.verify(&token).err(), Some(TokenError::Expired));
    }

    #[test]
    fn wrong_audience_or_kind_is_refused() {
        let t = issuer(&"a".repeat(32));
        let now = Utc::now().timestamp();
        for (aud, typ) in [("someone-else", "access"), ("prakerja-app", "refresh")] {
            let claims = Claims {
                iss: "prakerja-api".into(),
                aud: aud.into(),
                sub: Uuid::new_v4(),
                sid: Uuid::new_v4(),
                typ: typ.into(),
                iat: now,
                exp: now + 100,
            };
            let token = encode(&Header::new(Algorithm::HS256), &claims, &t.encoding).unwrap();
            assert_eq!(
                t.verify(&token).err(),
                Some(TokenError::Invalid),
                "{aud} {typ}"
            );
        }
    }
}
