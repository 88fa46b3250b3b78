//! The card, its ledger and the 15-day first-purchase deadline (DOMAIN.md §5).

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;

use crate::{
    fixtures::{registered, Session},
    helpers::{assert_problem, count, TestApp},
};

/// A beneficiary selected on 2026-07-04 (Asia/Jakarta): deadline 2026-07-19.
async fn beneficiary(app: &TestApp) -> (Session, String) {
    let admin = app.admin().await;
    // Open and close the wave around a fixed day on the service clock.
    let opens = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    let closes = Utc.with_ymd_and_hms(2026, 7, 4, 1, 0, 0).unwrap();
    app.set_clock(opens + Duration::hours(1)).await;
    let wave = app.create_wave(&admin, 5, opens, closes).await;
    let p = registered(app, "card", 61, 1, "1990-07-07").await;
    assert_eq!(app.apply(&p, &wave).await.status(), 201);
    app.set_clock(closes + Duration::hours(1)).await;
    assert_eq!(app.select(&admin, &wave).await.status(), 200);
    let me: Value = app
        .get("/v1/me", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    (p, me["email"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn card_stays_active_through_day_15_at_23_59_wib() {
    let app = TestApp::spawn().await;
    let (p, _) = beneficiary(&app).await;
    let card: Value = app
        .get("/v1/me/card", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["purchase_deadline"], "2026-07-19");
    // 2026-07-19 23:59 WIB = 16:59 UTC.
    app.set_clock(Utc.with_ymd_and_hms(2026, 7, 19, 16, 59, 0).unwrap())
        .await;
    let report = app.run_job("deactivate_expired_cards").await;
    assert_eq!(report["report"]["deactivated"], 0);
    let card: Value = app
        .get("/v1/me/card", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["status"], "active");
}

#[tokio::test]
async fn card_is_deactivated_at_00_00_wib_of_day_16_and_its_balance_returned_to_the_treasury() {
    let app = TestApp::spawn().await;
    let (p, email) = beneficiary(&app).await;
    // 2026-07-20 00:00 WIB = 2026-07-19 17:00 UTC.
    app.set_clock(Utc.with_ymd_and_hms(2026, 7, 19, 17, 0, 0).unwrap())
        .await;
    let report = app.run_job("deactivate_expired_cards").await;
    assert_eq!(report["report"]["deactivated"], 1);
    assert_eq!(report["report"]["returned_idr"], 1_000_000);
    let card: Value = app
        .get("/v1/me/card", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["status"], "deactivated");
    assert_eq!(card["balance_idr"], 0);
    let txs: Value = app
        .get("/v1/me/card/transactions", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = txs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["expiry", "credit"]);
    assert_eq!(txs["data"][0]["amount_idr"], -1_000_000);
    assert_eq!(txs["data"][0]["balance_after_idr"], 0);
    app.last_message_data(&email, "card_deactivated").await;
    let mut conn = app.db.conn().await;
    // The Treasury's account caches no balance (no hot row): it is its postings.
    let treasury = count(
        &mut conn,
        "SELECT coalesce(sum(p.amount_idr), 0)::bigint AS n FROM ledger_postings p \
         JOIN ledger_accounts a ON a.id = p.account_id WHERE a.kind = 'treasury_return'",
    )
    .await;
    assert_eq!(treasury, 1_000_000);
    // Idempotent: a second run changes nothing.
    let report = app.run_job("deactivate_expired_cards").await;
    assert_eq!(report["report"]["deactivated"], 0);
    app.assert_ledger_invariants().await;
    let me: Value = app
        .get("/v1/me", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["beneficiary"]["card_status"], "deactivated");
}

#[tokio::test]
async fn two_instances_running_the_deadline_job_at_once_deactivate_each_card_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let opens = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let closes = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    app.set_clock(opens + Duration::hours(1)).await;
    let wave = app.create_wave(&admin, 20, opens, closes).await;
    for i in 0..6u16 {
        let p = registered(&app, &format!("exp{i}"), 70 + i, 300 + i, "1990-08-08").await;
        app.apply(&p, &wave).await;
    }
    app.set_clock(closes + Duration::hours(1)).await;
    assert_eq!(app.select(&admin, &wave).await.status(), 200);
    app.set_clock(closes + Duration::days(20)).await;
    let (second, _) = crate::helpers::spawn_instance(&app.db.url, &[]).await;
    let run_second = async {
        let res = app
            .client
            .post(format!("{second}/v1/sandbox/jobs/deactivate_expired_cards"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };
    let (a, b) = tokio::join!(app.run_job("deactivate_expired_cards"), run_second);
    let total =
        a["report"]["deactivated"].as_i64().unwrap() + b["report"]["deactivated"].as_i64().unwrap();
    assert_eq!(total, 6);
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM journal_entries WHERE kind = 'expiry'"
        )
        .await,
        6
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM notifications WHERE template = 'card_deactivated'"
        )
        .await,
        6
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn card_not_found_before_selection() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("nocard").await;
    assert_problem(
        app.get("/v1/me/card", Some(&s.access)).await,
        404,
        "card_not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/me/card/transactions", Some(&s.access)).await,
        404,
        "card_not_found",
    )
    .await;
}

#[test]
fn deadline_is_fifteen_calendar_days_after_selection() {
    let selected = NaiveDate::from_ymd_opt(2026, 7, 4).unwrap();
    assert_eq!(
        selected + Duration::days(prakerja_api::batches::selection::FIRST_PURCHASE_DAYS),
        NaiveDate::from_ymd_opt(2026, 7, 19).unwrap()
    );
}
