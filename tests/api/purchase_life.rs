//! A purchase's life after it is made (DOMAIN.md §6, §7): the views of the
//! participant and the platform, cancellation, face checks, redemption and its
//! windows, the job `expire_purchases`, completion, the review and the next
//! purchase it allows. All on the sandbox clock.

use chrono::{Duration, NaiveDate};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fixtures::png,
    helpers::{assert_problem, count, TestApp},
    spending::{
        balance, beneficiary, buy, code, complete, course, partner, pass_face, purchase_body,
        redeem, reprice, review, send_purchase, wib, Beneficiary, Course, Partner,
    },
};

struct Bought {
    p: Partner,
    b: Beneficiary,
    c: Course,
    id: String,
    redeem_code: String,
}

async fn bought(app: &TestApp, delivery: &str, starts: &str) -> Bought {
    let b = beneficiary(app).await;
    let admin = app.admin().await;
    let p = partner(app, &admin).await;
    let c = course(app, &p, delivery, 600_000, wib(starts)).await;
    let receipt = buy(app, &p, &b, &c).await;
    Bought {
        id: receipt["id"].as_str().unwrap().to_owned(),
        redeem_code: receipt["redeem_code"].as_str().unwrap().to_owned(),
        p,
        b,
        c,
    }
}

async fn face_check(app: &TestApp, b: &Beneficiary, id: &str, bytes: usize) -> reqwest::Response {
    app.send_bytes(
        Method::POST,
        &format!("/v1/me/purchases/{id}/face-verifications"),
        &b.session.access,
        "image/png",
        png(bytes),
    )
    .await
}

