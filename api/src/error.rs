//! The one API error type, rendered as `application/problem+json` (RFC 9457).
//!
//! [`ErrorCode`] is the closed list of stable, machine-readable codes that clients
//! branch on (API.md). Each code fixes its HTTP status and title in one table, so
//! a code can never be sent with two different statuses. Internal causes are kept
//! for the log and never reach the client.

use std::fmt;

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident => ($status:literal, $code:literal, $title:literal)),+ $(,)?) => {
        /// Stable machine-readable error codes (`code` in every problem body).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $(#[doc = $title] $variant,)+
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The snake_case code string.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The HTTP status this code is always sent with.
            pub fn status(self) -> StatusCode {
                let status = match self { $(ErrorCode::$variant => $status,)+ };
                StatusCode::from_u16(status).expect("error table holds valid statuses")
            }

            /// A short, human-readable summary (`title`).
            pub const fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)+ }
            }
        }
    };
}

error_codes! {
    // Generic (API.md Conventions)
    InvalidRequest => (400, "invalid_request", "The request is malformed"),
    ValidationFailed => (422, "validation_failed", "Some fields are invalid"),
    Unauthenticated => (401, "unauthenticated", "Authentication is required"),
    AccessTokenExpired => (401, "access_token_expired", "The access token has expired"),
    SessionEnded => (401, "session_ended", "The session has ended"),
    Forbidden => (403, "forbidden", "Not allowed"),
    NotFound => (404, "not_found", "Not found"),
    MethodNotAllowed => (405, "method_not_allowed", "Method not allowed"),
    PayloadTooLarge => (413, "payload_too_large", "The request body is too large"),
    UnsupportedMediaType => (415, "unsupported_media_type", "Unsupported content type"),
    RateLimited => (429, "rate_limited", "Too many requests"),
    ServiceUnavailable => (503, "service_unavailable", "The service is temporarily unavailable"),
    InternalError => (500, "internal_error", "Internal server error"),
    // Idempotency-Key layer
    IdempotencyKeyReused => (422, "idempotency_key_reused", "The Idempotency-Key was used with a different request"),
    IdempotencyRequestInProgress => (409, "idempotency_request_in_progress", "A request with this Idempotency-Key is still running"),
    // Accounts and sessions
    EmailTaken => (409, "email_taken", "The email address is already registered"),
    WeakPassword => (422, "weak_password", "The password is too weak"),
    TokenInvalid => (400, "token_invalid", "The token is invalid, used or expired"),
    InvalidCredentials => (401, "invalid_credentials", "Wrong email or password"),
    EmailNotVerified => (403, "email_not_verified", "The email address is not verified yet"),
    AccountBlocked => (403, "account_blocked", "The account is blocked"),
    CaptchaFailed => (400, "captcha_failed", "The captcha check failed"),
    CaptchaUnavailable => (503, "captcha_unavailable", "The captcha service is unavailable"),
    LoginAttemptsExceeded => (429, "login_attempts_exceeded", "Too many wrong passwords"),
    OtpInvalid => (401, "otp_invalid", "The code is wrong"),
    OtpExpired => (401, "otp_expired", "The code has expired"),
    OtpAttemptsExceeded => (429, "otp_attempts_exceeded", "Too many wrong codes"),
    OtpResendLimit => (429, "otp_resend_limit", "Too many codes requested"),
    // OTP module: the purchase code's own send budget (API.md Purchases, further rules)
    OtpSendLimit => (429, "otp_send_limit", "Too many codes sent"),
    RefreshTokenInvalid => (401, "refresh_token_invalid", "The refresh token is invalid"),
    RefreshTokenReused => (401, "refresh_token_reused", "The refresh token was already used"),
    PhoneChangeNotAllowed => (403, "phone_change_not_allowed", "The phone number cannot be changed"),
    PayoutAccountLinked => (409, "payout_account_linked", "Unlink the payout account first"),
    // Registration and identity
    NikInvalid => (422, "nik_invalid", "The NIK is invalid"),
    IdentityMismatch => (422, "identity_mismatch", "The identity does not match the population registry"),
    NikRegistered => (409, "nik_registered", "The NIK is already registered to another account"),
    IdentityAlreadyVerified => (409, "identity_already_verified", "The identity is already verified"),
    RegistryUnavailable => (503, "registry_unavailable", "The population registry is unavailable"),
    IdentityRequired => (409, "identity_required", "Verify the identity first"),
    AddressMismatch => (422, "address_mismatch", "The address differs from the KTP address"),
    FaceLivenessFailed => (422, "face_liveness_failed", "The liveness check failed"),
    FaceServiceUnavailable => (503, "face_service_unavailable", "The face service is unavailable"),
    RegistrationLocked => (409, "registration_locked", "Registration data can no longer be changed"),
    AlreadySubmitted => (409, "already_submitted", "Already submitted"),
    AnswersIncomplete => (422, "answers_incomplete", "Every question must be answered"),
    // Waves, selection, card
    RegistrationIncomplete => (409, "registration_incomplete", "Registration is not complete"),
    NotEligible => (403, "not_eligible", "Not eligible"),
    AlreadyApplied => (409, "already_applied", "An application is already pending"),
    AlreadyBeneficiary => (409, "already_beneficiary", "Already a beneficiary"),
    BatchClosed => (409, "batch_closed", "The wave is not open"),
    BatchRegionMismatch => (403, "batch_region_mismatch", "The wave does not serve this province"),
    BatchNotUpcoming => (409, "batch_not_upcoming", "The wave has already opened"),
    BatchNotClosed => (409, "batch_not_closed", "The wave has not closed yet"),
    SelectionDone => (409, "selection_done", "Selection has already run"),
    SelectionInProgress => (409, "selection_in_progress", "Selection is running"),
    CardNotFound => (404, "card_not_found", "No card"),
    // Ledger: a card debit its balance cannot cover (purchases, API.md)
    InsufficientBalance => (409, "insufficient_balance", "The balance does not cover the price"),
    // Purchases, cancellation, face checks, redemption, completion, review (API.md)
    CourseNotFound => (404, "course_not_found", "No such course at this platform"),
    CardInactive => (409, "card_inactive", "The card is not active"),
    PriceChanged => (409, "price_changed", "The price changed since the code was sent"),
    PlatformUserBoundToOtherCard => (409, "platform_user_bound_to_other_card", "This platform user id already pays with another card"),
    CardBoundToOtherPlatformUser => (409, "card_bound_to_other_platform_user", "This card already pays for another user id of this platform"),
    PurchaseDeadlinePassed => (409, "purchase_deadline_passed", "The deadline for the next purchase has passed"),
    PreviousTrainingUnfinished => (409, "previous_training_unfinished", "The previous training is not completed and reviewed yet"),
    CourseStartsTooSoon => (409, "course_starts_too_soon", "The course starts too soon to be bought"),
    CoursePreviouslyCancelled => (409, "course_previously_cancelled", "This course was cancelled before and cannot be bought again"),
    CancellationWindowClosed => (409, "cancellation_window_closed", "The purchase can no longer be cancelled"),
    AlreadyRedeemed => (409, "already_redeemed", "The training was already joined"),
    AlreadyCancelled => (409, "already_cancelled", "The purchase is already cancelled"),
    FaceAttemptsExceeded => (429, "face_attempts_exceeded", "Too many face checks today"),
    PurchaseClosed => (409, "purchase_closed", "The purchase is expired or completed"),
    RedeemCodeInvalid => (404, "redeem_code_invalid", "Unknown redeem code"),
    RedeemCodeUsed => (409, "redeem_code_used", "The redeem code was already used"),
    PurchaseCancelled => (409, "purchase_cancelled", "The purchase was cancelled"),
    RedemptionWindowClosed => (409, "redemption_window_closed", "Outside the redemption window"),
    FaceVerificationRequired => (409, "face_verification_required", "A passed face check is needed first"),
    NotRedeemed => (409, "not_redeemed", "The training was not redeemed"),
    AlreadyCompleted => (409, "already_completed", "The training is already completed"),
    TrainingNotCompleted => (409, "training_not_completed", "The training is not completed yet"),
    ReviewExists => (409, "review_exists", "The training is already reviewed"),
    // Incentives and surveys (API.md)
    ReauthenticationRequired => (403, "reauthentication_required", "Log in again to change the payout account"),
    PayoutAccountNameMismatch => (422, "payout_account_name_mismatch", "The account holder is not the participant"),
    PayoutAccountInvalid => (422, "payout_account_invalid", "The provider does not know this account"),
    PayoutProviderUnavailable => (503, "payout_provider_unavailable", "The payout provider is unavailable"),
    PayoutInProgress => (409, "payout_in_progress", "A payment to this account is processing"),
    SurveyLocked => (409, "survey_locked", "The survey is not open yet"),
    SurveyCompleted => (409, "survey_completed", "The survey was already answered"),
    // Help: the report form (API.md Help and jobs)
    ReportClosed => (409, "report_closed", "The report is closed"),
    AttachmentsLimit => (409, "attachments_limit", "The report has the most attachments allowed"),
    DocumentsIncomplete => (409, "documents_incomplete", "The identity documents are not all attached"),
    NoNikClaim => (409, "no_nik_claim", "The reporter's account has no refused claim to a NIK"),
    // Signed callers: partner platforms (API.md Conventions) and payout callbacks
    InvalidSignature => (401, "invalid_signature", "The signature is invalid"),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field: `field` is the JSON name, dotted when nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    #[schema(example = "password")]
    pub field: String,
    #[schema(example = "must be at least 8 characters")]
    pub message: String,
}

