//! Two-step login (DOMAIN.md §1, API.md Login rules): email and password (and a
//! captcha where one is configured), then a 6-digit code sent to the email.
//! Wrong passwords lock an address out for 15 minutes after the tenth; the
//! codes, their resends and wrong guesses follow the OTP module's login budget.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    email::Email, model, rules::LOGIN_FAILURES, sessions, views::LoginChallenge, views::TokenPair,
    Deps,
};
use crate::{
    audit::{self, Action, Event},
    db::DbPool,
    error::{ApiError, ErrorCode},
    http::Caller,
    integrations::captcha,
    notifications::Channel,
    otp::{self, CodeMessage, Guess, Purpose, Scope, Verdict},
    ratelimit::{self, Gate},
};

/// The bucket of wrong passwords for an address: keyed by the address (hashed),
/// so unknown addresses lock out like known ones and the lock-out reveals
/// nothing about which accounts exist.
pub(super) fn failures_bucket(deps: Deps<'_>, email: &str) -> String {
    format!("login_fail:{}", deps.secrets.bucket_id("email", email))
}

/// Counts a password attempt against the address's lock-out and the caller's
/// per-IP failures *before* the password is hashed, so parallel guesses cannot
/// all pass the check before any is counted (API.md: "this holds for requests
/// sent at once too"). Release the reservation when the password was right.
/// Every path that checks a password goes through here (login, password change).
pub(super) async fn reserve_password_attempt(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    failures: &str,
    caller: &Caller,
) -> Result<ratelimit::Reservation, ApiError> {
    let now = deps.clock.now();
    let ip_failures = format!("login_fail_ip:{}", caller.ip);
    // Per minute, like every per-IP limit: thousands of phones behind one
    // carrier-grade NAT address must not lock each other out for long.
    let ip_limit = ratelimit::per_ip_limit(deps.settings.rate_limit_ip_per_minute);
    let gates = [
        Gate::Lockout(failures, LOGIN_FAILURES),
        Gate::Window(&ip_failures, ip_limit),
    ];
    match ratelimit::reserve(conn, &gates, now).await? {
        Ok(reservation) => Ok(reservation),
        // An account that is itself locked answers this first (API.md).
        Err((0, e)) => Err(e
            .into_error(ErrorCode::LoginAttemptsExceeded)
            .detail("Too many wrong passwords; wait for the time in Retry-After.")),
        Err((_, e)) => Err(e.into()),
    }
}

/// The answer to a login the hashing queue has no room for: 429
/// `login_attempts_exceeded` when the account is locked out (API.md: a locked
/// account answers that first, for requests sent at once too), otherwise the
/// queue's 429 `rate_limited`. One read; nothing is counted.
async fn busy_refusal(db: &DbPool, deps: Deps<'_>, email: &str, busy: ApiError) -> ApiError {
    let Ok(email) = Email::parse(email) else {
        return busy;
    };
    let failures = failures_bucket(deps, email.as_str());
    let locked = match db.get().await {
        Ok(mut conn) => ratelimit::lockout(&mut conn, &failures, LOGIN_FAILURES, deps.clock.now())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    match locked {
        Ok(Err(e)) => e
            .into_error(ErrorCode::LoginAttemptsExceeded)
            .detail("Too many wrong passwords; wait for the time in Retry-After."),
        Ok(Ok(())) => busy,
        Err(e) => e,
    }
}

/// Login step 1: email + password (+ captcha), then a code by email. Takes the
/// pool: no connection is held while the captcha and argon2 run.
pub async fn login(
    db: &DbPool,
    deps: Deps<'_>,
    caller: &Caller,
    email: &str,
    password: &str,
    captcha_token: Option<&str>,
) -> Result<LoginChallenge, ApiError> {
    let now = deps.clock.now();
    // A place in the hashing queue first: a storm beyond what the cores can
    // hash is answered 429 here, before it writes anything.
    let admission = match deps.passwords.admit() {
        Ok(admission) => admission,
        Err(busy) => return Err(busy_refusal(db, deps, email, busy).await),
    };
    let per_minute = deps.settings.rate_limit_ip_per_minute;
    {
        let mut conn = db.get().await?;
        ratelimit::per_ip(&mut conn, "login", caller.ip, per_minute, now).await?;
    }
    if let Some(settings) = &deps.settings.captcha {
        captcha::verify(deps.http, settings, captcha_token).await?;
    }
    let email = Email::parse(email).map_err(|_| ApiError::new(ErrorCode::InvalidCredentials))?;
    let failures = failures_bucket(deps, email.as_str());
    let mut conn = db.get().await?;
    let attempt = reserve_password_attempt(&mut conn, deps, &failures, caller).await?;
    let account = model::find_by_email(&mut conn, email.as_str()).await?;
    drop(conn);
    let verified = deps
        .passwords
        .verify(
            admission,
            password,
            account.as_ref().map(|a| a.password_hash.as_str()),
        )
        .await;
    let mut conn = db.get().await?;
    let account = match (verified, account) {
        (Ok(true), Some(account)) => {
            ratelimit::release(&mut conn, attempt).await?;
            account
        }
        (Err(e), _) => {
            // Not a wrong password: the attempt never ran.
            ratelimit::release(&mut conn, attempt).await?;
            return Err(e);
        }
        (Ok(_), account) => {
            let subject = account.map(|a| a.id);
            conn.transaction::<_, ApiError, _>(async |conn| {
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
    let issued = otp::issue(
        &mut conn,
        deps.secrets,
        deps.pii,
        now,
        otp::Issue {
            account_id: account.id,
            scope: Scope::Account(account.id),
            message: CodeMessage::Login,
            deliveries: &[(Channel::Email, &account.email)],
            context: None,
        },
    )
    .await?;
    Ok(issued.into())
}

/// Login step 2: the emailed code; opens a session.
pub async fn verify_login(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    challenge_id: Uuid,
    code: &str,
) -> Result<TokenPair, ApiError> {
    let now = deps.clock.now();
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let guess = Guess {
                challenge_id,
                purpose: Purpose::Login,
                account: None,
                scope_key: None,
                code,
            };
            match otp::verify(conn, deps.secrets, &caller.origin, now, guess).await? {
                Verdict::Refused(error) => Ok(Err(error)),
                Verdict::Accepted(challenge) => {
                    let account = model::find_for_update(conn, challenge.account_id).await?;
                    if account.blocked() {
                        return Ok(Err(ApiError::new(ErrorCode::AccountBlocked)));
                    }
                    let (session_id, refresh) =
                        sessions::open(conn, deps, account.id, caller).await?;
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
    sessions::token_pair(deps, account_id, session_id, refresh_token)
}

/// Sends a new login code for the same challenge.
pub async fn resend_login(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    challenge_id: Uuid,
) -> Result<LoginChallenge, ApiError> {
    let now = deps.clock.now();
    let per_minute = deps.settings.rate_limit_ip_per_minute;
    ratelimit::per_ip(conn, "login", caller.ip, per_minute, now).await?;
    let issued = otp::resend(
        conn,
        deps.secrets,
        deps.pii,
        now,
        challenge_id,
        Purpose::Login,
        None,
    )
    .await?;
    Ok(issued.into())
}
