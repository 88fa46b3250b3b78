//! Account, single-use token, session and refresh-token rows and their queries.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    auth::Role,
    crypto::PiiCipher,
    db::{
        schema::{account_tokens, accounts, refresh_tokens, sessions},
        text_enum, Reader,
    },
    error::ApiError,
};

/// An account row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub phone_verified_at: Option<DateTime<Utc>>,
    pub blocked_at: Option<DateTime<Utc>>,
    pub blocked_reason: Option<String>,
    pub fraud_suspected: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The verified number, sealed with the PII cipher (see [`phone_aad`]).
    pub phone_ciphertext: Option<Vec<u8>>,
    /// Blind index of the verified number, for password reset by phone.
    pub phone_index: Option<Vec<u8>>,
    /// The Asia/Jakarta date the participant last confirmed or updated their
    /// personal data (DOMAIN.md §11, the yearly data check).
    pub data_confirmed_on: Option<NaiveDate>,
}

/// Associated data binding a sealed phone number to its account.
pub fn phone_aad(account: Uuid) -> Vec<u8> {
    format!("accounts.phone:{account}").into_bytes()
}

impl Account {
    /// Whether the email address has been verified.
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// Whether the PMO blocked the account.
    pub fn blocked(&self) -> bool {
        self.blocked_at.is_some()
    }

    /// Whether a phone number has been verified.
    pub fn has_verified_phone(&self) -> bool {
        self.phone_verified_at.is_some() && self.phone_ciphertext.is_some()
    }

    /// The verified phone number (E.164), decrypted.
    pub fn verified_phone(&self, pii: &PiiCipher) -> Result<Option<String>, ApiError> {
        match (&self.phone_ciphertext, self.phone_verified_at) {
            (Some(blob), Some(_)) => pii
                .decrypt_string(blob, &phone_aad(self.id))
                .map(Some)
                .map_err(|e| {
                    ApiError::internal(anyhow::anyhow!("accounts.phone of {}: {e}", self.id))
                }),
            _ => Ok(None),
        }
    }
}

/// Finds an account by normalised email.
pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::email.eq(email))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()
}

/// Accounts whose verified phone has this blind index.
pub async fn find_by_phone_index(
    conn: &mut AsyncPgConnection,
    index: &[u8],
) -> QueryResult<Vec<Account>> {
    accounts::table
        .filter(accounts::phone_index.eq(index))
        .filter(accounts::phone_verified_at.is_not_null())
        .select(Account::as_select())
        .load(conn)
        .await
}

/// Finds an account by id.
pub async fn find(conn: &mut impl Reader, id: Uuid) -> QueryResult<Option<Account>> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()
}

/// Finds an account by id and locks its row until the transaction ends.
pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Account> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .for_update()
        .first(conn)
        .await
}

/// Inserts an account; a duplicate email fails with a unique violation.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    email: &str,
    password_hash: &str,
    role: Role,
    verified_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(id),
            accounts::email.eq(email),
            accounts::password_hash.eq(password_hash),
            accounts::role.eq(role),
            accounts::email_verified_at.eq(verified_at),
            accounts::created_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Replaces the password hash.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(hash),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

text_enum! {
    /// Purposes of single-use email tokens (the stored value is also the hashing label).
    pub enum TokenPurpose {
        EmailVerification => "email_verification",
        PasswordReset => "password_reset",
    }
}

/// Stores a token hash. Older unused tokens of the same purpose stop working:
/// only the newest link is valid.
pub async fn insert_token(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    purpose: TokenPurpose,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::account_id.eq(account_id))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)
    .await?;
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::id.eq(Uuid::new_v4()),
            account_tokens::account_id.eq(account_id),
            account_tokens::purpose.eq(purpose),
            account_tokens::token_hash.eq(token_hash),
            account_tokens::expires_at.eq(expires_at),
            account_tokens::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The account of a live (unused, unexpired) token, without consuming it.
pub async fn peek_token(
    conn: &mut AsyncPgConnection,
    purpose: TokenPurpose,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(now))
        .select(account_tokens::account_id)
        .first(conn)
        .await
        .optional()
}

/// Marks a live token used and returns its account; `None` if it was not live.
/// The conditional update makes a token single-use even under racing requests.
pub async fn consume_token(
    conn: &mut AsyncPgConnection,
    purpose: TokenPurpose,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::token_hash.eq(token_hash))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now)),
    )
    .set(account_tokens::used_at.eq(now))
    .returning(account_tokens::account_id)
    .get_result(conn)
    .await
    .optional()
}

text_enum! {
    /// Why sessions end.
    pub enum EndReason {
        Logout => "logout",
        PasswordChanged => "password_changed",
        PasswordReset => "password_reset",
        Blocked => "blocked",
        RefreshTokenReused => "refresh_token_reused",
        /// The office moved the account's NIK to its rightful owner (a report).
        NikTransferred => "nik_transferred",
    }
}

/// Ends every live session of an account, except `keep` (the caller's own).
pub async fn end_sessions(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keep: Option<Uuid>,
    reason: EndReason,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let keep = keep.unwrap_or(Uuid::nil());
    diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::id.ne(keep)),
    )
    .set((sessions::ended_at.eq(now), sessions::end_reason.eq(reason)))
    .execute(conn)
    .await
}

/// Ends one session (a no-op if it already ended).
pub async fn end_session(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    reason: EndReason,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::ended_at.is_null()),
    )
    .set((sessions::ended_at.eq(now), sessions::end_reason.eq(reason)))
    .execute(conn)
    .await
}

/// Opens a session row (one login; its refresh tokens form one rotation family).
pub async fn insert_session(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    account_id: Uuid,
    ip: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::account_id.eq(account_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
            sessions::ip.eq(ip),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Stores the keyed hash of a session's new refresh token.
pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::new_v4()),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A refresh token with the state of its session.
#[derive(Debug, Queryable)]
pub struct RefreshTokenState {
    pub token_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub session_id: Uuid,
    pub account_id: Uuid,
    pub ended_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// The refresh token with this hash and its session, locked until the
/// transaction ends, so two exchanges of one token cannot both rotate it.
pub async fn lock_refresh_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<RefreshTokenState>> {
    refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
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
        .optional()
}

/// Marks a refresh token exchanged.
pub async fn mark_rotated(
    conn: &mut AsyncPgConnection,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find(token_id))
        .set(refresh_tokens::rotated_at.eq(now))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The session (and its account) a refresh token belongs to.
pub async fn session_of_refresh_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<(Uuid, Uuid)>> {
    refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((sessions::id, sessions::account_id))
        .first(conn)
        .await
        .optional()
}

/// Marks the email of an unverified account verified.
pub async fn mark_email_verified(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .filter(accounts::email_verified_at.is_null())
        .set((
            accounts::email_verified_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Makes `sealed` (with its blind index) the account's verified phone.
pub async fn set_verified_phone(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    sealed: &[u8],
    index: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::phone_ciphertext.eq(sealed),
            accounts::phone_index.eq(index),
            accounts::phone_verified_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}
