//! Journeys for the purchase tests: beneficiaries with a card, partner
//! platforms that sign their requests, courses, purchase codes and purchases.
//!
//! The service clock: a wave closes on 2026-07-04 08:00 WIB and is selected at
//! 09:00 WIB, so every card's first-purchase deadline is 2026-07-19.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

pub use crate::partners::Partner;
use crate::{
    fixtures::{registered, Session},
    helpers::TestApp,
    partners::sign,
};

/// An instant written in WIB (UTC+07:00), e.g. `wib("2026-07-10T10:00:00")`.
pub fn wib(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{s}+07:00"))
        .unwrap()
        .with_timezone(&Utc)
}

/// The selection time of every wave made here: 2026-07-04 09:00 WIB.
pub fn selected_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 4, 2, 0, 0).unwrap()
}

/// A participant holding a Kartu Prakerja.
#[derive(Debug, Clone)]
pub struct Beneficiary {
    pub session: Session,
    pub email: String,
    pub phone: String,
    pub card_number: String,
}

/// `n` beneficiaries of one wave (different families), born on `dob`, with
/// the clock left at the selection (2026-07-04 09:00 WIB).
pub async fn beneficiaries_born(app: &TestApp, n: u16, dob: &str) -> Vec<Beneficiary> {
    let admin = app.admin().await;
    let opens = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    let closes = Utc.with_ymd_and_hms(2026, 7, 4, 1, 0, 0).unwrap();
    app.set_clock(opens + Duration::hours(1)).await;
    let wave = app
        .create_wave(&admin, i32::from(n) + 1, opens, closes)
        .await;
    let mut sessions = Vec::new();
    for i in 0..n {
        let family = 700 + i;
        let serial = 100 + i;
        let session = registered(app, "buyer", family, serial, dob).await;
        assert_eq!(app.apply(&session, &wave).await.status(), 201);
        let phone = format!("+628133{:03}{serial:04}", family % 1000);
        sessions.push((session, phone));
    }
    app.set_clock(selected_at()).await;
    let res = app.select(&admin, &wave).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let mut out = Vec::new();
    for (session, phone) in sessions {
        let me: Value = app
            .get("/v1/me", Some(&session.access))
            .await
            .json()
            .await
            .unwrap();
        let card: Value = app
            .get("/v1/me/card", Some(&session.access))
            .await
            .json()
            .await
            .unwrap();
        out.push(Beneficiary {
            email: me["email"].as_str().unwrap().to_owned(),
            phone,
            card_number: card["card_number"].as_str().unwrap().to_owned(),
            session,
        });
    }
    out
}

/// `n` beneficiaries aged 35.
pub async fn beneficiaries(app: &TestApp, n: u16) -> Vec<Beneficiary> {
    beneficiaries_born(app, n, "1991-03-14").await
}

/// One beneficiary aged 35.
pub async fn beneficiary(app: &TestApp) -> Beneficiary {
    beneficiaries(app, 1).await.remove(0)
}

/// Creates a partner platform the way the PMO does (a training platform).
pub async fn partner(app: &TestApp, admin: &Session) -> Partner {
    partner_with_capabilities(app, admin, &["training"]).await
}

