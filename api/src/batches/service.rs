//! Wave administration and joining a wave.

use chrono::{DateTime, Utc};
use diesel::{dsl::count_star, prelude::*};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::{rngs::OsRng, RngCore};
use uuid::Uuid;

use super::{
    model::{self, ApplicationStatus, Batch},
    rules::{BatchStatus, Scheme},
    views::*,
};
use crate::{
    audit::{self, Action, Event},
    auth::Principal,
    clock::jakarta_date,
    crypto::PiiCipher,
    db::{
        self,
        schema::{applications, batches, profiles},
    },
    error::{ApiError, ErrorCode},
    http::Caller,
    pagination::{self, Cursor, Page, PageRequest},
    registration::{self, rules::Reason},
};

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound).detail("No such wave.")
}

fn check_window(opens_at: DateTime<Utc>, closes_at: DateTime<Utc>) -> Result<(), ApiError> {
    if closes_at <= opens_at {
        return Err(ApiError::field("closes_at", "must be after opens_at"));
    }
    Ok(())
}

/// Creates a wave.
pub async fn create(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    admin: &Principal,
    body: &CreateBatch,
) -> Result<BatchAdminView, ApiError> {
    check_window(body.opens_at, body.closes_at)?;
    let scheme = body
        .scheme
        .as_ref()
        .map_or_else(Scheme::default, |s| s.over(Scheme::default()));
    let id = Uuid::new_v4();
    conn.transaction::<_, ApiError, _>(async |conn| {
        diesel::insert_into(batches::table)
            .values((
                batches::id.eq(id),
                batches::name.eq(&body.name),
                batches::opens_at.eq(body.opens_at),
                batches::closes_at.eq(body.closes_at),
                batches::quota.eq(body.quota),
                batches::province_codes.eq(body.province_codes.clone().unwrap_or_default()),
                batches::training_idr.eq(scheme.training_idr),
                batches::incentive_monthly_idr.eq(scheme.incentive_monthly_idr),
                batches::incentive_months.eq(scheme.incentive_months),
                batches::survey_incentive_idr.eq(scheme.survey_incentive_idr),
                batches::survey_count.eq(scheme.survey_count),
                batches::created_at.eq(now),
                batches::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            now,
            &caller.origin,
            Event {
                actor_id: Some(admin.account_id),
                subject_id: None,
                action: Action::BatchCreated,
                reason: Some(&format!("batch {id}")),
            },
        )
        .await?;
        Ok(())
    })
    .await?;
    admin_view(conn, now, id).await
}

/// Edits a wave that has not opened yet; the check and the change are one
/// conditional update, so a wave cannot open between them.
pub async fn update(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    admin: &Principal,
    id: Uuid,
    body: &UpdateBatch,
) -> Result<BatchAdminView, ApiError> {
    let batch = model::find(conn, id).await?.ok_or_else(not_found)?;
    if batch.status(now) != BatchStatus::Upcoming {
        return Err(ApiError::new(ErrorCode::BatchNotUpcoming)
            .detail("A wave can be edited only before it opens."));
    }
    let opens_at = body.opens_at.unwrap_or(batch.opens_at);
    let closes_at = body.closes_at.unwrap_or(batch.closes_at);
    check_window(opens_at, closes_at)?;
    let scheme = body
        .scheme
        .as_ref()
        .map_or(batch.scheme(), |s| s.over(batch.scheme()));
    conn.transaction::<_, ApiError, _>(async |conn| {
        let updated = diesel::update(batches::table.find(id).filter(batches::opens_at.gt(now)))
            .set((
                batches::name.eq(body.name.as_ref().unwrap_or(&batch.name)),
                batches::opens_at.eq(opens_at),
                batches::closes_at.eq(closes_at),
                batches::quota.eq(body.quota.unwrap_or(batch.quota)),
                batches::province_codes.eq(body
                    .province_codes
                    .as_ref()
                    .unwrap_or(&batch.province_codes)),
                batches::training_idr.eq(scheme.training_idr),
                batches::incentive_monthly_idr.eq(scheme.incentive_monthly_idr),
                batches::incentive_months.eq(scheme.incentive_months),
                batches::survey_incentive_idr.eq(scheme.survey_incentive_idr),
                batches::survey_count.eq(scheme.survey_count),
                batches::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        if updated == 0 {
            return Err(ApiError::new(ErrorCode::BatchNotUpcoming)
                .detail("A wave can be edited only before it opens."));
        }
        let event = Event {
            actor_id: Some(admin.account_id),
            subject_id: None,
            action: Action::BatchUpdated,
            reason: Some(&format!("batch {id}")),
        };
        audit::record(conn, now, &caller.origin, event).await?;
        Ok(())
    })
    .await?;
    admin_view(conn, now, id).await
}

/// Waves, newest opening first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    page: PageRequest,
) -> Result<Page<BatchView>, ApiError> {
    let mut query = batches::table
        .select(Batch::as_select())
        .order((batches::opens_at.desc(), batches::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(pagination::before(batches::opens_at, batches::id, after));
    }
    let rows = query.load(conn).await?;
    Ok(page.page(
        rows,
        |b| Cursor {
            created_at: b.opens_at,
            id: b.id,
        },
        |b| b.view(now),
    ))
}

/// Draws the lottery seed of a closed wave, once: the first caller after closing
/// stores it, everyone later reads the same one.
pub async fn ensure_seed(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
) -> QueryResult<Option<Vec<u8>>> {
    if batch.seed.is_some() || now < batch.closes_at {
        return Ok(batch.seed.clone());
    }
    let mut seed = vec![0u8; 32];
    OsRng.fill_bytes(&mut seed);
    diesel::update(
        batches::table
            .find(batch.id)
            .filter(batches::seed.is_null()),
    )
    .set(batches::seed.eq(&seed))
    .execute(conn)
    .await?;
    batches::table
        .find(batch.id)
        .select(batches::seed)
        .first(conn)
        .await
}

/// The admin view: the wave, its seed once closed, and its counts.
pub async fn admin_view(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    id: Uuid,
) -> Result<BatchAdminView, ApiError> {
    let batch = model::find(conn, id).await?.ok_or_else(not_found)?;
    let seed = ensure_seed(conn, &batch, now).await?;
    let counts: Vec<(ApplicationStatus, i64)> = applications::table
        .filter(applications::batch_id.eq(id))
        .group_by(applications::status)
        .select((applications::status, count_star()))
        .load(conn)
        .await?;
    let count = |status: ApplicationStatus| {
        counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    Ok(BatchAdminView {
        applied: counts.iter().map(|(_, n)| n).sum(),
        selected: count(ApplicationStatus::Selected),
        not_selected: count(ApplicationStatus::NotSelected),
        seed: seed.map(hex::encode),
        selected_at: batch.selected_at,
        batch: batch.view(now),
    })
}

/// Joins an open wave. The rules are checked in the order a participant can act
/// on them; the one-pending-application rule is the primary key of
/// `pending_applications`, so racing joins create exactly one application.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    now: DateTime<Utc>,
    who: &Principal,
    batch_id: Uuid,
) -> Result<ApplicationView, ApiError> {
    let batch = model::find(conn, batch_id).await?.ok_or_else(not_found)?;
    if batch.status(now) != BatchStatus::Open {
        return Err(
            ApiError::new(ErrorCode::BatchClosed).detail("This wave is not open for applications.")
        );
    }
    let steps = registration::model::steps_done(conn, who.account_id).await?;
    if steps.iter().any(|done| !done) {
        return Err(ApiError::new(ErrorCode::RegistrationIncomplete)
            .detail("Complete every registration step first (see registration in GET /v1/me)."));
    }
    let facts = registration::service::eligibility_facts(conn, pii, who.account_id).await?;
    if facts.past_beneficiary {
        return Err(ApiError::new(ErrorCode::AlreadyBeneficiary)
            .detail("A beneficiary cannot join the programme again."));
    }
    let reasons = registration::rules::eligibility(&facts, jakarta_date(now));
    if !reasons.is_empty() {
        return Err(not_eligible(&reasons));
    }
    let province: String = profiles::table
        .find(who.account_id)
        .select(profiles::domicile_province_code)
        .first(conn)
        .await?;
    if !batch.serves(&province) {
        return Err(ApiError::new(ErrorCode::BatchRegionMismatch)
            .detail("This wave does not serve your province of domicile."));
    }
    let id = Uuid::new_v4();
    // One statement for both rows: the pending row copies the application's
    // account and wave, and either unique key refusing it undoes both. It
    // inserts only while the wave is open and unselected, holding the wave's
    // row in share mode: selection locks that row for update before it reads
    // the applicants, so an application either commits before selection reads
    // (and is decided) or waits for selection to finish and finds the wave
    // done (409 batch_closed). None is left pending for ever.
    let inserted = diesel::sql_query(
        "WITH b AS (SELECT id FROM batches WHERE id = $2 AND opens_at <= $4 AND closes_at > $4 \
                    AND selection_state <> 'done' FOR SHARE), \
              a AS (INSERT INTO applications (id, batch_id, account_id, created_at) SELECT $1, b.id, $3, $4 FROM b \
                    RETURNING id, account_id, batch_id) \
         INSERT INTO pending_applications (application_id, account_id, batch_id) SELECT id, account_id, batch_id FROM a",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(batch_id)
    .bind::<diesel::sql_types::Uuid, _>(who.account_id)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await
    .map_err(|e| match db::unique_violation(&e) {
        // This wave already (batch, account), or a pending application elsewhere.
        Some("applications_batch_id_account_id_key" | "pending_applications_account_id_key") => {
            ApiError::new(ErrorCode::AlreadyApplied).detail(
                "You already joined this wave, or another application is still pending.",
            )
        }
        _ => e.into(),
    })?;
    if inserted == 0 {
        return Err(ApiError::new(ErrorCode::BatchClosed)
            .detail("This wave closed for applications while yours was being sent."));
    }
    Ok(ApplicationView {
        id,
        batch_id,
        batch_name: batch.name,
        status: ApplicationStatus::Pending,
        created_at: now,
        decided_at: None,
    })
}

/// A 403 `not_eligible` listing the failing rules.
pub fn not_eligible(reasons: &[Reason]) -> ApiError {
    ApiError::new(ErrorCode::NotEligible)
        .detail("You do not meet the programme's eligibility rules; see reasons.")
        .with_reasons(reasons.iter().map(|r| r.as_str().to_owned()).collect())
}

/// An application joined with its wave's name.
type ApplicationRow = (
    Uuid,
    Uuid,
    String,
    ApplicationStatus,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// The participant's applications, newest first.
pub async fn my_applications(
    conn: &mut AsyncPgConnection,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<ApplicationView>, ApiError> {
    let mut query = applications::table
        .inner_join(batches::table)
        .filter(applications::account_id.eq(who.account_id))
        .order((applications::created_at.desc(), applications::id.desc()))
        .select((
            applications::id,
            applications::batch_id,
            batches::name,
            applications::status,
            applications::created_at,
            applications::decided_at,
        ))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(pagination::before(
            applications::created_at,
            applications::id,
            after,
        ));
    }
    let rows: Vec<ApplicationRow> = query.load(conn).await?;
    Ok(page.page(
        rows,
        |r| Cursor {
            created_at: r.4,
            id: r.0,
        },
        |(id, batch_id, batch_name, status, created_at, decided_at)| ApplicationView {
            id,
            batch_id,
            batch_name,
            status,
            created_at,
            decided_at,
        },
    ))
}
