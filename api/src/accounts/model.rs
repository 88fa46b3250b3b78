//! Account rows and their queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    crypto::PiiCipher,
    db::schema::{account_tokens, accounts, sessions},
    error::ApiError,
};

/// An account row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
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
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Account>> {
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
    role: &str,
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

/// Purposes of single-use email tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    EmailVerification,
    PasswordReset,
}

impl TokenPurpose {
    /// Stored value, also the hashing label.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::EmailVerification => "email_verification",
            TokenPurpose::PasswordReset => "password_reset",
        }
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
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)
    .await?;
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::id.eq(Uuid::new_v4()),
            account_tokens::account_id.eq(account_id),
            account_tokens::purpose.eq(purpose.as_str()),
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
        .filter(account_tokens::purpose.eq(purpose.as_str()))
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
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now)),
    )
    .set(account_tokens::used_at.eq(now))
    .returning(account_tokens::account_id)
    .get_result(conn)
    .await
    .optional()
}

/// Why sessions end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    PasswordChanged,
    PasswordReset,
    Blocked,
    RefreshTokenReused,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::PasswordChanged => "password_changed",
            EndReason::PasswordReset => "password_reset",
            EndReason::Blocked => "blocked",
            EndReason::RefreshTokenReused => "refresh_token_reused",
        }
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
    .set((
        sessions::ended_at.eq(now),
        sessions::end_reason.eq(reason.as_str()),
    ))
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
    .set((
        sessions::ended_at.eq(now),
        sessions::end_reason.eq(reason.as_str()),
    ))
    .execute(conn)
    .await
}
