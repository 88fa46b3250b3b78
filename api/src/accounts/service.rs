//! The account flows of DOMAIN.md §1: sign-up, email verification, two-step
//! login, sessions with rotating refresh tokens, password change and reset,
//! and phone verification. Each flow runs its writes, its audit row and its
//! outgoing message in one transaction.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    email::Email,
    model::{self, Account, EndReason, TokenPurpose},
    otp::{self, Purpose, Verdict},
    password,
    rules::{
        self, LOGIN_FAILURES, RESET_REQUESTS, RESET_TOKEN_TTL, VERIFICATION_RESENDS,
        VERIFICATION_TOKEN_TTL,
    },
    secrets,
    views::{self, AccountCreated, LoginChallenge, PhoneChallenge, PhoneVerified, TokenPair},
};
use crate::{
    app::AppState,
    audit::{self, Action, Event, Origin},
    auth::{Principal, Role},
    db::schema::{refresh_tokens, sessions},
    error::{ApiError, ErrorCode},
    integrations::captcha,
    notifications::{self, Channel, Message},
    ratelimit::{self, Limit},
    registration,
};

/// Who is asking, for limits and audit rows.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ip: IpAddr,
    pub origin: Origin,
}

/// Per-IP limit on an anonymous route (API.md: at least 300 a minute by default,
/// so carrier-grade NAT does not lock out thousands of phones behind one address).
async fn ip_limit(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    scope: &str,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let limit = Limit {
        max: i64::from(state.settings.rate_limit_ip_per_minute),
        window: TimeDelta::minutes(1),
    };
    ratelimit::hit(conn, &format!("ip:{scope}:{ip}"), limit, now)
        .await?
        .map_err(ApiError::from)
}

fn parse_email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|m| ApiError::field("email", m))
}

fn link(state: &AppState, path: &str, token: &str) -> String {
    let mut url = state.settings.web_base_url.clone();
    url.set_path(path);
    url.query_pairs_mut().append_pair("token", token);
    url.to_string()
}

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Creates an account and sends the verification email.
pub async fn sign_up(
    state: &AppState,
    caller: &Caller,
    email: &str,
    password: &str,
) -> Result<AccountCreated, ApiError> {
    let email = parse_email(email)?;
    password::check_policy(password, email.as_str())?;
    let now = state.clock.now();
    {
        let mut conn = state.db.get().await?;
        ip_limit(state, &mut conn, "signup", caller.ip, now).await?;
    }
    let hash = state.passwords.hash(password).await?;
    let id = Uuid::new_v4();
    let token = secrets::random_token();
    let token_hash = state
        .secrets
        .hash(TokenPurpose::EmailVerification.as_str(), &token);
    let message = Message::EmailVerification {
        link: link(state, "/verifikasi-email", &token),
        token,
    };
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert(
            conn,
            id,
            email.as_str(),
            &hash,
            Role::Participant.as_str(),
            None,
            now,
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::new(ErrorCode::EmailTaken).detail(
                    "An account with this email already exists; log in or reset the password.",
                )
            } else {
                e.into()
            }
        })?;
        model::insert_token(
            conn,
            id,
            TokenPurpose::EmailVerification,
            &token_hash,
            now + VERIFICATION_TOKEN_TTL,
            now,
        )
        .await?;
        notifications::enqueue(conn, now, Channel::Email, email.as_str(), &message).await?;
        audit::record(
            conn,
            now,
            &caller.origin,
            Event::own(id, Action::AccountCreated),
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(AccountCreated {
        id,
        email: email.as_str().to_owned(),
        email_verified: false,
    })
}

