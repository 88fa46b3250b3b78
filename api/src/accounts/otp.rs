//! One-time code challenges, shared by login (email) and phone verification
//! (SMS). A challenge holds a keyed hash of its current code, bound to the
//! challenge id; a resend replaces the code but keeps the count of wrong
//! guesses, and a new challenge supersedes the open ones of the same purpose.
//! Every read-modify-write locks the challenge row, so two concurrent
//! verifications of one challenge cannot both succeed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    rules::{
        OTP_CODES_SENT, OTP_RESENDS, OTP_TTL, OTP_WRONG_GUESSES, OTP_WRONG_GUESSES_PER_CHALLENGE,
    },
    secrets::{self, SecretHasher},
};
use crate::{
    audit::{self, Action, Event, Origin},
    db::schema::otp_challenges,
    error::{ApiError, ErrorCode},
    ratelimit,
};

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    Phone,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Phone => "phone",
        }
    }

    fn hash_label(self) -> &'static str {
        match self {
            Purpose::Login => "otp:login",
            Purpose::Phone => "otp:phone",
        }
    }
}

/// A challenge row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = otp_challenges)]
pub struct Challenge {
    pub id: Uuid,
    pub account_id: Uuid,
    pub purpose: String,
    pub code_hash: Vec<u8>,
    pub destination: String,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: i32,
    pub resends: i32,
    pub state: String,
    pub created_at: DateTime<Utc>,
}

fn sent_bucket(account: Uuid) -> String {
    format!("otp_sent:{account}")
}
fn resend_bucket(account: Uuid) -> String {
    format!("otp_resend:{account}")
}
fn wrong_bucket(account: Uuid) -> String {
    format!("otp_wrong:{account}")
}

fn code_hash(hasher: &SecretHasher, purpose: Purpose, challenge: Uuid, code: &str) -> Vec<u8> {
    hasher.hash(purpose.hash_label(), &format!("{challenge}:{code}"))
}

fn resend_limited(e: ratelimit::Exceeded) -> ApiError {
    e.into_error(ErrorCode::OtpResendLimit)
        .detail("No new code can be sent now; wait for the time in Retry-After.")
}

/// Whether the account may be sent a code now: fewer than 5 resends and 10
/// codes in the last 2 hours (API.md Login rules).
pub async fn ensure_may_send(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for (bucket, limit) in [
        (resend_bucket(account), OTP_RESENDS),
        (sent_bucket(account), OTP_CODES_SENT),
    ] {
        ratelimit::check(conn, &bucket, limit, now)
            .await?
            .map_err(resend_limited)?;
    }
    Ok(())
}

/// Opens a challenge and returns it with its plain code (to be sent, never stored).
pub async fn create(
    conn: &mut AsyncPgConnection,
    hasher: &SecretHasher,
    account: Uuid,
    purpose: Purpose,
    destination: &str,
    now: DateTime<Utc>,
) -> Result<(Challenge, String), ApiError> {
    ratelimit::hit_all(conn, &[(&sent_bucket(account), OTP_CODES_SENT)], now)
        .await?
        .map_err(resend_limited)?;
    diesel::update(
        otp_challenges::table
            .filter(otp_challenges::account_id.eq(account))
            .filter(otp_challenges::purpose.eq(purpose.as_str()))
            .filter(otp_challenges::state.eq("open")),
    )
    .set(otp_challenges::state.eq("superseded"))
    .execute(conn)
    .await?;
    let id = Uuid::new_v4();
    let code = secrets::otp_code();
    let challenge = diesel::insert_into(otp_challenges::table)
        .values((
            otp_challenges::id.eq(id),
            otp_challenges::account_id.eq(account),
            otp_challenges::purpose.eq(purpose.as_str()),
            otp_challenges::code_hash.eq(code_hash(hasher, purpose, id, &code)),
            otp_challenges::destination.eq(destination),
            otp_challenges::expires_at.eq(now + OTP_TTL),
            otp_challenges::created_at.eq(now),
        ))
        .returning(Challenge::as_returning())
        .get_result(conn)
        .await?;
    Ok((challenge, code))
}

