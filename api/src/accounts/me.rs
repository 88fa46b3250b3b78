//! The account as its owner (or an admin) sees it (`GET /v1/me`): the profile
//! from the KTP record, flags, registration progress and the beneficiary summary.
//!
//! The parts are independent reads of one account, so they go to PostgreSQL
//! at once on one connection (pipelined, see [`crate::db::Reader`]): one round
//! trip for the whole view, after the session check.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

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
    purchases,
    registration::{self, model::Identity},
};

/// What the view shows besides the account row.
struct Parts {
    identity: Option<Identity>,
    registration: registration::views::Registration,
    beneficiary: Option<card::views::Beneficiary>,
}

/// The parts of `account`'s view, read at once.
async fn parts(
    conn: &AsyncPgConnection,
    pii: &PiiCipher,
    account: Uuid,
) -> Result<Parts, ApiError> {
    let (mut identity, mut steps, mut card, mut latest) = (conn, conn, conn, conn);
    let (identity, done, card, latest) = futures_util::try_join!(
        registration::model::load_identity(&mut identity, pii, account),
        async { Ok(registration::model::steps_done(&mut steps, account).await?) },
        async { Ok(card::model::of_account(&mut card, account).await?) },
        async { Ok(purchases::model::latest_standing_of_account(&mut latest, account).await?) },
    )?;
    Ok(Parts {
        identity,
        registration: registration::service::progress_of(done),
        beneficiary: card
            .map(|row| card::service::beneficiary_of(row, purchases::service::previous_of(latest))),
    })
}

fn view(
    pii: &PiiCipher,
    account: &Account,
    parts: Parts,
    today: NaiveDate,
) -> Result<views::Me, ApiError> {
    let identity = parts.identity.as_ref();
    Ok(views::Me {
        id: account.id,
        email: account.email.clone(),
        email_verified: account.email_verified(),
        role: account.role,
        full_name: identity.map(|i| i.full_name.clone()),
        gender: identity.map(|i| i.gender),
        phone: account.verified_phone(pii)?,
        phone_verified: account.has_verified_phone(),
        nik_masked: identity.map(|i| i.nik.masked()),
        flags: views::Flags {
            blocked: account.blocked(),
            fraud_suspected: account.fraud_suspected,
        },
        registration: parts.registration,
        beneficiary: parts.beneficiary,
        data_review_due: registration::rules::data_review_due(
            account.role == Role::Participant,
            jakarta_date(account.created_at),
            account.data_confirmed_on,
            today,
        ),
    })
}

/// The view of an account on `today` (an Asia/Jakarta date, service clock).
pub async fn account_view(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account: &Account,
    today: NaiveDate,
) -> Result<views::Me, ApiError> {
    let parts = parts(conn, pii, account.id).await?;
    view(pii, account, parts, today)
}

/// `GET /v1/me`: the account row and the parts of its view in one round trip.
pub async fn me(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    who: &Principal,
    today: NaiveDate,
) -> Result<views::Me, ApiError> {
    let shared: &AsyncPgConnection = conn;
    let mut row = shared;
    let (account, parts) = futures_util::try_join!(
        async { Ok(model::find(&mut row, who.account_id).await?) },
        parts(shared, pii, who.account_id),
    )?;
    let account = account.ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?;
    view(pii, &account, parts, today)
}
