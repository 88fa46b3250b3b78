//! The report form (API.md Help and jobs; DOMAIN.md §10): the form for anyone,
//! uploads by token or bearer, the thread and its states, the office's queue,
//! the NIK transfer, and what is stored sealed.

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::{
    fixtures::{email, kk, nik, png, registered, Session},
    helpers::{assert_problem, count, TestApp},
};

const IDENTITY_DOCUMENTS: [&str; 4] =
    ["ktp_photo", "kk_photo", "selfie_with_ktp", "selfie_with_kk"];

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, 3);
    bytes
}

/// A report as a logged-in participant, or anonymously from `contact`.
async fn report(
    app: &TestApp,
    token: Option<&str>,
    category: &str,
    contact: Option<&str>,
) -> Value {
    let mut body =
        json!({"category": category, "description": "Akun saya diblokir, mohon dibuka."});
    if let Some(contact) = contact {
        body["contact_email"] = json!(contact);
    }
    let res = app.post("/v1/reports", token, &body).await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// Uploads a file with the upload token (`Token`) or a bearer (`Bearer`).
enum By<'a> {
    Token(&'a str),
    Bearer(&'a str),
}

async fn upload(
    app: &TestApp,
    report_id: &str,
    kind: &str,
    by: By<'_>,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let req = app
        .client
        .post(app.url(&format!("/v1/reports/{report_id}/attachments?kind={kind}")))
        .header("content-type", content_type)
        .body(bytes);
    let req = match by {
        By::Token(t) => req.header("x-report-token", t),
        By::Bearer(t) => req.bearer_auth(t),
    };
    req.send().await.unwrap()
}

async fn attach_identity_documents(app: &TestApp, report: &Value) {
    let id = report["id"].as_str().unwrap();
    let token = report["upload_token"].as_str().unwrap();
    for kind in IDENTITY_DOCUMENTS {
        let res = upload(app, id, kind, By::Token(token), "image/jpeg", jpeg(4096)).await;
        assert_eq!(res.status(), 201, "{kind}: {:?}", res.text().await);
    }
}

async fn answer(app: &TestApp, admin: &Session, id: &str, body: &Value) -> reqwest::Response {
    app.post(
        &format!("/v1/admin/reports/{id}/messages"),
        Some(&admin.access),
        body,
    )
    .await
}

#[tokio::test]
async fn anyone_can_report_and_references_run_per_jakarta_year() {
    let app = TestApp::spawn().await;
    app.set_clock(at("2026-12-31T16:00:00Z")).await; // 23:00 WIB, still 2026
    let first = report(&app, None, "otp_not_received", Some("Budi@Example.com")).await;
    assert_eq!(first["reference"], "LAP-2026-000001");
    assert_eq!(first["status"], "open");
    assert_eq!(first["upload_token"].as_str().unwrap().len(), 43);
    let expires: DateTime<Utc> = first["upload_token_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let lifetime = expires - at("2026-12-31T16:00:00Z");
    assert!(
        lifetime >= chrono::TimeDelta::hours(72)
            && lifetime < chrono::TimeDelta::hours(72) + chrono::TimeDelta::minutes(1),
        "the upload token lives 72 hours: {lifetime}"
    );
    let (_, participant) = app.participant("reporter").await;
    let second = report(&app, Some(&participant.access), "purchase", None).await;
    assert_eq!(second["reference"], "LAP-2026-000002");

    app.set_clock(at("2026-12-31T17:00:00Z")).await; // 00:00 WIB, 1 January 2027
    let third = report(&app, None, "other", Some("siti@example.com")).await;
    assert_eq!(third["reference"], "LAP-2027-000001");

    // Sent at once, every report gets its own number, with no gap.
    let bodies: Vec<Value> = (0..8)
        .map(|i| json!({"category": "other", "description": "Tes", "contact_email": format!("p{i}@example.com")}))
        .collect();
    let sent = join_all(
        bodies
            .iter()
            .map(|body| app.post("/v1/reports", None, body)),
    )
    .await;
    let mut references = Vec::new();
    for res in sent {
        assert_eq!(res.status(), 201);
        references.push(
            res.json::<Value>().await.unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    references.sort();
    let expected: Vec<String> = (2..=9).map(|n| format!("LAP-2027-{n:06}")).collect();
    assert_eq!(references, expected);

    // With a token the report is the participant's, answered at the account's email.
    let mine: Value = app
        .get(
            &format!("/v1/me/reports/{}", second["id"].as_str().unwrap()),
            Some(&participant.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(mine["contact_email"]
        .as_str()
        .unwrap()
        .starts_with("reporter."));
    assert_eq!(mine["category"], "purchase");
}

#[tokio::test]
async fn the_form_refuses_bad_input_with_field_errors() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"category": "other", "description": "Tolong"}),
            "contact_email",
        ),
        (
            json!({"category": "bogus", "description": "Tolong", "contact_email": "a@example.com"}),
            "category",
        ),
        (
            json!({"category": "other", "description": "   ", "contact_email": "a@example.com"}),
            "description",
        ),
        (
            json!({"category": "other", "description": "bel\u{7}", "contact_email": "a@example.com"}),
            "description",
        ),
        (
            json!({"category": "other", "description": "x".repeat(4001), "contact_email": "a@example.com"}),
            "description",
        ),
        (
            json!({"category": "other", "description": "Tolong", "contact_email": "not-an-email"}),
            "contact_email",
        ),
    ];
    for (body, field) in cases {
        let res = app.post("/v1/reports", None, &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let res = app
        .post(
            "/v1/reports",
            Some("not-a-token"),
            &json!({"category": "other", "description": "x"}),
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .post("/v1/reports", None, &json!({"category": "other", "description": "x\u{0}", "contact_email": "a@example.com"}))
        .await;
    assert_problem(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn one_contact_email_gets_at_most_ten_reports_a_day() {
    let app = TestApp::spawn().await;
    let contact = email("spam");
    for _ in 0..10 {
        report(&app, None, "other", Some(&contact)).await;
    }
    let res = app
        .post("/v1/reports", None, &json!({"category": "other", "description": "lagi", "contact_email": contact.to_uppercase()}))
        .await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "rate_limited").await;
    report(&app, None, "other", Some(&email("other"))).await;
}

#[tokio::test]
async fn uploads_need_the_report_s_token_or_its_owner() {
    let app = TestApp::spawn().await;
    app.set_clock(at("2026-12-02T03:00:00Z")).await;
    let (_, owner) = app.participant("owner").await;
    let (_, stranger) = app.participant("stranger").await;
    let mine = report(&app, Some(&owner.access), "account_blocked", None).await;
    let id = mine["id"].as_str().unwrap();
    let token = mine["upload_token"].as_str().unwrap();

    let res = upload(
        &app,
        id,
        "ktp_photo",
        By::Token(token),
        "image/jpeg",
        jpeg(2048),
    )
    .await;
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    assert_eq!(
        (view["kind"].as_str(), view["content_type"].as_str()),
        (Some("ktp_photo"), Some("image/jpeg"))
    );
    let res = upload(
        &app,
        id,
        "screenshot",
        By::Bearer(&owner.access),
        "application/pdf",
        b"%PDF-1.7 test".to_vec(),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>().await.unwrap()["content_type"],
        "application/pdf"
    );

    let res = upload(
        &app,
        id,
        "other",
        By::Bearer(&stranger.access),
        "image/png",
        png(200),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
    let other_report = report(&app, None, "other", Some("x@example.com")).await;
    let res = upload(
        &app,
        id,
        "other",
        By::Token(other_report["upload_token"].as_str().unwrap()),
        "image/png",
        png(200),
    )
    .await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .client
        .post(app.url(&format!("/v1/reports/{id}/attachments?kind=other")))
        .header("content-type", "image/png")
        .body(png(200))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthenticated").await;
    let res = upload(
        &app,
        id,
        "other",
        By::Token(token),
        "image/png",
        b"GIF89a......".to_vec(),
    )
    .await;
    assert_problem(res, 415, "unsupported_media_type").await;
    let res = upload(&app, id, "other", By::Token(token), "text/plain", png(200)).await;
    assert_problem(res, 415, "unsupported_media_type").await;
    let res = upload(
        &app,
        id,
        "other",
        By::Token(token),
        "image/jpeg",
        jpeg(2 * 1024 * 1024 + 1),
    )
    .await;
    assert_problem(res, 413, "payload_too_large").await;
    let res = upload(
        &app,
        id,
        "passport",
        By::Token(token),
        "image/png",
        png(200),
    )
    .await;
    assert_problem(res, 400, "invalid_request").await;
    let res = upload(
        &app,
        id,
        "other",
        By::Token(token),
        "image/jpeg",
        jpeg(2 * 1024 * 1024),
    )
    .await;
    assert_eq!(res.status(), 201, "exactly 2 MiB is allowed");

    // The token works for 72 hours.
    app.set_clock(at("2026-12-05T03:01:00Z")).await;
    let res = upload(&app, id, "other", By::Token(token), "image/png", png(200)).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = upload(
        &app,
        id,
        "other",
        By::Bearer(&owner.access),
        "image/png",
        png(200),
    )
    .await;
    assert_eq!(res.status(), 201, "the owner still can");
}

#[tokio::test]
async fn ten_attachments_at_most_even_when_sent_at_once() {
    let app = TestApp::spawn().await;
    let anonymous = report(&app, None, "verification_failed", Some("k@example.com")).await;
    let id = anonymous["id"].as_str().unwrap();
    let token = anonymous["upload_token"].as_str().unwrap();
    let answers = join_all(
        (0..14).map(|_| upload(&app, id, "other", By::Token(token), "image/png", png(300))),
    )
    .await;
    let mut created = 0;
    for res in answers {
        match res.status().as_u16() {
            201 => created += 1,
            _ => {
                assert_problem(res, 409, "attachments_limit").await;
            }
        }
    }
    assert_eq!(created, 10);
    let stored = count(
        &mut app.db.conn().await,
        "SELECT count(*) AS n FROM report_attachments",
    )
    .await;
    assert_eq!(stored, 10);
}

#[tokio::test]
async fn participants_see_only_their_own_reports() {
    let app = TestApp::spawn().await;
    let (_, owner) = app.participant("owner").await;
    let (_, stranger) = app.participant("stranger").await;
    let first = report(&app, Some(&owner.access), "certificate", None).await;
    let second = report(&app, Some(&owner.access), "incentive", None).await;
    report(&app, Some(&stranger.access), "other", None).await;
    report(&app, None, "other", Some("anon@example.com")).await;
    let res = upload(
        &app,
        first["id"].as_str().unwrap(),
        "screenshot",
        By::Bearer(&owner.access),
        "image/png",
        png(500),
    )
    .await;
    assert_eq!(res.status(), 201);

    let list: Value = app
        .get("/v1/me/reports?limit=1", Some(&owner.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["id"], second["id"], "newest first");
    let next = list["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get(
            &format!("/v1/me/reports?limit=1&cursor={next}"),
            Some(&owner.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["data"][0]["id"], first["id"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let one: Value = app
        .get(
            &format!("/v1/me/reports/{}", first["id"].as_str().unwrap()),
            Some(&owner.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["reference"], first["reference"]);
    assert_eq!(one["attachments"][0]["kind"], "screenshot");
    assert_eq!(one["attachments"][0]["size_bytes"], 500);
    let keys: Vec<&String> = one["attachments"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["id", "kind", "content_type", "size_bytes", "created_at"],
        "no bytes in a view"
    );

    let res = app
        .get(
            &format!("/v1/me/reports/{}", first["id"].as_str().unwrap()),
            Some(&stranger.access),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .get(
            &format!("/v1/admin/reports/{}", first["id"].as_str().unwrap()),
            Some(&owner.access),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let admin = app.admin().await;
    let res = app.get("/v1/me/reports", Some(&admin.access)).await;
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn the_thread_moves_the_report_until_it_closes() {
    let app = TestApp::spawn().await;
    let (contact, owner) = app.participant("thread").await;
    let admin = app.admin().await;
    let created = report(&app, Some(&owner.access), "account_blocked", None).await;
    let id = created["id"].as_str().unwrap();
    let mine = format!("/v1/me/reports/{id}/messages");

    let res = answer(&app, &admin, id, &json!({"body": "Kami periksa."})).await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>().await.unwrap()["report_status"],
        "in_progress"
    );
    let res = answer(
        &app,
        &admin,
        id,
        &json!({"body": "Lampirkan foto KK.", "status": "waiting_for_participant"}),
    )
    .await;
    let posted: Value = res.json().await.unwrap();
    assert_eq!(
        (posted["from"].as_str(), posted["report_status"].as_str()),
        (Some("pmo"), Some("waiting_for_participant"))
    );
    let replies: Vec<Value> = app
        .inbox(&contact)
        .await
        .into_iter()
        .filter(|m| m["template"] == "report_reply")
        .collect();
    assert_eq!(replies.len(), 2, "one report_reply per answer");
    assert_eq!(
        replies[0]["data"],
        json!({"reference": created["reference"]})
    );

    let res = app
        .post(
            &mine,
            Some(&owner.access),
            &json!({"body": "Sudah saya lampirkan."}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>().await.unwrap()["report_status"],
        "in_progress"
    );

    let res = answer(&app, &admin, id, &json!({"body": "x", "status": "open"})).await;
    assert_eq!(
        assert_problem(res, 422, "validation_failed").await["errors"][0]["field"],
        "status"
    );
    let res = answer(&app, &admin, id, &json!({"body": "x", "status": "closed"})).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(&mine, Some(&owner.access), &json!({"body": " "}))
        .await;
    assert_problem(res, 422, "validation_failed").await;

    let res = answer(
        &app,
        &admin,
        id,
        &json!({"body": "Akun sudah dibuka.", "status": "resolved"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let one: Value = app
        .get(&format!("/v1/me/reports/{id}"), Some(&owner.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "resolved");
    assert!(one["closed_at"].is_string());
    let thread: Vec<(&str, &str)> = one["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        thread,
        [
            ("pmo", "Kami periksa."),
            ("pmo", "Lampirkan foto KK."),
            ("participant", "Sudah saya lampirkan."),
            ("pmo", "Akun sudah dibuka.")
        ]
    );

    let res = app
        .post(&mine, Some(&owner.access), &json!({"body": "Terima kasih"}))
        .await;
    assert_problem(res, 409, "report_closed").await;
    let res = answer(&app, &admin, id, &json!({"body": "x"})).await;
    assert_problem(res, 409, "report_closed").await;
    let res = upload(
        &app,
        id,
        "other",
        By::Bearer(&owner.access),
        "image/png",
        png(200),
    )
    .await;
    assert_problem(res, 409, "report_closed").await;
    let res = app
        .post(
            &format!("/v1/me/reports/{}/messages", uuid::Uuid::new_v4()),
            Some(&owner.access),
            &json!({"body": "x"}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn the_office_filters_its_queue_and_downloads_attachments() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let blocked = report(&app, None, "account_blocked", Some("a@example.com")).await;
    let purchase = report(&app, None, "purchase", Some("b@example.com")).await;
    let res = answer(
        &app,
        &admin,
        purchase["id"].as_str().unwrap(),
        &json!({"body": "Pembelian tidak ditemukan", "status": "rejected"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let file = jpeg(5000);
    let res = upload(
        &app,
        blocked["id"].as_str().unwrap(),
        "ktp_photo",
        By::Token(blocked["upload_token"].as_str().unwrap()),
        "application/octet-stream",
        file.clone(),
    )
    .await;
    let attachment: Value = res.json().await.unwrap();
    assert_eq!(attachment["content_type"], "image/jpeg", "the bytes decide");

    let ids = |page: Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = |query: &str| {
        let path = format!("/v1/admin/reports{query}");
        let token = admin.access.clone();
        let app = &app;
        async move { app.get(&path, Some(&token)).await }
    };
    assert_eq!(ids(q("").await.json().await.unwrap()).len(), 2);
    assert_eq!(
        ids(q("?status=open").await.json().await.unwrap()),
        [blocked["id"].as_str().unwrap()]
    );
    assert_eq!(
        ids(q("?category=purchase").await.json().await.unwrap()),
        [purchase["id"].as_str().unwrap()]
    );
    assert!(ids(q("?status=open&category=purchase")
        .await
        .json()
        .await
        .unwrap())
    .is_empty());
    assert_problem(q("?status=closed").await, 400, "invalid_request").await;

    let detail: Value = app
        .get(
            &format!("/v1/admin/reports/{}", blocked["id"].as_str().unwrap()),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["contact_email"], "a@example.com");
    assert_eq!(detail["account_id"], Value::Null);
    assert_eq!(
        detail["missing_documents"],
        json!(["kk_photo", "selfie_with_ktp", "selfie_with_kk"])
    );
    assert_eq!(detail["nik_claim"], false);

    let path = format!(
        "/v1/admin/reports/{}/attachments/{}",
        blocked["id"].as_str().unwrap(),
        attachment["id"].as_str().unwrap()
    );
    let res = app.get(&path, Some(&admin.access)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.bytes().await.unwrap().to_vec(), file);
    let (_, participant) = app.participant("curious").await;
    assert_problem(
        app.get(&path, Some(&participant.access)).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(app.get(&path, None).await, 401, "unauthenticated").await;
    let wrong_report = format!(
        "/v1/admin/reports/{}/attachments/{}",
        purchase["id"].as_str().unwrap(),
        attachment["id"].as_str().unwrap()
    );
    assert_problem(
        app.get(&wrong_report, Some(&admin.access)).await,
        404,
        "not_found",
    )
    .await;

    // Nothing a citizen wrote or sent is stored in clear.
    let mut conn = app.db.conn().await;
    let clear = count(
        &mut conn,
        "SELECT count(*) AS n FROM reports WHERE position(convert_to('a@example.com', 'UTF8') in contact_email_ciphertext) > 0 \
         OR position(convert_to('diblokir', 'UTF8') in description_ciphertext) > 0",
    )
    .await;
    assert_eq!(clear, 0);
    let raw = count(
        &mut conn,
        "SELECT count(*) AS n FROM report_attachments WHERE substring(ciphertext from 1 for 3) = '\\xffd8ff'::bytea \
         OR position('\\x030303030303'::bytea in ciphertext) > 0",
    )
    .await;
    assert_eq!(raw, 0);
    let thread = count(
        &mut conn,
        "SELECT count(*) AS n FROM report_messages WHERE position(convert_to('tidak ditemukan', 'UTF8') in body_ciphertext) > 0",
    )
    .await;
    assert_eq!(thread, 0);
}

#[tokio::test]
async fn attachments_are_purged_ninety_days_after_the_report_closes() {
    let app = TestApp::spawn().await;
    app.set_clock(at("2026-12-02T03:00:00Z")).await;
    let admin = app.admin().await;
    let closed = report(&app, None, "account_blocked", Some("a@example.com")).await;
    let open = report(&app, None, "account_blocked", Some("b@example.com")).await;
    attach_identity_documents(&app, &closed).await;
    attach_identity_documents(&app, &open).await;
    answer(
        &app,
        &admin,
        closed["id"].as_str().unwrap(),
        &json!({"body": "selesai", "status": "resolved"}),
    )
    .await;

    app.set_clock(at("2027-03-01T03:00:00Z")).await; // 89 days
    assert_eq!(
        app.run_job("purge_expired_data").await["report"]["report_attachments"],
        0
    );
    app.set_clock(at("2027-03-03T03:00:00Z")).await; // 91 days
    assert_eq!(
        app.run_job("purge_expired_data").await["report"]["report_attachments"],
        4
    );
    let left = count(
        &mut app.db.conn().await,
        "SELECT count(*) AS n FROM report_attachments",
    )
    .await;
    assert_eq!(left, 4, "the open report keeps its documents");
    let reports = count(
        &mut app.db.conn().await,
        "SELECT count(*) AS n FROM reports",
    )
    .await;
    assert_eq!(reports, 2, "the reports and threads stay");
}

/// The NIK's holder (`squatter`) and its rightful owner, who was refused with
/// `nik_registered` after the registry matched their KK and date of birth.
async fn squatted_nik(app: &TestApp) -> (Session, Session, String) {
    let squatter = registered(app, "squatter", 11, 1234, "1990-05-17").await;
    let (_, owner) = app.participant("owner").await;
    let nik = nik("1990-05-17".parse().unwrap(), false, 1234);
    let res = app
        .put(
            "/v1/me/identity",
            Some(&owner.access),
            &json!({"nik": nik, "kk_number": kk(11), "date_of_birth": "1990-05-17"}),
        )
        .await;
    assert_problem(res, 409, "nik_registered").await;
    (squatter, owner, nik)
}

#[tokio::test]
async fn the_office_moves_a_squatted_nik_to_its_owner() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (squatter, owner, _) = squatted_nik(&app).await;
    let claim = report(
        &app,
        Some(&owner.access),
        "nik_registered_by_someone_else",
        None,
    )
    .await;
    let id = claim["id"].as_str().unwrap();
    let transfer = format!("/v1/admin/reports/{id}/nik-transfer");
    let reason = json!({"reason": "Dokumen lengkap dan sesuai."});

    // Three of four documents: refused, nothing moves.
    for kind in &IDENTITY_DOCUMENTS[..3] {
        let res = upload(
            &app,
            id,
            kind,
            By::Bearer(&owner.access),
            "image/jpeg",
            jpeg(1000),
        )
        .await;
        assert_eq!(res.status(), 201);
    }
    let problem = assert_problem(
        app.post(&transfer, Some(&admin.access), &reason).await,
        409,
        "documents_incomplete",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("selfie_with_kk"));
    let detail: Value = app
        .get(&format!("/v1/admin/reports/{id}"), Some(&admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["nik_claim"], true);
    assert_eq!(
        detail["account_id"].as_str(),
        Some(owner.account_id.as_str())
    );
    let res = upload(
        &app,
        id,
        "selfie_with_kk",
        By::Bearer(&owner.access),
        "image/png",
        png(1000),
    )
    .await;
    assert_eq!(res.status(), 201);

    let res = app.post(&transfer, Some(&owner.access), &reason).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.post(&transfer, Some(&admin.access), &reason).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(
        moved["from_account_id"].as_str(),
        Some(squatter.account_id.as_str())
    );
    assert_eq!(
        moved["to_account_id"].as_str(),
        Some(owner.account_id.as_str())
    );
    assert_eq!(moved["reference"], claim["reference"]);

    // The owner now holds the identity; the squatter's sessions ended and its
    // registration starts again.
    let me: Value = app
        .get("/v1/me", Some(&owner.access))
        .await
        .json()
        .await
        .unwrap();
    assert!(me["registration"]["completed_steps"]
        .as_array()
        .unwrap()
        .contains(&json!("identity")));
    assert_problem(
        app.get("/v1/me", Some(&squatter.access)).await,
        401,
        "session_ended",
    )
    .await;
    let mut conn = app.db.conn().await;
    let left = count(
        &mut conn,
        &format!(
            "SELECT (SELECT count(*) FROM identities WHERE account_id = '{0}') + (SELECT count(*) FROM profiles WHERE account_id = '{0}') \
             + (SELECT count(*) FROM ktp_photos WHERE account_id = '{0}') + (SELECT count(*) FROM face_enrollments WHERE account_id = '{0}') \
             + (SELECT count(*) FROM questionnaires WHERE account_id = '{0}') + (SELECT count(*) FROM statements WHERE account_id = '{0}') \
             + (SELECT count(*) FROM aptitude_submissions WHERE account_id = '{0}') AS n",
            squatter.account_id
        ),
    )
    .await;
    assert_eq!(left, 0);
    let audited = count(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE actor_id = '{}' AND reason LIKE '{}:%' \
             AND ((action = 'nik_transferred_away' AND subject_id = '{}') OR (action = 'nik_transferred_in' AND subject_id = '{}'))",
            admin.account_id,
            claim["reference"].as_str().unwrap(),
            squatter.account_id,
            owner.account_id
        ),
    )
    .await;
    assert_eq!(audited, 2);

    // The claim is spent: a second transfer has nothing to move.
    let res = app.post(&transfer, Some(&admin.access), &reason).await;
    assert_problem(res, 409, "no_nik_claim").await;
}

/// Asks for the report's NIK transfer, which must answer 409 `no_nik_claim`;
/// returns the route's path.
async fn refused_transfer(
    app: &TestApp,
    admin: &Session,
    report: &Value,
    reason: &Value,
) -> String {
    let path = format!(
        "/v1/admin/reports/{}/nik-transfer",
        report["id"].as_str().unwrap()
    );
    let res = app.post(&path, Some(&admin.access), reason).await;
    assert_problem(res, 409, "no_nik_claim").await;
    path
}

#[tokio::test]
async fn a_transfer_needs_a_refused_claim() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let reason = json!({"reason": "Dokumen lengkap."});
    // Anonymous: no account, so no claim.
    let anonymous = report(
        &app,
        None,
        "nik_registered_by_someone_else",
        Some("a@example.com"),
    )
    .await;
    attach_identity_documents(&app, &anonymous).await;
    refused_transfer(&app, &admin, &anonymous, &reason).await;
    // An account that never tried a NIK held elsewhere.
    let (_, participant) = app.participant("plain").await;
    let plain = report(
        &app,
        Some(&participant.access),
        "nik_registered_by_someone_else",
        None,
    )
    .await;
    attach_identity_documents(&app, &plain).await;
    let path = refused_transfer(&app, &admin, &plain, &reason).await;
    let res = app
        .post(&path, Some(&admin.access), &json!({"reason": ""}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let unknown = format!("/v1/admin/reports/{}/nik-transfer", uuid::Uuid::new_v4());
    assert_problem(
        app.post(&unknown, Some(&admin.access), &reason).await,
        404,
        "not_found",
    )
    .await;
}
