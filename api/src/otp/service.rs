//! Issuing, resending and verifying codes, for every purpose alike.
//!
//! Lock order, on every path: the purpose's budget buckets first (advisory
//! locks, in one sorted order), then the challenge rows. A path that must read a
//! challenge to know its buckets reads it unlocked, takes the buckets, then locks
//! the row and checks it again.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    model::{self, Challenge, NewChallenge},
    rules::{self, ChallengeState, Policy, Purpose},
};
use crate::{
    audit::{self, Action, Event, Origin},
    crypto::PiiCipher,
    error::{ApiError, ErrorCode},
    notifications::{self, Channel, Message},
    ratelimit::{self, Exceeded},
    secrets::{self, SecretHasher},
};

/// What a challenge is about: it decides which open challenge a new one
/// supersedes and whose budgets it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Login and phone codes: one open challenge per account and purpose, the
    /// budgets kept per account.
    Account(Uuid),
    /// Purchase codes: one open challenge per (card, course, partner), so codes
    /// for different courses are independent; the budgets kept per card.
    Purchase {
        card_id: Uuid,
        course_id: Uuid,
        partner_id: Uuid,
    },
}

impl Scope {
    /// The key a new challenge supersedes the open ones of.
    pub fn key(&self) -> String {
        match self {
            Scope::Account(account) => format!("account:{account}"),
            Scope::Purchase {
                card_id,
                course_id,
                partner_id,
            } => format!("purchase:{card_id}:{course_id}:{partner_id}"),
        }
    }

    /// Whose budgets the challenge spends.
    pub fn budget_key(&self) -> String {
        match self {
            Scope::Account(account) => format!("account:{account}"),
            Scope::Purchase { card_id, .. } => format!("card:{card_id}"),
        }
    }
}

/// The message a code goes out in; it fixes the purpose. A purchase code names
/// what it pays for and never reads like a login code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeMessage {
    Login,
    Phone,
    Purchase {
        course_title: String,
        price_idr: i64,
    },
}

impl CodeMessage {
    /// The purpose of codes sent in this message.
    pub fn purpose(&self) -> Purpose {
        match self {
            CodeMessage::Login => Purpose::Login,
            CodeMessage::Phone => Purpose::Phone,
            CodeMessage::Purchase { .. } => Purpose::Purchase,
        }
    }

    fn with_code(&self, code: String) -> Message {
        match self {
            CodeMessage::Login => Message::LoginOtp { code },
            CodeMessage::Phone => Message::PhoneOtp { code },
            CodeMessage::Purchase {
                course_title,
                price_idr,
            } => Message::PurchaseOtp {
                code,
                course_title: course_title.clone(),
                price_idr: *price_idr,
            },
        }
    }
}

/// A code to issue.
#[derive(Debug)]
pub struct Issue<'a> {
    /// Whose code it is (for a purchase: the card holder).
    pub account_id: Uuid,
    pub scope: Scope,
    pub message: CodeMessage,
    /// Where it goes; the first is the challenge's destination (a purchase
    /// code goes by email, and by SMS too when a phone is verified).
    pub deliveries: &'a [(Channel, &'a str)],
    /// What the code is bound to, kept on the challenge and returned on
    /// acceptance so the caller can check it still holds (a purchase: card,
    /// course, partner, the price shown).
    pub context: Option<serde_json::Value>,
}

/// A code sent: what every flow's answer is built from.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub challenge_id: Uuid,
    /// Where it went, in full (for the flow's own use).
    pub destination: String,
    /// Where it went, masked for the answer.
    pub masked_destination: String,
    pub expires_at: DateTime<Utc>,
}

impl IssuedCode {
    fn of(challenge: &Challenge, destination: String) -> IssuedCode {
        IssuedCode {
            challenge_id: challenge.id,
            masked_destination: challenge.destination.clone(),
            destination,
            expires_at: challenge.expires_at,
        }
    }
}

/// The budget buckets of one purpose and subject.
struct Buckets {
    sent: String,
    resent: String,
    wrong: String,
}

impl Buckets {
    fn of(purpose: Purpose, budget_key: &str) -> Buckets {
        let p = purpose.as_str();
        Buckets {
            sent: format!("otp_sent:{p}:{budget_key}"),
            resent: format!("otp_resend:{p}:{budget_key}"),
            wrong: format!("otp_wrong:{p}:{budget_key}"),
        }
    }
}

fn send_refused(policy: &Policy, e: Exceeded) -> ApiError {
    e.into_error(policy.send_refused)
        .detail("No new code can be sent now; wait for the time in Retry-After.")
}

fn unknown(policy: &Policy) -> ApiError {
    ApiError::new(ErrorCode::OtpInvalid)
        .detail(format!("Unknown challenge; {}.", policy.restart_hint))
}

