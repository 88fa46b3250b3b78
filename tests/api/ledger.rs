//! The ledger as purchases, refunds and payouts will use it
//! (`prakerja_api::card::ledger`): a debit the balance cannot cover is a domain
//! error and leaves the transaction usable, one cause posts once, shared
//! accounts cache nothing so concurrent postings never wait on one row, and
//! partner accounts belong to a partner.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::sql_types::{Bytea, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, TransactionManager,
};
use prakerja_api::{
    card::ledger::{self, Entry, EntryKind, LedgerError, Posting},
    error::{ApiError, ErrorCode},
};
use uuid::Uuid;

use crate::helpers::{count, TestApp};

async fn exec<Q>(conn: &mut AsyncPgConnection, query: Q)
where
    Q: diesel_async::methods::ExecuteDsl<AsyncPgConnection>
        + diesel_async::RunQueryDsl<AsyncPgConnection>,
{
    diesel_async::RunQueryDsl::execute(query, conn)
        .await
        .unwrap();
}

/// A card credited with `balance`; returns its ledger account.
async fn card(conn: &mut AsyncPgConnection, balance: i64, now: DateTime<Utc>) -> Uuid {
    credited_card(conn, balance, now).await.1
}

/// A card credited with `balance` (cause `test:<card id>`), inserted directly
/// (no registration or selection needed to exercise the ledger); returns the
/// card and its ledger account.
async fn credited_card(
    conn: &mut AsyncPgConnection,
    balance: i64,
    now: DateTime<Utc>,
) -> (Uuid, Uuid) {
    let (account, batch, application, card) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    exec(
        conn,
        diesel::sql_query(
            "INSERT INTO accounts (id, email, password_hash, created_at, updated_at) VALUES ($1, $2, 'x', $3, $3)",
        )
        .bind::<SqlUuid, _>(account)
        .bind::<Text, _>(format!("{}@ledger.example", account.simple()))
        .bind::<Timestamptz, _>(now),
    )
    .await;
    exec(
        conn,
        diesel::sql_query(
            "INSERT INTO batches (id, name, opens_at, closes_at, quota, training_idr, incentive_monthly_idr, \
               incentive_months, survey_incentive_idr, survey_count, created_at, updated_at) \
             VALUES ($1, 'ledger', $2, $2 + interval '1 day', 1, $3, 0, 0, 0, 0, $2, $2)",
        )
        .bind::<SqlUuid, _>(batch)
        .bind::<Timestamptz, _>(now)
        .bind::<diesel::sql_types::BigInt, _>(balance.max(1)),
    )
    .await;
    exec(
        conn,
        diesel::sql_query(
            "INSERT INTO applications (id, batch_id, account_id, status, created_at) VALUES ($1, $2, $3, 'selected', $4)",
        )
        .bind::<SqlUuid, _>(application)
        .bind::<SqlUuid, _>(batch)
        .bind::<SqlUuid, _>(account)
        .bind::<Timestamptz, _>(now),
    )
    .await;
    let number = format!("{:016}", card.as_u128() % 10_000_000_000_000_000);
    exec(
        conn,
        diesel::sql_query(
            "INSERT INTO cards (id, account_id, batch_id, application_id, card_number, kk_index, kk_slot, purchase_deadline, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, current_date + 15, $7)",
        )
        .bind::<SqlUuid, _>(card)
        .bind::<SqlUuid, _>(account)
        .bind::<SqlUuid, _>(batch)
        .bind::<SqlUuid, _>(application)
        .bind::<Text, _>(number)
        .bind::<Bytea, _>(card.as_bytes().to_vec())
        .bind::<Timestamptz, _>(now),
    )
    .await;
    ledger::credit_new_cards(conn, &format!("test:{card}"), &[card], balance, now)
        .await
        .unwrap();
    (card, ledger::card_account(conn, card).await.unwrap().0)
}

