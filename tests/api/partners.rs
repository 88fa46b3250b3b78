//! Partner platforms: the admin routes and the signed-request rules of API.md
//! (Conventions: partner platform). Also the fixtures other tests use to act as
//! a partner: [`TestApp::partner`], [`sign`], [`TestApp::signed`],
//! [`TestApp::signed_at`] and [`TestApp::course`].

use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    fixtures::Session,
    helpers::{assert_problem, assert_problem_contract, count, spawn_instance, TestApp},
};

/// A partner platform's credentials.
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: String,
    pub secret: String,
}

/// `X-Signature` per API.md, computed here from the contract rather than with
/// the server's code: lowercase hex HMAC-SHA256(secret, METHOD\nPATH_WITH_QUERY\n
/// TIMESTAMP\nhex(SHA-256(body))).
pub fn sign(
    method: &str,
    path_with_query: &str,
    timestamp: i64,
    body: &[u8],
    secret: &str,
) -> String {
    let payload = format!(
        "{method}\n{path_with_query}\n{timestamp}\n{}",
        hex::encode(Sha256::digest(body))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A valid course body (webinar, a month ahead of the real date).
pub fn course_body(title: &str) -> Value {
    json!({
        "title": title,
        "description": "Belajar memasarkan produk lewat media sosial.",
        "category": "Pemasaran",
        "delivery": "webinar",
        "price_idr": 750000,
        "starts_at": (Utc::now() + Duration::days(30)).to_rfc3339(),
        "duration_hours": 12,
        "level": "beginner",
        "institution": "Lembaga Pelatihan Nusantara",
    })
}

/// A monotonic offset so that two requests a test signs in the same second
/// never share a timestamp (each signature is accepted once).
fn unique_timestamp() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp();
    // Within the 5-minute window: at most 120 s ahead, reusing offsets cyclically.
    now + NEXT.fetch_add(1, Ordering::Relaxed) % 120
}

impl TestApp {
    /// A new partner made through `POST /v1/admin/partners` by `admin`.
    pub async fn partner_by(&self, admin: &Session, name: &str) -> Partner {
        let res = self
            .post(
                "/v1/admin/partners",
                Some(&admin.access),
                &json!({"name": name}),
            )
            .await;
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        let body: Value = res.json().await.unwrap();
        Partner {
            id: body["partner_id"].as_str().unwrap().to_owned(),
            secret: body["secret"].as_str().unwrap().to_owned(),
        }
    }

    /// A new partner (and a new admin to make it).
    pub async fn partner(&self) -> Partner {
        let admin = self.admin().await;
        self.partner_by(&admin, "Kelas Pintar Nusantara").await
    }

    /// A partner request signed at `timestamp` with `secret`; `body` is sent as
    /// JSON bytes exactly as signed (`None`: no body).
    pub async fn signed_at(
        &self,
        method: Method,
        path_with_query: &str,
        body: Option<&[u8]>,
        partner_id: &str,
        secret: &str,
        timestamp: i64,
    ) -> reqwest::Response {
        let bytes = body.unwrap_or_default();
        let signature = sign(method.as_str(), path_with_query, timestamp, bytes, secret);
        let mut req = self
            .client
            .request(method, self.url(path_with_query))
            .header("X-Partner-Id", partner_id)
            .header("X-Timestamp", timestamp.to_string())
            .header("X-Signature", signature);
        if let Some(bytes) = body {
            req = req
                .header("content-type", "application/json")
                .body(bytes.to_vec());
        }
        req.send().await.unwrap()
    }

    /// A partner request signed now (a fresh timestamp each call).
    pub async fn signed(
        &self,
        partner: &Partner,
        method: Method,
        path_with_query: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        self.signed_at(
            method,
            path_with_query,
            bytes.as_deref(),
            &partner.id,
            &partner.secret,
            unique_timestamp(),
        )
        .await
    }

    /// Creates or replaces `external_id` of `partner`; returns the catalogue entry.
    pub async fn course(&self, partner: &Partner, external_id: &str, body: &Value) -> Value {
        let path = format!("/v1/partner/courses/{external_id}");
        let res = self.signed(partner, Method::PUT, &path, Some(body)).await;
        assert!(
            res.status() == 200 || res.status() == 201,
            "{:?}",
            res.text().await
        );
        res.json().await.unwrap()
    }
}

const COURSE_PATH: &str = "/v1/partner/courses/UMKM-101";

async fn put_course(
    app: &TestApp,
    partner: &Partner,
    timestamp: i64,
    body: &[u8],
) -> reqwest::Response {
    app.signed_at(
        Method::PUT,
        COURSE_PATH,
        Some(body),
        &partner.id,
        &partner.secret,
        timestamp,
    )
    .await
}

fn body_bytes() -> Vec<u8> {
    serde_json::to_vec(&course_body("Pemasaran Digital untuk UMKM")).unwrap()
}

#[tokio::test]
async fn admin_creates_a_partner_whose_secret_is_shown_once_and_stored_encrypted() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post(
            "/v1/admin/partners",
            Some(&admin.access),
            &json!({"name": "Skill Academy"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let id = body["partner_id"].as_str().unwrap();
    let secret = body["secret"].as_str().unwrap();
    assert!(secret.len() >= 40, "{secret}");
    assert_eq!(body["status"], "active");
    let res = app
        .get(&format!("/v1/admin/partners/{id}"), Some(&admin.access))
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["name"], "Skill Academy");
    assert!(
        !view.to_string().contains(secret),
        "the secret is never shown again"
    );
    assert!(view.get("secret").is_none());
    // At rest only ciphertext: the secret's bytes appear nowhere in the row.
    let mut conn = app.db.conn().await;
    let sql = format!(
        "SELECT count(*) AS n FROM partners WHERE id = '{id}' AND secret_ciphertext IS NOT NULL \
         AND position(convert_to('{secret}', 'UTF8') in secret_ciphertext) = 0"
    );
    assert_eq!(count(&mut conn, &sql).await, 1);
    // Audited.
    let sql = "SELECT count(*) AS n FROM audit_events WHERE action = 'partner_created'";
    assert_eq!(count(&mut conn, sql).await, 1);
}

#[tokio::test]
async fn only_admins_manage_partners() {
    let app = TestApp::spawn().await;
    let (_, participant) = app.participant("p").await;
    let body = json!({"name": "X"});
    let res = app
        .post("/v1/admin/partners", Some(&participant.access), &body)
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.post("/v1/admin/partners", None, &body).await;
    assert_problem(res, 401, "unauthenticated").await;
    let admin = app.admin().await;
    let res = app
        .post(
            "/v1/admin/partners",
            Some(&admin.access),
            &json!({"name": ""}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let unknown = uuid::Uuid::new_v4();
    let res = app
        .get(
            &format!("/v1/admin/partners/{unknown}"),
            Some(&admin.access),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_signed_put_creates_then_replaces_the_course() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let body = course_body("Pemasaran Digital untuk UMKM");
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&body))
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["external_id"], "UMKM-101");
    assert_eq!(created["partner_id"], partner.id.as_str());
    assert_eq!(created["rating_count"], 0);
    assert!(created["rating_average"].is_null());
    let mut changed = body.clone();
    changed["price_idr"] = json!(800000);
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&changed))
        .await;
    assert_eq!(res.status(), 200);
    let replaced: Value = res.json().await.unwrap();
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["price_idr"], 800000);
    assert_eq!(replaced["created_at"], created["created_at"]);
}

