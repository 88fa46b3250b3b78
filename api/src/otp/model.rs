//! Challenge rows and their queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::rules::{ChallengeState, Purpose};
use crate::{
    crypto::PiiCipher,
    db::{prepared, schema::otp_challenges},
    error::ApiError,
};

/// A challenge row. The code is kept only as a keyed hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = otp_challenges)]
pub struct Challenge {
    pub id: Uuid,
    /// Whose code it is (for purchases: the card holder).
    pub account_id: Uuid,
    pub purpose: Purpose,
    pub code_hash: Vec<u8>,
    /// Where the code went, masked (`b***@example.com`, `+62812****7890`):
    /// all that is kept in clear.
    pub destination: String,
    /// The destination itself (the email for login and purchase, the new
    /// number for a phone change), sealed with the PII cipher; see
    /// [`Challenge::open_destination`].
    pub destination_ciphertext: Option<Vec<u8>>,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: i32,
    pub resends: i32,
    pub state: ChallengeState,
    pub created_at: DateTime<Utc>,
    /// One open challenge per purpose and scope: a new one supersedes the others.
    pub scope_key: String,
    /// Whose budgets it spends (`account:{id}`, `card:{id}`).
    pub budget_key: String,
    /// What the code was issued for and must still hold when it is used (a
    /// purchase: card, course, partner and the price shown).
    pub context: Option<serde_json::Value>,
}

/// Associated data of a challenge's sealed destination.
pub fn destination_aad(id: Uuid) -> Vec<u8> {
    format!("otp_challenges.destination:{id}").into_bytes()
}

impl Challenge {
    /// The destination in full. A row written before destinations were sealed
    /// (it lives minutes) still holds it in `destination`.
    pub fn open_destination(&self, pii: &PiiCipher) -> Result<String, ApiError> {
        match &self.destination_ciphertext {
            Some(sealed) => pii
                .decrypt_string(sealed, &destination_aad(self.id))
                .map_err(|e| ApiError::internal(anyhow::anyhow!("challenge {}: {e}", self.id))),
            None => Ok(self.destination.clone()),
        }
    }
}

/// A new challenge.
pub struct NewChallenge<'a> {
    pub id: Uuid,
    pub account_id: Uuid,
    pub purpose: Purpose,
    pub scope_key: &'a str,
    pub budget_key: &'a str,
    pub code_hash: &'a [u8],
    /// The destination masked, and sealed ([`destination_aad`]).
    pub masked_destination: &'a str,
    pub sealed_destination: Vec<u8>,
    pub context: Option<&'a serde_json::Value>,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// A challenge by id and purpose, without locking it.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    purpose: Purpose,
) -> QueryResult<Option<Challenge>> {
    otp_challenges::table
        .find(id)
        .filter(otp_challenges::purpose.eq(purpose))
        .select(Challenge::as_select())
        .first(conn)
        .await
        .optional()
}

/// The same, locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Challenge>> {
    otp_challenges::table
        .find(id)
        .select(Challenge::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Supersedes the open challenges of a purpose and scope.
pub async fn supersede(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    scope_key: &str,
) -> QueryResult<usize> {
    diesel::update(
        otp_challenges::table
            .filter(otp_challenges::purpose.eq(purpose))
            .filter(otp_challenges::scope_key.eq(scope_key))
            .filter(otp_challenges::state.eq(ChallengeState::Open)),
    )
    .set(otp_challenges::state.eq(ChallengeState::Superseded))
    .execute(conn)
    .await
}

/// Inserts a challenge.
pub async fn insert(conn: &mut AsyncPgConnection, new: NewChallenge<'_>) -> QueryResult<Challenge> {
    diesel::insert_into(otp_challenges::table)
        .values((
            otp_challenges::id.eq(new.id),
            otp_challenges::account_id.eq(new.account_id),
            otp_challenges::purpose.eq(new.purpose),
            otp_challenges::scope_key.eq(new.scope_key),
            otp_challenges::budget_key.eq(new.budget_key),
            otp_challenges::code_hash.eq(new.code_hash),
            otp_challenges::destination.eq(new.masked_destination),
            otp_challenges::destination_ciphertext.eq(new.sealed_destination),
            otp_challenges::context.eq(new.context),
            otp_challenges::expires_at.eq(new.expires_at),
            otp_challenges::created_at.eq(new.now),
        ))
        .returning(Challenge::as_returning())
        .get_result(conn)
        .await
}

/// Replaces an open challenge's code (a resend), keeping its wrong guesses.
pub async fn replace_code(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    code_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<Option<Challenge>> {
    diesel::update(
        otp_challenges::table
            .find(id)
            .filter(otp_challenges::state.eq(ChallengeState::Open)),
    )
    .set((
        otp_challenges::code_hash.eq(code_hash),
        otp_challenges::expires_at.eq(expires_at),
        otp_challenges::resends.eq(otp_challenges::resends + 1),
    ))
    .returning(Challenge::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Consumes an open challenge; `None` if it was not open any more.
pub async fn consume(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Challenge>> {
    let open = otp_challenges::table
        .find(id)
        .filter(otp_challenges::state.eq(ChallengeState::Open));
    prepared(
        diesel::update(open)
            .set(otp_challenges::state.eq(ChallengeState::Consumed))
            .returning(Challenge::as_returning()),
    )
    .get_result(conn)
    .await
    .optional()
}

/// Counts a wrong guess; the challenge locks when its guesses are used up.
pub async fn record_wrong_guess(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    failed_attempts: i32,
    locked: bool,
) -> QueryResult<()> {
    let state = if locked {
        ChallengeState::Locked
    } else {
        ChallengeState::Open
    };
    diesel::update(
        otp_challenges::table
            .find(id)
            .filter(otp_challenges::state.eq(ChallengeState::Open)),
    )
    .set((
        otp_challenges::failed_attempts.eq(failed_attempts),
        otp_challenges::state.eq(state),
    ))
    .execute(conn)
    .await
    .map(|_| ())
}
