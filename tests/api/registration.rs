//! Registration and identity (DOMAIN.md §2, API.md Registration).

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wiremock::{matchers::method, Mock, MockServer, ResponseTemplate};

use crate::{
    fixtures::{kk, ktp_address, nik, png},
    helpers::{assert_problem, count, TestApp},
};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn identity_is_taken_from_the_registry_record() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("id").await;
    let n = nik(date("1995-04-17"), true, 1);
    assert_eq!(n, "3174055704950001");
    let body = app.verify_identity(&s, &n, &kk(1), "1995-04-17").await;
    assert_eq!(
        body,
        json!({"full_name": "PESERTA 950001", "gender": "female", "birth_place": "JAKARTA",
               "address": "JL. PERCOBAAN NO. 0001", "province_code": "31", "regency_code": "3174"})
    );
    let me: Value = app
        .get("/v1/me", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["full_name"], "PESERTA 950001");
    assert_eq!(me["gender"], "female");
    assert_eq!(me["nik_masked"], "3174********0001");
    assert_eq!(me["registration"]["completed_steps"], json!(["identity"]));
    let res = app
        .put(
            "/v1/me/identity",
            Some(&s.access),
            &json!({"nik": n, "kk_number": kk(1), "date_of_birth": "1995-04-17"}),
        )
        .await;
    assert_problem(res, 409, "identity_already_verified").await;
}

#[tokio::test]
async fn a_nik_whose_date_disagrees_with_the_given_birth_date_is_422_nik_invalid() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("badnik").await;
    let n = nik(date("1995-04-17"), false, 1);
    let res = app
        .put(
            "/v1/me/identity",
            Some(&s.access),
            &json!({"nik": n, "kk_number": kk(1), "date_of_birth": "1995-04-18"}),
        )
        .await;
    let body = assert_problem(res, 422, "nik_invalid").await;
    assert_eq!(body["errors"][0]["field"], "date_of_birth");
    for bad in [
        "123",
        "31740517049500ab",
        "9974051704950001",
        "3174053204950001",
        "3174051713950001",
    ] {
        let res = app
            .put(
                "/v1/me/identity",
                Some(&s.access),
                &json!({"nik": bad, "kk_number": kk(1), "date_of_birth": "1995-04-17"}),
            )
            .await;
        assert_problem(res, 422, "nik_invalid").await;
    }
}

#[tokio::test]
async fn unknown_nik_or_kk_mismatch_is_422_identity_mismatch_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("mismatch").await;
    let unknown = nik(date("1990-01-02"), false, 9001);
    let res = app
        .put(
            "/v1/me/identity",
            Some(&s.access),
            &json!({"nik": unknown, "kk_number": kk(1), "date_of_birth": "1990-01-02"}),
        )
        .await;
    assert_problem(res, 422, "identity_mismatch").await;
    let known = nik(date("1990-01-02"), false, 1);
    let res = app
        .put(
            "/v1/me/identity",
            Some(&s.access),
            &json!({"nik": known, "kk_number": "3174050101090010", "date_of_birth": "1990-01-02"}),
        )
        .await;
    assert_problem(res, 422, "identity_mismatch").await;
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM identities").await,
        0
    );
}

#[tokio::test]
async fn a_nik_held_by_another_account_is_409_nik_registered() {
    let app = TestApp::spawn().await;
    let (_, first) = app.participant("first").await;
    let (_, second) = app.participant("second").await;
    let n = nik(date("1988-08-08"), false, 12);
    app.verify_identity(&first, &n, &kk(2), "1988-08-08").await;
    let res = app
        .put(
            "/v1/me/identity",
            Some(&second.access),
            &json!({"nik": n, "kk_number": kk(2), "date_of_birth": "1988-08-08"}),
        )
        .await;
    let body = assert_problem(res, 409, "nik_registered").await;
    assert!(body["detail"].as_str().unwrap().contains("recover"));
}