/// Marks the email verified with a token from the verification email.
pub async fn verify_email(state: &AppState, caller: &Caller, token: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    let hash = state
        .secrets
        .hash(TokenPurpose::EmailVerification.as_str(), token);
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let account_id = model::consume_token(conn, TokenPurpose::EmailVerification, &hash, now)
            .await?
            .ok_or_else(|| {
                ApiError::new(ErrorCode::TokenInvalid)
                    .detail("The link is invalid, used or expired; ask for a new one.")
            })?;
        diesel::update(crate::db::schema::accounts::table.find(account_id))
            .filter(crate::db::schema::accounts::email_verified_at.is_null())
            .set((
                crate::db::schema::accounts::email_verified_at.eq(now),
                crate::db::schema::accounts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            now,
            &caller.origin,
            Event::own(account_id, Action::EmailVerified),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Sends a new verification email if the address belongs to an unverified account.
/// Answers the same either way; limited per address (hashed) and per IP.
pub async fn resend_verification(
    state: &AppState,
    caller: &Caller,
    email: &str,
) -> Result<(), ApiError> {
    let email = parse_email(email)?;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    ip_limit(state, &mut conn, "verification", caller.ip, now).await?;
    let bucket = format!(
        "verify_resend:{}",
        state.secrets.bucket_id("email", email.as_str())
    );
    ratelimit::hit(&mut conn, &bucket, VERIFICATION_RESENDS, now)
        .await?
        .map_err(ApiError::from)?;
    let Some(account) = model::find_by_email(&mut conn, email.as_str()).await? else {
        return Ok(());
    };
    if account.email_verified() {
        return Ok(());
    }
    let token = secrets::random_token();
    let token_hash = state
        .secrets
        .hash(TokenPurpose::EmailVerification.as_str(), &token);
    let message = Message::EmailVerification {
        link: link(state, "/verifikasi-email", &token),
        token,
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert_token(
            conn,
            account.id,
            TokenPurpose::EmailVerification,
            &token_hash,
            now + VERIFICATION_TOKEN_TTL,
            now,
        )
        .await?;
        notifications::enqueue(conn, now, Channel::Email, &account.email, &message).await?;
        Ok(())
    })
    .await
}

/// Login step 1: email + password (+ captcha), then a code by email.
pub async fn login(
    state: &AppState,
    caller: &Caller,
    email: &str,
    password: &str,
    captcha_token: Option<&str>,
) -> Result<LoginChallenge, ApiError> {
    let now = state.clock.now();
    {
        let mut conn = state.db.get().await?;
        ip_limit(state, &mut conn, "login", caller.ip, now).await?;
    }
    if let Some(settings) = &state.settings.captcha {
        captcha::verify(&state.http, settings, captcha_token).await?;
    }
    let email = parse_email(email).map_err(|_| ApiError::new(ErrorCode::InvalidCredentials))?;
    // Keyed by the address, so unknown addresses lock out like known ones and
    // the lock-out reveals nothing about which accounts exist.
    let failures = format!(
        "login_fail:{}",
        state.secrets.bucket_id("email", email.as_str())
    );
    let ip_failures = format!("login_fail_ip:{}", caller.ip);
    let mut conn = state.db.get().await?;
    if let Err(e) = ratelimit::lockout(&mut conn, &failures, LOGIN_FAILURES, now).await? {
        return Err(e
            .into_error(ErrorCode::LoginAttemptsExceeded)
            .detail("Too many wrong passwords; wait for the time in Retry-After."));
    }
    // Per minute, like every per-IP limit: thousands of phones behind one
    // carrier-grade NAT address must not lock each other out for long.
    let ip_failure_limit = Limit {
        max: i64::from(state.settings.rate_limit_ip_per_minute),
        window: TimeDelta::minutes(1),
    };
    ratelimit::check(&mut conn, &ip_failures, ip_failure_limit, now)
        .await?
        .map_err(ApiError::from)?;
    let account = model::find_by_email(&mut conn, email.as_str()).await?;
    drop(conn);
    let ok = state
        .passwords
        .verify(password, account.as_ref().map(|a| a.password_hash.as_str()))
        .await?;
    let mut conn = state.db.get().await?;
    let account = match (ok, account) {
        (true, Some(account)) => account,
        (_, account) => {
            let subject = account.map(|a| a.id);
            conn.transaction::<_, ApiError, _>(async |conn| {
                ratelimit::record(conn, &failures, now).await?;
                ratelimit::record(conn, &ip_failures, now).await?;
                let locked = ratelimit::lockout(conn, &failures, LOGIN_FAILURES, now)
                    .await?
                    .is_err();
                if let Some(id) = subject {
                    audit::record(
                        conn,
                        now,
                        &caller.origin,
                        Event::about(id, Action::LoginFailed),
                    )
                    .await?;
                    if locked {
                        audit::record(
                            conn,
                            now,
                            &caller.origin,
                            Event::about(id, Action::LoginLockedOut),
                        )
                        .await?;
                    }
                }
                Ok(())
            })
            .await?;
            return Err(
                ApiError::new(ErrorCode::InvalidCredentials).detail("Wrong email or password.")
            );
        }
    };
    // Only a caller who knows the password learns these states (API.md).
    if !account.email_verified() {
        return Err(ApiError::new(ErrorCode::EmailNotVerified)
            .detail("Verify the email address first; the link was sent at sign-up."));
    }
    if account.blocked() {
        return Err(ApiError::new(ErrorCode::AccountBlocked)
            .detail("The account is blocked by the programme office."));
    }
    ratelimit::clear(&mut conn, &failures).await?;
    otp::ensure_may_send(&mut conn, account.id, now).await?;
    let challenge = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (challenge, code) = otp::create(
                conn,
                &state.secrets,
                account.id,
                Purpose::Login,
                &account.email,
                now,
            )
            .await?;
            notifications::enqueue(
                conn,
                now,
                Channel::Email,
                &account.email,
                &Message::LoginOtp { code },
            )
            .await?;
            Ok(challenge)
        })
        .await?;
    Ok(LoginChallenge {
        challenge_id: challenge.id,
        destination: super::email::mask_email(&account.email),
        expires_at: challenge.expires_at,
    })
}