/// Creates a partner platform with these `capabilities`.
pub async fn partner_with_capabilities(
    app: &TestApp,
    admin: &Session,
    capabilities: &[&str],
) -> Partner {
    let res = app
        .post(
            "/v1/admin/partners",
            Some(&admin.access),
            &json!({
                "name": format!("Platform {}", &Uuid::new_v4().simple().to_string()[..6]),
                "capabilities": capabilities,
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    Partner {
        id: body["partner_id"].as_str().unwrap().to_owned(),
        secret: body["secret"].as_str().unwrap().to_owned(),
    }
}

/// Each signature is accepted once: a request with the same partner, method,
/// path and body as an earlier one is signed one second later than the last
/// (from now on, so at most a few seconds ahead, well inside the 5 minutes).
static LAST_SIGNED: Mutex<Option<HashMap<Vec<u8>, i64>>> = Mutex::new(None);

fn unique_timestamp(partner: &Partner, method: &Method, path: &str, body: &[u8]) -> i64 {
    use sha2::{Digest, Sha256};
    let key = Sha256::digest(
        [
            partner.id.as_bytes(),
            method.as_str().as_bytes(),
            path.as_bytes(),
            body,
        ]
        .concat(),
    )
    .to_vec();
    let mut last = LAST_SIGNED.lock().unwrap();
    let map = last.get_or_insert_with(HashMap::new);
    let now = Utc::now().timestamp();
    let ts = map.get(&key).map_or(now, |t| (t + 1).max(now));
    map.insert(key, ts);
    ts
}

/// The headers of a signed partner request (API.md Conventions).
pub fn signature_headers(
    partner: &Partner,
    method: &Method,
    path_with_query: &str,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let ts = unique_timestamp(partner, method, path_with_query, body);
    let signature = sign(method.as_str(), path_with_query, ts, body, &partner.secret);
    [
        ("x-partner-id", partner.id.clone()),
        ("x-timestamp", ts.to_string()),
        ("x-signature", signature),
    ]
}

impl TestApp {
    /// A signed partner request with a raw body.
    pub async fn partner_raw(
        &self,
        partner: &Partner,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method.clone(), self.url(path))
            .header("content-type", content_type);
        for (name, value) in signature_headers(partner, &method, path, &body) {
            req = req.header(name, value);
        }
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        req.body(body).send().await.unwrap()
    }

    /// A signed partner POST of JSON.
    pub async fn partner_post(
        &self,
        partner: &Partner,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).unwrap();
        self.partner_raw(partner, Method::POST, path, "application/json", bytes, None)
            .await
    }

    /// A signed partner GET.
    pub async fn partner_get(&self, partner: &Partner, path: &str) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        for (name, value) in signature_headers(partner, &Method::GET, path, b"") {
            req = req.header(name, value);
        }
        req.send().await.unwrap()
    }
}

/// A course on sale.
#[derive(Debug, Clone)]
pub struct Course {
    pub id: String,
    pub title: String,
}

/// Puts a course of `partner` in the catalogue.
pub async fn course(
    app: &TestApp,
    partner: &Partner,
    delivery: &str,
    price_idr: i64,
    starts_at: DateTime<Utc>,
) -> Course {
    let id = Uuid::new_v4();
    let title = format!("Pelatihan {delivery} {}", &id.simple().to_string()[..6]);
    let location: Option<&str> = (delivery == "offline").then_some("Jakarta Timur");
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "INSERT INTO courses (id, partner_id, external_id, title, description, category, delivery, \
           price_idr, starts_at, duration_hours, level, institution, location, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'Belajar dari dasar.', 'bisnis', $5, $6, $7, $8, 'beginner', \
           'LPK Maju', $9, now(), now())",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(partner.id.parse::<Uuid>().unwrap())
    .bind::<Text, _>(format!("ext-{}", id.simple()))
    .bind::<Text, _>(&title)
    .bind::<Text, _>(delivery)
    .bind::<BigInt, _>(price_idr)
    .bind::<Timestamptz, _>(starts_at)
    .bind::<Integer, _>(12)
    .bind::<Nullable<Text>, _>(location)
    .execute(&mut conn)
    .await
    .unwrap();
    Course {
        id: id.to_string(),
        title,
    }
}

