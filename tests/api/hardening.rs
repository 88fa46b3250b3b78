//! Issue 14, hardening: limits that hold under parallel requests, the client
//! address, bounded tables, no plaintext at rest, hostile text.

use serde_json::json;

use crate::{
    fixtures::{email, kk, nik, png, PASSWORD},
    helpers::{assert_problem, TestApp},
};

/// Statuses of `n` copies of one request sent at once.
async fn at_once(
    app: &TestApp,
    n: usize,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> Vec<u16> {
    let requests = (0..n).map(|_| async {
        let req = match method {
            "PUT" => app.client.put(app.url(path)),
            _ => app.client.post(app.url(path)),
        };
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        req.json(body).send().await.unwrap().status().as_u16()
    });
    futures_util::future::join_all(requests).await
}

#[tokio::test]
async fn thirty_wrong_passwords_at_once_get_at_most_ten_checks_then_the_right_one_is_429() {
    let app = TestApp::spawn().await;
    let address = email("storm");
    app.verified_account(&address, PASSWORD).await;
    let body = json!({"email": address, "password": "wrong password"});
    let statuses = at_once(&app, 30, "POST", "/v1/auth/login", None, &body).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 10,
        "{checked} passwords were checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let res = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": address, "password": PASSWORD}),
        )
        .await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "login_attempts_exceeded").await;
}

/// A login storm beyond what the hashing threads and their queue hold is
/// answered 429 `rate_limited` with Retry-After before the login touches the
/// database: the refused requests leave no attempt counted or held against
/// the address, and the logins admitted still go through.
#[tokio::test]
async fn logins_beyond_the_hashing_queue_are_refused_before_any_database_work() {
    // One hashing thread: ten admitted at most (one hashing, the rest queued).
    let app = TestApp::spawn_with(&[("PASSWORD_HASH_CONCURRENCY", "1")]).await;
    let address = email("queue");
    app.verified_account(&address, PASSWORD).await;
    let body = json!({"email": address, "password": PASSWORD});
    let requests = (0..40).map(|_| async {
        let res = app
            .client
            .post(app.url("/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let code = res
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|b| b.get("code").and_then(|c| c.as_str()).map(str::to_owned));
        (status, code)
    });
    let statuses = futures_util::future::join_all(requests).await;
    let answered = |status: u16, code: Option<&str>| {
        statuses
            .iter()
            .filter(|(s, c)| *s == status && (code.is_none() || c.as_deref() == code))
            .count()
    };
    let admitted = answered(200, None);
    let busy = answered(429, Some("rate_limited"));
    // As hashes finish, a later login can still get a place in the queue;
    // then the account's ten reserved attempts refuse it (the lock-out).
    let locked_out = answered(429, Some("login_attempts_exceeded"));
    assert!(admitted >= 1, "{statuses:?}");
    assert!(busy >= 1, "nothing was refused: {statuses:?}");
    assert_eq!(admitted + busy + locked_out, 40, "{statuses:?}");
    // The ones refused for a busy queue were not even counted by the login's
    // per-IP window (its first database step); every admitted login was
    // right, so its reserved attempt was given back.
    let mut conn = app.db.conn().await;
    let events = |bucket: &str| {
        format!("SELECT count(*) AS n FROM rate_limit_events WHERE bucket LIKE '{bucket}'")
    };
    let counted = crate::helpers::count(&mut conn, &events("ip:login:%")).await;
    assert_eq!(counted as usize, admitted + locked_out, "{statuses:?}");
    let held = crate::helpers::count(&mut conn, &events("login_fail%")).await;
    assert_eq!(held, 0);
}

#[tokio::test]
async fn thirty_wrong_current_passwords_at_once_get_at_most_ten_checks() {
    let app = TestApp::spawn().await;
    let (address, session) = app.participant("storm-change").await;
    let body = json!({"current_password": "wrong one!", "new_password": "es teler segar"});
    let statuses = at_once(
        &app,
        30,
        "PUT",
        "/v1/me/password",
        Some(&session.access),
        &body,
    )
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 10,
        "{checked} passwords were checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let res = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": address, "password": PASSWORD}),
        )
        .await;
    assert_problem(res, 429, "login_attempts_exceeded").await;
}