/// Login step 2: the emailed code; opens a session.
pub async fn verify_login(
    state: &AppState,
    caller: &Caller,
    challenge_id: Uuid,
    code: &str,
) -> Result<TokenPair, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            match otp::verify(
                conn,
                &state.secrets,
                &caller.origin,
                challenge_id,
                Purpose::Login,
                None,
                code,
                now,
            )
            .await?
            {
                Verdict::Refused(error) => Ok(Err(error)),
                Verdict::Accepted(challenge) => {
                    let account = model::find_for_update(conn, challenge.account_id).await?;
                    if account.blocked() {
                        return Ok(Err(ApiError::new(ErrorCode::AccountBlocked)));
                    }
                    let (session_id, refresh) =
                        open_session(state, conn, account.id, caller).await?;
                    audit::record(
                        conn,
                        now,
                        &caller.origin,
                        Event::own(account.id, Action::LoginSucceeded),
                    )
                    .await?;
                    Ok(Ok((account.id, session_id, refresh)))
                }
            }
        })
        .await?;
    let (account_id, session_id, refresh_token) = outcome?;
    token_pair(state, account_id, session_id, refresh_token)
}

/// Sends a new login code for the same challenge.
pub async fn resend_login(
    state: &AppState,
    caller: &Caller,
    challenge_id: Uuid,
) -> Result<LoginChallenge, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    ip_limit(state, &mut conn, "login", caller.ip, now).await?;
    let challenge = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (challenge, code) = otp::resend(
                conn,
                &state.secrets,
                challenge_id,
                Purpose::Login,
                None,
                now,
            )
            .await?;
            notifications::enqueue(
                conn,
                now,
                Channel::Email,
                &challenge.destination,
                &Message::LoginOtp { code },
            )
            .await?;
            Ok(challenge)
        })
        .await?;
    Ok(LoginChallenge {
        challenge_id: challenge.id,
        destination: super::email::mask_email(&challenge.destination),
        expires_at: challenge.expires_at,
    })
}

fn token_pair(
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
    refresh_token: String,
) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: state.tokens.issue(account_id, session_id)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
        refresh_token,
    })
}

/// Opens a session with its first refresh token. Session and token lifetimes use
/// real time, like the JWT they accompany.
async fn open_session(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    caller: &Caller,
) -> Result<(Uuid, String), ApiError> {
    let real_now = state.clock.security_now();
    let session_id = Uuid::new_v4();
    let ttl = TimeDelta::from_std(state.settings.refresh_token_ttl).map_err(ApiError::internal)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session_id),
            sessions::account_id.eq(account_id),
            sessions::created_at.eq(real_now),
            sessions::expires_at.eq(real_now + ttl),
            sessions::ip.eq(caller.ip.to_string()),
        ))
        .execute(conn)
        .await?;
    let refresh = issue_refresh_token(state, conn, session_id, real_now).await?;
    Ok((session_id, refresh))
}

async fn issue_refresh_token(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    real_now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let token = secrets::random_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::new_v4()),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(state.secrets.hash("refresh_token", &token)),
            refresh_tokens::created_at.eq(real_now),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// A refresh token with the state of its session.