#[tokio::test]
async fn another_partner_with_the_same_external_id_gets_its_own_course() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let a = app.partner_by(&admin, "A").await;
    let b = app.partner_by(&admin, "B").await;
    let mine = app.course(&a, "UMKM-101", &course_body("Kursus A")).await;
    let res = app
        .signed(&b, Method::PUT, COURSE_PATH, Some(&course_body("Kursus B")))
        .await;
    assert_eq!(res.status(), 201, "b cannot replace a's course");
    let theirs: Value = res.json().await.unwrap();
    assert_ne!(mine["id"], theirs["id"]);
    let mut conn = app.db.conn().await;
    let sql = format!(
        "SELECT count(*) AS n FROM courses WHERE title = 'Kursus A' AND id = '{}'",
        mine["id"].as_str().unwrap()
    );
    assert_eq!(count(&mut conn, &sql).await, 1);
}

#[tokio::test]
async fn each_missing_or_malformed_header_is_invalid_signature_even_with_a_malformed_body() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let ts = Utc::now().timestamp();
    let good = sign("PUT", COURSE_PATH, ts, b"{not json", &partner.secret);
    let headers = |id: Option<&str>, ts: Option<String>, sig: Option<&str>| {
        let mut req = app
            .client
            .put(app.url(COURSE_PATH))
            .header("content-type", "application/json")
            .body("{not json");
        if let Some(id) = id {
            req = req.header("X-Partner-Id", id);
        }
        if let Some(ts) = ts {
            req = req.header("X-Timestamp", ts);
        }
        if let Some(sig) = sig {
            req = req.header("X-Signature", sig);
        }
        req
    };
    let cases = [
        headers(None, Some(ts.to_string()), Some(&good)),
        headers(Some(&partner.id), None, Some(&good)),
        headers(Some(&partner.id), Some(ts.to_string()), None),
        headers(Some("not-a-uuid"), Some(ts.to_string()), Some(&good)),
        headers(Some(&partner.id), Some("yesterday".into()), Some(&good)),
        headers(Some(&partner.id), Some(format!("{ts}.5")), Some(&good)),
        headers(Some(&partner.id), Some(ts.to_string()), Some(&good[..63])),
        headers(
            Some(&partner.id),
            Some(ts.to_string()),
            Some(&"g".repeat(64)),
        ),
        headers(
            Some(&uuid::Uuid::new_v4().to_string()),
            Some(ts.to_string()),
            Some(&good),
        ),
    ];
    for req in cases {
        assert_problem_contract(req.send().await.unwrap(), 401, "invalid_signature").await;
    }
    // The same signature, correct at last: now the body's own error shows.
    let res = headers(Some(&partner.id), Some(ts.to_string()), Some(&good))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn timestamps_more_than_five_minutes_from_real_time_are_refused() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    // 10 s past the window either side: the test's own requests take time,
    // and on a loaded machine a second's margin was not enough (the exact
    // boundary is the signature module's unit test).
    let now = Utc::now().timestamp();
    for ts in [now - 310, now + 310, now - 3600, now * 1000] {
        let res = put_course(&app, &partner, ts, &body_bytes()).await;
        let problem = assert_problem(res, 401, "invalid_signature").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("5 minutes"),
            "{problem}"
        );
    }
    // Inside the window on either side (a margin for the test's own seconds).
    assert_eq!(
        put_course(&app, &partner, now - 290, &body_bytes())
            .await
            .status(),
        201
    );
    assert_eq!(
        put_course(&app, &partner, now + 290, &body_bytes())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_window_follows_real_time_not_the_sandbox_clock() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    app.set_clock(Utc::now() + Duration::days(400)).await;
    let now = Utc::now().timestamp();
    assert_eq!(
        put_course(&app, &partner, now, &body_bytes())
            .await
            .status(),
        201
    );
    let sandbox_now = now + 400 * 86_400;
    let res = put_course(&app, &partner, sandbox_now, &body_bytes()).await;
    assert_problem(res, 401, "invalid_signature").await;
}

