//! Buying a training (DOMAIN.md §5, API.md Catalogue, purchases): the purchase
//! code and the purchase, every refusal with its code, on the sandbox clock.
//! The ledger's invariants are asserted after every test that moves money.

use chrono::Duration;
use serde_json::{json, Value};

use crate::{
    helpers::{assert_problem, count, TestApp},
    spending::{
        ask_code, balance, beneficiaries, beneficiaries_born, beneficiary, buy, code, course,
        partner, purchase_body, reprice, send_purchase, wib, Beneficiary, Course, Partner,
    },
};

/// A webinar starting on 2026-07-10 10:00 WIB.
fn webinar_start() -> chrono::DateTime<chrono::Utc> {
    wib("2026-07-10T10:00:00")
}

async fn setup(app: &TestApp) -> (Partner, Beneficiary, Course) {
    let b = beneficiary(app).await;
    let admin = app.admin().await;
    let p = partner(app, &admin).await;
    let c = course(app, &p, "webinar", 600_000, webinar_start()).await;
    (p, b, c)
}

#[tokio::test]
async fn purchase_code_goes_by_email_and_sms_naming_the_course_and_price_for_five_minutes() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let now = app.state.clock.now();
    let res = ask_code(&app, &p, &b.card_number, &c).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        body["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = expires - now;
    assert!(
        ttl > Duration::minutes(4) && ttl <= Duration::minutes(5) + Duration::seconds(5),
        "{ttl}"
    );
    for recipient in [&b.email, &b.phone] {
        let data = app.last_message_data(recipient, "purchase_otp").await;
        assert_eq!(data["course_title"], c.title.as_str());
        assert_eq!(data["price_idr"], 600_000);
        assert_eq!(data["code"].as_str().unwrap().len(), 6);
    }
    // The answer says nothing about the card (balance, holder).
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["challenge_id", "expires_at"]);
}

