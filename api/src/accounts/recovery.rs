//! Password recovery and change (DOMAIN.md §1): a reset link by email for (a)
//! the email, (b) NIK and date of birth or (c) mobile number and date of birth,
//! also by SMS for (b) and (c) with the masked email; the answer never says
//! whether an account matched. After a reset or change, other sessions end.

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{
    email::Email,
    login::{failures_bucket, reserve_password_attempt},
    model::{self, Account, EndReason, TokenPurpose},
    password,
    rules::{self, RESET_REQUESTS, RESET_TOKEN_TTL},
    views, Deps,
};
use crate::{
    audit::{self, Action, Event},
    auth::Principal,
    db::DbPool,
    error::{ApiError, ErrorCode},
    http::Caller,
    identity::Nik,
    notifications::{self, channel::mask_email, Channel, Message},
    ratelimit,
    registration::model as registration_model,
    secrets,
};

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
            (Some(email), None, None, None) => Ok(ResetBy::Email(Email::parse_field(email)?)),
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

    fn bucket(&self, deps: Deps<'_>) -> String {
        let id = match self {
            ResetBy::Email(e) => deps.secrets.bucket_id("email", e.as_str()),
            ResetBy::Nik { nik, .. } => deps.secrets.bucket_id("nik", nik),
            ResetBy::Phone { phone, .. } => deps.secrets.bucket_id("phone", phone),
        };
        format!("reset:{id}")
    }
}

/// The account holding this NIK, if its registered date of birth is the one given.
async fn account_by_nik_and_birth_date(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    nik: &str,
    date_of_birth: NaiveDate,
) -> Result<Option<Account>, ApiError> {
    let Ok(nik) = Nik::parse(nik) else {
        return Ok(None);
    };
    let Some(account_id) = registration_model::account_by_nik(conn, deps.blind, &nik).await? else {
        return Ok(None);
    };
    let identity = registration_model::load_identity(conn, deps.pii, account_id).await?;
    if identity.is_some_and(|i| i.birth_date == date_of_birth) {
        return Ok(model::find(conn, account_id).await?);
    }
    Ok(None)
}

/// The account whose verified phone is this number and whose registered date of
/// birth is the one given.
async fn account_by_phone_and_birth_date(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    phone: &str,
    date_of_birth: NaiveDate,
) -> Result<Option<Account>, ApiError> {
    let index = deps.blind.compute("phone", phone);
    for account in model::find_by_phone_index(conn, &index).await? {
        let identity = registration_model::load_identity(conn, deps.pii, account.id).await?;
        if identity.is_some_and(|i| i.birth_date == date_of_birth) {
            return Ok(Some(account));
        }
    }
    Ok(None)
}

/// Sends a reset link if an account matches. The caller always answers 202 with
/// the same body, so the answer reveals nothing.
pub async fn request_password_reset(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    by: ResetBy,
) -> Result<(), ApiError> {
    let now = deps.clock.now();
    let per_minute = deps.settings.rate_limit_ip_per_minute;
    ratelimit::per_ip(conn, "reset", caller.ip, per_minute, now).await?;
    ratelimit::hit(conn, &by.bucket(deps), RESET_REQUESTS, now)
        .await?
        .map_err(ApiError::from)?;
    let (account, by_identity) = match &by {
        ResetBy::Email(email) => (model::find_by_email(conn, email.as_str()).await?, false),
        ResetBy::Nik { nik, date_of_birth } => (
            account_by_nik_and_birth_date(conn, deps, nik, *date_of_birth).await?,
            true,
        ),
        ResetBy::Phone {
            phone,
            date_of_birth,
        } => (
            account_by_phone_and_birth_date(conn, deps, phone, *date_of_birth).await?,
            true,
        ),
    };
    let Some(account) = account else {
        return Ok(());
    };
    let token = secrets::random_token();
    let token_hash = deps
        .secrets
        .hash(TokenPurpose::PasswordReset.as_str(), &token);
    let reset_link = deps.link("/atur-ulang-kata-sandi", &token);
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
        if let (true, Some(phone)) = (by_identity, account.verified_phone(deps.pii)?) {
            let sms = Message::PasswordReset {
                token: token.clone(),
                link: reset_link.clone(),
                masked_email: Some(mask_email(&account.email)),
            };
            // Over the number's SMS cap the email still goes; the answer stays
            // 202 so it says nothing about the account.
            if notifications::quota::take_sms_slot(conn, deps.secrets, &phone, now)
                .await?
                .is_ok()
            {
                notifications::enqueue(conn, now, Channel::Sms, &phone, &sms).await?;
            }
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
/// Takes the pool: no connection is held while the password is hashed.
pub async fn confirm_password_reset(
    db: &DbPool,
    deps: Deps<'_>,
    caller: &Caller,
    token: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let now = deps.clock.now();
    let hash = deps
        .secrets
        .hash(TokenPurpose::PasswordReset.as_str(), token);
    let invalid = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .detail("The link is invalid, used or expired; ask for a new one.")
    };
    let (account_id, email) = {
        let mut conn = db.get().await?;
        let account_id = model::peek_token(&mut conn, TokenPurpose::PasswordReset, &hash, now)
            .await?
            .ok_or_else(invalid)?;
        let account = model::find(&mut conn, account_id)
            .await?
            .ok_or_else(invalid)?;
        (account_id, account.email)
    };
    password::check_policy(new_password, &email)?;
    let password_hash = deps.passwords.hash(new_password).await?;
    let real_now = deps.clock.security_now();
    let mut conn = db.get().await?;
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
/// Guessing the current password here counts like guessing at login. Takes the
/// pool: no connection is held while argon2 runs.
pub async fn change_password(
    db: &DbPool,
    deps: Deps<'_>,
    caller: &Caller,
    who: &Principal,
    current: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let now = deps.clock.now();
    let admission = deps.passwords.admit()?;
    let (account, attempt) = {
        let mut conn = db.get().await?;
        let account = model::find(&mut conn, who.account_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?;
        let failures = failures_bucket(deps, &account.email);
        let attempt = reserve_password_attempt(&mut conn, deps, &failures, caller).await?;
        (account, attempt)
    };
    let verified = deps
        .passwords
        .verify(admission, current, Some(&account.password_hash))
        .await;
    if !matches!(verified, Ok(false)) {
        // Right, or never checked: either way not a wrong guess.
        let mut conn = db.get().await?;
        ratelimit::release(&mut conn, attempt).await?;
    }
    if !verified? {
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
    let hash = deps.passwords.hash(new_password).await?;
    let real_now = deps.clock.security_now();
    let mut conn = db.get().await?;
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
