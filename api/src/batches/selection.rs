//! Selection (DOMAIN.md §3): after a wave closes, a reproducible lottery picks
//! its beneficiaries within the quota, at most 2 per family card (every wave
//! counted), never a past beneficiary, only applicants still eligible then.
//!
//! The order is SHA-256(seed ‖ application id bytes), ascending, with the seed
//! published in the admin view. The run is one transaction (a crash leaves the
//! wave untouched) serialised on an advisory lock, so two waves selected at once
//! cannot both fill a family card's last slot (`(kk_index, kk_slot)` is unique too).
//!
//! Linear at a million applicants (`bench/` measures it): one streaming read of
//! the pending applicants (parallel hash joins, 64 bytes each plus a sealed
//! date of birth), ranking and walk in memory ([`super::lottery`], off the
//! async worker), opening only the dates of birth the walk reaches; outcomes in
//! one heap-only update (no index covers `status`) that finds the reached
//! applicants' reasons by id and gives the rest `quota_full`; cards, ledger
//! credits (one entry per part) and notifications set-based per
//! [`WRITE_CHUNK`] winners.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::{
        Array, BigInt, Bool, Bytea, Date, Int2, Nullable, Text, Timestamptz, Uuid as SqlUuid,
    },
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::{
    lottery::{
        key_prefix, rank, walk, Applicant, Families, Outcomes, SealedBirthDates, Walk, Winner,
    },
    model::{ApplicationStatus, Batch, SelectionState},
    rules,
    service::ensure_seed,
    views::SelectionResult,
};
use crate::{
    audit::{self, Action, Event},
    auth::Principal,
    card::ledger,
    clock::jakarta_date,
    crypto::PiiCipher,
    db::schema::{accounts, batches},
    error::{ApiError, ErrorCode},
    http::Caller,
    idempotency::Lease,
    notifications::{outbox, Channel, Message},
    registration::rules::Occupation,
};

/// Serialises selection runs across waves.
const SELECTION_LOCK: i64 = 0x7365_6c65_6374_696f; // "selectio"
/// Rows per statement when writing cards, ledger credits and notifications.
const WRITE_CHUNK: usize = 10_000;
/// Ids per statement when rows are found by id (bitmap scans: larger is better).
const LOOKUP_CHUNK: usize = 100_000;
/// Days after the selection (notification) date to buy the first training (DOMAIN.md §5).
pub const FIRST_PURCHASE_DAYS: i64 = 15;

/// One pending applicant with what deciding it needs.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    application_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Bool)]
    blocked: bool,
    #[diesel(sql_type = Bool)]
    has_card: bool,
    #[diesel(sql_type = Bytea)]
    kk_index: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    kk_cards: i64,
    #[diesel(sql_type = Bytea)]
    birth_date_ciphertext: Vec<u8>,
    #[diesel(sql_type = Nullable<Bool>)]
    in_formal_education: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    occupation: Option<Occupation>,
}

fn lock_busy(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) if info.message().contains("could not obtain lock"))
}

/// Runs the selection of a closed wave once, on the service time `now`. With a
/// `lease` (the request's Idempotency-Key), its answer commits with the run.
pub async fn run(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    caller: &Caller,
    admin: &Principal,
    batch_id: Uuid,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<SelectionResult, ApiError> {
    let today = jakarta_date(now);
    conn.transaction::<_, ApiError, _>(async |conn| {
        let batch: Option<Batch> = batches::table
            .find(batch_id)
            .select(Batch::as_select())
            .for_update()
            .no_wait()
            .first(conn)
            .await
            .optional()
            .map_err(|e| {
                if lock_busy(&e) {
                    ApiError::new(ErrorCode::SelectionInProgress)
                        .detail("Selection of this wave is running, or its last applications are still being written; try again in a moment.")
                } else {
                    e.into()
                }
            })?;
        let batch =
            batch.ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("No such wave."))?;
        if batch.selection_state == SelectionState::Done {
            return Err(ApiError::new(ErrorCode::SelectionDone)
                .detail("This wave's selection has already run."));
        }
        if now < batch.closes_at {
            return Err(ApiError::new(ErrorCode::BatchNotClosed)
                .detail("Selection runs only after the wave closes."));
        }
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(SELECTION_LOCK)
            .execute(conn)
            .await?;
        let seed = ensure_seed(conn, &batch, now)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("closed wave without a seed")))?;
        let result = select_winners(conn, pii, &batch, &seed, now, today).await?;
        let summary = format!(
            "batch {batch_id}: {} selected, {} not selected",
            result.selected, result.not_selected
        );
        let event = Event {
            actor_id: Some(admin.account_id),
            subject_id: None,
            action: Action::SelectionRun,
            reason: Some(&summary),
        };
        audit::record(conn, now, &caller.origin, event).await?;
        if let Some(lease) = lease {
            lease.commit(conn, &result).await?;
        }
        Ok(result)
    })
    .await
}

