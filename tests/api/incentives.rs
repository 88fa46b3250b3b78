//! Incentives (DOMAIN.md §4, §8; API.md Incentives and surveys): the payout
//! account, the schedule, exactly-once disbursement with signed callbacks,
//! reconciliation and surveys.
//!
//! The trigger of the schedule is the review of the first training; until the
//! review route is here these tests finish a training by writing the purchase
//! as completed, certified and reviewed, then call the hook the review's
//! transaction calls (`incentives::schedule::on_training_finished`).

use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::{
    matchers::{header, method, path, path_regex},
    Mock, MockServer, ResponseTemplate,
};

use crate::{
    fixtures::{registered, Session},
    helpers::{assert_problem, count, TestApp},
};

/// The sandbox default of PAYOUT_WEBHOOK_SECRET.
const SECRET: &str = prakerja_api::config::SANDBOX_PAYOUT_WEBHOOK_SECRET;

/// A beneficiary selected on 2026-07-04 (Asia/Jakarta), with the KTP name.
async fn beneficiary(app: &TestApp, serial: u16) -> (Session, String, String) {
    let admin = app.admin().await;
    let opens = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    let closes = Utc.with_ymd_and_hms(2026, 7, 4, 1, 0, 0).unwrap();
    app.set_clock(opens + Duration::hours(1)).await;
    let wave = app.create_wave(&admin, 5, opens, closes).await;
    let p = registered(app, "incentive", 70 + serial, serial, "1990-07-07").await;
    assert_eq!(app.apply(&p, &wave).await.status(), 201);
    app.set_clock(closes + Duration::hours(1)).await;
    assert_eq!(app.select(&admin, &wave).await.status(), 200);
    let me: Value = app
        .get("/v1/me", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    (
        p,
        me["email"].as_str().unwrap().to_owned(),
        me["full_name"].as_str().unwrap().to_owned(),
    )
}

/// Writes a completed, certified and reviewed training for the account and
/// calls the schedule's hook as the review's transaction does.
pub async fn finish_training(app: &TestApp, account: &str) -> bool {
    let mut conn = app.db.conn().await;
    let account = Uuid::parse_str(account).unwrap();
    let partner = Uuid::new_v4();
    let purchase = Uuid::new_v4();
    let now = app.state.clock.now();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("INSERT INTO partners (id, name, created_at) VALUES ($1, 'LMS Uji', $2)")
            .bind::<diesel::sql_types::Uuid, _>(partner)
            .bind::<diesel::sql_types::Timestamptz, _>(now),
        &mut conn,
    )
    .await
    .unwrap();
    // The course the purchase points at (purchases.course_id references courses).
    let course = Uuid::new_v4();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO courses (id, partner_id, external_id, title, description, category, delivery, \
             price_idr, starts_at, duration_hours, level, institution, created_at, updated_at) \
             VALUES ($1, $2, 'jahit-1', 'Menjahit', 'Menjahit dasar', 'Fesyen', 'self_paced', 500000, \
             $3, 10, 'beginner', 'LMS Uji', $3, $3)",
        )
        .bind::<diesel::sql_types::Uuid, _>(course)
        .bind::<diesel::sql_types::Uuid, _>(partner)
        .bind::<diesel::sql_types::Timestamptz, _>(now),
        &mut conn,
    )
    .await
    .unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO purchases (id, card_id, account_id, partner_id, course_id, platform_user_id, \
             course_title, delivery, price_idr, starts_at, duration_hours, course_terms, status, \
             redeem_code, purchased_at, redeemed_at, completed_at, certificate_url, reviewed_at, updated_at) \
             SELECT $1, c.id, c.account_id, $2, $5, 'user-1', 'Menjahit', 'self_paced', \
             500000, $3, 10, '{}'::jsonb, 'completed', 'RC' || substr(md5($1::text), 1, 10), $3, $3, $3, \
             'https://lms.example/cert/1', $3, $3 FROM cards c WHERE c.account_id = $4",
        )
        .bind::<diesel::sql_types::Uuid, _>(purchase)
        .bind::<diesel::sql_types::Uuid, _>(partner)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<diesel::sql_types::Uuid, _>(account)
        .bind::<diesel::sql_types::Uuid, _>(course),
        &mut conn,
    )
    .await
    .unwrap();
    let mut pooled = app.state.db.get().await.unwrap();
    prakerja_api::incentives::schedule::on_training_finished(&mut pooled, purchase, now)
        .await
        .unwrap()
}