#[tokio::test]
async fn a_right_password_is_not_counted_and_clears_the_wrong_ones() {
    let app = TestApp::spawn().await;
    let address = email("right");
    app.verified_account(&address, PASSWORD).await;
    let wrong = json!({"email": address, "password": "wrong password"});
    let right = json!({"email": address, "password": PASSWORD});
    for round in 0..2 {
        for _ in 0..9 {
            let res = app.post("/v1/auth/login", None, &wrong).await;
            assert_problem(res, 401, "invalid_credentials").await;
        }
        let res = app.post("/v1/auth/login", None, &right).await;
        assert_eq!(res.status(), 200, "round {round}");
    }
}

/// Login step 1 through a trusted proxy that sends these `X-Forwarded-For` lines.
async fn login_via_proxy(app: &TestApp, lines: &[String]) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email("xff"), "password": PASSWORD}));
    for line in lines {
        req = req.header("x-forwarded-for", line);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_client_address_is_read_from_every_forwarded_line_and_hop_form() {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RATE_LIMIT_IP_PER_MINUTE", "3"),
    ])
    .await;
    // The client forges the first line; the proxy appends a line of its own,
    // with the port as some proxies write it. The forged part changes on every
    // request, so a server that believed it would never limit this client.
    for n in 0..3 {
        let lines = [format!("6.6.6.{n}"), "[2001:db8::7]:443".to_owned()];
        let res = login_via_proxy(&app, &lines).await;
        assert_problem(res, 401, "invalid_credentials").await;
    }
    let res = login_via_proxy(
        &app,
        &["6.6.6.9".to_owned(), "[2001:db8::7]:443".to_owned()],
    )
    .await;
    assert_problem(res, 429, "rate_limited").await;
    // Another client behind the same proxy keeps its own budget.
    let res = login_via_proxy(&app, &["198.51.100.7:5678".to_owned()]).await;
    assert_problem(res, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn every_route_has_a_per_ip_limit_per_route_with_retry_after() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_IP_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        assert_eq!(app.get("/v1/batches", None).await.status(), 200);
    }
    let res = app.get("/v1/batches", None).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_problem(res, 429, "rate_limited").await;
    // Token refresh was not limited at all; now it is, with its own budget.
    let body = json!({"refresh_token": "not a token"});
    for _ in 0..3 {
        let res = app.post("/v1/auth/refresh", None, &body).await;
        assert_problem(res, 401, "refresh_token_invalid").await;
    }
    let res = app.post("/v1/auth/refresh", None, &body).await;
    assert_problem(res, 429, "rate_limited").await;
    // Ids in the path do not multiply the budget: the route's pattern counts.
    for _ in 0..3 {
        let path = format!("/v1/batches/{}/applications", uuid::Uuid::new_v4());
        let res = app.post(&path, None, &json!({})).await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    let path = format!("/v1/batches/{}/applications", uuid::Uuid::new_v4());
    assert_problem(app.post(&path, None, &json!({})).await, 429, "rate_limited").await;
    // Unrouted paths share one budget, so scanning is limited too.
    for n in 0..3 {
        assert_eq!(app.get(&format!("/v1/scan-{n}"), None).await.status(), 404);
    }
    assert_problem(app.get("/v1/scan-9", None).await, 429, "rate_limited").await;
    // Orchestrator probes are never refused.
    for _ in 0..5 {
        assert_eq!(app.get("/health", None).await.status(), 200);
    }
}

