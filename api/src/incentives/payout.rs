//! The payout account (DOMAIN.md §8): one bank account or e-wallet per
//! participant, registered under the participant's own KTP name.
//!
//! - **Who may change it.** Linking or replacing needs a login completed in
//!   the last 15 minutes of real time (an account takeover must not redirect
//!   money), and an email tells the participant it changed.
//! - **Whose account.** The provider names the holder; it must be the KTP name
//!   ([`rules::same_holder`]). The provider is asked before any write: down or
//!   slow, nothing is stored (503 `payout_provider_unavailable`).
//! - **Sealed.** Number and holder are sealed like other personal data, bound
//!   to their row; only the masked number is stored in the clear.
//! - **Never mid-payment.** Unlinking while an attempt to the account is
//!   processing is 409 `payout_in_progress`. The disbursement job holds the
//!   account row shared while it makes attempts, and unlinking updates that row
//!   before it looks for processing attempts, so the two cannot cross.
//! - Linking moves `awaiting_payout_account` and `failed` installments to
//!   `scheduled`; unlinking moves `scheduled` ones back.

use chrono::{DateTime, Utc};
use diesel::{dsl::exists, prelude::*, select};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    rules::{self, AttemptStatus, IncentiveStatus},
    views::{LinkPayoutAccount, PayoutAccountView},
};
use crate::{
    audit::{self, Action, Event, Origin},
    crypto::PiiCipher,
    db::schema::{accounts, incentives, payout_accounts, payout_attempts, sessions},
    error::{ApiError, ErrorCode},
    integrations::payout::{self as provider, AccountCheck, PayoutAdapter, PayoutProvider},
    notifications::{self, Channel, Message},
    registration::model::{aad, load_identity},
};

/// A linked payout account, unsealed.
pub struct LinkedAccount {
    pub id: Uuid,
    pub provider: PayoutProvider,
    pub account_number: String,
    pub holder_name: String,
    pub masked_account: String,
    pub linked_at: DateTime<Utc>,
}

impl LinkedAccount {
    /// The masked view.
    pub fn view(&self) -> PayoutAccountView {
        PayoutAccountView {
            provider: self.provider,
            masked_account: self.masked_account.clone(),
            holder_name: self.holder_name.clone(),
            linked_at: self.linked_at,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payout_accounts)]
struct Row {
    id: Uuid,
    provider: PayoutProvider,
    account_number_ciphertext: Vec<u8>,
    holder_name_ciphertext: Vec<u8>,
    masked_account: String,
    linked_at: DateTime<Utc>,
}

fn seal(pii: &PiiCipher, column: &str, row: Uuid, value: &str) -> Vec<u8> {
    pii.encrypt_str(value, &aad("payout_accounts", column, row))
}

fn open(pii: &PiiCipher, column: &str, row: Uuid, blob: &[u8]) -> anyhow::Result<String> {
    pii.decrypt_string(blob, &aad("payout_accounts", column, row))
        .map_err(|e| anyhow::anyhow!("payout_accounts.{column} of {row}: {e}"))
}

/// Unseals the payout account `id` (linked or not: attempts name theirs).
pub async fn unseal(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    id: Uuid,
) -> anyhow::Result<LinkedAccount> {
    let row: Row = payout_accounts::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .await?;
    unseal_row(pii, row)
}

fn unseal_row(pii: &PiiCipher, row: Row) -> anyhow::Result<LinkedAccount> {
    Ok(LinkedAccount {
        account_number: open(
            pii,
            "account_number",
            row.id,
            &row.account_number_ciphertext,
        )?,
        holder_name: open(pii, "holder_name", row.id, &row.holder_name_ciphertext)?,
        id: row.id,
        provider: row.provider,
        masked_account: row.masked_account,
        linked_at: row.linked_at,
    })
}

/// The account's linked payout account, if any.
pub async fn linked(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account: Uuid,
) -> anyhow::Result<Option<LinkedAccount>> {
    let row: Option<Row> = payout_accounts::table
        .filter(payout_accounts::account_id.eq(account))
        .filter(payout_accounts::unlinked_at.is_null())
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(|r| unseal_row(pii, r)).transpose()
}

/// Whether a payout account is linked (the phone-change rule, DOMAIN.md §1).
pub async fn is_linked(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<bool> {
    select(exists(
        payout_accounts::table
            .filter(payout_accounts::account_id.eq(account))
            .filter(payout_accounts::unlinked_at.is_null()),
    ))
    .get_result(conn)
    .await
}

/// What linking needs besides a connection.
pub struct LinkDeps<'a> {
    pub pii: &'a PiiCipher,
    pub payout: &'a PayoutAdapter,
    pub origin: &'a Origin,
}

/// 403 `reauthentication_required` unless the session's login completed in
/// the last 15 minutes of real time.
pub async fn require_recent_login(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    real_now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let login_at: DateTime<Utc> = sessions::table
        .find(session_id)
        .select(sessions::created_at)
        .first(conn)
        .await?;
    if rules::recently_authenticated(login_at, real_now) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ReauthenticationRequired).detail(
            "Log in again (within the last 15 minutes) before linking or replacing the payout account.",
        ))
    }
}

