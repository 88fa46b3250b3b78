//! The account as its owner (or an admin) sees it (`GET /v1/me`): the profile
//! from the KTP record, flags, registration progress and the beneficiary summary.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use super::{
    model::{self, Account},
    views,
};
use crate::{
    auth::{Principal, Role},
    card,
    clock::jakarta_date,
    crypto::PiiCipher,
    error::{ApiError, ErrorCode},
    registration,
};

/// The view of an account on `today` (an Asia/Jakarta date, service clock).
pub async fn account_view(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account: &Account,
    today: NaiveDate,
) -> Result<views::Me, ApiError> {
    let identity = registration::model::load_identity(conn, pii, account.id).await?;
    Ok(views::Me {
        id: account.id,
        email: account.email.clone(),
        email_verified: account.email_verified(),
        role: account.role,
        full_name: identity.as_ref().map(|i| i.full_name.clone()),
        gender: identity.as_ref().map(|i| i.gender),
        phone: account.verified_phone(pii)?,
        phone_verified: account.has_verified_phone(),
        nik_masked: identity.as_ref().map(|i| i.nik.masked()),
        flags: views::Flags {
            blocked: account.blocked(),
            fraud_suspected: account.fraud_suspected,
        },
        registration: registration::service::progress(conn, account.id).await?,
        beneficiary: card::service::beneficiary(conn, account.id).await?,
        data_review_due: registration::rules::data_review_due(
            account.role == Role::Participant,
            jakarta_date(account.created_at),
            account.data_confirmed_on,
            today,
        ),
    })
}

/// `GET /v1/me`.
pub async fn me(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    who: &Principal,
    today: NaiveDate,
) -> Result<views::Me, ApiError> {
    let account = model::find(conn, who.account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?;
    account_view(conn, pii, &account, today).await
}
