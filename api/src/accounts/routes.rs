//! Handlers of the account and session routes: extract, call the flow, answer.

use actix_web::{get, post, put, web, HttpResponse};

use super::{
    login as login_flow, me as me_view, phone, recovery, recovery::ResetBy, sessions, signup,
    views::*, Deps,
};
use crate::{
    auth::Authenticated,
    contract::Operation,
    error::{ApiResult, ErrorCode},
    http::{Caller, JsonBody},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see
/// `contract`): the OpenAPI document lists them per status, and the contract
/// guard refuses any other.
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new("sign_up", &[EmailTaken, WeakPassword]),
        Operation::new("verify_email", &[TokenInvalid]),
        Operation::new("resend_verification", &[]),
        Operation::new("get_captcha", &[]).without_database(),
        Operation::new(
            "login",
            &[
                CaptchaFailed,
                InvalidCredentials,
                EmailNotVerified,
                AccountBlocked,
                LoginAttemptsExceeded,
                OtpResendLimit,
                CaptchaUnavailable,
            ],
        ),
        Operation::new(
            "verify_login",
            &[OtpInvalid, OtpExpired, AccountBlocked, OtpAttemptsExceeded],
        ),
        Operation::new(
            "resend_login",
            &[OtpInvalid, OtpExpired, OtpAttemptsExceeded, OtpResendLimit],
        ),
        Operation::new("refresh", &[RefreshTokenInvalid, RefreshTokenReused]),
        Operation::new("logout", &[]),
        Operation::new("request_password_reset", &[]),
        Operation::new("confirm_password_reset", &[TokenInvalid, WeakPassword]),
        Operation::new("get_me", &[]),
        Operation::new(
            "change_password",
            &[InvalidCredentials, WeakPassword, LoginAttemptsExceeded],
        ),
        Operation::new(
            "set_phone",
            &[PhoneChangeNotAllowed, PayoutAccountLinked, OtpResendLimit],
        )
        .participant_only(),
        Operation::new(
            "verify_phone",
            &[
                OtpInvalid,
                OtpExpired,
                PhoneChangeNotAllowed,
                PayoutAccountLinked,
                OtpAttemptsExceeded,
            ],
        )
        .participant_only(),
    ]
};

/// What the account flows borrow from the state.
fn deps(state: &AppState) -> Deps<'_> {
    Deps {
        clock: &state.clock,
        settings: &state.settings,
        secrets: &state.secrets,
        passwords: &state.passwords,
        tokens: &state.tokens,
        pii: &state.pii,
        blind: &state.blind,
        http: &state.http,
    }
}

/// Create an account
///
/// Creates an account (participant) and emails a verification link (valid 24 h).
/// The account cannot log in until the email is verified. Limited per client IP.
#[utoipa::path(
    tag = "accounts",
    request_body = SignUp,
    responses(
        (status = 201, body = AccountCreated),
    )
)]
#[post("/accounts")]
pub async fn sign_up(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<SignUp>,
) -> ApiResult<HttpResponse> {
    let created = signup::sign_up(
        &state.db,
        deps(&state),
        &caller,
        &body.0.email,
        &body.0.password,
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Verify the email address
///
/// Verifies the email address with the token from the verification email.
///
/// The token is single use; an unknown, used or expired one answers 400
/// `token_invalid`.
#[utoipa::path(
    tag = "accounts",
    request_body = TokenBody,
    responses(
        (status = 200, body = EmailVerified),
    )
)]
#[post("/accounts/email-verification")]
pub async fn verify_email(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<TokenBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    signup::verify_email(&mut conn, deps(&state), &caller, &body.0.token).await?;
    Ok(HttpResponse::Ok().json(EmailVerified {
        email_verified: true,
    }))
}

/// Resend the verification email
///
/// Asks for a new verification email. Always 202 with the same body, whether or
/// not an unverified account has this address; a new link replaces older ones.
/// At most 5 per address per hour.
#[utoipa::path(
    tag = "accounts",
    request_body = EmailBody,
    responses(
        (status = 202, body = Accepted),
    )
)]
#[post("/accounts/email-verification/resend")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<EmailBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    signup::resend_verification(&mut conn, deps(&state), &caller, &body.0.email).await?;
    Ok(HttpResponse::Accepted().json(Accepted::BODY))
}

/// Captcha configuration of the login form
///
/// The captcha the login form must show, or `null` when none is asked
/// (always null in sandbox).
#[utoipa::path( operation_id = "get_captcha",tag = "accounts", responses((status = 200, body = Option<CaptchaConfig>)))]
#[get("/auth/captcha")]
pub async fn captcha(state: web::Data<AppState>) -> HttpResponse {
    let config = state.settings.captcha.as_ref().map(|c| CaptchaConfig {
        provider: c.provider.clone(),
        site_key: c.site_key.clone(),
    });
    HttpResponse::Ok().json(config)
}

/// Log in, step 1: email and password
///
/// Login step 1: email and password (plus `captcha_token` when a captcha is
/// configured). On success a 6-digit code valid 5 minutes goes to the email; a
/// newer code replaces older ones. `email_not_verified` and `account_blocked`
/// are answered only after a correct password. 10 wrong passwords for one
/// address within 15 minutes lock login until 15 minutes after the last.
#[utoipa::path(
    tag = "accounts",
    request_body = Login,
    responses(
        (status = 200, body = LoginChallenge),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<Login>,
) -> ApiResult<HttpResponse> {
    let Login {
        email,
        password,
        captcha_token,
    } = body.0;
    let challenge = login_flow::login(
        &state.db,
        deps(&state),
        &caller,
        &email,
        &password,
        captcha_token.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(challenge))
}

