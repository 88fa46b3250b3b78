//! Two instances on one database (issue 18 item 3), as two servers behind a
//! load balancer: every limit and every job is shared through PostgreSQL, so a
//! client spreading its requests over both gets no more than from one, and two
//! schedulers running the same job do the work once. (Also shown elsewhere
//! with a second instance: the sandbox clock in `foundation`, card expiry in
//! `card`, partner signatures in `partners`, disbursement in `incentives`.)

use std::collections::HashMap;

use serde_json::{json, Value};
use wiremock::{matchers::method, Mock, MockServer, ResponseTemplate};

use crate::{
    fixtures::{email, PASSWORD},
    helpers::{count, spawn_instance, TestApp},
};

/// Sends `body` to `path` on `base` (another instance's address).
async fn post_to(app: &TestApp, base: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_per_ip_limit_counts_requests_to_both_instances() {
    let limit = [("RATE_LIMIT_IP_PER_MINUTE", "6")];
    let app = TestApp::spawn_with(&limit).await;
    let (other, _) = spawn_instance(&app.db.url, &limit).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            other.clone()
        };
        let res = app
            .client
            .get(format!("{base}/v1/batches"))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 6, "one minute's budget across both: {statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 429)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn login_lock_out_and_code_budgets_are_shared() {
    let app = TestApp::spawn().await;
    let (other, _) = spawn_instance(&app.db.url, &[]).await;
    let address = email("shared");
    app.verified_account(&address, PASSWORD).await;
    // Ten wrong passwords, alternating instances, lock the account on both.
    for i in 0..10 {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            other.clone()
        };
        let res = post_to(
            &app,
            &base,
            "/v1/auth/login",
            &json!({"email": address, "password": "salah sekali kata sandi"}),
        )
        .await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    for base in [&app.address, &other] {
        let res = post_to(
            &app,
            base,
            "/v1/auth/login",
            &json!({"email": address, "password": PASSWORD}),
        )
        .await;
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "login_attempts_exceeded"
        );
    }

    // A login code's five resends, spread over both instances, are five in all.
    let second = email("resend");
    app.verified_account(&second, PASSWORD).await;
    let challenge = app.login_challenge(&second, PASSWORD).await;
    let mut answers = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            other.clone()
        };
        let res = post_to(
            &app,
            &base,
            "/v1/auth/login/resend",
            &json!({"challenge_id": challenge}),
        )
        .await;
        answers.push(res.status().as_u16());
    }
    assert_eq!(
        answers,
        [200, 200, 200, 200, 200, 429, 429, 429],
        "{answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_instances_deliver_the_outbox_and_purge_once() {
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_delay(std::time::Duration::from_millis(2)))
        .mount(&gateway)
        .await;
    let overrides = [
        ("NOTIFY_URL", gateway.uri()),
        ("NOTIFY_TOKEN", "gateway-token".to_owned()),
    ];
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(&overrides).await;
    let (other, _) = spawn_instance(&app.db.url, &overrides).await;
    // Forty accounts, forty verification emails queued.
    for i in 0..40 {
        let res = app
            .post(
                "/v1/accounts",
                None,
                &json!({"email": format!("dua{i}@example.com"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let run = |base: String| {
        let client = app.client.clone();
        async move {
            let res = client
                .post(format!("{base}/v1/sandbox/jobs/deliver_notifications"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()["report"]["sent"]
                .as_u64()
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(run(app.address.clone()), run(other.clone()));
    assert_eq!(a + b, 40, "the two runs share the work: {a} + {b}");
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for req in gateway.received_requests().await.unwrap() {
        let key = req
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        *per_key.entry(key).or_default() += 1;
    }
    assert_eq!(per_key.len(), 40);
    assert!(per_key.values().all(|n| *n == 1), "each message sent once");
    let unsent = count(
        &mut app.db.conn().await,
        "SELECT count(*) AS n FROM notifications WHERE status <> 'sent' OR attempts <> 1",
    )
    .await;
    assert_eq!(unsent, 0);
}
