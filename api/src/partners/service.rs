//! What the programme office does to partner platforms, each change in one
//! transaction with its audit row. (Audit subjects are accounts, so the partner
//! is named in the audit reason.)

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    model::{self, Partner, PartnerCapability, PartnerStatus},
    views::{PartnerCreated, PartnerView, RotatedSecret},
};
use crate::{
    audit::{self, Action, Event},
    auth::Principal,
    crypto::PiiCipher,
    error::{ApiError, ErrorCode},
    http::Caller,
};

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound).detail("No partner platform has this id.")
}

async fn audit(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    admin: &Principal,
    action: Action,
    reason: &str,
) -> diesel::QueryResult<()> {
    let event = Event {
        actor_id: Some(admin.account_id),
        subject_id: None,
        action,
        reason: Some(reason),
    };
    audit::record(conn, now, &caller.origin, event).await
}

/// Creates a partner and its first secret.
pub async fn create(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    caller: &Caller,
    admin: &Principal,
    name: &str,
    capabilities: &[PartnerCapability],
    now: DateTime<Utc>,
) -> Result<PartnerCreated, ApiError> {
    let (partner, secret) = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let (partner, secret) = model::create(conn, pii, name, capabilities, now).await?;
            let names: Vec<&str> = capabilities.iter().map(|c| c.as_str()).collect();
            let reason = format!("partner {}: {}", partner.id, names.join(", "));
            audit(conn, now, caller, admin, Action::PartnerCreated, &reason).await?;
            Ok((partner, secret))
        })
        .await?;
    Ok(PartnerCreated {
        partner_id: partner.id,
        name: partner.name,
        status: partner.status,
        capabilities: partner.capabilities,
        secret,
        created_at: partner.created_at,
    })
}

/// Replaces the secret, keeping the old one for `grace` of real time.
#[allow(clippy::too_many_arguments)]
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    caller: &Caller,
    admin: &Principal,
    id: Uuid,
    grace: Duration,
    now: DateTime<Utc>,
    real_now: DateTime<Utc>,
) -> Result<RotatedSecret, ApiError> {
    let rotated = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some((partner, secret)) =
                model::rotate(conn, pii, id, grace, now, real_now).await?
            else {
                return Ok(None);
            };
            let reason = format!(
                "partner {id}: previous secret valid for {} minutes",
                grace.num_minutes()
            );
            audit(
                conn,
                now,
                caller,
                admin,
                Action::PartnerSecretRotated,
                &reason,
            )
            .await?;
            Ok(Some((partner, secret)))
        })
        .await?;
    let (partner, secret) = rotated.ok_or_else(not_found)?;
    Ok(RotatedSecret {
        partner_id: partner.id,
        secret,
        previous_secret_valid_until: partner.previous_secret_valid_until,
    })
}

/// Disables or re-enables a partner.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    admin: &Principal,
    id: Uuid,
    status: PartnerStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<PartnerView, ApiError> {
    let partner: Option<Partner> = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(partner) = model::set_status(conn, id, status, now).await? else {
                return Ok(None);
            };
            let action = match status {
                PartnerStatus::Disabled => Action::PartnerDisabled,
                PartnerStatus::Active => Action::PartnerEnabled,
            };
            let reason = format!("partner {id}: {reason}");
            audit(conn, now, caller, admin, action, &reason).await?;
            Ok(Some(partner))
        })
        .await?;
    partner.map(PartnerView::from).ok_or_else(not_found)
}

/// One partner.
pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> Result<PartnerView, ApiError> {
    model::find(conn, id)
        .await?
        .map(PartnerView::from)
        .ok_or_else(not_found)
}