async fn link(app: &TestApp, p: &Session, number: &str) -> reqwest::Response {
    app.put(
        "/v1/me/payout-account",
        Some(&p.access),
        &json!({"provider": "gopay", "account_number": number}),
    )
    .await
}

async fn incentives(app: &TestApp, p: &Session) -> Vec<Value> {
    let res = app.get("/v1/me/incentives", Some(&p.access)).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn statuses(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|i| i["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends a signed callback (`at`: the X-Callback-Timestamp).
pub async fn callback(app: &TestApp, body: &Value, secret: &str, at: i64) -> reqwest::Response {
    let raw = serde_json::to_vec(body).unwrap();
    let signature = prakerja_api::incentives::callbacks::sign_callback(secret.as_bytes(), at, &raw);
    app.client
        .post(app.url("/v1/webhooks/disbursements"))
        .header("content-type", "application/json")
        .header("X-Callback-Timestamp", at.to_string())
        .header("X-Callback-Signature", signature)
        .body(raw)
        .send()
        .await
        .unwrap()
}

async fn attempt_ids(app: &TestApp) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let rows: Vec<Id> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT id::text AS id FROM payout_attempts ORDER BY created_at, id"),
        &mut app.db.conn().await,
    )
    .await
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

async fn paid_emails(app: &TestApp, email: &str) -> usize {
    app.inbox(email)
        .await
        .iter()
        .filter(|m| m["template"] == "incentive_paid")
        .count()
}

/// Every installment of the account paid at most once, each payment posted once.
async fn assert_paid_once(app: &TestApp) {
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM (SELECT incentive_id FROM payout_attempts \
             WHERE status = 'completed' GROUP BY incentive_id HAVING count(*) > 1) x"
        )
        .await,
        0,
        "an installment paid twice"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM incentives i WHERE (i.status = 'paid') <> EXISTS \
             (SELECT 1 FROM journal_entries j JOIN payout_attempts a ON a.id::text = j.reference \
              WHERE j.kind = 'incentive_paid' AND a.incentive_id = i.id)"
        )
        .await,
        0,
        "a paid installment without its ledger entry, or an entry without a paid installment"
    );
    app.assert_ledger_invariants().await;
}

/// A mock provider that accepts the participant's accounts.
async fn provider(holder: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/account-validations"))
        .and(header("authorization", "Bearer payout-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"valid": true, "holder_name": holder})),
        )
        .mount(&server)
        .await;
    server
}

fn with_provider(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("PAYOUT_URL", server.uri()),
        ("PAYOUT_TOKEN", "payout-token".to_owned()),
    ]
}

async fn spawn_with_provider(server: &MockServer) -> TestApp {
    let vars = with_provider(server);
    let overrides: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(&overrides).await
}