#[tokio::test]
async fn purchase_code_refuses_unknown_cards_and_other_platforms_courses() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let admin = app.admin().await;
    let other = partner(&app, &admin).await;
    assert_problem(
        ask_code(&app, &p, "5213459876543217", &c).await,
        404,
        "card_not_found",
    )
    .await;
    // Another platform's course is unknown here, as an absent one.
    assert_problem(
        ask_code(&app, &other, &b.card_number, &c).await,
        404,
        "course_not_found",
    )
    .await;
    let absent = Course {
        id: uuid::Uuid::new_v4().to_string(),
        ..c.clone()
    };
    assert_problem(
        ask_code(&app, &p, &b.card_number, &absent).await,
        404,
        "course_not_found",
    )
    .await;
    let res = app
        .partner_post(
            &p,
            "/v1/partner/purchase-otps",
            &json!({"card_number": b.card_number, "course_id": c.id, "extra": 1}),
        )
        .await;
    assert_problem(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn purchase_code_refuses_a_deactivated_card_and_a_blocked_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bs = beneficiaries(&app, 2).await;
    let p = partner(&app, &admin).await;
    let c = course(&app, &p, "webinar", 600_000, wib("2026-07-25T10:00:00")).await;
    let res = app
        .post(
            &format!("/v1/admin/accounts/{}/block", bs[1].session.account_id),
            Some(&admin.access),
            &json!({"reason": "Akun diperjualbelikan"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = assert_problem(
        ask_code(&app, &p, &bs[1].card_number, &c).await,
        403,
        "not_eligible",
    )
    .await;
    assert!(body
        .get("reasons")
        .is_none_or(|r| r.as_array().is_none_or(|r| r.is_empty())));
    // Day 16 at 00:00 WIB: no purchase, the card is deactivated.
    app.set_clock(wib("2026-07-20T00:00:00")).await;
    app.run_job("deactivate_expired_cards").await;
    assert_problem(
        ask_code(&app, &p, &bs[0].card_number, &c).await,
        409,
        "card_inactive",
    )
    .await;
}

#[tokio::test]
async fn purchase_codes_have_their_own_budget_of_thirty_per_card_in_two_hours() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    for _ in 0..30 {
        assert_eq!(ask_code(&app, &p, &b.card_number, &c).await.status(), 202);
    }
    let res = ask_code(&app, &p, &b.card_number, &c).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "otp_send_limit").await;
    // Login codes are another budget: the participant still logs in.
    app.login(&b.email, crate::fixtures::PASSWORD).await;
    app.set_clock(app.state.clock.now() + Duration::hours(2) + Duration::minutes(1))
        .await;
    assert_eq!(ask_code(&app, &p, &b.card_number, &c).await.status(), 202);
}

#[tokio::test]
async fn purchase_debits_the_card_binds_the_user_and_sends_the_redeem_code() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let receipt = buy(&app, &p, &b, &c).await;
    assert_eq!(receipt["price_idr"], 600_000);
    assert_eq!(receipt["balance_after_idr"], 400_000);
    let redeem_code = receipt["redeem_code"].as_str().unwrap();
    assert!(redeem_code.len() >= 10);
    assert!(redeem_code
        .bytes()
        .all(|ch| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&ch)));
    assert_eq!(balance(&app, &b).await, 400_000);
    let mail = app.last_message_data(&b.email, "purchase_confirmed").await;
    assert_eq!(mail["redeem_code"], redeem_code);
    assert_eq!(mail["course_title"], c.title.as_str());
    let history: Value = app
        .get("/v1/me/card/transactions", Some(&b.session.access))
        .await
        .json()
        .await
        .unwrap();
    let purchase = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "purchase")
        .expect("the purchase in the history");
    assert_eq!(purchase["amount_idr"], -600_000);
    assert_eq!(purchase["balance_after_idr"], 400_000);
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM platform_bindings").await,
        1
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn wrong_codes_answer_otp_invalid_five_times_then_otp_attempts_exceeded_even_for_the_right_one(
) {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let right = code(&app, &p, &b, &c).await;
    let wrong_code = if right.code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut wrong = purchase_body(&b, &c, &right, "user-1");
    wrong["otp_code"] = json!(wrong_code);
    for _ in 0..5 {
        assert_problem(send_purchase(&app, &p, &wrong).await, 401, "otp_invalid").await;
    }
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &right, "user-1")).await;
    assert_problem(res, 429, "otp_attempts_exceeded").await;
    assert_eq!(balance(&app, &b).await, 1_000_000);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn ten_wrong_purchase_codes_per_card_in_two_hours_lock_every_challenge_and_are_audited() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    for _ in 0..2 {
        let right = code(&app, &p, &b, &c).await;
        let mut wrong = purchase_body(&b, &c, &right, "user-1");
        wrong["otp_code"] = json!(if right.code == "000000" {
            "111111"
        } else {
            "000000"
        });
        for _ in 0..5 {
            assert_problem(send_purchase(&app, &p, &wrong).await, 401, "otp_invalid").await;
        }
    }
    let fresh = code(&app, &p, &b, &c).await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &fresh, "user-1")).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "otp_attempts_exceeded").await;
    let mut conn = app.db.conn().await;
    assert!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'otp_guess_limit_reached'"
        )
        .await
            >= 1
    );
}