async fn my_purchase(app: &TestApp, b: &Beneficiary, id: &str) -> Value {
    let res = app
        .get(&format!("/v1/me/purchases/{id}"), Some(&b.session.access))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

// ---------------------------------------------------------------- views

#[tokio::test]
async fn the_participant_sees_the_purchase_with_its_terms_as_sold() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    reprice(&app, &x.c, 900_000).await;
    let list: Value = app
        .get("/v1/me/purchases", Some(&x.b.session.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);
    let p = &list["data"][0];
    assert_eq!(p["id"], x.id.as_str());
    assert_eq!(p["status"], "purchased");
    assert_eq!(p["redeem_code"], x.redeem_code.as_str());
    assert_eq!(p["price_idr"], 600_000);
    assert_eq!(p["course"]["price_idr"], 600_000);
    assert_eq!(p["course"]["title"], x.c.title.as_str());
    assert_eq!(p["course"]["delivery"], "webinar");
    // Bought 2026-07-04, starts 2026-07-10: min(07-07, 07-07).
    assert_eq!(p["cancel_deadline"], "2026-07-07");
    assert_eq!(p["certificate_url"], Value::Null);
    assert_eq!(p["review"], Value::Null);
    // Nobody else's.
    let (_, stranger) = app.participant("stranger").await;
    let res = app
        .get(
            &format!("/v1/me/purchases/{}", x.id),
            Some(&stranger.access),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_platform_sees_only_its_own_purchases_without_balance_or_eligibility() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    let res = app
        .partner_get(&x.p, &format!("/v1/partner/purchases/{}", x.id))
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["course_id"], x.c.id.as_str());
    assert_eq!(view["status"], "purchased");
    assert_eq!(view["price_idr"], 600_000);
    assert_eq!(view["redeem_code"], x.redeem_code.as_str());
    assert_eq!(
        view["card_number_masked"],
        format!("************{}", &x.b.card_number[12..])
    );
    let text = view.to_string();
    assert!(!text.contains(&x.b.card_number));
    assert!(!text.contains("balance"));
    assert!(!text.contains("eligib"));
    for field in ["platform_user_id", "purchased_at", "updated_at"] {
        assert!(view.get(field).is_some(), "{field}");
    }
    let admin = app.admin().await;
    let other = partner(&app, &admin).await;
    let res = app
        .partner_get(&other, &format!("/v1/partner/purchases/{}", x.id))
        .await;
    assert_problem(res, 404, "not_found").await;
    let feed: Value = app
        .partner_get(&other, "/v1/partner/purchases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_platform_feed_shows_a_cancellation_it_did_not_cause() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    let feed: Value = app
        .partner_get(&x.p, "/v1/partner/purchases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["data"][0]["status"], "purchased");
    let seen = feed["data"][0]["updated_at"].as_str().unwrap().to_owned();
    app.set_clock(wib("2026-07-06T12:00:00")).await;
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/cancellation", x.id),
            Some(&x.b.session.access),
            &json!({"reason": "personal_reasons"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let path = format!("/v1/partner/purchases?updated_since={}", urlencoding(&seen));
    let feed: Value = app.partner_get(&x.p, &path).await.json().await.unwrap();
    let items = feed["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "cancelled");
    assert!(items[0]["cancelled_at"].is_string());
    // Nothing changed after the cancellation (beyond the late-commit margin).
    let later = (wib("2026-07-06T12:00:00") + Duration::minutes(5)).to_rfc3339();
    let path = format!(
        "/v1/partner/purchases?updated_since={}",
        urlencoding(&later)
    );
    let feed: Value = app.partner_get(&x.p, &path).await.json().await.unwrap();
    assert_eq!(feed["data"].as_array().unwrap().len(), 0);
    app.assert_ledger_invariants().await;
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

// ---------------------------------------------------------------- cancellation

#[tokio::test]
async fn cancellation_refunds_through_the_ledger_tells_the_participant_and_shows_in_history() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    // The last day: 2026-07-07, until 23:59 WIB.
    app.set_clock(wib("2026-07-07T23:59:00")).await;
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/cancellation", x.id),
            Some(&x.b.session.access),
            &json!({"reason": "found_better_course"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(balance(&app, &x.b).await, 1_000_000);
    let mail = app
        .last_message_data(&x.b.email, "purchase_cancelled")
        .await;
    assert_eq!(mail["refund_idr"], 600_000);
    let history: Value = app
        .get("/v1/me/card/transactions", Some(&x.b.session.access))
        .await
        .json()
        .await
        .unwrap();
    let refund = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "refund")
        .expect("the refund in the history");
    assert_eq!(refund["amount_idr"], 600_000);
    assert_eq!(refund["balance_after_idr"], 1_000_000);
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/cancellation", x.id),
            Some(&x.b.session.access),
            &json!({"reason": "other"}),
        )
        .await;
    assert_problem(res, 409, "already_cancelled").await;
    assert_eq!(my_purchase(&app, &x.b, &x.id).await["status"], "cancelled");
    // A cancelled purchase's code no longer redeems.
    assert_problem(
        redeem(&app, &x.p, &x.redeem_code).await,
        409,
        "purchase_cancelled",
    )
    .await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn cancellation_closes_at_wib_midnight_after_the_deadline_and_after_redemption() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "self_paced", "2026-07-10T10:00:00").await;
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/cancellation", x.id),
            Some(&x.b.session.access),
            &json!({"reason": "lupa"}),
        )
        .await;
    // Not a reason of API.md's list.
    assert_problem(res, 400, "invalid_request").await;
    app.set_clock(wib("2026-07-08T00:00:00")).await;
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/cancellation", x.id),
            Some(&x.b.session.access),
            &json!({"reason": "other"}),
        )
        .await;
    assert_problem(res, 409, "cancellation_window_closed").await;
    pass_face(&app, &x.b, &x.id).await;
    assert_eq!(redeem(&app, &x.p, &x.redeem_code).await.status(), 200);
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/cancellation", x.id),
            Some(&x.b.session.access),
            &json!({"reason": "other"}),
        )
        .await;
    assert_problem(res, 409, "already_redeemed").await;
    app.assert_ledger_invariants().await;
}

// ---------------------------------------------------------------- face checks

#[tokio::test]
async fn a_self_paced_training_takes_five_face_checks_a_day_and_three_failures_flag_fraud() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "self_paced", "2026-07-10T10:00:00").await;
    app.set_clock(wib("2026-07-10T23:00:00")).await;
    for _ in 0..2 {
        let res = face_check(&app, &x.b, &x.id, 2048).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["passed"], true);
        assert!(body["valid_until"].is_string());
    }
    for i in 0..3 {
        let res = face_check(&app, &x.b, &x.id, 50).await;
        assert_eq!(res.status(), 201);
        assert_eq!(res.json::<Value>().await.unwrap()["passed"], false);
        let me: Value = app
            .get("/v1/me", Some(&x.b.session.access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            me["flags"]["fraud_suspected"],
            i == 2,
            "after {} failures",
            i + 1
        );
    }
    let res = face_check(&app, &x.b, &x.id, 2048).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "face_attempts_exceeded").await;
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'fraud_flag_set'"
        )
        .await,
        1
    );
    // A new Asia/Jakarta day, new attempts.
    app.set_clock(wib("2026-07-11T00:00:00")).await;
    assert_eq!(face_check(&app, &x.b, &x.id, 2048).await.status(), 201);
}