/// Log in, step 2: the emailed code
///
/// Login step 2: the emailed code. Wrong guesses count per challenge (a resend
/// keeps the count): the 6th answer is 429 `otp_attempts_exceeded`, even for the
/// right code. Across all its challenges an account gets at most 10 wrong
/// guesses in any 2 hours. Of concurrent verifications exactly one succeeds.
#[utoipa::path(
    tag = "accounts",
    request_body = VerifyCode,
    responses(
        (status = 200, body = TokenPair),
    )
)]
#[post("/auth/login/verify")]
pub async fn verify_login(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<VerifyCode>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let pair = login_flow::verify_login(
        &mut conn,
        deps(&state),
        &caller,
        body.0.challenge_id,
        &body.0.code,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Resend the login code
///
/// Sends a new code for the same challenge (the old code stops working). At most
/// 5 resends per account in any 2 hours, and 10 codes in all.
#[utoipa::path(
    tag = "accounts",
    request_body = ResendCode,
    responses(
        (status = 200, body = LoginChallenge),
    )
)]
#[post("/auth/login/resend")]
pub async fn resend_login(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<ResendCode>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let challenge =
        login_flow::resend_login(&mut conn, deps(&state), &caller, body.0.challenge_id).await?;
    Ok(HttpResponse::Ok().json(challenge))
}

/// Refresh the token pair
///
/// Exchanges a refresh token for a new token pair. Refresh tokens are single
/// use: presenting one that was already exchanged ends the whole session
/// (`refresh_token_reused`), as someone else may hold a copy.
#[utoipa::path(
    tag = "accounts",
    request_body = RefreshBody,
    responses(
        (status = 200, body = TokenPair),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<RefreshBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let pair = sessions::refresh(&mut conn, deps(&state), &caller, &body.0.refresh_token).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Log out
///
/// Ends the session of this refresh token; its access tokens are refused at once.
/// Answers 204 also for an unknown or already ended token.
#[utoipa::path(tag = "accounts", request_body = RefreshBody, responses((status = 204, description = "Logged out")))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<RefreshBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    sessions::logout(&mut conn, deps(&state), &caller, &body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Request a password reset link
///
/// Asks for a password reset link: by `email`, or `nik` + `date_of_birth`, or
/// `phone` + `date_of_birth`. The link (valid 1 hour) goes by email, and for the
/// NIK and phone forms also by SMS with the masked email. Always 202 with the
/// same body, whether or not an account matched.
#[utoipa::path(
    tag = "accounts",
    request_body = PasswordResetForms,
    responses(
        (status = 202, body = Accepted),
    )
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let by = ResetBy::parse(&body.0)?;
    let mut conn = state.db.get().await?;
    recovery::request_password_reset(&mut conn, deps(&state), &caller, by).await?;
    Ok(HttpResponse::Accepted().json(Accepted::BODY))
}

/// Set a new password from a reset link
///
/// Sets a new password with the token from the reset link. Every session of the
/// account ends.
#[utoipa::path(
    tag = "accounts",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed"),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    recovery::confirm_password_reset(
        &state.db,
        deps(&state),
        &caller,
        &body.0.token,
        &body.0.new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account
///
/// The caller's account: profile, flags, registration progress and beneficiary summary,
/// and `data_review_due` (the yearly data check).
///
/// `null` where a value is not known yet (no verified identity, no phone, not a
/// beneficiary).
#[utoipa::path(
    operation_id = "get_me",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
    )
)]
#[get("/me")]
pub async fn me(auth: Authenticated, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let today = state.clock.today_jakarta();
    Ok(HttpResponse::Ok().json(me_view::me(&mut conn, &state.pii, &auth.0, today).await?))
}

/// Change the password
///
/// Changes the password (current and new). The caller's other sessions end.
///
/// A wrong current password counts towards the account's login lock-out (10 in 15
/// minutes, then 429 `login_attempts_exceeded`).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Password changed"),
    )
)]
#[put("/me/password")]
pub async fn change_password(
    auth: Authenticated,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<ChangePassword>,
) -> ApiResult<HttpResponse> {
    recovery::change_password(
        &state.db,
        deps(&state),
        &caller,
        &auth.0,
        &body.0.current_password,
        &body.0.new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start verifying a phone number
///
/// Starts verifying a mobile number: a 6-digit code by SMS to it. A verified
/// number may be replaced only by a beneficiary of the current year with no
/// payout account linked.
///
/// Codes count against the account's budget (10 in any 2 hours, then 429
/// `otp_resend_limit`), and one number receives at most 50 SMS in any hour whichever
/// accounts ask (then 429 `rate_limited` with Retry-After).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = SetPhone,
    responses(
        (status = 202, body = PhoneChallenge),
    )
)]
#[put("/me/phone")]
pub async fn set_phone(
    auth: Authenticated,
    state: web::Data<AppState>,
    body: JsonBody<SetPhone>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let challenge =
        phone::start_phone_change(&mut conn, deps(&state), &auth.0, &body.0.phone).await?;
    Ok(HttpResponse::Accepted().json(challenge))
}

/// Confirm the phone number
///
/// Confirms the SMS code; the number becomes the verified phone of the account.
///
/// Wrong codes count per challenge: the 6th answer is 429 `otp_attempts_exceeded`.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = VerifyCode,
    responses(
        (status = 200, body = PhoneVerified),
    )
)]
#[post("/me/phone/verify")]
pub async fn verify_phone(
    auth: Authenticated,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<VerifyCode>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let verified = phone::verify_phone(
        &mut conn,
        deps(&state),
        &caller,
        &auth.0,
        body.0.challenge_id,
        &body.0.code,
    )
    .await?;
    Ok(HttpResponse::Ok().json(verified))
}