#[tokio::test]
async fn failed_identity_attempts_are_capped_at_twenty_a_day_even_when_sent_at_once() {
    let app = TestApp::spawn().await;
    let (_, session) = app.participant("probe").await;
    let dob = chrono::NaiveDate::from_ymd_opt(1995, 4, 17).unwrap();
    let wrong = json!({"nik": nik(dob, false, 1), "kk_number": "3174050101000010", "date_of_birth": "1995-04-17"});
    let statuses = at_once(
        &app,
        30,
        "PUT",
        "/v1/me/identity",
        Some(&session.access),
        &wrong,
    )
    .await;
    let failed = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!(failed, 20, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        10,
        "{statuses:?}"
    );
    // The 21st attempt is refused even when it would match.
    let right =
        json!({"nik": nik(dob, false, 1), "kk_number": kk(1), "date_of_birth": "1995-04-17"});
    let res = app
        .put("/v1/me/identity", Some(&session.access), &right)
        .await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "rate_limited").await;
    app.set_clock(
        chrono::Utc::now() + chrono::TimeDelta::hours(24) + chrono::TimeDelta::minutes(1),
    )
    .await;
    let res = app
        .put("/v1/me/identity", Some(&session.access), &right)
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
}

#[tokio::test]
async fn face_enrollment_calls_have_a_daily_quota_per_account() {
    let app = TestApp::spawn().await;
    let (_, session) = app.participant("face-quota").await;
    for _ in 0..20 {
        let res = app
            .send_bytes(
                reqwest::Method::POST,
                "/v1/me/face-enrollment",
                &session.access,
                "image/png",
                png(50),
            )
            .await;
        assert_problem(res, 422, "face_liveness_failed").await;
    }
    let res = app
        .send_bytes(
            reqwest::Method::POST,
            "/v1/me/face-enrollment",
            &session.access,
            "image/png",
            png(500),
        )
        .await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "rate_limited").await;
}

#[tokio::test]
async fn one_number_gets_at_most_fifty_sms_an_hour_whichever_accounts_ask() {
    let app = TestApp::spawn().await;
    let body = json!({"phone": "+6281299990000"});
    let mut sent = 0;
    for n in 0..6 {
        let (_, session) = app.participant(&format!("spam{n}")).await;
        // Each account may ask for 10 codes in 2 hours (its own OTP budget).
        for _ in 0..10 {
            let res = app.put("/v1/me/phone", Some(&session.access), &body).await;
            if res.status() == 202 {
                sent += 1;
                continue;
            }
            assert!(res.headers().get("retry-after").is_some());
            assert_problem(res, 429, "rate_limited").await;
        }
    }
    assert_eq!(sent, 50);
    assert_eq!(app.inbox("+6281299990000").await.len(), 50);
}

#[tokio::test]
async fn participant_routes_answer_403_forbidden_to_an_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let doc: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(op) = item.get(method) else { continue };
            let note = "Participant route: an admin token answers 403";
            if !op["description"]
                .as_str()
                .unwrap_or_default()
                .contains(note)
            {
                continue;
            }
            let path = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
            let res = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&path))
                .bearer_auth(&admin.access)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{method} {path}");
            assert_problem(res, 403, "forbidden").await;
            checked += 1;
        }
    }
    assert!(checked >= 18, "{checked} participant routes");
    // The routes every account may use still admit an admin.
    assert_eq!(app.get("/v1/me", Some(&admin.access)).await.status(), 200);
}