#[tokio::test]
async fn a_venue_checks_faces_for_offline_training_only_within_the_webinar_limit() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "offline", "2026-07-10T10:00:00").await;
    let path = format!("/v1/partner/purchases/{}/face-verifications", x.id);
    for _ in 0..10 {
        let res = app
            .partner_raw(&x.p, Method::POST, &path, "image/png", png(2048), None)
            .await;
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
    }
    let res = app
        .partner_raw(&x.p, Method::POST, &path, "image/png", png(2048), None)
        .await;
    assert_problem(res, 429, "face_attempts_exceeded").await;
    let res = app
        .partner_raw(
            &x.p,
            Method::POST,
            &path,
            "text/plain",
            b"hello".to_vec(),
            None,
        )
        .await;
    assert_problem(res, 415, "unsupported_media_type").await;
    // Another platform: unknown.
    let admin = app.admin().await;
    let other = partner(&app, &admin).await;
    let res = app
        .partner_raw(&other, Method::POST, &path, "image/png", png(2048), None)
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_venue_cannot_send_the_face_check_of_online_training() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    let path = format!("/v1/partner/purchases/{}/face-verifications", x.id);
    let res = app
        .partner_raw(&x.p, Method::POST, &path, "image/png", png(2048), None)
        .await;
    assert_problem(res, 403, "forbidden").await;
}

// ---------------------------------------------------------------- redemption

#[tokio::test]
async fn a_webinar_is_redeemed_from_one_hour_before_to_one_hour_after_its_start_after_a_face_check()
{
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    app.set_clock(wib("2026-07-10T08:59:00")).await;
    pass_face(&app, &x.b, &x.id).await;
    assert_problem(
        redeem(&app, &x.p, &x.redeem_code).await,
        409,
        "redemption_window_closed",
    )
    .await;
    // Inside the window, 16 minutes after the pass: a new check is needed.
    app.set_clock(wib("2026-07-10T09:15:00")).await;
    assert_problem(
        redeem(&app, &x.p, &x.redeem_code).await,
        409,
        "face_verification_required",
    )
    .await;
    // The clock keeps ticking: a little before the window's last second.
    app.set_clock(wib("2026-07-10T10:59:50")).await;
    pass_face(&app, &x.b, &x.id).await;
    // Codes are read out: lower case is accepted.
    let res = redeem(&app, &x.p, &x.redeem_code.to_lowercase()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["purchase_id"], x.id.as_str());
    assert_eq!(body["status"], "redeemed");
    assert_problem(
        redeem(&app, &x.p, &x.redeem_code).await,
        409,
        "redeem_code_used",
    )
    .await;
    assert_eq!(my_purchase(&app, &x.b, &x.id).await["status"], "redeemed");
}