#[derive(Queryable)]
struct RefreshTokenState {
    token_id: Uuid,
    rotated_at: Option<DateTime<Utc>>,
    session_id: Uuid,
    account_id: Uuid,
    ended_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

/// Exchanges a refresh token for a new pair. Presenting a token that was already
/// exchanged ends its whole family (the session): someone has a copy.
pub async fn refresh(
    state: &AppState,
    caller: &Caller,
    refresh_token: &str,
) -> Result<TokenPair, ApiError> {
    let hash = state.secrets.hash("refresh_token", refresh_token);
    let real_now = state.clock.security_now();
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let row: Option<RefreshTokenState> = refresh_tokens::table
                .inner_join(sessions::table)
                .filter(refresh_tokens::token_hash.eq(&hash))
                .select((
                    refresh_tokens::id,
                    refresh_tokens::rotated_at,
                    sessions::id,
                    sessions::account_id,
                    sessions::ended_at,
                    sessions::expires_at,
                ))
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let invalid = || ApiError::new(ErrorCode::RefreshTokenInvalid).detail("Log in again.");
            let Some(RefreshTokenState {
                token_id,
                rotated_at,
                session_id,
                account_id,
                ended_at,
                expires_at,
            }) = row
            else {
                return Ok(Err(invalid()));
            };
            if rotated_at.is_some() {
                if model::end_session(conn, session_id, EndReason::RefreshTokenReused, real_now)
                    .await?
                    > 0
                {
                    audit::record(
                        conn,
                        now,
                        &caller.origin,
                        Event::about(account_id, Action::RefreshTokenReused),
                    )
                    .await?;
                }
                return Ok(Err(ApiError::new(ErrorCode::RefreshTokenReused).detail(
                    "This refresh token was already used; the session has ended. Log in again.",
                )));
            }
            let account = model::find(conn, account_id)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::RefreshTokenInvalid))?;
            if ended_at.is_some() || expires_at <= real_now || account.blocked() {
                return Ok(Err(invalid()));
            }
            diesel::update(refresh_tokens::table.find(token_id))
                .set(refresh_tokens::rotated_at.eq(real_now))
                .execute(conn)
                .await?;
            let next = issue_refresh_token(state, conn, session_id, real_now).await?;
            Ok(Ok((account_id, session_id, next)))
        })
        .await?;
    let (account_id, session_id, next) = outcome?;
    token_pair(state, account_id, session_id, next)
}

/// Ends the session of a refresh token. Unknown tokens are ignored (logout is idempotent).
pub async fn logout(
    state: &AppState,
    caller: &Caller,
    refresh_token: &str,
) -> Result<(), ApiError> {
    let hash = state.secrets.hash("refresh_token", refresh_token);
    let now = state.clock.now();
    let real_now = state.clock.security_now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let found: Option<(Uuid, Uuid)> = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select((sessions::id, sessions::account_id))
            .first(conn)
            .await
            .optional()?;
        if let Some((session_id, account_id)) = found {
            if model::end_session(conn, session_id, EndReason::Logout, real_now).await? > 0 {
                audit::record(
                    conn,
                    now,
                    &caller.origin,
                    Event::own(account_id, Action::Logout),
                )
                .await?;
            }
        }
        Ok(())
    })
    .await
}

/// The identifier a password reset was asked with.
pub enum ResetBy {
    Email(Email),
    Nik {
        nik: String,
        date_of_birth: NaiveDate,
    },
    Phone {
        phone: String,
        date_of_birth: NaiveDate,
    },
}

impl ResetBy {
    /// Exactly one of the three forms of DOMAIN.md §1, else 422.
    pub fn parse(body: &views::PasswordResetRequest) -> Result<ResetBy, ApiError> {
        match (&body.email, &body.nik, &body.phone, body.date_of_birth) {
            (Some(email), None, None, None) => Ok(ResetBy::Email(parse_email(email)?)),
            (None, Some(nik), None, Some(dob)) => {
                if nik.len() != 16 || !nik.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ApiError::field("nik", "must be 16 digits"));
                }
                Ok(ResetBy::Nik {
                    nik: nik.clone(),
                    date_of_birth: dob,
                })
            }
            (None, None, Some(phone), Some(dob)) => Ok(ResetBy::Phone {
                phone: rules::parse_phone(phone).map_err(|m| ApiError::field("phone", m))?,
                date_of_birth: dob,
            }),
            _ => Err(ApiError::new(ErrorCode::ValidationFailed).detail(
                "Send either email, or nik and date_of_birth, or phone and date_of_birth.",
            )),
        }
    }

    fn bucket(&self, state: &AppState) -> String {
        let id = match self {
            ResetBy::Email(e) => state.secrets.bucket_id("email", e.as_str()),
            ResetBy::Nik { nik, .. } => state.secrets.bucket_id("nik", nik),
            ResetBy::Phone { phone, .. } => state.secrets.bucket_id("phone", phone),
        };
        format!("reset:{id}")
    }
}

