//! Sign-up and email verification (DOMAIN.md §1): an account is created with an
//! email and a password, and cannot log in until the emailed link is followed.
//! Admin accounts are made by the CLI, already verified.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    email::Email,
    model::{self, TokenPurpose},
    password,
    rules::{VERIFICATION_RESENDS, VERIFICATION_TOKEN_TTL},
    views::AccountCreated,
    Deps,
};
use crate::{
    audit::{self, Action, Event, Origin},
    auth::Role,
    db::{self, DbPool},
    error::{ApiError, ErrorCode},
    http::Caller,
    notifications::{self, Channel, Message},
    ratelimit,
    secrets::{self, passwords::PasswordHasher},
};

/// The unique index that makes an email address one account's.
const EMAIL_KEY: &str = "accounts_email_key";

fn email_taken(e: diesel::result::Error) -> ApiError {
    if db::unique_violation(&e) == Some(EMAIL_KEY) {
        ApiError::new(ErrorCode::EmailTaken)
            .detail("An account with this email already exists; log in or reset the password.")
    } else {
        e.into()
    }
}

/// A fresh verification token and the message carrying it.
fn verification(deps: Deps<'_>) -> (Vec<u8>, Message) {
    let token = secrets::random_token();
    let hash = deps
        .secrets
        .hash(TokenPurpose::EmailVerification.as_str(), &token);
    let message = Message::EmailVerification {
        link: deps.link("/verifikasi-email", &token),
        token,
    };
    (hash, message)
}

/// Creates an account and sends the verification email. Takes the pool: no
/// connection is held while the password is hashed.
pub async fn sign_up(
    db: &DbPool,
    deps: Deps<'_>,
    caller: &Caller,
    email: &str,
    password: &str,
) -> Result<AccountCreated, ApiError> {
    let email = Email::parse_field(email)?;
    password::check_policy(password, email.as_str())?;
    let now = deps.clock.now();
    {
        let mut conn = db.get().await?;
        let per_minute = deps.settings.rate_limit_ip_per_minute;
        ratelimit::per_ip(&mut conn, "signup", caller.ip, per_minute, now).await?;
    }
    let hash = deps.passwords.hash(password).await?;
    let id = Uuid::new_v4();
    let (token_hash, message) = verification(deps);
    let mut conn = db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert(
            conn,
            id,
            email.as_str(),
            &hash,
            Role::Participant,
            None,
            now,
        )
        .await
        .map_err(email_taken)?;
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
pub async fn verify_email(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    token: &str,
) -> Result<(), ApiError> {
    let now = deps.clock.now();
    let hash = deps
        .secrets
        .hash(TokenPurpose::EmailVerification.as_str(), token);
    conn.transaction::<_, ApiError, _>(async |conn| {
        let account_id = model::consume_token(conn, TokenPurpose::EmailVerification, &hash, now)
            .await?
            .ok_or_else(|| {
                ApiError::new(ErrorCode::TokenInvalid)
                    .detail("The link is invalid, used or expired; ask for a new one.")
            })?;
        model::mark_email_verified(conn, account_id, now).await?;
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
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    email: &str,
) -> Result<(), ApiError> {
    let email = Email::parse_field(email)?;
    let now = deps.clock.now();
    let per_minute = deps.settings.rate_limit_ip_per_minute;
    ratelimit::per_ip(conn, "verification", caller.ip, per_minute, now).await?;
    let bucket = format!(
        "verify_resend:{}",
        deps.secrets.bucket_id("email", email.as_str())
    );
    ratelimit::hit(conn, &bucket, VERIFICATION_RESENDS, now)
        .await?
        .map_err(ApiError::from)?;
    let Some(account) = model::find_by_email(conn, email.as_str()).await? else {
        return Ok(());
    };
    if account.email_verified() {
        return Ok(());
    }
    let (token_hash, message) = verification(deps);
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

/// Makes a verified admin account (the `admin create` command).
pub async fn create_admin(
    db: &DbPool,
    passwords: &PasswordHasher,
    now: chrono::DateTime<chrono::Utc>,
    email: &str,
    password: &str,
) -> Result<Uuid, ApiError> {
    let email = Email::parse_field(email)?;
    password::check_policy(password, email.as_str())?;
    let hash = passwords.hash(password).await?;
    let id = Uuid::new_v4();
    let mut conn = db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert(conn, id, email.as_str(), &hash, Role::Admin, Some(now), now)
            .await
            .map_err(email_taken)?;
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
