//! Selection (DOMAIN.md §3): after a wave closes, a lottery anyone can
//! reproduce picks its beneficiaries within the quota, never more than 2 per
//! family card (counting every earlier wave), never a past beneficiary, and
//! only applicants still eligible on the selection date.
//!
//! The order is SHA-256(seed ‖ application id bytes), ascending, with the seed
//! published in the admin view. The whole run is one transaction: a crash
//! leaves the wave untouched and selection can simply run again. Ranking and
//! every write are set-based; only the applicants the run must look at one by
//! one (until the quota is full) are decided in Rust, because their dates of
//! birth are encrypted. `bench/` measures a run at 100k and 1M applicants. Runs serialise on an advisory lock, so two waves
//! selected at once cannot both fill a family card's last slot (the
//! `(kk_index, kk_slot)` unique constraint would refuse it anyway).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::{
        Array, BigInt, Bool, Bytea, Date, Int2, Nullable, Text, Timestamptz, Uuid as SqlUuid,
    },
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
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
    db::schema::batches,
    error::{ApiError, ErrorCode},
    http::Caller,
    idempotency::Lease,
    notifications::{outbox, Channel, Message},
    registration::{self, rules::Facts},
};

/// Serialises selection runs across waves.
const SELECTION_LOCK: i64 = 0x7365_6c65_6374_696f; // "selectio"
/// Applicants decided per round trip.
const CHUNK: i64 = 5_000;
/// Pending applications per account-id range when outcomes are written.
const RANGE_ROWS: i64 = 4_096;
/// At most this many account-id ranges (a power of two).
const MAX_RANGES: u32 = 4_096;
/// Winners written per statement (cards, ledger credits, notifications).
const WRITE_CHUNK: usize = 10_000;
/// Days after the selection (notification) date to buy the first training (DOMAIN.md §5).
pub const FIRST_PURCHASE_DAYS: i64 = 15;

#[derive(QueryableByName)]
struct Ranked {
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = SqlUuid)]
    application_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Bool)]
    blocked: bool,
    #[diesel(sql_type = Bool)]
    has_card: bool,
    #[diesel(sql_type = Bytea)]
    kk_index: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    birth_date_ciphertext: Vec<u8>,
    #[diesel(sql_type = Nullable<Bool>)]
    in_formal_education: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    occupation: Option<registration::rules::Occupation>,
}