#[tokio::test]
async fn a_payout_account_is_checked_with_the_provider_stored_sealed_and_shown_masked() {
    let app = TestApp::spawn().await;
    let (p, email, name) = beneficiary(&app, 1).await;
    let res = link(&app, &p, "081234567890").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["provider"], "gopay");
    assert_eq!(body["masked_account"], "********7890");
    assert_eq!(body["holder_name"], name.as_str());
    let shown: Value = app
        .get("/v1/me/payout-account", Some(&p.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["masked_account"], "********7890");
    let data = app
        .last_message_data(&email, "payout_account_changed")
        .await;
    assert_eq!(
        data,
        json!({"provider": "gopay", "masked_account": "********7890"})
    );
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM payout_accounts \
             WHERE position('081234567890'::bytea IN account_number_ciphertext) > 0"
        )
        .await,
        0,
        "the number is sealed"
    );
    // Replacing unlinks the old one: one linked at a time.
    assert_eq!(link(&app, &p, "1234567890").await.status(), 200);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM payout_accounts WHERE unlinked_at IS NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn someone_elses_account_or_an_unknown_number_is_refused_and_nothing_stored() {
    let app = TestApp::spawn().await;
    let (p, _, _) = beneficiary(&app, 2).await;
    // The sandbox's ORANG LAIN holds numbers ending in 0000.
    assert_problem(
        link(&app, &p, "081234560000").await,
        422,
        "payout_account_name_mismatch",
    )
    .await;
    assert_problem(
        link(&app, &p, "1234567").await,
        422,
        "payout_account_invalid",
    )
    .await;
    let res = app
        .put(
            "/v1/me/payout-account",
            Some(&p.access),
            &json!({"provider": "paypal", "account_number": "12345678"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        count(
            &mut app.db.conn().await,
            "SELECT count(*) AS n FROM payout_accounts"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn linking_needs_a_login_completed_in_the_last_15_minutes() {
    let app = TestApp::spawn().await;
    let (p, _, _) = beneficiary(&app, 3).await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1::uuid",
        )
        .bind::<diesel::sql_types::Text, _>(&p.account_id),
        &mut app.db.conn().await,
    )
    .await
    .unwrap();
    assert_problem(
        link(&app, &p, "081234567890").await,
        403,
        "reauthentication_required",
    )
    .await;
    // Moving the service clock does not help: the window is real time.
    app.set_clock(Utc::now() - Duration::minutes(20)).await;
    assert_problem(
        link(&app, &p, "081234567890").await,
        403,
        "reauthentication_required",
    )
    .await;
}

#[tokio::test]
async fn a_slow_provider_answers_503_and_nothing_is_stored() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/account-validations"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"valid": true, "holder_name": "X"}))
                .set_delay(StdDuration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let app = spawn_with_provider(&server).await;
    let (p, email, _) = beneficiary(&app, 4).await;
    assert_problem(
        link(&app, &p, "081234567890").await,
        503,
        "payout_provider_unavailable",
    )
    .await;
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM payout_accounts").await,
        0
    );
    assert!(app
        .inbox(&email)
        .await
        .iter()
        .all(|m| m["template"] != "payout_account_changed"));
}

#[tokio::test]
async fn the_first_finished_training_schedules_four_monthly_installments_once_and_pays_when_linked()
{
    let app = TestApp::spawn().await;
    let (p, email, _) = beneficiary(&app, 5).await;
    assert!(incentives(&app, &p).await.is_empty());
    app.set_clock(Utc.with_ymd_and_hms(2026, 8, 20, 3, 0, 0).unwrap())
        .await;
    assert!(finish_training(&app, &p.account_id).await);
    // Once per participant ever: a second finished training earns nothing.
    assert!(!finish_training(&app, &p.account_id).await);
    let list = incentives(&app, &p).await;
    assert_eq!(list.len(), 4);
    let due: Vec<&str> = list.iter().map(|i| i["due_on"].as_str().unwrap()).collect();
    assert_eq!(
        due,
        ["2026-08-20", "2026-09-20", "2026-10-20", "2026-11-20"]
    );
    assert!(list
        .iter()
        .all(|i| i["kind"] == "training" && i["amount_idr"] == 600_000));
    assert_eq!(statuses(&list), ["awaiting_payout_account"; 4]);
    // Nothing to pay without an account.
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["attempts"],
        0
    );
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    assert_eq!(statuses(&incentives(&app, &p).await), ["scheduled"; 4]);
    let run = app.run_job("disburse_incentives").await;
    assert_eq!(run["report"]["attempts"], 1, "{run}");
    assert_eq!(run["report"]["paid"], 1, "{run}");
    let list = incentives(&app, &p).await;
    assert_eq!(
        statuses(&list),
        ["paid", "scheduled", "scheduled", "scheduled"]
    );
    assert!(list[0]["paid_at"].is_string());
    assert_eq!(paid_emails(&app, &email).await, 1);
    assert_eq!(
        app.last_message_data(&email, "incentive_paid").await,
        json!({"amount_idr": 600000})
    );
    // Running again pays nothing more; a month later the second falls due.
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["attempts"],
        0
    );
    app.set_clock(Utc.with_ymd_and_hms(2026, 9, 20, 0, 0, 0).unwrap())
        .await;
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["paid"],
        1
    );
    assert_eq!(paid_emails(&app, &email).await, 2);
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(
            &mut conn,
            "SELECT coalesce(sum(amount_idr), 0)::bigint AS n FROM ledger_postings \
             WHERE account_id = '00000000-0000-0000-0000-000000000003'"
        )
        .await,
        2_400_000 - 1_200_000,
        "earned 4 x 600,000, paid 2"
    );
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn the_job_schedules_a_finished_training_the_hook_missed() {
    let app = TestApp::spawn().await;
    let (p, _, _) = beneficiary(&app, 6).await;
    assert!(finish_training(&app, &p.account_id).await);
    // As if the hook had not run: drop the schedule.
    let mut conn = app.db.conn().await;
    for sql in [
        "DELETE FROM ledger_postings WHERE entry_id IN (SELECT id FROM journal_entries WHERE kind = 'incentive_earned')",
        "DELETE FROM journal_entries WHERE kind = 'incentive_earned'",
        "DELETE FROM incentives",
        "DELETE FROM incentive_schedules",
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap();
    }
    assert_eq!(
        app.run_job("schedule_incentives").await["report"]["scheduled"],
        1
    );
    assert_eq!(
        app.run_job("schedule_incentives").await["report"]["scheduled"],
        0
    );
    assert_eq!(incentives(&app, &p).await.len(), 4);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_linked_payout_account_blocks_the_phone_change_until_unlinked() {
    let app = TestApp::spawn().await;
    let (p, _, _) = beneficiary(&app, 7).await;
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    let res = app
        .put(
            "/v1/me/phone",
            Some(&p.access),
            &json!({"phone": "+6281399990001"}),
        )
        .await;
    assert_problem(res, 409, "payout_account_linked").await;
    let res = app.delete("/v1/me/payout-account", Some(&p.access)).await;
    assert_eq!(res.status(), 204);
    let res = app
        .put(
            "/v1/me/phone",
            Some(&p.access),
            &json!({"phone": "+6281399990001"}),
        )
        .await;
    assert_eq!(res.status(), 202, "{:?}", res.text().await);
    // Unlinking again is not an error.
    assert_eq!(
        app.delete("/v1/me/payout-account", Some(&p.access))
            .await
            .status(),
        204
    );
}

/// A provider that accepts every disbursement as pending (the callback says more).
async fn pending_provider(holder: &str) -> MockServer {
    let server = provider(holder).await;
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(json!({"id": "p-1", "status": "pending"})),
        )
        .mount(&server)
        .await;
    server
}