/// Reads every pending applicant of the wave, once, in whatever order the
/// database finds fastest (the ranking happens in memory).
async fn load_applicants(
    conn: &mut AsyncPgConnection,
    batch_id: Uuid,
    seed: &[u8],
    families: &mut Families,
    birth_dates: &mut SealedBirthDates,
) -> Result<Vec<Applicant>, ApiError> {
    // Compiling this query just in time costs more than it saves; the hash
    // joins over a million rows want more than the default 4 MB. Every row goes
    // to the client, so the planner's default price for passing a row up from
    // a parallel worker (0.1) outweighs the joins it would share and keeps the
    // plan serial; at the real price the workers build the hash tables
    // together (4.8 s → 2.9 s at a million applicants, 2 cores).
    conn.batch_execute(
        "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; \
         SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0.001",
    )
    .await?;
    // Past beneficiaries and family-card counts come from joins rather than a
    // probe per applicant: one pass over the cards of every earlier wave.
    let mut rows = diesel::sql_query(
        "SELECT a.id AS application_id, a.account_id, acc.blocked_at IS NOT NULL AS blocked, \
                c.id IS NOT NULL AS has_card, i.kk_index, coalesce(k.n, 0) AS kk_cards, \
                i.birth_date_ciphertext, p.in_formal_education, p.occupation \
         FROM applications a \
         JOIN accounts acc ON acc.id = a.account_id \
         JOIN identities i ON i.account_id = a.account_id \
         LEFT JOIN profiles p ON p.account_id = a.account_id \
         LEFT JOIN cards c ON c.account_id = a.account_id \
         LEFT JOIN (SELECT kk_index, count(*) AS n FROM cards GROUP BY kk_index) k ON k.kk_index = i.kk_index \
         WHERE a.batch_id = $1 AND a.status = $2",
    )
    .bind::<SqlUuid, _>(batch_id)
    .bind::<Text, _>(ApplicationStatus::Pending)
    .load_stream::<Row>(conn)
    .await?;
    let mut applicants = Vec::new();
    while let Some(row) = rows.try_next().await? {
        applicants.push(Applicant {
            key: key_prefix(seed, row.application_id),
            application_id: row.application_id,
            account_id: row.account_id,
            family: families.intern(&row.kk_index, row.kk_cards)?,
            birth_date: birth_dates.push(&row.birth_date_ciphertext)?,
            in_formal_education: row.in_formal_education,
            occupation: row.occupation,
            blocked: row.blocked,
            has_card: row.has_card,
        });
    }
    Ok(applicants)
}

