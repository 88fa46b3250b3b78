//! The first registration step (DOMAIN.md §2): NIK, KK number and date of
//! birth checked against the population registry, under the account's
//! failure cap, and the record stored sealed. A NIK another account holds is
//! refused and kept as a claim for the report form's transfer.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use super::{
    model::{self, Identity},
    rules,
    views::{IdentityBody, IdentityView},
    Deps,
};
use crate::{
    audit::{self, Action, Event},
    auth::Principal,
    db::{self, DbPool},
    error::{ApiError, ErrorCode},
    http::Caller,
    identity::{check_birth_date, KkNumber, Nik},
    integrations::registry,
    ratelimit::{self, Gate},
};

fn identity_view(identity: &Identity) -> IdentityView {
    IdentityView {
        full_name: identity.full_name.clone(),
        gender: identity.gender,
        birth_place: identity.birth_place.clone(),
        address: identity.address.clone(),
        province_code: identity.province_code.clone(),
        regency_code: identity.regency_code.clone(),
    }
}

/// Checks NIK, KK and date of birth against the population registry and stores
/// the record. Nothing is stored unless the registry found the NIK with a
/// matching KK and date of birth. A slot of the account's failure cap is taken
/// before anything is checked (so attempts sent at once cannot overrun it) and
/// given back unless the attempt failed in a way the cap counts.
pub async fn verify_identity(
    db: &DbPool,
    deps: Deps<'_>,
    caller: &Caller,
    who: &Principal,
    body: &IdentityBody,
) -> Result<IdentityView, ApiError> {
    let now = deps.clock.now();
    let failures = format!("identity_fail:account:{}", who.account_id);
    let attempt = {
        let mut conn = db.get().await?;
        if model::load_identity(&mut conn, deps.pii, who.account_id)
            .await?
            .is_some()
        {
            return Err(already_verified());
        }
        let gates = [Gate::Window(&failures, rules::IDENTITY_FAILURES)];
        ratelimit::reserve(&mut conn, &gates, now)
            .await?
            .map_err(|(_, e)| {
                ApiError::from(e).detail(
                    "Too many failed identity attempts; wait for the time in Retry-After or ask for help with a report.",
                )
            })?
    };
    let outcome = check_and_store_identity(db, deps, caller, who, body, now).await;
    let counted = matches!(
        outcome.as_ref().map_err(ApiError::code),
        Err(ErrorCode::NikInvalid | ErrorCode::IdentityMismatch | ErrorCode::NikRegistered)
    );
    if !counted {
        let mut conn = db.get().await?;
        ratelimit::release(&mut conn, attempt).await?;
    }
    outcome
}

async fn check_and_store_identity(
    db: &DbPool,
    deps: Deps<'_>,
    caller: &Caller,
    who: &Principal,
    body: &IdentityBody,
    now: DateTime<Utc>,
) -> Result<IdentityView, ApiError> {
    let nik = Nik::parse(&body.nik)?;
    let kk = KkNumber::parse(&body.kk_number)
        .map_err(|e| ApiError::field("kk_number", e.to_string()))?;
    check_birth_date(&nik, body.date_of_birth)?;
    {
        let mut conn = db.get().await?;
        let lookups = format!("registry_lookups:account:{}", who.account_id);
        ratelimit::hit(&mut conn, &lookups, rules::REGISTRY_LOOKUPS, now).await??;
    }
    // The registry call happens outside any transaction: no connection or lock is
    // held while waiting on it.
    let answer = deps
        .registry
        .verify(&nik, &kk, body.date_of_birth)
        .await
        .map_err(registry::unavailable)?;
    let record = answer.into_verified_record().ok_or_else(|| {
        ApiError::new(ErrorCode::IdentityMismatch).detail(
            "The population registry has no record with this NIK, KK number and date of birth.",
        )
    })?;
    let mut conn = db.get().await?;
    let stored = conn.transaction::<_, ApiError, _>(async |conn| {
        model::insert_identity(conn, deps.pii, deps.blind, who.account_id, &nik, &record, now)
            .await
            .map_err(|e| match db::unique_violation(&e) {
                Some("identities_nik_index_key") => ApiError::new(ErrorCode::NikRegistered)
                    .detail("This NIK is already registered to another account: recover that account with the forgotten-password flow, or, if it is not yours, send a report (category nik_registered_by_someone_else) with your documents."),
                Some("identities_pkey") => already_verified(),
                _ => e.into(),
            })?;
        audit::record(conn, now, &caller.origin, Event::own(who.account_id, Action::IdentityVerified)).await?;
        Ok(())
    })
    .await;
    if let Err(e) = stored {
        if e.code() == ErrorCode::NikRegistered {
            // The registry confirmed this person's KK and date of birth, yet
            // another account holds the NIK: the claim a report's
            // `nik-transfer` acts on once the office has seen the documents.
            model::record_nik_claim(&mut conn, who.account_id, &deps.blind.nik(&nik), now).await?;
        }
        return Err(e);
    }
    let identity = model::load_identity(&mut conn, deps.pii, who.account_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("identity vanished after insert")))?;
    Ok(identity_view(&identity))
}

fn already_verified() -> ApiError {
    ApiError::new(ErrorCode::IdentityAlreadyVerified)
        .detail("The identity is verified and cannot be changed.")
}