fn usable(c: &Challenge, policy: &Policy) -> Result<(), ApiError> {
    match c.state {
        ChallengeState::Open => Ok(()),
        ChallengeState::Locked => Err(ApiError::new(ErrorCode::OtpAttemptsExceeded).detail(
            format!(
                "Too many wrong codes for this challenge; {}.",
                policy.restart_hint
            ),
        )),
        ChallengeState::Superseded => {
            Err(ApiError::new(ErrorCode::OtpExpired).detail("A newer code replaced this one."))
        }
        ChallengeState::Consumed => {
            Err(ApiError::new(ErrorCode::OtpInvalid).detail("This code was already used."))
        }
    }
}

fn code_hash(secrets: &SecretHasher, purpose: Purpose, challenge: Uuid, code: &str) -> Vec<u8> {
    secrets.hash(&purpose.hash_label(), &rules::hash_input(challenge, code))
}

fn code_matches(secrets: &SecretHasher, c: &Challenge, code: &str) -> bool {
    rules::well_formed(code)
        && secrets.matches(
            &c.purpose.hash_label(),
            &rules::hash_input(c.id, code),
            &c.code_hash,
        )
}

/// The destination number's SMS cap (`notifications::quota`): 429
/// `rate_limited`, and the caller's transaction rolls back the spent budget.
async fn sms_slot(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    number: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    notifications::quota::take_sms_slot(conn, secrets, number, now)
        .await?
        .map_err(|e| {
            ApiError::from(e)
                .detail("Too many messages to this number; wait for the time in Retry-After.")
        })
}

/// Issues a code: checks and spends the purpose's send budget, supersedes the
/// open challenge of the same scope, stores the new one, queues the message to
/// every delivery, and answers what the flow shows. One transaction (a
/// savepoint inside the caller's, if any): nothing is sent unless all of it holds.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    pii: &PiiCipher,
    now: DateTime<Utc>,
    request: Issue<'_>,
) -> Result<IssuedCode, ApiError> {
    let purpose = request.message.purpose();
    let policy = purpose.policy();
    let &(channel, destination) = request
        .deliveries
        .first()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an OTP needs a delivery")))?;
    let budget_key = request.scope.budget_key();
    let buckets = Buckets::of(purpose, &budget_key);
    conn.transaction::<_, ApiError, _>(async |conn| {
        ratelimit::lock_all(conn, &[&buckets.sent, &buckets.resent]).await?;
        let mut limits = vec![(buckets.sent.as_str(), policy.codes_sent)];
        // While the resends are spent, no new code at all: a new challenge must
        // not be a way around the resend limit (API.md Login rules).
        if let Some(resends) = policy.resends {
            limits.push((buckets.resent.as_str(), resends));
        }
        ratelimit::check_all(conn, &limits, now)
            .await?
            .map_err(|e| send_refused(&policy, e))?;
        ratelimit::record(conn, &buckets.sent, now).await?;
        let scope_key = request.scope.key();
        model::supersede(conn, purpose, &scope_key).await?;
        let id = Uuid::new_v4();
        let code = secrets::otp_code();
        let challenge = model::insert(
            conn,
            NewChallenge {
                id,
                account_id: request.account_id,
                purpose,
                scope_key: &scope_key,
                budget_key: &budget_key,
                code_hash: &code_hash(secrets, purpose, id, &code),
                masked_destination: &channel.mask(destination),
                sealed_destination: pii.encrypt_str(destination, &model::destination_aad(id)),
                context: request.context.as_ref(),
                expires_at: now + policy.ttl,
                now,
            },
        )
        .await?;
        let message = request.message.with_code(code);
        for &(channel, recipient) in request.deliveries {
            if channel == Channel::Sms {
                sms_slot(conn, secrets, recipient, now).await?;
            }
            notifications::enqueue(conn, now, channel, recipient, &message).await?;
        }
        Ok(IssuedCode::of(&challenge, destination.to_owned()))
    })
    .await
}

/// Sends a new code for an open challenge: same id, same count of wrong
/// guesses, to the same destination. Counts against the purpose's resend and
/// send budgets. Purposes without resends (purchase) answer their send-refused
/// code: a new code is asked for instead.
pub async fn resend(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    pii: &PiiCipher,
    now: DateTime<Utc>,
    challenge_id: Uuid,
    purpose: Purpose,
    account: Option<Uuid>,
) -> Result<IssuedCode, ApiError> {
    let policy = purpose.policy();
    let message = match purpose {
        Purpose::Login => CodeMessage::Login,
        Purpose::Phone => CodeMessage::Phone,
        // A purchase code names its course and price: a new one is asked for.
        Purpose::Purchase => {
            return Err(ApiError::new(policy.send_refused)
                .detail("A purchase code is not resent; ask for a new one."))
        }
    };
    let Some(resends) = policy.resends else {
        return Err(ApiError::new(policy.send_refused));
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        let peeked = model::find(conn, challenge_id, purpose)
            .await?
            .filter(|c| account.is_none_or(|a| a == c.account_id))
            .ok_or_else(|| unknown(&policy))?;
        usable(&peeked, &policy)?;
        let buckets = Buckets::of(purpose, &peeked.budget_key);
        ratelimit::lock_all(conn, &[&buckets.sent, &buckets.resent]).await?;
        ratelimit::check_all(
            conn,
            &[
                (&buckets.resent, resends),
                (&buckets.sent, policy.codes_sent),
            ],
            now,
        )
        .await?
        .map_err(|e| send_refused(&policy, e))?;
        ratelimit::record(conn, &buckets.resent, now).await?;
        ratelimit::record(conn, &buckets.sent, now).await?;
        // Locked only now, after the buckets; it may have changed since the peek.
        let locked = model::lock(conn, challenge_id)
            .await?
            .ok_or_else(|| unknown(&policy))?;
        usable(&locked, &policy)?;
        let code = secrets::otp_code();
        let hash = code_hash(secrets, purpose, challenge_id, &code);
        let updated = model::replace_code(conn, challenge_id, &hash, now + policy.ttl)
            .await?
            .ok_or_else(|| unknown(&policy))?;
        let destination = updated.open_destination(pii)?;
        if policy.channel == Channel::Sms {
            sms_slot(conn, secrets, &destination, now).await?;
        }
        notifications::enqueue(
            conn,
            now,
            policy.channel,
            &destination,
            &message.with_code(code),
        )
        .await?;
        Ok(IssuedCode::of(&updated, destination))
    })
    .await
}