/// A partner with its payable account; returns the account.
async fn partner(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    exec(
        conn,
        diesel::sql_query(
            "INSERT INTO partners (id, name, created_at) VALUES ($1, 'Platform', $2)",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(now),
    )
    .await;
    ledger::open_partner_account(conn, id, now).await.unwrap()
}

fn purchase<'a>(reference: &'a str, legs: &'a [Posting]) -> Entry<'a> {
    Entry {
        kind: EntryKind::Purchase,
        reference,
        postings: legs,
    }
}

#[tokio::test]
async fn a_purchase_pays_the_partner_from_the_card_and_its_refund_pays_it_back() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut conn = app.db.conn().await;
    let card = card(&mut conn, 1_000_000, now).await;
    let platform = partner(&mut conn, now).await;
    let legs = Posting::transfer(card, platform, 750_000);
    let posted = ledger::post(&mut conn, purchase("purchase-1", &legs), now)
        .await
        .unwrap();
    assert_eq!(posted.balance_after(card), Some(250_000));
    assert_eq!(
        posted.balance_after(platform),
        None,
        "a partner caches no balance"
    );
    assert_eq!(ledger::balance(&mut conn, platform).await.unwrap(), 750_000);
    let back = Posting::transfer(platform, card, 750_000);
    let refund = Entry {
        kind: EntryKind::Refund,
        reference: "purchase-1",
        postings: &back,
    };
    let posted = ledger::post(&mut conn, refund, now).await.unwrap();
    assert_eq!(posted.balance_after(card), Some(1_000_000));
    assert_eq!(ledger::balance(&mut conn, platform).await.unwrap(), 0);
    assert_eq!(
        ledger::balance(&mut conn, ledger::PROGRAMME_FUNDING)
            .await
            .unwrap(),
        -1_000_000,
        "the budget is its postings"
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_debit_the_balance_cannot_cover_is_insufficient_funds_and_the_transaction_carries_on() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut conn = app.db.conn().await;
    let card = card(&mut conn, 1_000_000, now).await;
    let platform = partner(&mut conn, now).await;
    conn.transaction::<_, LedgerError, _>(async |conn| {
        let too_much = Posting::transfer(card, platform, 1_000_001);
        let refused = ledger::post(conn, purchase("too-much", &too_much), now).await;
        let Err(e @ LedgerError::InsufficientFunds { .. }) = refused else {
            panic!("expected InsufficientFunds, got {refused:?}");
        };
        let api = ApiError::from(e);
        assert_eq!(api.code(), ErrorCode::InsufficientBalance);
        assert_eq!(api.problem().status, 409);
        // Not aborted: the same transaction posts an entry the balance covers.
        let exact = Posting::transfer(card, platform, 1_000_000);
        let posted = ledger::post(conn, purchase("exact", &exact), now).await?;
        assert_eq!(posted.balance_after(card), Some(0));
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM journal_entries WHERE reference = 'too-much'"
        )
        .await,
        0,
        "nothing of the refused entry was written"
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn one_cause_posts_once() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut conn = app.db.conn().await;
    let card = card(&mut conn, 1_000_000, now).await;
    let platform = partner(&mut conn, now).await;
    let legs = Posting::transfer(card, platform, 100_000);
    ledger::post(&mut conn, purchase("purchase-7", &legs), now)
        .await
        .unwrap();
    // A retried job or a duplicate callback: refused, and nothing moves.
    let again = ledger::post(&mut conn, purchase("purchase-7", &legs), now).await;
    assert!(
        matches!(&again, Err(LedgerError::AlreadyPosted { kind: EntryKind::Purchase, reference }) if reference == "purchase-7"),
        "{again:?}"
    );
    assert_eq!(ledger::balance(&mut conn, card).await.unwrap(), 900_000);
    // Another kind of entry for the same cause is its own cause.
    let back = Posting::transfer(platform, card, 100_000);
    let refund = Entry {
        kind: EntryKind::Refund,
        reference: "purchase-7",
        postings: &back,
    };
    ledger::post(&mut conn, refund, now).await.unwrap();
    assert!(matches!(
        ledger::post(&mut conn, refund, now).await,
        Err(LedgerError::AlreadyPosted { .. })
    ));
    // The database itself refuses a second entry of one cause.
    let duplicate = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO journal_entries (id, kind, reference, created_at) VALUES ($1, 'purchase', 'purchase-7', now())",
        )
        .bind::<SqlUuid, _>(Uuid::new_v4()),
        &mut conn,
    )
    .await;
    assert_eq!(
        duplicate
            .as_ref()
            .err()
            .and_then(prakerja_api::db::unique_violation),
        Some("journal_entries_kind_reference_key")
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_part_of_a_wave_is_credited_once() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut conn = app.db.conn().await;
    let (card_id, account) = credited_card(&mut conn, 1_000_000, now).await;
    // The same cause again (a rerun of the part): refused before anything is
    // written, so the card keeps one account and one credit.
    let again =
        ledger::credit_new_cards(&mut conn, &format!("test:{card_id}"), &[card_id], 5, now).await;
    assert!(
        matches!(
            &again,
            Err(LedgerError::AlreadyPosted {
                kind: EntryKind::Credit,
                ..
            })
        ),
        "{again:?}"
    );
    assert_eq!(
        ledger::balance(&mut conn, account).await.unwrap(),
        1_000_000
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM ledger_accounts WHERE card_id IS NOT NULL"
        )
        .await,
        1
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn postings_on_different_cards_and_partners_do_not_wait_on_a_shared_row() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut setup = app.db.conn().await;
    let (card_a, card_b, card_c) = (
        card(&mut setup, 1_000_000, now).await,
        card(&mut setup, 1_000_000, now).await,
        card(&mut setup, 1_000_000, now).await,
    );
    let (platform_1, platform_2) = (
        partner(&mut setup, now).await,
        partner(&mut setup, now).await,
    );

    // A purchase on card A at platform 1, its transaction held open.
    let mut holder = app.db.conn().await;
    AnsiTransactionManager::begin_transaction(&mut holder)
        .await
        .unwrap();
    let legs = Posting::transfer(card_a, platform_1, 300_000);
    ledger::post(&mut holder, purchase("held", &legs), now)
        .await
        .unwrap();

    // Meanwhile, every posting that shares no card completes at once: any wait
    // on a row would hit the lock timeout.
    let mut other = app.db.conn().await;
    exec(&mut other, diesel::sql_query("SET lock_timeout = '200ms'")).await;
    let different = Posting::transfer(card_b, platform_2, 200_000);
    ledger::post(
        &mut other,
        purchase("other-card-other-partner", &different),
        now,
    )
    .await
    .expect("a purchase on another card at another partner does not wait");
    let same_partner = Posting::transfer(card_c, platform_1, 200_000);
    ledger::post(
        &mut other,
        purchase("other-card-same-partner", &same_partner),
        now,
    )
    .await
    .expect("nor one at the same partner: the partner's account has no cached balance");
    let treasury = Posting::transfer(card_b, ledger::TREASURY_RETURN, 100_000);
    let expiry = Entry {
        kind: EntryKind::Expiry,
        reference: "other-card-expiry",
        postings: &treasury,
    };
    ledger::post(&mut other, expiry, now)
        .await
        .expect("nor one into the Treasury's account");

    // The control: a posting on the held card does wait, and the timeout sees it.
    let refund = Posting::transfer(platform_1, card_a, 300_000);
    let waits = ledger::post(
        &mut other,
        Entry {
            kind: EntryKind::Refund,
            reference: "held",
            postings: &refund,
        },
        now,
    )
    .await;
    assert!(
        matches!(&waits, Err(LedgerError::Database(e)) if e.to_string().contains("lock timeout")),
        "{waits:?}"
    );
    AnsiTransactionManager::commit_transaction(&mut holder)
        .await
        .unwrap();
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_partner_account_belongs_to_a_partner() {
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    let mut conn = app.db.conn().await;
    let account = partner(&mut conn, now).await;
    let partner_id: Uuid = diesel_async::RunQueryDsl::get_result::<Option<Uuid>>(
        diesel::QueryDsl::select(
            diesel::QueryDsl::find(prakerja_api::db::schema::ledger_accounts::table, account),
            prakerja_api::db::schema::ledger_accounts::partner_id,
        ),
        &mut conn,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        ledger::open_partner_account(&mut conn, partner_id, now + TimeDelta::seconds(1))
            .await
            .unwrap(),
        account,
        "opening it again gives the same account"
    );
    assert_eq!(
        ledger::partner_account(&mut conn, partner_id)
            .await
            .unwrap(),
        Some(account)
    );
    let orphan = ledger::open_partner_account(&mut conn, Uuid::new_v4(), now).await;
    assert!(
        matches!(
            &orphan,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        ),
        "{orphan:?}"
    );
}