#[tokio::test]
async fn a_signature_is_accepted_once() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let ts = Utc::now().timestamp();
    let body = body_bytes();
    assert_eq!(put_course(&app, &partner, ts, &body).await.status(), 201);
    let res = put_course(&app, &partner, ts, &body).await;
    let problem = assert_problem(res, 401, "invalid_signature").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("already used"),
        "{problem}"
    );
    // The same request with a new timestamp is a new signature.
    assert_eq!(
        put_course(&app, &partner, ts + 1, &body).await.status(),
        200
    );
    let mut conn = app.db.conn().await;
    let sql = format!(
        "SELECT count(*) AS n FROM accepted_signatures WHERE signer = 'partner:{}'",
        partner.id
    );
    assert_eq!(count(&mut conn, &sql).await, 2);
}

#[tokio::test]
async fn a_replay_sent_to_two_instances_at_once_is_accepted_by_one() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let (second, _) = spawn_instance(&app.db.url, &[]).await;
    for round in 0..5 {
        let ts = Utc::now().timestamp() + round;
        let body = body_bytes();
        let signature = sign("PUT", COURSE_PATH, ts, &body, &partner.secret);
        let send = |base: String| {
            app.client
                .put(format!("{base}{COURSE_PATH}"))
                .header("X-Partner-Id", &partner.id)
                .header("X-Timestamp", ts.to_string())
                .header("X-Signature", &signature)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
        };
        let (a, b) = tokio::join!(send(app.address.clone()), send(second.clone()));
        let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        let ok = statuses.iter().filter(|s| **s == 200 || **s == 201).count();
        assert_eq!(ok, 1, "round {round}: {statuses:?}");
        assert!(statuses.contains(&401), "round {round}: {statuses:?}");
    }
}

