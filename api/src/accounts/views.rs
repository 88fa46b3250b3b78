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
    /// Compared case-insensitively; surrounding spaces are ignored.
    #[schema(example = "budi@example.com", format = Email, min_length = 3, max_length = 254)]
    #[validate(length(min = 3, max = 254, message = "must be an email address"))]
    pub email: String,
    /// 8 to 128 characters, not a common or breached password and not containing
    /// the email address (else 422 `weak_password`, which no schema can express).
    #[schema(example = "kopi tubruk pagi hari", format = Password, min_length = 8, max_length = 128)]
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
    #[schema(min_length = 1, max_length = 200)]
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
    #[schema(example = "budi@example.com", format = Email, min_length = 1, max_length = 254)]
    #[validate(length(min = 1, max = 254, message = "is required"))]
    pub email: String,
}

/// The same answer whether or not an account matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    #[schema(example = "accepted", pattern = "^accepted$")]
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
    /// An address that is not a valid email answers 401 `invalid_credentials`, like an unknown one.
    #[schema(example = "budi@example.com", format = Email, min_length = 1, max_length = 254)]
    #[validate(length(min = 1, max = 254, message = "is required"))]
    pub email: String,
    #[schema(format = Password, example = "kopi tubruk pagi hari", min_length = 1, max_length = 1024)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub password: String,
    /// Required when `GET /v1/auth/captcha` names a provider (never in sandbox).
    #[schema(max_length = 4096)]
    #[validate(length(max = 4096, message = "must be at most 4096 characters"))]
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
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
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
    #[schema(example = "Bearer", value_type = String, pattern = "^Bearer$")]
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
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "is required"))]
    pub refresh_token: String,
}

/// What `parse_phone` accepts, as a pattern (written out in the schema
/// attributes below, which take literals only; a test keeps them equal): `+62`, `62` or `0`, then `8` and 8
/// to 11 more digits, with spaces and dashes allowed anywhere.
pub const PHONE_PATTERN: &str = r"^[ -]*(\+[ -]*6[ -]*2|6[ -]*2|0)[ -]*8([ -]*[0-9]){8,11}[ -]*$";

/// `POST /v1/auth/password-reset` as the server reads it; the document shows
/// [`PasswordResetForms`], its three exclusive shapes.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: Option<String>,
    pub nik: Option<String>,
    pub phone: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
}

/// `POST /v1/auth/password-reset`: exactly one of three forms (anything else is
/// 422 `validation_failed`). The link goes by email; for the NIK and phone forms
/// also by SMS to the verified phone, with the masked email.
#[derive(Deserialize, ToSchema)]
#[schema(as = PasswordResetRequest)]
#[serde(untagged)]
#[allow(dead_code)] // a document type: the server reads `PasswordResetRequest`
pub enum PasswordResetForms {
    ByEmail(ResetByEmail),
    ByNik(ResetByNik),
    ByPhone(ResetByPhone),
}

/// Reset by the account's email address.
#[derive(Deserialize, ToSchema)]
#[schema(title = "By email", example = json!({"email": "budi@example.com"}))]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ResetByEmail {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
}

/// Reset by the NIK of the verified identity and the date of birth.
#[derive(Deserialize, ToSchema)]
#[schema(title = "By NIK", example = json!({"nik": "3174055704950001", "date_of_birth": "1995-04-17"}))]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ResetByNik {
    /// 16 digits.
    #[schema(pattern = "^[0-9]{16}$")]
    pub nik: String,
    pub date_of_birth: NaiveDate,
}

/// Reset by the verified phone number and the date of birth.
#[derive(Deserialize, ToSchema)]
#[schema(title = "By phone", example = json!({"phone": "+6281234567890", "date_of_birth": "1995-04-17"}))]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ResetByPhone {
    /// As for `PUT /v1/me/phone`.
    #[schema(pattern = r"^[ -]*(\+[ -]*6[ -]*2|6[ -]*2|0)[ -]*8([ -]*[0-9]){8,11}[ -]*$")]
    pub phone: String,
    pub date_of_birth: NaiveDate,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"token": "3q2-7wEjX0fVb1Zb0m4oA1mQ8vX6q0s9Wc5eTzY2kLg", "new_password": "teh manis dingin"}))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "is required"))]
    pub token: String,
    /// 8 to 128 characters, not a common or breached password (else 422 `weak_password`).
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `PUT /v1/me/password`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"current_password": "kopi tubruk pagi hari", "new_password": "teh manis dingin"}))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(format = Password, min_length = 1, max_length = 1024)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub current_password: String,
    /// 8 to 128 characters, not a common or breached password (else 422 `weak_password`).
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `PUT /v1/me/phone`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPhone {
    /// Indonesian mobile number, E.164 (`+628…`, 9 to 12 digits after `+62`);
    /// `628…` and `08…`, and spaces or dashes anywhere, are accepted and normalised.
    #[schema(
        example = "+6281234567890",
        pattern = r"^[ -]*(\+[ -]*6[ -]*2|6[ -]*2|0)[ -]*8([ -]*[0-9]){8,11}[ -]*$"
    )]
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
    /// DOMAIN.md §11, the yearly data check: true for a participant registered
    /// in an earlier Asia/Jakarta year (service clock) who has not confirmed
    /// their personal data this year. The app then asks them to check profile,
    /// domicile, education and occupation against their current KTP, and
    /// `PUT /v1/me/profile` (changes) or `POST /v1/me/data-review` (no
    /// changes) clears it until next year. Always false for admins.
    #[schema(example = false)]
    pub data_review_due: bool,
}