/// Changes a course's price, as the platform's next upsert would.
pub async fn reprice(app: &TestApp, course: &Course, price_idr: i64) {
    let mut conn = app.db.conn().await;
    diesel::sql_query("UPDATE courses SET price_idr = $1 WHERE id = $2")
        .bind::<BigInt, _>(price_idr)
        .bind::<SqlUuid, _>(course.id.parse::<Uuid>().unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
}

/// A purchase code asked for and the code the participant received.
#[derive(Debug, Clone)]
pub struct Code {
    pub challenge_id: String,
    pub code: String,
}

/// `POST /v1/partner/purchase-otps`.
pub async fn ask_code(
    app: &TestApp,
    partner: &Partner,
    card_number: &str,
    course: &Course,
) -> reqwest::Response {
    app.partner_post(
        partner,
        "/v1/partner/purchase-otps",
        &json!({"card_number": card_number, "course_id": course.id}),
    )
    .await
}

/// Asks for a purchase code and reads it from the participant's email.
pub async fn code(app: &TestApp, partner: &Partner, b: &Beneficiary, course: &Course) -> Code {
    let res = ask_code(app, partner, &b.card_number, course).await;
    assert_eq!(res.status(), 202, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    let data = app
        .inbox(&b.email)
        .await
        .into_iter()
        .find(|m| m["template"] == "purchase_otp" && m["data"]["course_title"] == course.title)
        .expect("a purchase code by email")["data"]
        .clone();
    Code {
        challenge_id: body["challenge_id"].as_str().unwrap().to_owned(),
        code: data["code"].as_str().unwrap().to_owned(),
    }
}

/// The body of `POST /v1/partner/purchases`.
pub fn purchase_body(b: &Beneficiary, course: &Course, code: &Code, user: &str) -> Value {
    json!({
        "card_number": b.card_number,
        "course_id": course.id,
        "challenge_id": code.challenge_id,
        "otp_code": code.code,
        "platform_user_id": user,
    })
}

/// `POST /v1/partner/purchases`.
pub async fn send_purchase(app: &TestApp, partner: &Partner, body: &Value) -> reqwest::Response {
    app.partner_post(partner, "/v1/partner/purchases", body)
        .await
}

/// A code and a purchase with it; panics unless it is made. Returns the receipt.
pub async fn buy(app: &TestApp, partner: &Partner, b: &Beneficiary, course: &Course) -> Value {
    let code = code(app, partner, b, course).await;
    let user = format!("user-{}", &b.card_number[12..]);
    let res = send_purchase(app, partner, &purchase_body(b, course, &code, &user)).await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// The card's balance as the participant sees it.
pub async fn balance(app: &TestApp, b: &Beneficiary) -> i64 {
    let card: Value = app
        .get("/v1/me/card", Some(&b.session.access))
        .await
        .json()
        .await
        .unwrap();
    card["balance_idr"].as_i64().unwrap()
}

/// A passed face check of the participant for a purchase.
pub async fn pass_face(app: &TestApp, b: &Beneficiary, purchase_id: &str) {
    let res = app
        .send_bytes(
            Method::POST,
            &format!("/v1/me/purchases/{purchase_id}/face-verifications"),
            &b.session.access,
            "image/png",
            crate::fixtures::png(2048),
        )
        .await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    assert_eq!(res.json::<Value>().await.unwrap()["passed"], true);
}

/// `POST /v1/partner/redemptions`.
pub async fn redeem(app: &TestApp, partner: &Partner, redeem_code: &str) -> reqwest::Response {
    app.partner_post(
        partner,
        "/v1/partner/redemptions",
        &json!({"redeem_code": redeem_code}),
    )
    .await
}

/// `POST /v1/partner/purchases/{id}/completion` at `completed_at`.
pub async fn complete(
    app: &TestApp,
    partner: &Partner,
    purchase_id: &str,
    completed_at: DateTime<Utc>,
) -> reqwest::Response {
    app.partner_post(
        partner,
        &format!("/v1/partner/purchases/{purchase_id}/completion"),
        &json!({"completed_at": completed_at.to_rfc3339(), "certificate_url": "https://lms.example/sertifikat/1", "post_test_score": 80}),
    )
    .await
}

/// `POST /v1/me/purchases/{id}/review`.
pub async fn review(
    app: &TestApp,
    b: &Beneficiary,
    purchase_id: &str,
    rating: i64,
) -> reqwest::Response {
    app.post(
        &format!("/v1/me/purchases/{purchase_id}/review"),
        Some(&b.session.access),
        &json!({"rating": rating, "comment": "Materinya jelas dan praktis."}),
    )
    .await
}