/// A beneficiary with a finished training and a linked account at `server`,
/// and the first installment sent (one attempt processing).
async fn processing(app: &TestApp, serial: u16) -> (Session, String, String) {
    let (p, email, _) = beneficiary(app, serial).await;
    assert!(finish_training(app, &p.account_id).await);
    assert_eq!(link(app, &p, "081234567890").await.status(), 200);
    let run = app.run_job("disburse_incentives").await;
    assert_eq!(run["report"]["attempts"], 1, "{run}");
    let attempts = attempt_ids(app).await;
    assert_eq!(attempts.len(), 1);
    (p, email, attempts[0].clone())
}

#[tokio::test]
async fn unlinking_while_a_payment_is_processing_is_refused() {
    let server = pending_provider(&ktp_name(8)).await;
    let app = spawn_with_provider(&server).await;
    let (p, _, _) = processing(&app, 8).await;
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "processing");
    assert_problem(
        app.delete("/v1/me/payout-account", Some(&p.access)).await,
        409,
        "payout_in_progress",
    )
    .await;
}

/// The participant's KTP name for a beneficiary made with `serial`.
fn ktp_name(serial: u16) -> String {
    // NIK 317405 070790 {serial}: the sandbox registry names the last 6 digits.
    format!("PESERTA 90{serial:04}")
}

#[tokio::test]
async fn callbacks_need_a_valid_signature_within_300_seconds() {
    let server = pending_provider(&ktp_name(9)).await;
    let app = spawn_with_provider(&server).await;
    let (p, _, attempt) = processing(&app, 9).await;
    let body = json!({"event_id": "e-1", "reference": attempt, "status": "completed"});
    let now = Utc::now().timestamp();
    assert_problem(
        callback(&app, &body, "wrong-secret", now).await,
        401,
        "invalid_signature",
    )
    .await;
    assert_problem(
        callback(&app, &body, SECRET, now - 301).await,
        401,
        "invalid_signature",
    )
    .await;
    let res = app
        .client
        .post(app.url("/v1/webhooks/disbursements"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_signature").await;
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "processing");
    // The sandbox clock does not move the window: it is real time.
    app.set_clock(Utc::now() + Duration::days(30)).await;
    let res = callback(&app, &body, SECRET, now).await;
    assert_eq!(res.status(), 200);
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "paid");
}