async fn select_winners(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    batch: &Batch,
    seed: &[u8],
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<SelectionResult, ApiError> {
    let started = Instant::now();
    let mut families = Families::default();
    let mut birth_dates = SealedBirthDates::default();
    let mut applicants =
        load_applicants(conn, batch.id, seed, &mut families, &mut birth_dates).await?;
    let loaded = started.elapsed();
    let pending = applicants.len();
    let quota = usize::try_from(batch.quota).unwrap_or(0);
    // Ranking a million and opening the dates of birth the walk reaches is
    // seconds of CPU: off the async worker, so the requests it serves go on.
    let (pii, seed) = (pii.clone(), seed.to_vec());
    let (families, walk) = tokio::task::spawn_blocking(move || {
        rank(&mut applicants, &seed);
        let walk = walk(&applicants, &mut families, &birth_dates, &pii, quota, today);
        (families, walk)
    })
    .await
    .map_err(|e| ApiError::internal(anyhow::anyhow!("the selection walk stopped: {e}")))?;
    let Walk {
        winners,
        decided,
        outcomes,
    } = walk?;
    let walked = started.elapsed();
    let not_selected = pending - winners.len();
    write_outcomes(conn, batch, &decided, &outcomes, pending, now).await?;
    drop(decided);
    let decided = started.elapsed();
    issue_cards(conn, batch, &winners, &families, now, today).await?;
    diesel::update(batches::table.find(batch.id))
        .set((
            batches::selection_state.eq(SelectionState::Done),
            batches::selected_at.eq(now),
            batches::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    tracing::info!(
        batch_id = %batch.id,
        selected = winners.len(),
        not_selected,
        load_ms = ms(loaded),
        rank_and_walk_ms = ms(walked - loaded),
        outcomes_ms = ms(decided - walked),
        cards_ms = ms(started.elapsed() - decided),
        "selection done"
    );
    Ok(SelectionResult {
        selected: winners.len() as i64,
        not_selected: not_selected as i64,
    })
}

/// Records the outcome on every pending application of the wave in one
/// sequential pass over its rows: the reached applicants' reasons are looked
/// up in hashed id arrays, one per reason, and everyone else gets
/// `quota_full`. Every one is a heap-only update (no index covers the
/// columns it changes), written in the table's physical order. Then the
/// wave's rows leave `pending_applications`.
async fn write_outcomes(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    decided: &[(Uuid, i16)],
    outcomes: &Outcomes,
    pending: usize,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut groups: Vec<Vec<Uuid>> = vec![Vec::new(); outcomes.list.len()];
    for (id, code) in decided {
        groups[*code as usize].push(*id);
    }
    // $1 wave, $2 time, $3 reasons, $4 pending, $5 selected, $6 not selected,
    // then one id array per reason.
    let mut status = String::from("CASE");
    let mut reason = String::from("CASE");
    for (i, (outcome, _)) in outcomes.list.iter().enumerate() {
        let arm = format!(" WHEN id = ANY(${}::uuid[])", i + 7);
        if *outcome == ApplicationStatus::Selected {
            status.push_str(&arm);
            status.push_str(" THEN $5");
        }
        reason.push_str(&arm);
        reason.push_str(&format!(" THEN ($3::text[])[{}]", i + 1));
    }
    status.push_str(" ELSE $6 END");
    reason.push_str(" ELSE 'quota_full' END");
    let reasons: Vec<&str> = outcomes.list.iter().map(|(_, r)| r.as_str()).collect();
    let mut query = diesel::sql_query(format!(
        "UPDATE applications SET status = {status}, decision_reason = {reason}, decided_at = $2 \
         WHERE batch_id = $1 AND status = $4"
    ))
    .into_boxed()
    .bind::<SqlUuid, _>(batch.id)
    .bind::<Timestamptz, _>(now)
    .bind::<Array<Text>, _>(reasons)
    .bind::<Text, _>(ApplicationStatus::Pending)
    .bind::<Text, _>(ApplicationStatus::Selected)
    .bind::<Text, _>(ApplicationStatus::NotSelected);
    for ids in groups {
        query = query.bind::<Array<SqlUuid>, _>(ids);
    }
    let updated = query.execute(conn).await?;
    if updated != pending {
        return Err(ApiError::internal(anyhow::anyhow!(
            "{updated} of {pending} pending applications decided"
        )));
    }
    diesel::sql_query("DELETE FROM pending_applications WHERE batch_id = $1")
        .bind::<SqlUuid, _>(batch.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Draws `n` card numbers unused by any card and distinct from each other.
async fn fresh_card_numbers(conn: &mut AsyncPgConnection, n: usize) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Text)]
        card_number: String,
    }
    // A CSPRNG seeded from the OS once, rather than a system call per digit.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let mut numbers: Vec<String> = Vec::with_capacity(n);
    let mut seen: HashSet<String> = HashSet::with_capacity(n);
    while numbers.len() < n {
        let wanted = (n - numbers.len()).min(WRITE_CHUNK);
        let batch: Vec<String> = (0..wanted)
            .map(|_| rules::card_number(&mut rng))
            .filter(|c| seen.insert(c.clone()))
            .collect();
        let taken: HashSet<String> =
            diesel::sql_query("SELECT card_number FROM cards WHERE card_number = ANY($1)")
                .bind::<Array<Text>, _>(&batch)
                .load::<Taken>(conn)
                .await?
                .into_iter()
                .map(|t| t.card_number)
                .collect();
        numbers.extend(batch.into_iter().filter(|c| !taken.contains(c)));
    }
    Ok(numbers)
}

/// The cause of the credit entry of one part of a wave's new cards (the
/// `reference` their transactions show): `selection:<wave id>:<part>`, parts
/// numbered from 1, [`WRITE_CHUNK`] cards each.
fn credit_reference(batch_id: Uuid, part: usize) -> String {
    format!("selection:{batch_id}:{}", part + 1)
}

/// Issues the winners' cards, credits them and queues their notifications,
/// [`WRITE_CHUNK`] winners per statement, so the memory a run holds for its
/// writes stays bounded whatever the quota.
async fn issue_cards(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    winners: &[Winner],
    families: &Families,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let deadline = today + TimeDelta::days(FIRST_PURCHASE_DAYS);
    let mut numbers = fresh_card_numbers(conn, winners.len()).await?;
    // Cards go in in application order, with card ids and numbers in
    // ascending order too: the foreign-key probes walk the applications'
    // index in order, and each unique index of cards fills page by page
    // instead of at random places (the notifications keep the lottery order).
    numbers.sort_unstable();
    let mut order: Vec<usize> = (0..winners.len()).collect();
    order.sort_unstable_by_key(|&i| winners[i].application_id);
    // The card number of each winner, in the winners' (lottery) order.
    let mut number_of: Vec<&str> = vec![""; winners.len()];
    for (&i, number) in order.iter().zip(&numbers) {
        number_of[i] = number;
    }
    let by_account: Vec<(&Winner, &str)> =
        order.iter().map(|&i| (&winners[i], number_of[i])).collect();
    let mut card_ids: Vec<Uuid> = winners.iter().map(|_| Uuid::new_v4()).collect();
    card_ids.sort_unstable();
    for (part, (chunk, ids)) in by_account
        .chunks(WRITE_CHUNK)
        .zip(card_ids.chunks(WRITE_CHUNK))
        .enumerate()
    {
        let accounts: Vec<Uuid> = chunk.iter().map(|(w, _)| w.account_id).collect();
        let applications: Vec<Uuid> = chunk.iter().map(|(w, _)| w.application_id).collect();
        let card_numbers: Vec<&str> = chunk.iter().map(|(_, n)| *n).collect();
        let kk_indexes: Vec<&[u8]> = chunk
            .iter()
            .map(|(w, _)| families.kk[w.family as usize].as_slice())
            .collect();
        let kk_slots: Vec<i16> = chunk.iter().map(|(w, _)| w.kk_slot).collect();
        diesel::sql_query(
            "INSERT INTO cards (id, account_id, batch_id, application_id, card_number, kk_index, kk_slot, purchase_deadline, issued_at) \
             SELECT id, acct, $6, app, num, kk, slot, $7, $8 \
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $9::int2[]) AS t(id, acct, app, num, kk, slot)",
        )
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<SqlUuid>, _>(&accounts)
        .bind::<Array<SqlUuid>, _>(&applications)
        .bind::<Array<Text>, _>(&card_numbers)
        .bind::<Array<Bytea>, _>(&kk_indexes)
        .bind::<SqlUuid, _>(batch.id)
        .bind::<Date, _>(deadline)
        .bind::<Timestamptz, _>(now)
        .bind::<Array<Int2>, _>(&kk_slots)
        .execute(conn)
        .await?;
        let reference = credit_reference(batch.id, part);
        ledger::credit_new_cards(conn, &reference, ids, batch.training_idr, now).await?;
    }
    let mut emails: HashMap<Uuid, String> = HashMap::with_capacity(winners.len());
    let mut ids: Vec<Uuid> = winners.iter().map(|w| w.account_id).collect();
    ids.sort_unstable();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        emails.extend(
            accounts::table
                .filter(accounts::id.eq_any(chunk))
                .select((accounts::id, accounts::email))
                .load::<(Uuid, String)>(conn)
                .await?,
        );
    }
    drop(ids);
    for (chunk, numbers) in winners
        .chunks(WRITE_CHUNK)
        .zip(number_of.chunks(WRITE_CHUNK))
    {
        let messages = chunk
            .iter()
            .zip(numbers)
            .map(|(w, card_number)| {
                let email = emails.get(&w.account_id).cloned().ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("no account {}", w.account_id))
                })?;
                let message = Message::BeneficiarySelected {
                    card_number: (*card_number).to_owned(),
                    purchase_deadline: deadline.to_string(),
                };
                Ok((Channel::Email, email, message))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        outbox::enqueue_many(conn, now, &messages).await?;
    }
    Ok(())
}