/// `PUT /v1/me/payout-account`: checks the account with the provider, then
/// links it (replacing any other) in one transaction with the schedule's
/// moves, the audit row and the email. The caller has checked the login's age.
pub async fn link(
    conn: &mut AsyncPgConnection,
    deps: &LinkDeps<'_>,
    account: Uuid,
    request: &LinkPayoutAccount,
    now: DateTime<Utc>,
) -> Result<PayoutAccountView, ApiError> {
    let number = request.account_number.as_str();
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::field("account_number", "must be digits only"));
    }
    let identity = load_identity(conn, deps.pii, account)
        .await?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::IdentityRequired)
                .detail("Verify the identity first: the account must be in the KTP name.")
        })?;
    // Asked before anything is written: a provider that is down or slow
    // leaves no trace.
    let check = deps
        .payout
        .validate_account(request.provider, number, &identity.full_name)
        .await
        .map_err(provider::unavailable)?;
    let holder_name = match check {
        AccountCheck::Invalid => {
            return Err(ApiError::new(ErrorCode::PayoutAccountInvalid)
                .detail("The bank or e-wallet does not know this account number."))
        }
        AccountCheck::Valid { holder_name }
            if rules::same_holder(&holder_name, &identity.full_name) =>
        {
            holder_name
        }
        AccountCheck::Valid { .. } => {
            return Err(ApiError::new(ErrorCode::PayoutAccountNameMismatch)
                .detail("The account is not registered under the participant's KTP name."))
        }
    };
    let id = Uuid::new_v4();
    let masked = rules::mask_account(number);
    conn.transaction::<_, ApiError, _>(async |conn| {
        let email = lock_account(conn, account).await?;
        diesel::update(
            payout_accounts::table
                .filter(payout_accounts::account_id.eq(account))
                .filter(payout_accounts::unlinked_at.is_null()),
        )
        .set(payout_accounts::unlinked_at.eq(now))
        .execute(conn)
        .await?;
        diesel::insert_into(payout_accounts::table)
            .values((
                payout_accounts::id.eq(id),
                payout_accounts::account_id.eq(account),
                payout_accounts::provider.eq(request.provider),
                payout_accounts::account_number_ciphertext.eq(seal(
                    deps.pii,
                    "account_number",
                    id,
                    number,
                )),
                payout_accounts::holder_name_ciphertext.eq(seal(
                    deps.pii,
                    "holder_name",
                    id,
                    &holder_name,
                )),
                payout_accounts::masked_account.eq(&masked),
                payout_accounts::linked_at.eq(now),
            ))
            .execute(conn)
            .await?;
        diesel::update(
            incentives::table
                .filter(incentives::account_id.eq(account))
                .filter(incentives::status.eq_any([
                    IncentiveStatus::AwaitingPayoutAccount,
                    IncentiveStatus::Failed,
                ])),
        )
        .set((
            incentives::status.eq(IncentiveStatus::Scheduled),
            incentives::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
        let reason = format!("{} {masked}", request.provider);
        audit::record(
            conn,
            now,
            deps.origin,
            Event {
                reason: Some(&reason),
                ..Event::own(account, Action::PayoutAccountLinked)
            },
        )
        .await?;
        notifications::enqueue(
            conn,
            now,
            Channel::Email,
            &email,
            &Message::PayoutAccountChanged {
                provider: request.provider.as_str().to_owned(),
                masked_account: masked.clone(),
            },
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(PayoutAccountView {
        provider: request.provider,
        masked_account: masked,
        holder_name,
        linked_at: now,
    })
}

/// `DELETE /v1/me/payout-account`: unlinks it unless a payment to it is
/// processing (409 `payout_in_progress`); unlinking nothing is not an error.
pub async fn unlink(
    conn: &mut AsyncPgConnection,
    origin: &Origin,
    account: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        lock_account(conn, account).await?;
        // Updating the row first waits for a disbursement run holding it, so
        // the attempts it made are visible to the check below.
        let unlinked: Option<Uuid> = diesel::update(
            payout_accounts::table
                .filter(payout_accounts::account_id.eq(account))
                .filter(payout_accounts::unlinked_at.is_null()),
        )
        .set(payout_accounts::unlinked_at.eq(now))
        .returning(payout_accounts::id)
        .get_result(conn)
        .await
        .optional()?;
        let Some(unlinked) = unlinked else {
            return Ok(());
        };
        let paying: bool = select(exists(
            payout_attempts::table
                .filter(payout_attempts::payout_account_id.eq(unlinked))
                .filter(payout_attempts::status.eq(AttemptStatus::Processing)),
        ))
        .get_result(conn)
        .await?;
        if paying {
            return Err(ApiError::new(ErrorCode::PayoutInProgress)
                .detail("A payment to this account is processing; unlink it once it is settled."));
        }
        diesel::update(
            incentives::table
                .filter(incentives::account_id.eq(account))
                .filter(incentives::status.eq(IncentiveStatus::Scheduled)),
        )
        .set((
            incentives::status.eq(IncentiveStatus::AwaitingPayoutAccount),
            incentives::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
        audit::record(
            conn,
            now,
            origin,
            Event::own(account, Action::PayoutAccountUnlinked),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Locks the account row (linking and unlinking of one account run one at a
/// time) and returns its email.
async fn lock_account(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<String> {
    accounts::table
        .find(account)
        .select(accounts::email)
        .for_update()
        .first(conn)
        .await
}