#[tokio::test]
async fn a_callback_twice_late_or_out_of_order_pays_once_and_never_regresses() {
    let server = pending_provider(&ktp_name(10)).await;
    let app = spawn_with_provider(&server).await;
    let (p, email, attempt) = processing(&app, 10).await;
    let now = Utc::now().timestamp();
    let completed = json!({"event_id": "e-1", "reference": attempt, "status": "completed"});
    // (c) the same callback twice; then (d) `failed` after `completed`.
    let first: Value = callback(&app, &completed, SECRET, now)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["duplicate"], false);
    let again: Value = callback(&app, &completed, SECRET, now + 1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true);
    let failed = json!({"event_id": "e-2", "reference": attempt, "status": "failed", "failure_reason": "late"});
    assert_eq!(callback(&app, &failed, SECRET, now).await.status(), 200);
    let another = json!({"event_id": "e-3", "reference": attempt, "status": "completed"});
    assert_eq!(callback(&app, &another, SECRET, now).await.status(), 200);
    // A reference to no attempt is acknowledged.
    let unknown = json!({"event_id": "e-4", "reference": Uuid::new_v4(), "status": "completed"});
    assert_eq!(callback(&app, &unknown, SECRET, now).await.status(), 200);
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "paid");
    assert_eq!(paid_emails(&app, &email).await, 1);
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn the_same_callback_sent_twice_at_once_pays_once() {
    let server = pending_provider(&ktp_name(11)).await;
    let app = spawn_with_provider(&server).await;
    let (p, email, attempt) = processing(&app, 11).await;
    let now = Utc::now().timestamp();
    let body = json!({"event_id": "e-1", "reference": attempt, "status": "completed"});
    let other = json!({"event_id": "e-2", "reference": attempt, "status": "completed"});
    let (a, b, c) = tokio::join!(
        callback(&app, &body, SECRET, now),
        callback(&app, &body, SECRET, now),
        callback(&app, &other, SECRET, now),
    );
    assert!([a, b, c].iter().all(|r| r.status() == 200));
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "paid");
    assert_eq!(paid_emails(&app, &email).await, 1);
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn a_timeout_after_accepting_is_retried_with_the_same_attempt_and_paid_once() {
    let server = provider(&ktp_name(12)).await;
    // (a) The first send is accepted but answered too late; the next is answered.
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"id": "p-1", "status": "pending"}))
                .set_delay(StdDuration::from_secs(4)),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(json!({"id": "p-1", "status": "completed"})),
        )
        .mount(&server)
        .await;
    let app = spawn_with_provider(&server).await;
    let (p, email, _) = beneficiary(&app, 12).await;
    assert!(finish_training(&app, &p.account_id).await);
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    let run = app.run_job("disburse_incentives").await;
    assert_eq!(run["report"]["retrying"], 1, "{run}");
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "processing");
    // Not before its backoff.
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["paid"],
        0
    );
    app.set_clock(app.state.clock.now() + Duration::minutes(2))
        .await;
    let run = app.run_job("disburse_incentives").await;
    assert_eq!(run["report"]["paid"], 1, "{run}");
    let sends: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/disbursements")
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0], sends[1], "the retry reuses the attempt id");
    assert_eq!(attempt_ids(&app).await, [sends[0].clone()]);
    assert_eq!(paid_emails(&app, &email).await, 1);
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn a_500_then_202_and_a_completed_answer_with_a_callback_pay_once() {
    let server = provider(&ktp_name(13)).await;
    // (b) 500, then (e) `completed` at once, and the provider also calls back.
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(json!({"id": "p-1", "status": "completed"})),
        )
        .mount(&server)
        .await;
    let app = spawn_with_provider(&server).await;
    let (p, email, _) = beneficiary(&app, 13).await;
    assert!(finish_training(&app, &p.account_id).await);
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    let run = app.run_job("disburse_incentives").await;
    assert_eq!(run["report"]["paid"], 1, "{run}");
    let attempt = attempt_ids(&app).await.remove(0);
    let body = json!({"event_id": "e-1", "reference": attempt, "status": "completed"});
    assert_eq!(
        callback(&app, &body, SECRET, Utc::now().timestamp())
            .await
            .status(),
        200
    );
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "paid");
    assert_eq!(paid_emails(&app, &email).await, 1);
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn two_disbursement_runs_at_once_pay_each_installment_once() {
    let server = provider(&ktp_name(14)).await;
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"id": "p-1", "status": "completed"}))
                .set_delay(StdDuration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let app = spawn_with_provider(&server).await;
    let (p, email, _) = beneficiary(&app, 14).await;
    assert!(finish_training(&app, &p.account_id).await);
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    // Four months later all four are due.
    app.set_clock(app.state.clock.now() + Duration::days(125))
        .await;
    let (vars, db_url) = (with_provider(&server), app.db.url.clone());
    let overrides: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, other) = crate::helpers::spawn_instance(&db_url, &overrides).await;
    let (a, b) = tokio::join!(
        prakerja_api::jobs::Job::DisburseIncentives.run(&app.state),
        prakerja_api::jobs::Job::DisburseIncentives.run(&other),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a["paid"].as_u64().unwrap() + b["paid"].as_u64().unwrap(),
        4,
        "{a} {b}"
    );
    assert_eq!(statuses(&incentives(&app, &p).await), ["paid"; 4]);
    assert_eq!(attempt_ids(&app).await.len(), 4);
    let sends = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/disbursements")
        .count();
    assert_eq!(sends, 4, "each attempt sent once");
    assert_eq!(paid_emails(&app, &email).await, 4);
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn a_failed_installment_gets_a_new_attempt_after_the_account_is_fixed() {
    let server = provider(&ktp_name(15)).await;
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(ResponseTemplate::new(202).set_body_json(
            json!({"id": "p-1", "status": "failed", "failure_reason": "account_closed"}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/disbursements"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(json!({"id": "p-2", "status": "completed"})),
        )
        .mount(&server)
        .await;
    let app = spawn_with_provider(&server).await;
    let (p, email, _) = beneficiary(&app, 15).await;
    assert!(finish_training(&app, &p.account_id).await);
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["failed"],
        1
    );
    let list = incentives(&app, &p).await;
    assert_eq!(list[0]["status"], "failed");
    assert_eq!(list[0]["failure_reason"], "account_closed");
    // Not retried on its own.
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["attempts"],
        0
    );
    assert_eq!(link(&app, &p, "1234567890").await.status(), 200);
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["paid"],
        1
    );
    let attempts = attempt_ids(&app).await;
    assert_eq!(attempts.len(), 2);
    assert_ne!(attempts[0], attempts[1]);
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "paid");
    assert_eq!(paid_emails(&app, &email).await, 1);
    // The programme office sees both attempts.
    let admin = app.admin().await;
    let view: Value = app
        .get(
            &format!("/v1/admin/accounts/{}/incentives", p.account_id),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let first = &view["incentives"][0];
    assert_eq!(first["status"], "paid");
    assert_eq!(first["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(first["attempts"][0]["status"], "failed");
    assert_eq!(first["attempts"][1]["status"], "completed");
    assert_eq!(view["payout_account"]["masked_account"], "******7890");
    // The account's own admin page carries the same view.
    let account: Value = app
        .get(
            &format!("/v1/admin/accounts/{}", p.account_id),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(account["id"].as_str(), Some(p.account_id.as_str()));
    assert_eq!(account["incentives"], view);
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn reconciliation_settles_an_attempt_whose_callback_never_came() {
    let server = pending_provider(&ktp_name(16)).await;
    Mock::given(method("GET"))
        .and(path_regex("^/v1/disbursements/.+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "completed"})))
        .mount(&server)
        .await;
    let app = spawn_with_provider(&server).await;
    let (p, email, _) = processing(&app, 16).await;
    // Not yet stale.
    assert_eq!(
        app.run_job("reconcile_disbursements").await["report"]["checked"],
        0
    );
    app.set_clock(app.state.clock.now() + Duration::hours(2))
        .await;
    let run = app.run_job("reconcile_disbursements").await;
    assert_eq!(run["report"]["paid"], 1, "{run}");
    assert_eq!(statuses(&incentives(&app, &p).await)[0], "paid");
    assert_eq!(paid_emails(&app, &email).await, 1);
    assert_paid_once(&app).await;
}

async fn my_surveys(app: &TestApp, p: &Session) -> Vec<Value> {
    let res = app.get("/v1/me/surveys", Some(&p.access)).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn surveys_open_at_their_milestones_are_answered_once_and_earn_their_incentive() {
    let app = TestApp::spawn().await;
    let (p, _, _) = beneficiary(&app, 17).await;
    let list = my_surveys(&app, &p).await;
    assert_eq!(list.len(), 3);
    assert!(list
        .iter()
        .all(|s| s["status"] == "locked" && s["opens_on"].is_null()));
    let answer_all = |s: &Value| -> Value {
        let answers: Vec<Value> = s["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let answer = q["options"][0].as_str().unwrap_or("Bagus sekali");
                json!({"question_id": q["id"], "answer": answer})
            })
            .collect();
        json!({ "answers": answers })
    };
    let respond = |id: &str| format!("/v1/me/surveys/{id}/responses");
    let res = app
        .post(&respond("survey-1"), Some(&p.access), &answer_all(&list[0]))
        .await;
    assert_problem(res, 409, "survey_locked").await;
    app.set_clock(Utc.with_ymd_and_hms(2026, 8, 20, 3, 0, 0).unwrap())
        .await;
    assert!(finish_training(&app, &p.account_id).await);
    let list = my_surveys(&app, &p).await;
    assert_eq!(
        list.iter().map(|s| s["status"].clone()).collect::<Vec<_>>(),
        ["open", "locked", "locked"]
    );
    assert_eq!(list[1]["opens_on"], "2026-09-20");
    assert_eq!(list[2]["opens_on"], "2026-11-20");
    // Every question, each with one of its options.
    let mut partial = answer_all(&list[0]);
    partial["answers"].as_array_mut().unwrap().pop();
    let res = app
        .post(&respond("survey-1"), Some(&p.access), &partial)
        .await;
    assert_problem(res, 422, "answers_incomplete").await;
    let mut wrong = answer_all(&list[0]);
    wrong["answers"][0]["answer"] = json!("not an option");
    let res = app
        .post(&respond("survey-1"), Some(&p.access), &wrong)
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(&respond("survey-1"), Some(&p.access), &answer_all(&list[0]))
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post(&respond("survey-1"), Some(&p.access), &answer_all(&list[0]))
        .await;
    assert_problem(res, 409, "survey_completed").await;
    let res = app
        .post(&respond("survey-2"), Some(&p.access), &answer_all(&list[1]))
        .await;
    assert_problem(res, 409, "survey_locked").await;
    let res = app
        .post(&respond("survey-9"), Some(&p.access), &answer_all(&list[1]))
        .await;
    assert_problem(res, 404, "not_found").await;
    assert_eq!(my_surveys(&app, &p).await[0]["status"], "completed");
    let list = incentives(&app, &p).await;
    let survey: Vec<&Value> = list.iter().filter(|i| i["kind"] == "survey").collect();
    assert_eq!(survey.len(), 1);
    assert_eq!(survey[0]["amount_idr"], 50_000);
    assert_eq!(survey[0]["installment"], 1);
    assert_eq!(survey[0]["status"], "awaiting_payout_account");
    // Paid by the same path.
    assert_eq!(link(&app, &p, "081234567890").await.status(), 200);
    assert_eq!(
        app.run_job("disburse_incentives").await["report"]["paid"],
        2
    );
    assert_paid_once(&app).await;
}

#[tokio::test]
async fn incentive_routes_are_for_participants_and_lists_page() {
    let app = TestApp::spawn().await;
    let (p, _, _) = beneficiary(&app, 18).await;
    let admin = app.admin().await;
    for path in [
        "/v1/me/incentives",
        "/v1/me/surveys",
        "/v1/me/payout-account",
    ] {
        assert_problem(app.get(path, Some(&admin.access)).await, 403, "forbidden").await;
    }
    assert!(finish_training(&app, &p.account_id).await);
    let res = app.get("/v1/me/incentives?limit=3", Some(&p.access)).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let res = app
        .get(
            &format!("/v1/me/incentives?limit=3&cursor={cursor}"),
            Some(&p.access),
        )
        .await;
    let rest: Value = res.json().await.unwrap();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["installment"], 4);
    assert!(rest["next_cursor"].is_null());
    assert_problem(
        app.get("/v1/me/payout-account", Some(&p.access)).await,
        404,
        "not_found",
    )
    .await;
}