#[tokio::test]
async fn two_accounts_racing_for_one_nik_cannot_both_win() {
    let app = TestApp::spawn().await;
    let n = nik(date("1992-03-04"), false, 77);
    let mut sessions = Vec::new();
    for i in 0..6 {
        sessions.push(app.participant(&format!("racer{i}")).await.1);
    }
    let body = json!({"nik": n, "kk_number": kk(3), "date_of_birth": "1992-03-04"});
    let attempts = sessions
        .iter()
        .map(|s| app.put("/v1/me/identity", Some(&s.access), &body));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn personal_data_is_stored_encrypted() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("crypt").await;
    let n = nik(date("1993-06-15"), false, 4321);
    app.complete_registration(&s, &n, &kk(4), "1993-06-15", "+6281311112222")
        .await;
    let mut conn = app.db.conn().await;
    let plain = [
        n.as_str(),
        &kk(4),
        "1993-06-15",
        "PESERTA",
        "PERCOBAAN",
        "6281311112222",
        "JAKARTA",
    ];
    for needle in plain {
        let sql = format!(
            "SELECT count(*) AS n FROM identities i JOIN accounts a ON a.id = i.account_id \
             WHERE encode(i.nik_ciphertext || i.kk_ciphertext || i.birth_date_ciphertext || i.full_name_ciphertext \
                          || i.birth_place_ciphertext || i.address_ciphertext || i.nik_index || i.kk_index \
                          || a.phone_ciphertext || a.phone_index, 'escape') LIKE '%{needle}%'"
        );
        assert_eq!(
            count(&mut conn, &sql).await,
            0,
            "{needle} stored in plain text"
        );
    }
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM identities").await,
        1
    );
    let sql = "SELECT count(*) AS n FROM ktp_photos WHERE position('\\x89504e47'::bytea in ciphertext) > 0";
    assert_eq!(
        count(&mut conn, sql).await,
        0,
        "the KTP photo is stored encrypted"
    );
}

#[tokio::test]
async fn registry_failure_is_503_registry_unavailable_and_stores_nothing() {
    let registry = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&registry)
        .await;
    let app = TestApp::spawn_with(&[
        ("REGISTRY_URL", &registry.uri()),
        ("REGISTRY_TOKEN", "secret-token"),
    ])
    .await;
    let (_, s) = app.participant("down").await;
    let n = nik(date("1990-05-05"), false, 5);
    let res = app
        .put(
            "/v1/me/identity",
            Some(&s.access),
            &json!({"nik": n, "kk_number": kk(5), "date_of_birth": "1990-05-05"}),
        )
        .await;
    assert_problem(res, 503, "registry_unavailable").await;
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM identities").await,
        0
    );
}

#[tokio::test]
async fn slow_registry_answers_503_within_a_bounded_time() {
    // The bound is the client's timeout (INTEGRATION_TIMEOUT_MS), spent once: a
    // timed-out read is not retried (`expect(1)`, checked when the mock drops).
    let registry = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(10))
                .set_body_json(json!({"found": false})),
        )
        .expect(1)
        .mount(&registry)
        .await;
    let app =
        TestApp::spawn_with(&[("REGISTRY_URL", &registry.uri()), ("REGISTRY_TOKEN", "t")]).await;
    let (_, s) = app.participant("slow").await;
    let n = nik(date("1990-05-05"), false, 5);
    let res = app
        .put(
            "/v1/me/identity",
            Some(&s.access),
            &json!({"nik": n, "kk_number": kk(5), "date_of_birth": "1990-05-05"}),
        )
        .await;
    assert_problem(res, 503, "registry_unavailable").await;
}

#[tokio::test]
async fn registry_http_adapter_sends_the_documented_request() {
    let registry = MockServer::start().await;
    let n = nik(date("1990-05-05"), false, 5);
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/v1/nik/verify"))
        .and(wiremock::matchers::header("authorization", "Bearer reg-token"))
        .and(wiremock::matchers::body_json(json!({"nik": n, "kk_number": kk(5), "date_of_birth": "1990-05-05"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "found": true, "match": {"kk_number": true, "date_of_birth": true},
            "record": {"full_name": "SITI AMINAH", "gender": "F", "birth_place": "BANDUNG", "date_of_birth": "1990-05-05",
                       "address": "JL. MAWAR NO. 5", "province_code": "31", "regency_code": "3174", "kk_number": kk(5)}})))
        .expect(1)
        .mount(&registry)
        .await;
    let app = TestApp::spawn_with(&[
        ("REGISTRY_URL", &registry.uri()),
        ("REGISTRY_TOKEN", "reg-token"),
    ])
    .await;
    let (_, s) = app.participant("http").await;
    let body = app.verify_identity(&s, &n, &kk(5), "1990-05-05").await;
    assert_eq!(body["full_name"], "SITI AMINAH");
    assert_eq!(body["address"], "JL. MAWAR NO. 5");
}

