//! Request and response bodies of the account routes (API types, apart from rows).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::Role, card::views::Beneficiary, identity::Gender, otp::IssuedCode,
    registration::views::Registration,
};

/// `POST /v1/accounts`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    #[schema(example = "budi@example.com")]
    #[validate(length(min = 3, max = 254, message = "must be an email address"))]
    pub email: String,
    /// 8 to 128 characters, not a common or breached password.
    #[schema(example = "kopi tubruk pagi hari", format = Password)]
    pub password: String,
}

/// A new account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    pub id: Uuid,
    #[schema(example = "budi@example.com")]
    pub email: String,
    #[schema(example = false)]
    pub email_verified: bool,
}

/// A single-use token from an email link.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"token": "3q2-7wEjX0fVb1Zb0m4oA1mQ8vX6q0s9Wc5eTzY2kLg"}))]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[validate(length(min = 1, max = 200, message = "is required"))]
    pub token: String,
}

/// Result of verifying an email.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailVerified {
    #[schema(example = true)]
    pub email_verified: bool,
}

/// `POST /v1/accounts/email-verification/resend`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    #[schema(example = "budi@example.com")]
    #[validate(length(min = 1, max = 254, message = "is required"))]
    pub email: String,
}

/// The same answer whether or not an account matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    #[schema(example = "accepted")]
    pub status: &'static str,
}

impl Accepted {
    /// The one body of every "202 always" answer.
    pub const BODY: Accepted = Accepted { status: "accepted" };
}

/// Captcha configuration for the login form.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaptchaConfig {
    #[schema(example = "turnstile")]
    pub provider: String,
    pub site_key: String,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(example = "budi@example.com")]
    #[validate(length(min = 1, max = 254, message = "is required"))]
    pub email: String,
    #[schema(format = Password)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub password: String,
    /// Required when `GET /v1/auth/captcha` names a provider.
    pub captcha_token: Option<String>,
}

/// A code was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginChallenge {
    pub challenge_id: Uuid,
    /// Where the code went, masked.
    #[schema(example = "b***@example.com")]
    pub destination: String,
    pub expires_at: DateTime<Utc>,
}

impl From<IssuedCode> for LoginChallenge {
    fn from(code: IssuedCode) -> Self {
        LoginChallenge {
            challenge_id: code.challenge_id,
            destination: code.masked_destination,
            expires_at: code.expires_at,
        }
    }
}

/// `POST /v1/auth/login/verify` and `POST /v1/me/phone/verify`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"challenge_id": "5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11", "code": "123456"}))]
#[serde(deny_unknown_fields)]
pub struct VerifyCode {
    pub challenge_id: Uuid,
    /// The 6-digit code.
    #[schema(example = "123456")]
    #[validate(length(min = 1, max = 12, message = "must be the 6-digit code"))]
    pub code: String,
}

/// `POST /v1/auth/login/resend`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"challenge_id": "5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11"}))]
#[serde(deny_unknown_fields)]
pub struct ResendCode {
    pub challenge_id: Uuid,
}

/// An access and refresh token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Opaque; exchange at `POST /v1/auth/refresh`. Single use: each exchange returns a new one.
    pub refresh_token: String,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"refresh_token": "Vd1c0bX3m7Qz9yK2pW5sR8tU1vN4oL6hJ0gF3eD2cBa"}))]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[validate(length(min = 1, max = 200, message = "is required"))]
    pub refresh_token: String,
}

/// `POST /v1/auth/password-reset`: exactly one of `email`, `nik` + `date_of_birth`,
/// or `phone` + `date_of_birth`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "budi@example.com")]
    pub email: Option<String>,
    #[schema(example = "3174051704950001")]
    pub nik: Option<String>,
    #[schema(example = "+6281234567890")]
    pub phone: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"token": "3q2-7wEjX0fVb1Zb0m4oA1mQ8vX6q0s9Wc5eTzY2kLg", "new_password": "teh manis dingin"}))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    #[validate(length(min = 1, max = 200, message = "is required"))]
    pub token: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// `PUT /v1/me/password`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"current_password": "kopi tubruk pagi hari", "new_password": "teh manis dingin"}))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(format = Password)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub current_password: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// `PUT /v1/me/phone`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPhone {
    /// Indonesian mobile number, E.164 (`+628…`); `08…` is accepted and normalised.
    #[schema(example = "+6281234567890")]
    pub phone: String,
}

/// An SMS code was sent to the new number.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneChallenge {
    pub challenge_id: Uuid,
    #[schema(example = "+62812****7890")]
    pub destination: String,
    pub expires_at: DateTime<Utc>,
}

impl From<IssuedCode> for PhoneChallenge {
    fn from(code: IssuedCode) -> Self {
        PhoneChallenge {
            challenge_id: code.challenge_id,
            destination: code.masked_destination,
            expires_at: code.expires_at,
        }
    }
}

/// The number is verified.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneVerified {
    #[schema(example = "+6281234567890")]
    pub phone: String,
    #[schema(example = true)]
    pub phone_verified: bool,
}

/// Account flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct Flags {
    pub blocked: bool,
    /// "Akun kamu terindikasi melakukan kecurangan": set by repeated failed face checks or an admin.
    pub fraud_suspected: bool,
}

/// `GET /v1/me` (and one account in admin views).
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    pub role: Role,
    /// From the KTP record (null until the identity is verified).
    pub full_name: Option<String>,
    pub gender: Option<Gender>,
    /// E.164 number (null until one is verified).
    pub phone: Option<String>,
    pub phone_verified: bool,
    #[schema(example = "3174********0001")]
    pub nik_masked: Option<String>,
    pub flags: Flags,
    pub registration: Registration,
    pub beneficiary: Option<Beneficiary>,
}