#[tokio::test]
async fn a_sandbox_with_a_real_gateway_guards_its_inbox() {
    let vars: std::collections::HashMap<String, String> = [
        ("APP_ENV", "sandbox"),
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("NOTIFY_URL", "https://notify.example"),
        ("NOTIFY_TOKEN", "gateway-token"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let refused = prakerja_api::config::Settings::from_map(&vars);
    let err = refused
        .expect_err("refused without SANDBOX_INBOX_TOKEN")
        .to_string();
    assert!(err.contains("SANDBOX_INBOX_TOKEN"), "{err}");
    let app = TestApp::spawn_with(&[
        ("NOTIFY_URL", "https://notify.example"),
        ("NOTIFY_TOKEN", "gateway-token"),
        ("SANDBOX_INBOX_TOKEN", "a-long-enough-inbox-token"),
    ])
    .await;
    let res = app.get("/v1/sandbox/notifications", None).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .client
        .get(app.url("/v1/sandbox/notifications"))
        .header("x-sandbox-token", "a-long-enough-inbox-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn purge_expired_data_bounds_every_growing_table_in_batches() {
    use crate::helpers::count;
    let app = TestApp::spawn().await;
    // Two accounts' worth of sessions, tokens, codes, links and messages.
    let (old, _) = app.participant("old").await;
    let (_, fresh) = app.participant("fresh").await;
    let mut conn = app.db.conn().await;
    for sql in [
        "UPDATE sessions SET expires_at = now() - interval '31 days', created_at = now() - interval '62 days' WHERE account_id = (SELECT id FROM accounts WHERE email = $$OLD$$)",
        "UPDATE otp_challenges SET expires_at = now() - interval '25 hours' WHERE account_id = (SELECT id FROM accounts WHERE email = $$OLD$$)",
        "UPDATE account_tokens SET expires_at = now() - interval '25 hours' WHERE account_id = (SELECT id FROM accounts WHERE email = $$OLD$$)",
        "UPDATE notifications SET status = 'sent', created_at = now() - interval '8 days' WHERE recipient = $$OLD$$",
        "UPDATE rate_limit_events SET occurred_at = now() - interval '26 hours'",
        "UPDATE request_counts SET window_start = now() - interval '2 hours'",
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql.replace("OLD", &old)), &mut conn)
            .await
            .unwrap();
    }
    let kept_before = [
        count(&mut conn, "SELECT count(*) AS n FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE email LIKE 'fresh.%')").await,
        count(&mut conn, "SELECT count(*) AS n FROM notifications WHERE recipient LIKE 'fresh.%'").await,
    ];
    assert!(kept_before.iter().all(|n| *n > 0), "{kept_before:?}");
    // Two instances purging at once neither fail nor wait for each other.
    let (a, b) = tokio::join!(
        app.run_job("purge_expired_data"),
        app.run_job("purge_expired_data")
    );
    for table in [
        "sessions",
        "refresh_tokens",
        "otp_challenges",
        "account_tokens",
        "notifications",
    ] {
        let deleted = a["report"][table].as_u64().unwrap() + b["report"][table].as_u64().unwrap();
        assert!(deleted > 0, "{table}: {a} {b}");
    }
    let old_left = [
        "SELECT count(*) AS n FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE email LIKE 'old.%')",
        "SELECT count(*) AS n FROM otp_challenges WHERE account_id = (SELECT id FROM accounts WHERE email LIKE 'old.%')",
        "SELECT count(*) AS n FROM account_tokens WHERE account_id = (SELECT id FROM accounts WHERE email LIKE 'old.%')",
        "SELECT count(*) AS n FROM notifications WHERE recipient LIKE 'old.%'",
        "SELECT count(*) AS n FROM rate_limit_events WHERE occurred_at < now() - interval '25 hours'",
        "SELECT count(*) AS n FROM request_counts WHERE window_start < now() - interval '1 hour'",
    ];
    for sql in old_left {
        assert_eq!(count(&mut conn, sql).await, 0, "{sql}");
    }
    let kept_after = [
        count(&mut conn, "SELECT count(*) AS n FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE email LIKE 'fresh.%')").await,
        count(&mut conn, "SELECT count(*) AS n FROM notifications WHERE recipient LIKE 'fresh.%'").await,
    ];
    assert_eq!(kept_before, kept_after);
    assert_eq!(app.get("/v1/me", Some(&fresh.access)).await.status(), 200);
}