#[tokio::test]
async fn profile_needs_identity_and_the_exact_ktp_address() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("profile").await;
    let n = nik(date("1994-02-03"), false, 33);
    let profile = |address: &str, occupation: &str| {
        json!({"address": address, "domicile_province_code": "31", "domicile_regency_code": "3174",
               "education_level": "s1", "in_formal_education": false, "occupation": occupation, "employment_status": "unemployed"})
    };
    let res = app
        .put(
            "/v1/me/profile",
            Some(&s.access),
            &profile(&ktp_address(&n), "farmer"),
        )
        .await;
    assert_problem(res, 409, "identity_required").await;
    app.verify_identity(&s, &n, &kk(6), "1994-02-03").await;
    for near_miss in [
        "JL. PERCOBAAN NO. 0033 RT 01/RW 02",
        "JL PERCOBAAN NO. 0033",
        "jl. percobaan no. 0033",
    ] {
        let res = app
            .put(
                "/v1/me/profile",
                Some(&s.access),
                &profile(near_miss, "farmer"),
            )
            .await;
        assert_problem(res, 422, "address_mismatch").await;
    }
    let res = app
        .put(
            "/v1/me/profile",
            Some(&s.access),
            &profile(&ktp_address(&n), "astronaut"),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "occupation");
    let res = app
        .put(
            "/v1/me/profile",
            Some(&s.access),
            &profile(&ktp_address(&n), "farmer"),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["occupation"], "farmer");
}

#[tokio::test]
async fn ktp_photo_is_recognised_by_content_and_limited_to_one_mebibyte() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("ktp").await;
    let put = |ct: &'static str, body: Vec<u8>| {
        app.send_bytes(
            reqwest::Method::PUT,
            "/v1/me/ktp-photo",
            &s.access,
            ct,
            body,
        )
    };
    assert_eq!(put("image/png", png(1024 * 1024)).await.status(), 204);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.resize(5000, 1);
    assert_eq!(put("image/jpeg", jpeg).await.status(), 204);
    assert_problem(
        put("image/png", png(1024 * 1024 + 1)).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_problem(
        put("image/png", b"GIF89a not a png at all".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        put("text/plain", png(500)).await,
        415,
        "unsupported_media_type",
    )
    .await;
    let me: Value = app
        .get("/v1/me", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert!(me["registration"]["completed_steps"]
        .as_array()
        .unwrap()
        .contains(&json!("ktp_photo")));
}

#[tokio::test]
async fn face_enrollment_needs_a_live_face() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("face").await;
    let res = app
        .send_bytes(
            reqwest::Method::POST,
            "/v1/me/face-enrollment",
            &s.access,
            "image/png",
            png(60),
        )
        .await;
    assert_problem(res, 422, "face_liveness_failed").await;
    let res = app
        .send_bytes(
            reqwest::Method::POST,
            "/v1/me/face-enrollment",
            &s.access,
            "image/png",
            png(5000),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "enrolled"})
    );
}