async fn lock(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    purpose: Purpose,
    account: Option<Uuid>,
) -> Result<Challenge, ApiError> {
    let challenge: Option<Challenge> = otp_challenges::table
        .find(id)
        .filter(otp_challenges::purpose.eq(purpose.as_str()))
        .select(Challenge::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    match challenge {
        Some(c) if account.is_none_or(|a| a == c.account_id) => Ok(c),
        _ => Err(ApiError::new(ErrorCode::OtpInvalid).detail("Unknown challenge; log in again.")),
    }
}

fn usable(c: &Challenge) -> Result<(), ApiError> {
    match c.state.as_str() {
        "open" => Ok(()),
        "locked" => Err(ApiError::new(ErrorCode::OtpAttemptsExceeded)
            .detail("Too many wrong codes for this challenge; start again.")),
        "superseded" => {
            Err(ApiError::new(ErrorCode::OtpExpired).detail("A newer code replaced this one."))
        }
        _ => Err(ApiError::new(ErrorCode::OtpInvalid).detail("This code was already used.")),
    }
}

/// Sends a new code for an open challenge (same id, same wrong-guess count).
pub async fn resend(
    conn: &mut AsyncPgConnection,
    hasher: &SecretHasher,
    id: Uuid,
    purpose: Purpose,
    account: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(Challenge, String), ApiError> {
    let c = lock(conn, id, purpose, account).await?;
    usable(&c)?;
    ratelimit::hit_all(
        conn,
        &[
            (&resend_bucket(c.account_id), OTP_RESENDS),
            (&sent_bucket(c.account_id), OTP_CODES_SENT),
        ],
        now,
    )
    .await?
    .map_err(resend_limited)?;
    let code = secrets::otp_code();
    let updated = diesel::update(otp_challenges::table.find(id))
        .set((
            otp_challenges::code_hash.eq(code_hash(hasher, purpose, id, &code)),
            otp_challenges::expires_at.eq(now + OTP_TTL),
            otp_challenges::resends.eq(otp_challenges::resends + 1),
        ))
        .returning(Challenge::as_returning())
        .get_result(conn)
        .await?;
    Ok((updated, code))
}

/// The result of a guess. A wrong guess is recorded even though the caller
/// answers with an error, so the caller must commit before returning it.
pub enum Verdict {
    /// Right code: the challenge is consumed.
    Accepted(Challenge),
    /// Refused, with the answer to give.
    Refused(ApiError),
}

/// Checks a code. Call inside a transaction and commit whatever the verdict.
/// `account` is the logged-in caller, if any (the challenge must be theirs); the
/// guess that uses up a challenge's attempts is audited here, once for every purpose.
#[allow(clippy::too_many_arguments)]
pub async fn verify(
    conn: &mut AsyncPgConnection,
    hasher: &SecretHasher,
    origin: &Origin,
    id: Uuid,
    purpose: Purpose,
    account: Option<Uuid>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Verdict, ApiError> {
    let c = lock(conn, id, purpose, account).await?;
    let refuse = Verdict::Refused;
    if let Err(e) = usable(&c) {
        return Ok(refuse(e));
    }
    if c.failed_attempts >= OTP_WRONG_GUESSES_PER_CHALLENGE {
        return Ok(refuse(ApiError::new(ErrorCode::OtpAttemptsExceeded)));
    }
    if let Err(e) =
        ratelimit::check(conn, &wrong_bucket(c.account_id), OTP_WRONG_GUESSES, now).await?
    {
        return Ok(refuse(e.into_error(ErrorCode::OtpAttemptsExceeded).detail(
            "Too many wrong codes on this account; wait for the time in Retry-After.",
        )));
    }
    if now >= c.expires_at {
        return Ok(refuse(
            ApiError::new(ErrorCode::OtpExpired).detail("The code has expired; ask for a new one."),
        ));
    }
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    if well_formed && hasher.matches(purpose.hash_label(), &format!("{id}:{code}"), &c.code_hash) {
        let consumed = diesel::update(otp_challenges::table.find(id))
            .set(otp_challenges::state.eq("consumed"))
            .returning(Challenge::as_returning())
            .get_result(conn)
            .await?;
        return Ok(Verdict::Accepted(consumed));
    }
    let failed = c.failed_attempts + 1;
    let locked_now = failed >= OTP_WRONG_GUESSES_PER_CHALLENGE;
    diesel::update(otp_challenges::table.find(id))
        .set((
            otp_challenges::failed_attempts.eq(failed),
            otp_challenges::state.eq(if locked_now { "locked" } else { "open" }),
        ))
        .execute(conn)
        .await?;
    ratelimit::record(conn, &wrong_bucket(c.account_id), now).await?;
    if locked_now {
        let event = Event {
            actor_id: account,
            subject_id: Some(c.account_id),
            action: Action::OtpLockedOut,
            reason: None,
        };
        audit::record(conn, now, origin, event).await?;
    }
    Ok(Verdict::Refused(
        ApiError::new(ErrorCode::OtpInvalid).detail("The code is wrong."),
    ))
}