#[tokio::test]
async fn a_webinar_not_redeemed_within_its_window_expires_and_allows_the_next_purchase() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "webinar", "2026-07-10T10:00:00").await;
    app.set_clock(wib("2026-07-10T11:00:01")).await;
    pass_face(&app, &x.b, &x.id).await;
    assert_problem(
        redeem(&app, &x.p, &x.redeem_code).await,
        409,
        "redemption_window_closed",
    )
    .await;
    let report = app.run_job("expire_purchases").await;
    assert_eq!(report["report"]["expired"], 1, "{report}");
    assert_eq!(my_purchase(&app, &x.b, &x.id).await["status"], "expired");
    // The money stays with the platform.
    assert_eq!(balance(&app, &x.b).await, 400_000);
    let card: Value = app
        .get("/v1/me/card", Some(&x.b.session.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["purchase_deadline"], "2026-07-25");
    let next = course(
        &app,
        &x.p,
        "self_paced",
        100_000,
        wib("2026-07-20T10:00:00"),
    )
    .await;
    buy(&app, &x.p, &x.b, &next).await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_offline_training_is_redeemed_up_to_two_hours_after_its_start_without_a_face_check_first(
) {
    let app = TestApp::spawn().await;
    let x = bought(&app, "offline", "2026-07-10T10:00:00").await;
    app.set_clock(wib("2026-07-10T11:59:50")).await;
    assert_eq!(redeem(&app, &x.p, &x.redeem_code).await.status(), 200);
    // Its expiry job finds nothing to expire.
    let report = app.run_job("expire_purchases").await;
    assert_eq!(report["report"]["expired"], 0);
}

#[tokio::test]
async fn unknown_and_other_platforms_codes_are_invalid_and_wrong_codes_are_rate_limited() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "self_paced", "2026-07-10T10:00:00").await;
    let admin = app.admin().await;
    let other = partner(&app, &admin).await;
    assert_problem(
        redeem(&app, &other, &x.redeem_code).await,
        404,
        "redeem_code_invalid",
    )
    .await;
    for _ in 0..19 {
        assert_problem(
            redeem(&app, &x.p, "ZZZZZZZZZZZZ").await,
            404,
            "redeem_code_invalid",
        )
        .await;
    }
    let res = redeem(&app, &x.p, "not a code").await;
    assert_problem(res, 404, "redeem_code_invalid").await;
    let res = redeem(&app, &x.p, &x.redeem_code).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "rate_limited").await;
    // Another platform has its own count.
    assert_problem(
        redeem(&app, &other, "ZZZZZZZZZZZZ").await,
        404,
        "redeem_code_invalid",
    )
    .await;
    app.set_clock(app.state.clock.now() + Duration::minutes(1) + Duration::seconds(1))
        .await;
    pass_face(&app, &x.b, &x.id).await;
    assert_eq!(redeem(&app, &x.p, &x.redeem_code).await.status(), 200);
}