#[tokio::test]
async fn questionnaire_and_statement_are_validated() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("q").await;
    let res = app
        .put(
            "/v1/me/questionnaire",
            Some(&s.access),
            &json!({"motivation": "", "preferred_skills": []}),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let res = app
        .put(
            "/v1/me/questionnaire",
            Some(&s.access),
            &json!({"motivation": "Belajar", "preferred_skills": ["kuliner"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .put(
            "/v1/me/statement",
            Some(&s.access),
            &json!({"agreed": false}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .put(
            "/v1/me/statement",
            Some(&s.access),
            &json!({"agreed": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn aptitude_test_is_taken_once_with_every_question_answered() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("tkd").await;
    let test: Value = app
        .get("/v1/aptitude-test", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    let questions = test["questions"].as_array().unwrap();
    assert!(questions.len() >= 20);
    assert!(questions
        .iter()
        .all(|q| q.get("correct_option").is_none() && q["options"].as_array().unwrap().len() >= 2));
    let mut answers: Vec<Value> = questions
        .iter()
        .map(|q| json!({"question_id": q["id"], "option": q["options"][0]["id"]}))
        .collect();
    let last = answers.pop().unwrap();
    let res = app
        .post(
            "/v1/aptitude-test/submissions",
            Some(&s.access),
            &json!({"answers": answers}),
        )
        .await;
    assert_problem(res, 422, "answers_incomplete").await;
    answers.push(last);
    let res = app
        .post(
            "/v1/aptitude-test/submissions",
            Some(&s.access),
            &json!({"answers": answers}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let result: Value = res.json().await.unwrap();
    assert_eq!(result["total"], questions.len());
    assert!(result["score"].as_i64().unwrap() >= 0);
    let res = app
        .post(
            "/v1/aptitude-test/submissions",
            Some(&s.access),
            &json!({"answers": answers}),
        )
        .await;
    assert_problem(res, 409, "already_submitted").await;
}

#[tokio::test]
async fn a_completed_registration_shows_every_step_done() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("complete").await;
    let n = nik(date("1990-10-10"), false, 1010);
    app.complete_registration(&s, &n, &kk(7), "1990-10-10", "+6281355556666")
        .await;
    let me: Value = app
        .get("/v1/me", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["registration"]["complete"], true);
    assert_eq!(
        me["registration"]["completed_steps"],
        json!([
            "identity",
            "profile",
            "ktp_photo",
            "face",
            "questionnaire",
            "phone",
            "statement",
            "aptitude_test"
        ])
    );
    assert_eq!(me["registration"]["missing_steps"], json!([]));
    let res = app.get("/v1/me/eligibility", Some(&s.access)).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"eligible": true, "reasons": []})
    );
}

#[tokio::test]
async fn eligibility_lists_each_failing_rule() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("elig").await;
    let res: Value = app
        .get("/v1/me/eligibility", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        res,
        json!({"eligible": false, "reasons": ["identity_not_verified"]})
    );
    let n = nik(date("1990-10-10"), false, 20);
    app.verify_identity(&s, &n, &kk(8), "1990-10-10").await;
    let res = app
        .put(
            "/v1/me/profile",
            Some(&s.access),
            &json!({"address": ktp_address(&n), "domicile_province_code": "31", "domicile_regency_code": "3174",
                    "education_level": "s1", "in_formal_education": true, "occupation": "civil_servant",
                    "employment_status": "employed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res: Value = app
        .get("/v1/me/eligibility", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        res,
        json!({"eligible": false, "reasons": ["in_formal_education", "excluded_occupation"]})
    );
}

#[tokio::test]
async fn age_is_checked_on_the_jakarta_date_with_the_birthday_itself_counting() {
    let app = TestApp::spawn().await;
    let (_, s) = app.participant("age").await;
    let n = nik(date("2008-07-20"), false, 18);
    app.verify_identity(&s, &n, &kk(9), "2008-07-20").await;
    // 2026-07-19 23:59 WIB: still 17.
    app.set_clock(Utc.with_ymd_and_hms(2026, 7, 19, 16, 59, 0).unwrap())
        .await;
    let res: Value = app
        .get("/v1/me/eligibility", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["reasons"], json!(["age_out_of_range"]));
    // 2026-07-20 00:00 WIB (still the 19th in UTC): 18 today.
    app.set_clock(Utc.with_ymd_and_hms(2026, 7, 19, 17, 0, 0).unwrap())
        .await;
    let res: Value = app
        .get("/v1/me/eligibility", Some(&s.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["reasons"], json!([]));
}

#[tokio::test]
async fn password_reset_by_nik_or_phone_with_birth_date_sends_email_and_sms() {
    let app = TestApp::spawn().await;
    let (address, s) = app.participant("recover").await;
    let n = nik(date("1991-11-12"), true, 45);
    app.complete_registration(&s, &n, &kk(10), "1991-11-12", "+6281377778888")
        .await;
    let res = app
        .post(
            "/v1/auth/password-reset",
            None,
            &json!({"nik": n, "date_of_birth": "1991-11-13"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    assert!(
        app.inbox(&address)
            .await
            .iter()
            .all(|m| m["template"] != "password_reset"),
        "a wrong birth date matches nothing"
    );
    let res = app
        .post(
            "/v1/auth/password-reset",
            None,
            &json!({"nik": n, "date_of_birth": "1991-11-12"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    assert!(app.last_message_data(&address, "password_reset").await["token"].is_string());
    let sms = app
        .last_message_data("+6281377778888", "password_reset")
        .await;
    assert!(sms["masked_email"]
        .as_str()
        .unwrap()
        .contains("***@example.com"));
    let res = app
        .post(
            "/v1/auth/password-reset",
            None,
            &json!({"phone": "081377778888", "date_of_birth": "1991-11-12"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let resets = app
        .inbox(&address)
        .await
        .into_iter()
        .filter(|m| m["template"] == "password_reset")
        .count();
    assert_eq!(resets, 2);
}