#[derive(QueryableByName)]
struct KkCount {
    #[diesel(sql_type = Bytea)]
    kk_index: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A beneficiary chosen by this run.
struct Winner {
    application_id: Uuid,
    account_id: Uuid,
    email: String,
    kk_index: Vec<u8>,
    kk_slot: i16,
}

/// An applicant this run looked at and did not select.
struct Refused {
    application_id: Uuid,
    account_id: Uuid,
    reason: String,
}

/// Why an applicant was not selected (kept on the application).
fn decide(
    row: &Ranked,
    birth_date: NaiveDate,
    today: NaiveDate,
    kk_taken: i64,
) -> Result<(), String> {
    if row.blocked {
        return Err("account_blocked".into());
    }
    if row.has_card {
        return Err("already_beneficiary".into());
    }
    // The one eligibility function; past beneficiary and the KK limit are
    // counted live by this run instead.
    let facts = Facts {
        identity_verified: true,
        birth_date: Some(birth_date),
        in_formal_education: row.in_formal_education,
        occupation: row.occupation,
        past_beneficiary: false,
        kk_other_beneficiaries: 0,
    };
    let reasons = registration::rules::eligibility(&facts, today);
    if !reasons.is_empty() {
        let names: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
        return Err(format!("not_eligible:{}", names.join(",")));
    }
    if kk_taken >= registration::rules::KK_BENEFICIARY_LIMIT {
        return Err("kk_limit_reached".into());
    }
    Ok(())
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
                        .detail("Selection of this wave is running.")
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

async fn select_winners(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    batch: &Batch,
    seed: &[u8],
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<SelectionResult, ApiError> {
    // Compiling the ranking query just in time costs more than it saves
    // (measured with bench/: about half a second at a million applicants).
    diesel::sql_query("SET LOCAL jit = off")
        .execute(conn)
        .await?;
    // Past beneficiaries come from a join rather than a per-row subquery: one
    // hash join over the cards of every earlier wave instead of a probe per
    // applicant.
    let pending = diesel::sql_query(
        "CREATE TEMP TABLE selection_ranked ON COMMIT DROP AS \
         SELECT row_number() OVER (ORDER BY sha256($2 || uuid_send(a.id)), a.id) AS position, \
                a.id AS application_id, a.account_id, acc.email, acc.blocked_at IS NOT NULL AS blocked, \
                c.id IS NOT NULL AS has_card, \
                i.kk_index, i.birth_date_ciphertext, p.in_formal_education, p.occupation \
         FROM applications a \
         JOIN accounts acc ON acc.id = a.account_id \
         JOIN identities i ON i.account_id = a.account_id \
         LEFT JOIN profiles p ON p.account_id = a.account_id \
         LEFT JOIN cards c ON c.account_id = a.account_id \
         WHERE a.batch_id = $1 AND a.status = $3",
    )
    .bind::<SqlUuid, _>(batch.id)
    .bind::<Bytea, _>(seed)
    .bind::<Text, _>(ApplicationStatus::Pending)
    .execute(conn)
    .await?;
    diesel::sql_query("CREATE UNIQUE INDEX ON selection_ranked (position)")
        .execute(conn)
        .await?;

    let quota = i64::from(batch.quota);
    let mut winners: Vec<Winner> = Vec::new();
    let mut refused: Vec<Refused> = Vec::new();
    let mut kk_taken: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut last = 0i64;
    while (winners.len() as i64) < quota {
        let rows: Vec<Ranked> = diesel::sql_query(
            "SELECT position, application_id, account_id, email, blocked, has_card, kk_index, birth_date_ciphertext, \
                    in_formal_education, occupation \
             FROM selection_ranked WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind::<BigInt, _>(last)
        .bind::<BigInt, _>(CHUNK)
        .load(conn)
        .await?;
        let Some(tail) = rows.last() else { break };
        last = tail.position;
        let unseen: Vec<Vec<u8>> = rows
            .iter()
            .map(|r| r.kk_index.clone())
            .filter(|k| !kk_taken.contains_key(k))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let counts: Vec<KkCount> = diesel::sql_query(
            "SELECT kk_index, count(*) AS n FROM cards WHERE kk_index = ANY($1) GROUP BY kk_index",
        )
        .bind::<Array<Bytea>, _>(&unseen)
        .load(conn)
        .await?;
        for k in unseen {
            kk_taken.insert(k, 0);
        }
        for c in counts {
            kk_taken.insert(c.kk_index, c.n);
        }
        for row in rows {
            if winners.len() as i64 >= quota {
                break;
            }
            let aad = registration::model::aad("identities", "birth_date", row.account_id);
            let birth_date: NaiveDate = pii
                .decrypt_string(&row.birth_date_ciphertext, &aad)
                .map_err(|e| {
                    ApiError::internal(anyhow::anyhow!("birth date of {}: {e}", row.account_id))
                })?
                .parse()
                .map_err(|_| {
                    ApiError::internal(anyhow::anyhow!(
                        "birth date of {} does not parse",
                        row.account_id
                    ))
                })?;
            let taken = kk_taken.get(&row.kk_index).copied().unwrap_or(0);
            match decide(&row, birth_date, today, taken) {
                Ok(()) => {
                    kk_taken.insert(row.kk_index.clone(), taken + 1);
                    winners.push(Winner {
                        application_id: row.application_id,
                        account_id: row.account_id,
                        email: row.email,
                        kk_index: row.kk_index,
                        kk_slot: (taken + 1) as i16,
                    });
                }
                Err(reason) => refused.push(Refused {
                    application_id: row.application_id,
                    account_id: row.account_id,
                    reason,
                }),
            }
        }
    }
    let not_selected =
        decide_applications(conn, batch, &winners, &refused, pending as i64, now).await?;
    issue_cards(conn, batch, &winners, now, today).await?;
    diesel::update(batches::table.find(batch.id))
        .set((
            batches::selection_state.eq(SelectionState::Done),
            batches::selected_at.eq(now),
            batches::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    tracing::info!(batch_id = %batch.id, selected = winners.len(), not_selected, "selection done");
    Ok(SelectionResult {
        selected: winners.len() as i64,
        not_selected,
    })
}

/// Splits the account-id space into `n` equal, contiguous, inclusive ranges
/// (`n` a power of two) that together cover every id.
fn account_ranges(n: u32) -> Vec<(Uuid, Uuid)> {
    let bits = n.max(1).next_power_of_two().trailing_zeros();
    if bits == 0 {
        return vec![(Uuid::nil(), Uuid::max())];
    }
    let step = 1u128 << (128 - bits);
    (0..1u128 << bits)
        .map(|i| {
            (
                Uuid::from_u128(i * step),
                Uuid::from_u128(i * step + (step - 1)),
            )
        })
        .collect()
}

/// Records the outcome on every pending application of the wave: the
/// winners, the applicants refused with their reason, and `quota_full` for
/// everyone the run did not reach. Returns how many were not selected.
///
/// The writes go account-id range by account-id range: an application update
/// inserts into three randomly keyed indexes, and at a million rows those no
/// longer fit in the buffer cache together; within a range, the two indexes
/// keyed by account stay in a small slice (ids are random, so the ranges hold
/// about [`RANGE_ROWS`] applications each).
async fn decide_applications(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    winners: &[Winner],
    refused: &[Refused],
    pending: i64,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    // (account, application, status, reason) of every applicant the run
    // looked at, in account order to be cut into the same ranges.
    let mut decided: Vec<(Uuid, Uuid, ApplicationStatus, &str)> = winners
        .iter()
        .map(|w| {
            let status = ApplicationStatus::Selected;
            (w.account_id, w.application_id, status, status.as_str())
        })
        .chain(refused.iter().map(|r| {
            (
                r.account_id,
                r.application_id,
                ApplicationStatus::NotSelected,
                r.reason.as_str(),
            )
        }))
        .collect();
    decided.sort_unstable();
    let ranges = account_ranges(
        u32::try_from(pending / RANGE_ROWS)
            .unwrap_or(MAX_RANGES)
            .min(MAX_RANGES),
    );
    let mut not_selected = refused.len() as i64;
    let mut rest = decided.as_slice();
    for (low, high) in ranges {
        let split = rest.partition_point(|d| d.0 <= high);
        let (here, later) = rest.split_at(split);
        rest = later;
        if !here.is_empty() {
            let ids: Vec<Uuid> = here.iter().map(|d| d.1).collect();
            let statuses: Vec<ApplicationStatus> = here.iter().map(|d| d.2).collect();
            let reasons: Vec<&str> = here.iter().map(|d| d.3).collect();
            diesel::sql_query(
                "UPDATE applications a SET status = d.status, decision_reason = d.reason, decided_at = $4 \
                 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS d(id, status, reason) WHERE a.id = d.id",
            )
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<Text>, _>(&statuses)
            .bind::<Array<Text>, _>(&reasons)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
            .await?;
        }
        // Everyone the run did not reach lost the lottery for this quota.
        not_selected += diesel::sql_query(
            "UPDATE applications SET status = $5, decision_reason = 'quota_full', decided_at = $2 \
             WHERE batch_id = $1 AND status = $6 AND account_id BETWEEN $3 AND $4",
        )
        .bind::<SqlUuid, _>(batch.id)
        .bind::<Timestamptz, _>(now)
        .bind::<SqlUuid, _>(low)
        .bind::<SqlUuid, _>(high)
        .bind::<Text, _>(ApplicationStatus::NotSelected)
        .bind::<Text, _>(ApplicationStatus::Pending)
        .execute(conn)
        .await? as i64;
    }
    Ok(not_selected)
}

/// Draws `n` card numbers unused by any card and distinct from each other.
async fn fresh_card_numbers(conn: &mut AsyncPgConnection, n: usize) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Text)]
        card_number: String,
    }
    let mut rng = rand::rngs::OsRng;
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

/// Issues the winners' cards, credits them and queues their notifications,
/// [`WRITE_CHUNK`] winners per statement, so the memory a run holds for its
/// writes stays bounded whatever the quota.
async fn issue_cards(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    winners: &[Winner],
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let deadline = today + TimeDelta::days(FIRST_PURCHASE_DAYS);
    let numbers = fresh_card_numbers(conn, winners.len()).await?;
    // Cards go in in account order, with card ids drawn in ascending order:
    // index insertions and foreign-key probes then walk their indexes instead
    // of jumping around them (the notifications keep the lottery order).
    let mut by_account: Vec<(&Winner, &str)> = winners
        .iter()
        .zip(numbers.iter().map(String::as_str))
        .collect();
    by_account.sort_unstable_by_key(|(w, _)| w.account_id);
    let mut card_ids: Vec<Uuid> = winners.iter().map(|_| Uuid::new_v4()).collect();
    card_ids.sort_unstable();
    for (chunk, ids) in by_account
        .chunks(WRITE_CHUNK)
        .zip(card_ids.chunks(WRITE_CHUNK))
    {
        let accounts: Vec<Uuid> = chunk.iter().map(|(w, _)| w.account_id).collect();
        let applications: Vec<Uuid> = chunk.iter().map(|(w, _)| w.application_id).collect();
        let card_numbers: Vec<&str> = chunk.iter().map(|(_, n)| *n).collect();
        let kk_indexes: Vec<&[u8]> = chunk.iter().map(|(w, _)| w.kk_index.as_slice()).collect();
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
        ledger::credit_new_cards(conn, ids, batch.training_idr, now).await?;
    }
    for (chunk, numbers) in winners.chunks(WRITE_CHUNK).zip(numbers.chunks(WRITE_CHUNK)) {
        let messages: Vec<(Channel, String, Message)> = chunk
            .iter()
            .zip(numbers)
            .map(|(w, card_number)| {
                let message = Message::BeneficiarySelected {
                    card_number: card_number.clone(),
                    purchase_deadline: deadline.to_string(),
                };
                (Channel::Email, w.email.clone(), message)
            })
            .collect();
        outbox::enqueue_many(conn, now, &messages).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ranges_cover_every_id_once_in_order() {
        for n in [0, 1, 2, 3, 244, 256, MAX_RANGES] {
            let ranges = account_ranges(n);
            assert_eq!(ranges.len() as u32, n.max(1).next_power_of_two(), "n = {n}");
            assert_eq!(ranges[0].0, Uuid::nil());
            assert_eq!(ranges[ranges.len() - 1].1, Uuid::max());
            for (low, high) in &ranges {
                assert!(low <= high);
            }
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].1.as_u128() + 1, pair[1].0.as_u128());
            }
        }
    }
}
