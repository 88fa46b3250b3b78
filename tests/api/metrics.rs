//! `GET /metrics`: served on its own port only, in the Prometheus text format,
//! and its figures move with what the service does.

use chrono::TimeDelta;
use prakerja_api::server::Application;
use serde_json::json;

use crate::{
    fixtures::{email, PASSWORD},
    helpers::{test_settings, TestApp, TestDb},
};

/// The service with its metrics listener on a free port; returns the app and
/// the metrics URL.
async fn spawn(overrides: &[(&str, &str)]) -> (TestApp, String) {
    let db = TestDb::new().await;
    let mut vars = vec![("METRICS_PORT", "0")];
    vars.extend_from_slice(overrides);
    let app = Application::build(test_settings(&db.url, &vars), false)
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port);
    let metrics = format!(
        "http://127.0.0.1:{}/metrics",
        app.metrics_port.expect("METRICS_PORT is set")
    );
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    (
        TestApp {
            address,
            client,
            state,
            db,
        },
        metrics,
    )
}

async fn scrape(app: &TestApp, url: &str) -> String {
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    res.text().await.unwrap()
}

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn requests_are_counted_per_route_template_and_status() {
    let (app, metrics) = spawn(&[]).await;
    let before = scrape(&app, &metrics).await;
    let health = r#"prakerja_http_requests_total{method="GET",route="/health",status="200"}"#;
    assert_eq!(sample(&before, health), None);
    for _ in 0..3 {
        assert_eq!(app.get("/health", None).await.status(), 200);
    }
    let id = uuid::Uuid::new_v4();
    let batch = app
        .get(&format!("/v1/admin/batches/{id}"), None)
        .await
        .status();
    let res = app.get(&format!("/no/such/{id}"), None).await;
    assert_eq!(res.status(), 404);
    let text = scrape(&app, &metrics).await;
    assert_eq!(sample(&text, health), Some(3.0));
    assert_eq!(
        sample(
            &text,
            r#"prakerja_http_request_duration_seconds_count{method="GET",route="/health",status="200"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"prakerja_http_requests_total{{method="GET",route="/v1/admin/batches/{{id}}",status="{}"}}"#,
                batch.as_u16()
            )
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"prakerja_http_requests_total{method="GET",route="(unmatched)",status="404"}"#
        ),
        Some(1.0)
    );
    // Templates, never paths: no id reaches a label.
    assert!(!text.contains(&id.to_string()));
    // The pool as configured for tests (6), and nothing waiting for it.
    assert_eq!(sample(&text, "prakerja_db_pool_max_connections"), Some(6.0));
    assert_eq!(sample(&text, "prakerja_db_pool_waiters"), Some(0.0));
    assert_eq!(sample(&text, "prakerja_database_up"), Some(1.0));
    // Every job has a lag from start-up before its first run.
    for job in prakerja_api::jobs::Job::ALL {
        let lag = format!("prakerja_job_lag_seconds{{job=\"{}\"}}", job.name());
        assert!(sample(&text, &lag).is_some(), "{lag}");
    }
}

#[tokio::test]
async fn the_public_port_does_not_serve_metrics() {
    let (app, _) = spawn(&[]).await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn outbox_backlog_and_job_runs_move_with_delivery() {
    let (app, metrics) = spawn(&[]).await;
    let address = email("metrics");
    let res = app
        .post(
            "/v1/accounts",
            None,
            &json!({"email": address, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let queued = r#"prakerja_outbox_backlog{status="queued"}"#;
    let text = scrape(&app, &metrics).await;
    assert_eq!(sample(&text, queued), Some(1.0));
    // The oldest age follows the service clock.
    let now = app.state.clock.now();
    app.set_clock(now + TimeDelta::hours(1)).await;
    let text = scrape(&app, &metrics).await;
    let age = sample(&text, "prakerja_outbox_oldest_age_seconds").unwrap();
    assert!((3600.0..3700.0).contains(&age), "oldest age {age}");

    app.run_job("deliver_notifications").await;
    let text = scrape(&app, &metrics).await;
    assert_eq!(sample(&text, queued), Some(0.0));
    assert_eq!(
        sample(&text, "prakerja_outbox_oldest_age_seconds"),
        Some(0.0)
    );
    let runs = r#"prakerja_job_runs_total{job="deliver_notifications",outcome="ok"}"#;
    assert_eq!(sample(&text, runs), Some(1.0));
    let lag = sample(
        &text,
        r#"prakerja_job_lag_seconds{job="deliver_notifications"}"#,
    )
    .unwrap();
    assert!(lag < 5.0, "lag just after a run: {lag}");
    // What a participant typed never becomes a label.
    assert!(!text.contains(&address));
}

#[tokio::test]
async fn login_429s_are_counted() {
    let (app, metrics) = spawn(&[("RATE_LIMIT_IP_PER_MINUTE", "2")]).await;
    let series = r#"prakerja_login_rate_limited_total{route="/v1/auth/login"}"#;
    for _ in 0..4 {
        app.post(
            "/v1/auth/login",
            None,
            &json!({"email": email("storm"), "password": PASSWORD}),
        )
        .await;
    }
    let text = scrape(&app, &metrics).await;
    assert_eq!(sample(&text, series), Some(2.0));
    assert_eq!(
        sample(
            &text,
            r#"prakerja_http_requests_total{method="POST",route="/v1/auth/login",status="429"}"#
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn unpaid_installments_are_gauged_by_state() {
    let (app, metrics) = spawn(&[]).await;
    let gauge = |state: &str| format!(r#"prakerja_disbursements{{state="{state}"}}"#);
    let text = scrape(&app, &metrics).await;
    assert_eq!(sample(&text, &gauge("scheduled")), Some(0.0));
    // Rows as the schedule and disbursement write them (their account and card
    // rows are beside the point here, so foreign keys are not enforced for
    // this session).
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("SET session_replication_role = replica"),
        &mut conn,
    )
    .await
    .unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO incentives (id, account_id, card_id, kind, installment, amount_idr, due_on, status, paid_at, created_at, updated_at) \
             SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'training', n, 600000, current_date, s, \
                    CASE WHEN s = 'paid' THEN now() END, now(), now() \
               FROM unnest(ARRAY['scheduled', 'scheduled', 'processing', 'failed', 'paid', 'awaiting_payout_account', 'scheduled']) \
                    WITH ORDINALITY AS t(s, n)",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let text = scrape(&app, &metrics).await;
    for (state, n) in [
        ("scheduled", 3.0),
        ("processing", 1.0),
        ("failed", 1.0),
        ("awaiting_payout_account", 1.0),
    ] {
        assert_eq!(sample(&text, &gauge(state)), Some(n), "{state}");
    }
    assert_eq!(
        sample(&text, &gauge("paid")),
        None,
        "paid ones are not scanned"
    );
}
