//! Administration: admin-only routes, blocking, the fraud flag, the audit trail,
//! and that no secret reaches audit rows or logs.

use serde_json::{json, Value};

use crate::{
    fixtures::{email, PASSWORD},
    helpers::{assert_problem, count, TestApp},
};

#[tokio::test]
async fn admin_routes_are_401_without_token_and_403_for_participants() {
    let app = TestApp::spawn().await;
    let (_, participant) = app.participant("p").await;
    for path in ["/v1/admin/accounts", "/v1/admin/audit-events"] {
        assert_problem(app.get(path, None).await, 401, "unauthenticated").await;
        assert_problem(
            app.get(path, Some(&participant.access)).await,
            403,
            "forbidden",
        )
        .await;
    }
    let res = app
        .post(
            &format!("/v1/admin/accounts/{}/block", participant.account_id),
            Some(&participant.access),
            &json!({"reason": "nope"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn admin_logs_in_through_the_same_otp_flow_and_finds_accounts_by_email() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let me: Value = app
        .get("/v1/me", Some(&admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    let (address, participant) = app.participant("findme").await;
    let res = app
        .get(
            &format!("/v1/admin/accounts?email={}", address.to_uppercase()),
            Some(&admin.access),
        )
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["id"], participant.account_id.as_str());
    assert_eq!(page["next_cursor"], Value::Null);
    let res = app
        .get(
            &format!("/v1/admin/accounts/{}", participant.account_id),
            Some(&admin.access),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["email"], address);
    let res = app
        .get(
            &format!("/v1/admin/accounts/{}", uuid::Uuid::new_v4()),
            Some(&admin.access),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn admin_account_list_pages_with_a_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..3 {
        app.post(
            "/v1/accounts",
            None,
            &json!({"email": email(&format!("page{i}")), "password": PASSWORD}),
        )
        .await;
    }
    let first: Value = app
        .get("/v1/admin/accounts?limit=2", Some(&admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(
            &format!("/v1/admin/accounts?limit=2&cursor={cursor}"),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    // 3 participants + the admin = 4 accounts.
    assert_eq!(second["data"].as_array().unwrap().len(), 2);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
}

#[tokio::test]
async fn blocking_ends_sessions_at_once_and_refuses_login_until_unblocked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (address, participant) = app.participant("blockme").await;
    let path = format!("/v1/admin/accounts/{}/block", participant.account_id);
    let res = app.post(&path, Some(&admin.access), &json!({})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "reason");
    let res = app
        .post(
            &path,
            Some(&admin.access),
            &json!({"reason": "Akun diperjualbelikan"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["flags"]["blocked"], true);
    assert_problem(
        app.get("/v1/me", Some(&participant.access)).await,
        401,
        "session_ended",
    )
    .await;
    let res = app
        .post(
            "/v1/auth/refresh",
            None,
            &json!({"refresh_token": participant.refresh}),
        )
        .await;
    assert_problem(res, 401, "refresh_token_invalid").await;
    let res = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": address, "password": PASSWORD}),
        )
        .await;
    assert_problem(res, 403, "account_blocked").await;
    let res = app
        .post(
            &format!("/v1/admin/accounts/{}/unblock", participant.account_id),
            Some(&admin.access),
            &json!({"reason": "Banding diterima"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.login(&address, PASSWORD).await;
}

#[tokio::test]
async fn an_admin_cannot_block_themself() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post(
            &format!("/v1/admin/accounts/{}/block", admin.account_id),
            Some(&admin.access),
            &json!({"reason": "oops oops"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn fraud_flag_is_set_and_cleared_by_an_admin_and_shown_to_the_participant() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, participant) = app.participant("fraud").await;
    let path = format!("/v1/admin/accounts/{}/fraud-flag", participant.account_id);
    let res = app
        .put(
            &path,
            Some(&admin.access),
            &json!({"fraud_suspected": true, "reason": "Wajah berbeda"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let me: Value = app
        .get("/v1/me", Some(&participant.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["flags"]["fraud_suspected"], true);
    let res = app
        .put(
            &path,
            Some(&admin.access),
            &json!({"fraud_suspected": false, "reason": "Sudah diverifikasi"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let me: Value = app
        .get("/v1/me", Some(&participant.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["flags"]["fraud_suspected"], false);
}

#[tokio::test]
async fn audit_trail_records_logins_failures_and_admin_actions_with_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (address, participant) = app.participant("audited").await;
    app.post(
        "/v1/auth/login",
        None,
        &json!({"email": address, "password": "wrong password"}),
    )
    .await;
    app.post(
        &format!("/v1/admin/accounts/{}/block", participant.account_id),
        Some(&admin.access),
        &json!({"reason": "Melanggar ketentuan"}),
    )
    .await;
    let res = app
        .get(
            &format!(
                "/v1/admin/audit-events?subject_id={}",
                participant.account_id
            ),
            Some(&admin.access),
        )
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    let actions: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "account_blocked",
            "login_failed",
            "login_succeeded",
            "email_verified",
            "account_created"
        ]
    );
    let blocked = &page["data"][0];
    assert_eq!(blocked["actor_id"], admin.account_id.as_str());
    assert_eq!(blocked["reason"], "Melanggar ketentuan");
    assert_eq!(blocked["ip"], "127.0.0.1");
    assert!(blocked["request_id"].is_string());
    let res = app
        .get(
            &format!(
                "/v1/admin/audit-events?action=account_blocked&actor_id={}",
                admin.account_id
            ),
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let res = app
        .get(
            "/v1/admin/audit-events?from=2999-01-01T00:00:00Z",
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let res = app
        .get("/v1/admin/audit-events?from=yesterday", Some(&admin.access))
        .await;
    assert_problem(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn otp_lockout_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let address = email("lockout");
    let id = app.verified_account(&address, PASSWORD).await;
    let challenge = app.login_challenge(&address, PASSWORD).await;
    let code = app.login_code(&address).await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    for _ in 0..5 {
        app.post(
            "/v1/auth/login/verify",
            None,
            &json!({"challenge_id": challenge, "code": wrong}),
        )
        .await;
    }
    let page: Value = app
        .get(
            &format!("/v1/admin/audit-events?subject_id={id}&action=otp_locked_out"),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn no_password_code_or_token_is_stored_in_audit_rows_or_written_to_logs() {
    let logs = crate::helpers::capture_logs();
    let app = TestApp::spawn().await;
    let address = email("secret");
    let password = "rahasia sekali 4 5 6";
    app.verified_account(&address, password).await;
    let challenge = app.login_challenge(&address, password).await;
    let code = app.login_code(&address).await;
    let res = app
        .post(
            "/v1/auth/login/verify",
            None,
            &json!({"challenge_id": challenge, "code": code}),
        )
        .await;
    let pair: Value = res.json().await.unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await;
    app.post("/v1/auth/password-reset", None, &json!({"email": address}))
        .await;
    let reset = app.last_message_data(&address, "password_reset").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/v1/auth/login",
        None,
        &json!({"email": address, "password": "wrong but secret"}),
    )
    .await;

    // Read the logs before this test's own SQL below, which names the secrets.
    let written = logs.contents();
    assert!(
        written.contains("/v1/auth/login"),
        "the capture saw the requests"
    );
    let mut conn = app.db.conn().await;
    for secret in [
        password,
        code.as_str(),
        refresh.as_str(),
        access.as_str(),
        reset.as_str(),
        "wrong but secret",
    ] {
        let sql = format!(
            "SELECT count(*) AS n FROM audit_events WHERE concat_ws('|', action, reason, ip, request_id) LIKE '%{}%'",
            secret.replace('\'', "''")
        );
        assert_eq!(count(&mut conn, &sql).await, 0, "audit rows hold a secret");
        if let Some(line) = written.lines().find(|l| mentions(l, secret)) {
            panic!("logs hold a secret: {line}");
        }
    }
}

/// Whether a log line holds `secret` as a whole word (not inside a longer
/// run of letters and digits), leaving out the line's timestamp: a 6-digit
/// code can equal a timestamp's microseconds or a run inside a hex id.
fn mentions(line: &str, secret: &str) -> bool {
    let text = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("timestamp");
            Value::Object(fields).to_string()
        }
        _ => line.to_owned(),
    };
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn a_secret_is_found_only_as_a_whole_word() {
    assert!(mentions(r#"{"timestamp":"x","code":"602193"}"#, "602193"));
    assert!(mentions("login code 602193", "602193"));
    assert!(!mentions(
        r#"{"timestamp":"2026-12-02T02:50:03.602193Z","message":"ok"}"#,
        "602193"
    ));
    assert!(!mentions("request 0a602193b", "602193"));
    assert!(mentions("Bearer eyJ.abc leaked", "eyJ.abc"));
}