/// The problem+json body every error response carries.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:prakerja:problem:validation_failed",
    "title": "Some fields are invalid",
    "status": 422,
    "detail": "Fix the fields listed in errors.",
    "code": "validation_failed",
    "errors": [{"field": "email", "message": "not a valid email address"}]
}))]
pub struct Problem {
    /// `urn:prakerja:problem:{code}`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `not_eligible`: the eligibility reason codes that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The error every handler returns.
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    errors: Vec<FieldError>,
    reasons: Vec<String>,
    retry_after_secs: Option<u64>,
    /// Only for the log, never rendered.
    cause: Option<anyhow::Error>,
}

/// Result alias for handlers and domain functions.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with the code's default title as its detail.
    pub fn new(code: ErrorCode) -> Self {
        ApiError {
            code,
            detail: None,
            errors: Vec::new(),
            reasons: Vec::new(),
            retry_after_secs: None,
            cause: None,
        }
    }

    /// Adds a human-readable explanation (never secret data).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds field errors (for 400/422 answers).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds eligibility reason codes (for `not_eligible`).
    pub fn with_reasons(mut self, reasons: Vec<String>) -> Self {
        self.reasons = reasons;
        self
    }

    /// Sets `Retry-After` (seconds, at least 1).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    /// A 422 `validation_failed` for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::ValidationFailed).with_errors(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// A field's text parsed as its type (a vocabulary word of `text_enum!`),
    /// or a 422 naming the field with the parser's message.
    pub fn parse_field<T: std::str::FromStr<Err = String>>(
        field: &str,
        value: &str,
    ) -> Result<T, ApiError> {
        value.parse().map_err(|m: String| ApiError::field(field, m))
    }

    /// A 500 whose cause is logged and hidden from the client.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = ApiError::new(ErrorCode::InternalError);
        e.cause = Some(cause.into());
        e
    }

    /// A 503 with a specific code whose cause is logged.
    pub fn unavailable(code: ErrorCode, cause: impl Into<anyhow::Error>) -> Self {
        let mut e = ApiError::new(code);
        e.cause = Some(cause.into());
        e
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Seconds for `Retry-After`, if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// The body this error renders to.
    pub fn problem(&self) -> Problem {
        let detail = self.detail.clone().unwrap_or_else(|| match self.code {
            ErrorCode::ValidationFailed | ErrorCode::InvalidRequest if !self.errors.is_empty() => {
                "Fix the fields listed in errors.".to_owned()
            }
            code => format!("{}.", code.title()),
        });
        Problem {
            type_uri: format!("urn:prakerja:problem:{}", self.code.as_str()),
            title: self.code.title(),
            status: self.code.status().as_u16(),
            detail,
            code: self.code,
            errors: self.errors.clone(),
            reasons: self.reasons.clone(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause:#}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            // The request span (see telemetry) adds the request id to this line.
            if self.code == ErrorCode::InternalError {
                tracing::error!(code = %self.code, cause = %format!("{cause:#}"), "request failed");
            } else {
                tracing::warn!(code = %self.code, cause = %format!("{cause:#}"), "dependency failed");
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        // Every 429 and 503 says when to come back (API.md); a 429 without a
        // computed wait (a used-up OTP challenge) may retry at once with a new one.
        match (self.retry_after_secs, self.code.status()) {
            (Some(secs), _) => {
                response.insert_header(("Retry-After", secs.to_string()));
            }
            (None, StatusCode::TOO_MANY_REQUESTS) => {
                response.insert_header(("Retry-After", "1"));
            }
            (None, StatusCode::SERVICE_UNAVAILABLE) => {
                response.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        if self.code.status() == StatusCode::UNAUTHORIZED
            && matches!(
                self.code,
                ErrorCode::Unauthenticated
                    | ErrorCode::AccessTokenExpired
                    | ErrorCode::SessionEnded
            )
        {
            // RFC 6750 §3: say which scheme the caller should present.
            let error = if self.code == ErrorCode::Unauthenticated {
                ""
            } else {
                ", error=\"invalid_token\""
            };
            response.insert_header((
                "WWW-Authenticate",
                format!("Bearer realm=\"prakerja\"{error}"),
            ));
        }
        let mut response = response.json(self.problem());
        // For the contract guard (`contract::guard`), which checks every answer
        // against the codes its operation declares.
        response.extensions_mut().insert(self.code);
        response
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::new(ErrorCode::NotFound),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ApiError::unavailable(ErrorCode::ServiceUnavailable, e)
            }
            // statement_timeout and lock timeouts: the database is overloaded, not broken.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info
                    .message()
                    .contains("canceling statement due to statement timeout") =>
            {
                ApiError::unavailable(ErrorCode::ServiceUnavailable, e)
            }
            e => ApiError::internal(e),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        // Pool exhaustion or an unreachable database: tell the client to retry.
        ApiError::unavailable(
            ErrorCode::ServiceUnavailable,
            anyhow::anyhow!("database pool: {e}"),
        )
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_strings() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
        }
    }

    #[test]
    fn problem_body_is_pinned() {
        let err = ApiError::new(ErrorCode::WeakPassword)
            .detail("The password is too common.")
            .with_errors(vec![FieldError {
                field: "password".into(),
                message: "is too common".into(),
            }]);
        insta::assert_json_snapshot!("weak_password_problem", err.problem());
    }

    #[test]
    fn internal_cause_never_reaches_the_body() {
        let err = ApiError::internal(anyhow::anyhow!("relation \"accounts\" does not exist"));
        let body = serde_json::to_string(&err.problem()).unwrap();
        assert!(!body.contains("relation"));
        assert!(body.contains("\"code\":\"internal_error\""));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