/// The account holding this NIK, if its registered date of birth is the one given.
async fn account_by_nik_and_birth_date(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    nik: &str,
    date_of_birth: NaiveDate,
) -> Result<Option<Account>, ApiError> {
    let Ok(nik) = crate::identity::Nik::parse(nik) else {
        return Ok(None);
    };
    let Some(account_id) = registration::model::account_by_nik(conn, &state.blind, &nik).await?
    else {
        return Ok(None);
    };
    let identity = registration::model::load_identity(conn, &state.pii, account_id).await?;
    if identity.is_some_and(|i| i.birth_date == date_of_birth) {
        return Ok(model::find(conn, account_id).await?);
    }
    Ok(None)
}

/// The account whose verified phone is this number and whose registered date of
/// birth is the one given.
async fn account_by_phone_and_birth_date(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    phone: &str,
    date_of_birth: NaiveDate,
) -> Result<Option<Account>, ApiError> {
    let index = state.blind.compute("phone", phone);
    for account in model::find_by_phone_index(conn, &index).await? {
        let identity = registration::model::load_identity(conn, &state.pii, account.id).await?;
        if identity.is_some_and(|i| i.birth_date == date_of_birth) {
            return Ok(Some(account));
        }
    }
    Ok(None)
}

/// Sends a reset link if an account matches. The caller always answers 202 with
/// the same body, so the answer reveals nothing.
pub async fn request_password_reset(
    state: &AppState,
    caller: &Caller,
    by: ResetBy,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    ip_limit(state, &mut conn, "reset", caller.ip, now).await?;
    ratelimit::hit(&mut conn, &by.bucket(state), RESET_REQUESTS, now)
        .await?
        .map_err(ApiError::from)?;
    let (account, by_identity) = match &by {
        ResetBy::Email(email) => (
            model::find_by_email(&mut conn, email.as_str()).await?,
            false,
        ),
        ResetBy::Nik { nik, date_of_birth } => (
            account_by_nik_and_birth_date(state, &mut conn, nik, *date_of_birth).await?,
            true,
        ),
        ResetBy::Phone {
            phone,
            date_of_birth,
        } => (
            account_by_phone_and_birth_date(state, &mut conn, phone, *date_of_birth).await?,
            true,
        ),
    };
    let Some(account) = account else {
        return Ok(());
    };
    let token = secrets::random_token();
    let token_hash = state
        .secrets
        .hash(TokenPurpose::PasswordReset.as_str(), &token);
    let reset_link = link(state, "/atur-ulang-kata-sandi", &token);
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert_token(
            conn,
            account.id,
            TokenPurpose::PasswordReset,
            &token_hash,
            now + RESET_TOKEN_TTL,
            now,
        )
        .await?;
        let email_message = Message::PasswordReset {
            token: token.clone(),
            link: reset_link.clone(),
            masked_email: None,
        };
        notifications::enqueue(conn, now, Channel::Email, &account.email, &email_message).await?;
        if let (true, Some(phone)) = (by_identity, account.verified_phone(&state.pii)?) {
            let sms = Message::PasswordReset {
                token: token.clone(),
                link: reset_link.clone(),
                masked_email: Some(super::email::mask_email(&account.email)),
            };
            notifications::enqueue(conn, now, Channel::Sms, &phone, &sms).await?;
        }
        audit::record(
            conn,
            now,
            &caller.origin,
            Event::about(account.id, Action::PasswordResetRequested),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Sets a new password with a reset token; every session of the account ends.
pub async fn confirm_password_reset(
    state: &AppState,
    caller: &Caller,
    token: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let hash = state
        .secrets
        .hash(TokenPurpose::PasswordReset.as_str(), token);
    let invalid = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .detail("The link is invalid, used or expired; ask for a new one.")
    };
    let account_id = {
        let mut conn = state.db.get().await?;
        model::peek_token(&mut conn, TokenPurpose::PasswordReset, &hash, now)
            .await?
            .ok_or_else(invalid)?
    };
    let email = {
        let mut conn = state.db.get().await?;
        model::find(&mut conn, account_id)
            .await?
            .ok_or_else(invalid)?
            .email
    };
    password::check_policy(new_password, &email)?;
    let password_hash = state.passwords.hash(new_password).await?;
    let real_now = state.clock.security_now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Consumed here, not at the peek: of two racing confirmations one wins.
        let consumed = model::consume_token(conn, TokenPurpose::PasswordReset, &hash, now).await?;
        if consumed != Some(account_id) {
            return Err(invalid());
        }
        model::set_password(conn, account_id, &password_hash, now).await?;
        model::end_sessions(conn, account_id, None, EndReason::PasswordReset, real_now).await?;
        audit::record(
            conn,
            now,
            &caller.origin,
            Event::own(account_id, Action::PasswordReset),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Changes the password (current + new); the caller's other sessions end.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    who: &Principal,
    current: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let account = {
        let mut conn = state.db.get().await?;
        model::find(&mut conn, who.account_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?
    };
    let failures = format!(
        "login_fail:{}",
        state.secrets.bucket_id("email", &account.email)
    );
    {
        let mut conn = state.db.get().await?;
        if let Err(e) = ratelimit::lockout(&mut conn, &failures, LOGIN_FAILURES, now).await? {
            return Err(e.into_error(ErrorCode::LoginAttemptsExceeded));
        }
    }
    if !state
        .passwords
        .verify(current, Some(&account.password_hash))
        .await?
    {
        let mut conn = state.db.get().await?;
        // Guessing through this route counts like guessing at login.
        ratelimit::record(&mut conn, &failures, now).await?;
        return Err(
            ApiError::new(ErrorCode::InvalidCredentials).detail("The current password is wrong.")
        );
    }
    password::check_policy(new_password, &account.email).map_err(|e| {
        ApiError::from(e).with_errors(vec![crate::error::FieldError {
            field: "new_password".into(),
            message: e.to_string(),
        }])
    })?;
    let hash = state.passwords.hash(new_password).await?;
    let real_now = state.clock.security_now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::set_password(conn, who.account_id, &hash, now).await?;
        model::end_sessions(
            conn,
            who.account_id,
            Some(who.session_id),
            EndReason::PasswordChanged,
            real_now,
        )
        .await?;
        audit::record(
            conn,
            now,
            &caller.origin,
            Event::own(who.account_id, Action::PasswordChanged),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Whether a payout account is linked. Payout accounts arrive with incentives;
/// until then none can be linked.
async fn payout_account_linked(_conn: &mut AsyncPgConnection, _account: Uuid) -> QueryResult<bool> {
    Ok(false)
}

/// Starts verifying a (new) phone number: an SMS code to that number.
pub async fn start_phone_change(
    state: &AppState,
    who: &Principal,
    phone: &str,
) -> Result<PhoneChallenge, ApiError> {
    let phone = rules::parse_phone(phone).map_err(|m| ApiError::field("phone", m))?;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let account = model::find(&mut conn, who.account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?;
    let beneficiary = crate::card::service::beneficiary_in_year_of(
        &mut conn,
        account.id,
        state.clock.today_jakarta(),
    )
    .await?;
    let payout_linked = payout_account_linked(&mut conn, account.id).await?;
    rules::phone_change_allowed(account.has_verified_phone(), beneficiary, payout_linked)?;
    otp::ensure_may_send(&mut conn, account.id, now).await?;
    let challenge = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (challenge, code) = otp::create(
                conn,
                &state.secrets,
                account.id,
                Purpose::Phone,
                &phone,
                now,
            )
            .await?;
            notifications::enqueue(conn, now, Channel::Sms, &phone, &Message::PhoneOtp { code })
                .await?;
            Ok(challenge)
        })
        .await?;
    Ok(PhoneChallenge {
        challenge_id: challenge.id,
        destination: rules::mask_phone(&phone),
        expires_at: challenge.expires_at,
    })
}

/// Confirms the SMS code; the number becomes the account's verified phone.
pub async fn verify_phone(
    state: &AppState,
    caller: &Caller,
    who: &Principal,
    challenge_id: Uuid,
    code: &str,
) -> Result<PhoneVerified, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            match otp::verify(
                conn,
                &state.secrets,
                &caller.origin,
                challenge_id,
                Purpose::Phone,
                Some(who.account_id),
                code,
                now,
            )
            .await?
            {
                Verdict::Refused(error) => Ok(Err(error)),
                Verdict::Accepted(challenge) => {
                    use crate::db::schema::accounts;
                    // The rule is checked again: the situation may have changed since the code was sent.
                    let account = model::find_for_update(conn, who.account_id).await?;
                    let beneficiary = crate::card::service::beneficiary_in_year_of(
                        conn,
                        account.id,
                        state.clock.today_jakarta(),
                    )
                    .await?;
                    let payout_linked = payout_account_linked(conn, account.id).await?;
                    if let Err(refused) = rules::phone_change_allowed(
                        account.has_verified_phone(),
                        beneficiary,
                        payout_linked,
                    ) {
                        return Ok(Err(refused.into()));
                    }
                    let sealed = state
                        .pii
                        .encrypt_str(&challenge.destination, &model::phone_aad(account.id));
                    diesel::update(accounts::table.find(account.id))
                        .set((
                            accounts::phone_ciphertext.eq(sealed),
                            accounts::phone_index.eq(state
                                .blind
                                .compute("phone", &challenge.destination)
                                .to_vec()),
                            accounts::phone_verified_at.eq(now),
                            accounts::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    audit::record(
                        conn,
                        now,
                        &caller.origin,
                        Event::own(account.id, Action::PhoneChanged),
                    )
                    .await?;
                    Ok(Ok(challenge.destination))
                }
            }
        })
        .await?;
    Ok(PhoneVerified {
        phone: outcome?,
        phone_verified: true,
    })
}

/// Makes a verified admin account (the `admin create` command).
pub async fn create_admin(state: &AppState, email: &str, password: &str) -> Result<Uuid, ApiError> {
    let email = parse_email(email)?;
    password::check_policy(password, email.as_str())?;
    let hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let id = Uuid::new_v4();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert(
            conn,
            id,
            email.as_str(),
            &hash,
            Role::Admin.as_str(),
            Some(now),
            now,
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::new(ErrorCode::EmailTaken)
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            now,
            &Origin::default(),
            Event {
                actor_id: None,
                subject_id: Some(id),
                action: Action::AdminCreated,
                reason: Some("prakerja-api admin create"),
            },
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(id)
}

/// Registration steps in the order of the participant's journey (API.md Fixed names).
pub const REGISTRATION_STEPS: [&str; 8] = [
    "identity",
    "profile",
    "ktp_photo",
    "face",
    "questionnaire",
    "phone",
    "statement",
    "aptitude_test",
];

/// The account as its owner (or an admin) sees it: profile from the KTP record,
/// flags, registration progress and beneficiary summary.
pub async fn account_view(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    account: &Account,
) -> Result<views::Me, ApiError> {
    let identity = registration::model::load_identity(conn, &state.pii, account.id).await?;
    let done = registration::model::steps_done(conn, account.id).await?;
    let (mut completed_steps, mut missing_steps) = (Vec::new(), Vec::new());
    for (step, is_done) in REGISTRATION_STEPS.into_iter().zip(done) {
        if is_done {
            completed_steps.push(step);
        } else {
            missing_steps.push(step);
        }
    }
    Ok(views::Me {
        id: account.id,
        email: account.email.clone(),
        email_verified: account.email_verified(),
        role: Role::from_db(&account.role),
        full_name: identity.as_ref().map(|i| i.full_name.clone()),
        gender: identity.as_ref().map(|i| i.gender),
        phone: account.verified_phone(&state.pii)?,
        phone_verified: account.has_verified_phone(),
        nik_masked: identity.as_ref().map(|i| i.nik.masked()),
        flags: views::Flags {
            blocked: account.blocked(),
            fraud_suspected: account.fraud_suspected,
        },
        registration: views::Registration {
            complete: missing_steps.is_empty(),
            completed_steps,
            missing_steps,
        },
        beneficiary: crate::card::service::beneficiary(conn, account.id).await?,
    })
}

/// `GET /v1/me`.
pub async fn me(state: &AppState, who: &Principal) -> Result<views::Me, ApiError> {
    let mut conn = state.db.get().await?;
    let account = model::find(&mut conn, who.account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?;
    account_view(state, &mut conn, &account).await
}