#[tokio::test]
async fn a_voucher_code_is_needed_when_the_purchase_has_one() {
    let app = TestApp::spawn().await;
    let b = beneficiary(&app).await;
    let admin = app.admin().await;
    let p = partner(&app, &admin).await;
    let c = course(&app, &p, "offline", 100_000, wib("2026-07-10T10:00:00")).await;
    let code = code(&app, &p, &b, &c).await;
    let mut body = purchase_body(&b, &c, &code, "u1");
    body["voucher_code"] = json!("VCR-88A1");
    let res = send_purchase(&app, &p, &body).await;
    assert_eq!(res.status(), 201);
    let receipt: Value = res.json().await.unwrap();
    assert_eq!(receipt["voucher_code"], "VCR-88A1");
    let rc = receipt["redeem_code"].as_str().unwrap();
    app.set_clock(wib("2026-07-10T09:30:00")).await;
    assert_problem(redeem(&app, &p, rc).await, 404, "redeem_code_invalid").await;
    let res = app
        .partner_post(
            &p,
            "/v1/partner/redemptions",
            &json!({"redeem_code": rc, "voucher_code": "VCR-88A1"}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

// ---------------------------------------------------------------- completion and review

/// A self-paced purchase redeemed on 2026-07-10 09:00 WIB.
async fn redeemed(app: &TestApp) -> Bought {
    let x = bought(app, "self_paced", "2026-07-10T08:00:00").await;
    app.set_clock(wib("2026-07-10T09:00:00")).await;
    pass_face(app, &x.b, &x.id).await;
    assert_eq!(redeem(app, &x.p, &x.redeem_code).await.status(), 200);
    x
}

#[tokio::test]
async fn completion_needs_a_redemption_a_time_since_it_and_an_https_certificate() {
    let app = TestApp::spawn().await;
    let x = bought(&app, "self_paced", "2026-07-10T08:00:00").await;
    let res = complete(&app, &x.p, &x.id, wib("2026-07-04T10:00:00")).await;
    assert_problem(res, 409, "not_redeemed").await;
    app.set_clock(wib("2026-07-10T09:00:00")).await;
    pass_face(&app, &x.b, &x.id).await;
    assert_eq!(redeem(&app, &x.p, &x.redeem_code).await.status(), 200);
    app.set_clock(wib("2026-07-15T12:00:00")).await;
    let res = complete(&app, &x.p, &x.id, wib("2026-07-10T08:59:59")).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "completed_at");
    let res = complete(&app, &x.p, &x.id, wib("2026-07-15T12:05:00")).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .partner_post(
            &x.p,
            &format!("/v1/partner/purchases/{}/completion", x.id),
            &json!({"completed_at": wib("2026-07-15T10:00:00").to_rfc3339(), "certificate_url": "http://lms.example/c"}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = complete(&app, &x.p, &x.id, wib("2026-07-15T10:00:00")).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["status"], "completed");
    assert!(view["completed_at"].is_string());
    let res = complete(&app, &x.p, &x.id, wib("2026-07-15T10:00:00")).await;
    assert_problem(res, 409, "already_completed").await;
    // The certificate shows 7 days after completion, not sooner.
    app.set_clock(wib("2026-07-22T09:59:00")).await;
    assert_eq!(
        my_purchase(&app, &x.b, &x.id).await["certificate_url"],
        Value::Null
    );
    app.set_clock(wib("2026-07-22T10:00:00")).await;
    assert_eq!(
        my_purchase(&app, &x.b, &x.id).await["certificate_url"],
        "https://lms.example/sertifikat/1"
    );
    // Another platform cannot complete it.
    let admin = app.admin().await;
    let other = partner(&app, &admin).await;
    let res = complete(&app, &other, &x.id, wib("2026-07-15T10:00:00")).await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_review_needs_completion_counts_once_and_updates_the_course_rating() {
    let app = TestApp::spawn().await;
    let x = redeemed(&app).await;
    assert_problem(
        review(&app, &x.b, &x.id, 5).await,
        409,
        "training_not_completed",
    )
    .await;
    app.set_clock(wib("2026-07-12T10:00:00")).await;
    assert_eq!(
        complete(&app, &x.p, &x.id, wib("2026-07-12T09:00:00"))
            .await
            .status(),
        200
    );
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/review", x.id),
            Some(&x.b.session.access),
            &json!({"rating": 6, "comment": "Bagus"}),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "rating");
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/review", x.id),
            Some(&x.b.session.access),
            &json!({"rating": 4, "comment": "x".repeat(2001)}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let (_, stranger) = app.participant("stranger").await;
    let res = app
        .post(
            &format!("/v1/me/purchases/{}/review", x.id),
            Some(&stranger.access),
            &json!({"rating": 1, "comment": "Buruk"}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = review(&app, &x.b, &x.id, 4).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["rating"], 4);
    assert_problem(review(&app, &x.b, &x.id, 5).await, 409, "review_exists").await;
    let mut conn = app.db.conn().await;
    let sql = format!(
        "SELECT (rating_sum * 10 + rating_count)::bigint AS n FROM courses WHERE id = '{}'",
        x.c.id
    );
    assert_eq!(
        count(&mut conn, &sql).await,
        41,
        "rating_sum 4, rating_count 1"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM course_reviews").await,
        1
    );
    let view = my_purchase(&app, &x.b, &x.id).await;
    assert_eq!(view["review"]["rating"], 4);
    assert_eq!(view["review"]["comment"], "Materinya jelas dan praktis.");
    // The review finished the first training (DOMAIN.md §8): its incentives
    // are scheduled in the review's own transaction, before any job runs.
    let res = app
        .get("/v1/me/incentives", Some(&x.b.session.access))
        .await;
    assert_eq!(res.status(), 200);
    let listed: Value = res.json().await.unwrap();
    let training: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "training")
        .collect();
    assert_eq!(training.len(), 4, "{listed}");
    assert_eq!(training[0]["amount_idr"], 600_000);
}

#[tokio::test]
async fn a_review_opens_fifteen_calendar_days_for_the_next_purchase() {
    let app = TestApp::spawn().await;
    let x = redeemed(&app).await;
    app.set_clock(wib("2026-07-12T10:00:00")).await;
    assert_eq!(
        complete(&app, &x.p, &x.id, wib("2026-07-12T09:00:00"))
            .await
            .status(),
        200
    );
    // Completed, not reviewed: still open.
    let card: Value = app
        .get("/v1/me/card", Some(&x.b.session.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["purchase_deadline"], Value::Null);
    let next = course(
        &app,
        &x.p,
        "self_paced",
        100_000,
        wib("2026-08-30T10:00:00"),
    )
    .await;
    let early = code(&app, &x.p, &x.b, &next).await;
    let user = format!("user-{}", &x.b.card_number[12..]);
    let res = send_purchase(&app, &x.p, &purchase_body(&x.b, &next, &early, &user)).await;
    assert_problem(res, 409, "previous_training_unfinished").await;
    // Reviewed on 2026-07-12 at 23:30 WIB: the next purchase until 2026-07-27.
    app.set_clock(wib("2026-07-12T23:30:00")).await;
    assert_eq!(review(&app, &x.b, &x.id, 5).await.status(), 201);
    let card: Value = app
        .get("/v1/me/card", Some(&x.b.session.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        card["purchase_deadline"],
        NaiveDate::from_ymd_opt(2026, 7, 27).unwrap().to_string()
    );
    app.set_clock(wib("2026-07-28T00:00:00")).await;
    let late = code(&app, &x.p, &x.b, &next).await;
    let res = send_purchase(&app, &x.p, &purchase_body(&x.b, &next, &late, &user)).await;
    assert_problem(res, 409, "purchase_deadline_passed").await;
    app.set_clock(wib("2026-07-27T23:58:00")).await;
    let ok = code(&app, &x.p, &x.b, &next).await;
    let res = send_purchase(&app, &x.p, &purchase_body(&x.b, &next, &ok, &user)).await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_participants_purchase_routes_refuse_an_admin_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = uuid::Uuid::new_v4();
    let token = Some(admin.access.as_str());
    let answers = [
        app.get("/v1/me/purchases", token).await,
        app.get(&format!("/v1/me/purchases/{id}"), token).await,
        app.post(
            &format!("/v1/me/purchases/{id}/cancellation"),
            token,
            &json!({"reason": "other"}),
        )
        .await,
        app.post(
            &format!("/v1/me/purchases/{id}/review"),
            token,
            &json!({"rating": 5, "comment": "ok"}),
        )
        .await,
        app.send_bytes(
            Method::POST,
            &format!("/v1/me/purchases/{id}/face-verifications"),
            &admin.access,
            "image/png",
            png(2048),
        )
        .await,
    ];
    for res in answers {
        assert_problem(res, 403, "forbidden").await;
    }
}