#[tokio::test]
async fn the_signature_covers_method_path_query_timestamp_and_body() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let body = body_bytes();
    let send = |signed_method: &'static str,
                signed_path: &'static str,
                signed_ts: i64,
                signed_body: Vec<u8>,
                sent_ts: i64| {
        let signature = sign(
            signed_method,
            signed_path,
            signed_ts,
            &signed_body,
            &partner.secret,
        );
        app.client
            .put(app.url(COURSE_PATH))
            .header("X-Partner-Id", &partner.id)
            .header("X-Timestamp", sent_ts.to_string())
            .header("X-Signature", signature)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let ts = Utc::now().timestamp();
    let mut other_body = body.clone();
    other_body.push(b' ');
    let wrong = [
        send("POST", COURSE_PATH, ts, body.clone(), ts),
        send("PUT", "/v1/partner/courses/UMKM-102", ts, body.clone(), ts),
        send(
            "PUT",
            "/v1/partner/courses/UMKM-101?x=1",
            ts,
            body.clone(),
            ts,
        ),
        send("PUT", COURSE_PATH, ts, other_body, ts),
        send("PUT", COURSE_PATH, ts, Vec::new(), ts),
        send("PUT", COURSE_PATH, ts - 1, body.clone(), ts),
    ];
    for res in wrong {
        assert_problem(res.await.unwrap(), 401, "invalid_signature").await;
    }
    // A key that is not the partner's.
    let res = app
        .signed_at(
            Method::PUT,
            COURSE_PATH,
            Some(&body),
            &partner.id,
            "pks_guess",
            ts,
        )
        .await;
    assert_problem(res, 401, "invalid_signature").await;
    // The query string is part of the signed path when it is sent.
    let path = "/v1/partner/courses/UMKM-101?source=api";
    let res = app
        .signed_at(
            Method::PUT,
            path,
            Some(&body),
            &partner.id,
            &partner.secret,
            ts,
        )
        .await;
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn a_disabled_partner_is_refused_until_enabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let partner = app.partner_by(&admin, "Kelas").await;
    let path = format!("/v1/admin/partners/{}/disable", partner.id);
    let res = app
        .post(
            &path,
            Some(&admin.access),
            &json!({"reason": "Kontrak berakhir"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["status"], "disabled");
    assert!(view["disabled_at"].is_string());
    let res = app
        .signed(
            &partner,
            Method::PUT,
            COURSE_PATH,
            Some(&course_body("Kursus")),
        )
        .await;
    let problem = assert_problem(res, 401, "invalid_signature").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("disabled"),
        "{problem}"
    );
    let path = format!("/v1/admin/partners/{}/enable", partner.id);
    let res = app
        .post(
            &path,
            Some(&admin.access),
            &json!({"reason": "Kontrak diperpanjang"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .signed(
            &partner,
            Method::PUT,
            COURSE_PATH,
            Some(&course_body("Kursus")),
        )
        .await;
    assert_eq!(res.status(), 201);
    let mut conn = app.db.conn().await;
    let sql = "SELECT count(*) AS n FROM audit_events WHERE action IN ('partner_disabled', 'partner_enabled')";
    assert_eq!(count(&mut conn, sql).await, 2);
}

#[tokio::test]
async fn after_a_rotation_both_secrets_work_until_the_grace_period_ends() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let old = app.partner_by(&admin, "Kelas").await;
    let path = format!("/v1/admin/partners/{}/secret-rotations", old.id);
    let res = app.post(&path, Some(&admin.access), &json!({})).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new = Partner {
        id: old.id.clone(),
        secret: rotated["secret"].as_str().unwrap().to_owned(),
    };
    assert_ne!(new.secret, old.secret);
    let until = chrono::DateTime::parse_from_rfc3339(
        rotated["previous_secret_valid_until"].as_str().unwrap(),
    )
    .unwrap();
    let hours = (until.with_timezone(&Utc) - Utc::now()).num_minutes();
    assert!(
        (23 * 60..=24 * 60).contains(&hours),
        "default grace 24 h: {hours} min"
    );
    let body = course_body("Kursus");
    assert_eq!(
        app.signed(&old, Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.signed(&new, Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        200
    );
    // The grace period is real time: the sandbox clock does not end it …
    app.set_clock(Utc::now() + Duration::days(3)).await;
    assert_eq!(
        app.signed(&old, Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        200
    );
    // … its deadline passing does.
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE partners SET previous_secret_valid_until = now() - interval '1 second'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let res = app
        .signed(&old, Method::PUT, COURSE_PATH, Some(&body))
        .await;
    assert_problem(res, 401, "invalid_signature").await;
    assert_eq!(
        app.signed(&new, Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_rotation_without_grace_revokes_at_once_and_a_second_rotation_drops_the_oldest() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let first = app.partner_by(&admin, "Kelas").await;
    let path = format!("/v1/admin/partners/{}/secret-rotations", first.id);
    let rotate = |hours: i64| {
        let body = json!({"grace_period_hours": hours});
        let req = app
            .client
            .post(app.url(&path))
            .bearer_auth(&admin.access)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let body = course_body("Kursus");
    let as_partner = |secret: &Value| Partner {
        id: first.id.clone(),
        secret: secret["secret"].as_str().unwrap().to_owned(),
    };
    let second: Value = rotate(24).await.json().await.unwrap();
    let third: Value = rotate(24).await.json().await.unwrap();
    let res = app
        .signed(&first, Method::PUT, COURSE_PATH, Some(&body))
        .await;
    assert_problem(res, 401, "invalid_signature").await;
    assert_eq!(
        app.signed(&as_partner(&second), Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.signed(&as_partner(&third), Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        200
    );
    let res = rotate(0).await;
    assert_eq!(res.status(), 200);
    let fourth: Value = res.json().await.unwrap();
    assert!(fourth["previous_secret_valid_until"].is_null());
    let res = app
        .signed(&as_partner(&third), Method::PUT, COURSE_PATH, Some(&body))
        .await;
    assert_problem(res, 401, "invalid_signature").await;
    assert_eq!(
        app.signed(&as_partner(&fourth), Method::PUT, COURSE_PATH, Some(&body))
            .await
            .status(),
        200
    );
    let res = rotate(169).await;
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn course_bodies_are_validated_after_the_signature() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let mut offline = course_body("Servis Motor");
    offline["delivery"] = json!("offline");
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&offline))
        .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "location");
    offline["location"] = json!("Jl. Merdeka 1, Bandung");
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&offline))
        .await;
    assert_eq!(res.status(), 201);
    let mut webinar = course_body("Webinar");
    webinar["location"] = json!("Bandung");
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&webinar))
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let mut unknown = course_body("Kursus");
    unknown["rating_sum"] = json!(500);
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&unknown))
        .await;
    assert_problem(res, 400, "invalid_request").await;
    for (field, value) in [
        ("price_idr", json!(0)),
        ("duration_hours", json!(0)),
        ("level", json!("expert")),
        ("delivery", json!("hybrid")),
    ] {
        let mut bad = course_body("Kursus");
        bad[field] = value;
        let res = app
            .signed(&partner, Method::PUT, COURSE_PATH, Some(&bad))
            .await;
        assert!(matches!(res.status().as_u16(), 400 | 422), "{field}");
    }
    let res = app
        .signed(
            &partner,
            Method::PUT,
            "/v1/partner/courses/a%20b",
            Some(&course_body("Kursus")),
        )
        .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "external_id");
    // Too large a body: 413 before any signature work.
    let big = json!({"title": "x".repeat(70 * 1024)});
    let res = app
        .signed(&partner, Method::PUT, COURSE_PATH, Some(&big))
        .await;
    assert_problem(res, 413, "payload_too_large").await;
}