#[tokio::test]
async fn a_code_expires_after_five_minutes_and_is_single_use() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let first = code(&app, &p, &b, &c).await;
    app.set_clock(app.state.clock.now() + Duration::minutes(5) + Duration::seconds(1))
        .await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &first, "user-1")).await;
    assert_problem(res, 401, "otp_expired").await;
    let second = code(&app, &p, &b, &c).await;
    // The newer code replaced the older one.
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &first, "user-1")).await;
    assert_problem(res, 401, "otp_expired").await;
    let body = purchase_body(&b, &c, &second, "user-1");
    assert_eq!(send_purchase(&app, &p, &body).await.status(), 201);
    assert_problem(send_purchase(&app, &p, &body).await, 401, "otp_invalid").await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_code_is_bound_to_its_card_course_and_platform() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bs = beneficiaries(&app, 2).await;
    let p = partner(&app, &admin).await;
    let other = partner(&app, &admin).await;
    let c = course(&app, &p, "webinar", 300_000, webinar_start()).await;
    let c2 = course(&app, &p, "webinar", 300_000, webinar_start()).await;
    let code = code(&app, &p, &bs[0], &c).await;
    // Another course, another card, another platform: unknown there.
    let res = send_purchase(&app, &p, &purchase_body(&bs[0], &c2, &code, "u1")).await;
    assert_problem(res, 401, "otp_invalid").await;
    let res = send_purchase(&app, &p, &purchase_body(&bs[1], &c, &code, "u1")).await;
    assert_problem(res, 401, "otp_invalid").await;
    let res = send_purchase(&app, &other, &purchase_body(&bs[0], &c, &code, "u1")).await;
    assert_problem(res, 404, "course_not_found").await;
    // None of that spent a guess: the right request still works.
    let res = send_purchase(&app, &p, &purchase_body(&bs[0], &c, &code, "u1")).await;
    assert_eq!(res.status(), 201);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_price_changed_since_the_code_refuses_the_purchase() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let code = code(&app, &p, &b, &c).await;
    reprice(&app, &c, 650_000).await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &code, "u1")).await;
    assert_problem(res, 409, "price_changed").await;
    assert_eq!(balance(&app, &b).await, 1_000_000);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_price_above_the_balance_is_refused_and_the_code_stays_usable() {
    let app = TestApp::spawn().await;
    let (p, b, _) = setup(&app).await;
    let dear = course(&app, &p, "webinar", 1_000_001, webinar_start()).await;
    let code = code(&app, &p, &b, &dear).await;
    let body = purchase_body(&b, &dear, &code, "u1");
    assert_problem(
        send_purchase(&app, &p, &body).await,
        409,
        "insufficient_balance",
    )
    .await;
    // The refusal rolled back the code's use: the same code still answers the rule.
    assert_problem(
        send_purchase(&app, &p, &body).await,
        409,
        "insufficient_balance",
    )
    .await;
    // Exactly the balance is fine.
    let exact = course(&app, &p, "webinar", 1_000_000, webinar_start()).await;
    let receipt = buy(&app, &p, &b, &exact).await;
    assert_eq!(receipt["balance_after_idr"], 0);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn online_training_is_bought_at_least_one_calendar_day_and_offline_three_days_before_it_starts(
) {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bs = beneficiaries(&app, 2).await;
    let p = partner(&app, &admin).await;
    // Today is 2026-07-04 (WIB), 09:00.
    let cases = [
        ("webinar", "2026-07-04T23:59:00", false),
        ("self_paced", "2026-07-04T23:00:00", false),
        ("offline", "2026-07-06T08:00:00", false),
        ("webinar", "2026-07-05T00:00:00", true),
        ("offline", "2026-07-07T00:00:00", true),
    ];
    let mut buyers = bs.iter();
    for (delivery, start, allowed) in cases {
        let c = course(&app, &p, delivery, 100_000, wib(start)).await;
        if allowed {
            let b = buyers.next().unwrap();
            buy(&app, &p, b, &c).await;
        } else {
            let code = code(&app, &p, &bs[0], &c).await;
            let res = send_purchase(&app, &p, &purchase_body(&bs[0], &c, &code, "u0")).await;
            assert_problem(res, 409, "course_starts_too_soon").await;
        }
    }
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_first_purchase_must_be_made_by_the_cards_deadline() {
    let app = TestApp::spawn().await;
    let (p, b, _) = setup(&app).await;
    let c = course(&app, &p, "webinar", 100_000, wib("2026-07-30T10:00:00")).await;
    // Deadline 2026-07-19: the last minute of it is fine for the code, the
    // first minute after is refused (the deadline job has not run yet).
    app.set_clock(wib("2026-07-20T00:00:00")).await;
    let code = code(&app, &p, &b, &c).await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &code, "u0")).await;
    assert_problem(res, 409, "purchase_deadline_passed").await;
    app.set_clock(wib("2026-07-19T23:58:00")).await;
    let code = crate::spending::code(&app, &p, &b, &c).await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &code, "u0")).await;
    assert_eq!(res.status(), 201);
    // A card with a purchase is not deactivated by the deadline job.
    app.set_clock(wib("2026-07-20T00:00:01")).await;
    app.run_job("deactivate_expired_cards").await;
    let card: Value = app
        .get("/v1/me/card", Some(&b.session.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["status"], "active");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_deactivated_card_cannot_buy() {
    let app = TestApp::spawn().await;
    let (p, b, _) = setup(&app).await;
    let c = course(&app, &p, "webinar", 100_000, wib("2026-07-30T10:00:00")).await;
    app.set_clock(wib("2026-07-19T23:57:00")).await;
    let code = code(&app, &p, &b, &c).await;
    app.set_clock(wib("2026-07-20T00:00:00")).await;
    app.run_job("deactivate_expired_cards").await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &code, "u0")).await;
    assert_problem(res, 409, "card_inactive").await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_buyer_who_turned_65_on_the_purchase_day_is_not_eligible() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // 64 at selection; 65 from 2026-07-06 (WIB).
    let b = beneficiaries_born(&app, 1, "1961-07-06").await.remove(0);
    let p = partner(&app, &admin).await;
    let c = course(&app, &p, "webinar", 100_000, webinar_start()).await;
    app.set_clock(wib("2026-07-05T23:58:00")).await;
    let code = code(&app, &p, &b, &c).await;
    app.set_clock(wib("2026-07-06T00:00:00")).await;
    let body = purchase_body(&b, &c, &code, "u0");
    let res = assert_problem(send_purchase(&app, &p, &body).await, 403, "not_eligible").await;
    // Never the reason: a platform learns no eligibility detail.
    assert!(!res.to_string().contains("age"));
    app.set_clock(wib("2026-07-05T23:59:00")).await;
    assert_eq!(send_purchase(&app, &p, &body).await.status(), 201);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_blocked_account_cannot_buy() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (p, b, c) = setup(&app).await;
    let code = code(&app, &p, &b, &c).await;
    let res = app
        .post(
            &format!("/v1/admin/accounts/{}/block", b.session.account_id),
            Some(&admin.access),
            &json!({"reason": "Akun diperjualbelikan"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &code, "u0")).await;
    assert_problem(res, 403, "not_eligible").await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_second_training_waits_for_the_first_to_be_finished() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    buy(&app, &p, &b, &c).await;
    let next = course(&app, &p, "webinar", 100_000, webinar_start()).await;
    let code = code(&app, &p, &b, &next).await;
    let res = send_purchase(&app, &p, &purchase_body(&b, &next, &code, "user-1")).await;
    assert_problem(res, 409, "previous_training_unfinished").await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn one_platform_user_id_per_card_and_one_card_per_user_id_at_a_platform() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bs = beneficiaries(&app, 2).await;
    let p = partner(&app, &admin).await;
    let other = partner(&app, &admin).await;
    let c = course(&app, &p, "self_paced", 100_000, webinar_start()).await;
    let code0 = code(&app, &p, &bs[0], &c).await;
    let res = send_purchase(&app, &p, &purchase_body(&bs[0], &c, &code0, "budi")).await;
    assert_eq!(res.status(), 201);
    // The same user id for another card.
    let code1 = code(&app, &p, &bs[1], &c).await;
    let res = send_purchase(&app, &p, &purchase_body(&bs[1], &c, &code1, "budi")).await;
    assert_problem(res, 409, "platform_user_bound_to_other_card").await;
    // Another platform has its own user ids: "budi" there is someone else.
    let oc = course(&app, &other, "self_paced", 100_000, webinar_start()).await;
    let code2 = code(&app, &other, &bs[1], &oc).await;
    let res = send_purchase(&app, &other, &purchase_body(&bs[1], &oc, &code2, "budi")).await;
    assert_eq!(res.status(), 201);
    // The first card under another user id at the first platform: cancel the
    // open training so that only the binding decides.
    let id = res.json::<Value>().await.unwrap()["id"].clone();
    let _ = id;
    let mine: Value = app
        .get("/v1/me/purchases", Some(&bs[0].session.access))
        .await
        .json()
        .await
        .unwrap();
    let first = mine["data"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .post(
            &format!("/v1/me/purchases/{first}/cancellation"),
            Some(&bs[0].session.access),
            &json!({"reason": "wrong_course"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let c3 = course(&app, &p, "self_paced", 100_000, webinar_start()).await;
    let code3 = code(&app, &p, &bs[0], &c3).await;
    let res = send_purchase(&app, &p, &purchase_body(&bs[0], &c3, &code3, "budi-baru")).await;
    assert_problem(res, 409, "card_bound_to_other_platform_user").await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_cancelled_course_can_never_be_bought_again_by_that_participant() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let receipt = buy(&app, &p, &b, &c).await;
    let res = app
        .post(
            &format!(
                "/v1/me/purchases/{}/cancellation",
                receipt["id"].as_str().unwrap()
            ),
            Some(&b.session.access),
            &json!({"reason": "schedule_conflict"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["refund_idr"], 600_000);
    assert_eq!(body["balance_after_idr"], 1_000_000);
    let code = code(&app, &p, &b, &c).await;
    let user = format!("user-{}", &b.card_number[12..]);
    let res = send_purchase(&app, &p, &purchase_body(&b, &c, &code, &user)).await;
    assert_problem(res, 409, "course_previously_cancelled").await;
    // Another course is fine.
    let other = course(&app, &p, "webinar", 600_000, webinar_start()).await;
    buy(&app, &p, &b, &other).await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_purchase_and_refuses_another_body() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let code = code(&app, &p, &b, &c).await;
    let body = serde_json::to_vec(&purchase_body(&b, &c, &code, "u1")).unwrap();
    let send = |bytes: Vec<u8>| {
        app.partner_raw(
            &p,
            reqwest::Method::POST,
            "/v1/partner/purchases",
            "application/json",
            bytes,
            Some("order-7781"),
        )
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status(), 201);
    let first_bytes = first.bytes().await.unwrap();
    let again = send(body.clone()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.bytes().await.unwrap(), first_bytes);
    let mut other: Value = serde_json::from_slice(&body).unwrap();
    other["platform_user_id"] = json!("u2");
    let res = send(serde_json::to_vec(&other).unwrap()).await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    assert_eq!(balance(&app, &b).await, 400_000);
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM purchases").await,
        1
    );
    // A refusal is stored and replayed as well.
    let wrong = {
        let mut w: Value = serde_json::from_slice(&body).unwrap();
        w["otp_code"] = json!("999999");
        serde_json::to_vec(&w).unwrap()
    };
    let key = |bytes: Vec<u8>| {
        app.partner_raw(
            &p,
            reqwest::Method::POST,
            "/v1/partner/purchases",
            "application/json",
            bytes,
            Some("order-7782"),
        )
    };
    let refused = key(wrong.clone()).await;
    assert_eq!(refused.status(), 401);
    let replay = key(wrong).await;
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn purchase_bodies_are_validated_after_the_signature() {
    let app = TestApp::spawn().await;
    let (p, b, c) = setup(&app).await;
    let code = code(&app, &p, &b, &c).await;
    let mut long = purchase_body(&b, &c, &code, "u1");
    long["platform_user_id"] = json!("x".repeat(129));
    let res = send_purchase(&app, &p, &long).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "platform_user_id");
    let mut missing = purchase_body(&b, &c, &code, "u1");
    missing.as_object_mut().unwrap().remove("otp_code");
    assert_problem(
        send_purchase(&app, &p, &missing).await,
        422,
        "validation_failed",
    )
    .await;
}