/// A guess at a code.
#[derive(Debug, Clone, Copy)]
pub struct Guess<'a> {
    pub challenge_id: Uuid,
    pub purpose: Purpose,
    /// The logged-in caller, if any: the challenge must be theirs.
    pub account: Option<Uuid>,
    /// The scope the caller acts in ([`Scope::key`]), if the challenge must be
    /// for it: a challenge of another scope is unknown, and none of its
    /// guesses is spent.
    pub scope_key: Option<&'a str>,
    pub code: &'a str,
}

/// The result of a guess. A wrong guess is recorded even though the caller
/// answers with an error, so the caller must commit before returning it.
#[derive(Debug)]
pub enum Verdict {
    /// Right code: the challenge is consumed (its `context` is what it was
    /// issued for).
    Accepted(Challenge),
    /// Refused, with the answer to give.
    Refused(ApiError),
}

/// Checks a code. Call inside a transaction and commit whatever the verdict.
/// The guess that locks a challenge, and the one that spends the purpose's
/// wrong-guess budget, are audited here, once for every purpose.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    origin: &Origin,
    now: DateTime<Utc>,
    guess: Guess<'_>,
) -> Result<Verdict, ApiError> {
    let policy = guess.purpose.policy();
    let mine = |c: &Challenge| {
        guess.account.is_none_or(|a| a == c.account_id)
            && guess.scope_key.is_none_or(|k| k == c.scope_key)
    };
    let peeked = model::find(conn, guess.challenge_id, guess.purpose)
        .await?
        .filter(mine)
        .ok_or_else(|| unknown(&policy))?;
    let wrong_bucket = Buckets::of(guess.purpose, &peeked.budget_key).wrong;
    ratelimit::lock_all(conn, &[&wrong_bucket]).await?;
    let c = model::lock(conn, guess.challenge_id)
        .await?
        .ok_or_else(|| unknown(&policy))?;
    if let Err(e) = usable(&c, &policy) {
        return Ok(Verdict::Refused(e));
    }
    if c.failed_attempts >= policy.wrong_per_challenge {
        return Ok(Verdict::Refused(ApiError::new(
            ErrorCode::OtpAttemptsExceeded,
        )));
    }
    if let Err(e) = ratelimit::check(conn, &wrong_bucket, policy.wrong_guesses, now).await? {
        return Ok(Verdict::Refused(
            e.into_error(ErrorCode::OtpAttemptsExceeded)
                .detail("Too many wrong codes lately; wait for the time in Retry-After."),
        ));
    }
    if now >= c.expires_at {
        return Ok(Verdict::Refused(
            ApiError::new(ErrorCode::OtpExpired).detail("The code has expired; ask for a new one."),
        ));
    }
    if code_matches(secrets, &c, guess.code) {
        return match model::consume(conn, c.id).await? {
            Some(consumed) => Ok(Verdict::Accepted(consumed)),
            None => Ok(Verdict::Refused(unknown(&policy))),
        };
    }
    let failed = c.failed_attempts + 1;
    let locked_now = failed >= policy.wrong_per_challenge;
    model::record_wrong_guess(conn, c.id, failed, locked_now).await?;
    ratelimit::record(conn, &wrong_bucket, now).await?;
    let budget_spent = ratelimit::check(conn, &wrong_bucket, policy.wrong_guesses, now)
        .await?
        .is_err();
    for (happened, action) in [
        (locked_now, Action::OtpLockedOut),
        (budget_spent, Action::OtpGuessLimitReached),
    ] {
        if happened {
            let event = Event {
                actor_id: guess.account,
                subject_id: Some(c.account_id),
                action,
                reason: Some(c.purpose.as_str()),
            };
            audit::record(conn, now, origin, event).await?;
        }
    }
    Ok(Verdict::Refused(
        ApiError::new(ErrorCode::OtpInvalid).detail("The code is wrong."),
    ))
}
