//! Waves, applications and selection (DOMAIN.md §2–§3, API.md Waves).

use std::collections::HashSet;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::{
    fixtures::{registered, Session},
    helpers::{assert_problem, count, TestApp},
};

/// A wave open now and closing in a day, and the time just after it closes.
async fn open_wave(app: &TestApp, admin: &Session, quota: i32) -> (String, chrono::DateTime<Utc>) {
    let now = Utc::now();
    let closes = now + Duration::days(1);
    (
        app.create_wave(admin, quota, now - Duration::hours(1), closes)
            .await,
        closes + Duration::minutes(1),
    )
}

#[tokio::test]
async fn admin_creates_a_wave_with_the_default_scheme_and_edits_it_only_before_it_opens() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let now = Utc::now();
    let upcoming = app
        .create_wave(
            &admin,
            100,
            now + Duration::days(1),
            now + Duration::days(8),
        )
        .await;
    let res = app
        .get(
            &format!("/v1/admin/batches/{upcoming}"),
            Some(&admin.access),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "upcoming");
    assert_eq!(
        body["scheme"],
        json!({"training_idr": 1000000, "incentive_monthly_idr": 600000, "incentive_months": 4, "survey_incentive_idr": 50000, "survey_count": 3})
    );
    assert_eq!(body["seed"], Value::Null);
    let res = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/admin/batches/{upcoming}"),
            Some(&admin.access),
            &json!({"quota": 250, "province_codes": ["31"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["quota"].clone(), body["province_codes"].clone()),
        (json!(250), json!(["31"]))
    );
    let (open, _) = open_wave(&app, &admin, 10).await;
    let res = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/admin/batches/{open}"),
            Some(&admin.access),
            &json!({"quota": 5}),
        )
        .await;
    assert_problem(res, 409, "batch_not_upcoming").await;
    let res = app
        .post(
            "/v1/admin/batches",
            Some(&admin.access),
            &json!({"name": "X", "opens_at": now.to_rfc3339(), "closes_at": (now - Duration::hours(1)).to_rfc3339(), "quota": 1}),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "closes_at");
    let list: Value = app.get("/v1/batches", None).await.json().await.unwrap();
    let statuses: HashSet<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, HashSet::from(["upcoming", "open"]));
}

#[tokio::test]
async fn joining_checks_registration_eligibility_window_and_region() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, _) = open_wave(&app, &admin, 10).await;
    let (_, newcomer) = app.participant("new").await;
    assert_problem(
        app.apply(&newcomer, &wave).await,
        409,
        "registration_incomplete",
    )
    .await;

    let student = registered(&app, "student", 1, 1, "1995-01-01").await;
    let res = app
        .put(
            "/v1/me/profile",
            Some(&student.access),
            &json!({"address": "JL. PERCOBAAN NO. 0001", "domicile_province_code": "31", "domicile_regency_code": "3174",
                    "education_level": "sma", "in_formal_education": true, "occupation": "unemployed", "employment_status": "unemployed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = assert_problem(app.apply(&student, &wave).await, 403, "not_eligible").await;
    assert_eq!(body["reasons"], json!(["in_formal_education"]));

    let person = registered(&app, "person", 2, 2, "1995-01-01").await;
    let now = Utc::now();
    let later = app
        .create_wave(&admin, 10, now + Duration::days(2), now + Duration::days(3))
        .await;
    assert_problem(app.apply(&person, &later).await, 409, "batch_closed").await;
    let west_java = app
        .create_wave(
            &admin,
            10,
            now - Duration::hours(1),
            now + Duration::days(3),
        )
        .await;
    let res = app
        .post(
            "/v1/admin/batches",
            Some(&admin.access),
            &json!({"name": "Jabar", "opens_at": (now - Duration::hours(1)).to_rfc3339(), "closes_at": (now + Duration::days(1)).to_rfc3339(),
                    "quota": 5, "province_codes": ["32"]}),
        )
        .await;
    let jabar = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        app.apply(&person, &jabar).await,
        403,
        "batch_region_mismatch",
    )
    .await;

    let res = app.apply(&person, &wave).await;
    assert_eq!(res.status(), 201);
    let application: Value = res.json().await.unwrap();
    assert_eq!(application["status"], "pending");
    assert_problem(app.apply(&person, &wave).await, 409, "already_applied").await;
    // One pending application at a time, across waves.
    assert_problem(app.apply(&person, &west_java).await, 409, "already_applied").await;
    let mine: Value = app
        .get("/v1/me/applications", Some(&person.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    assert_eq!(mine["data"][0]["batch_id"], wave.as_str());
}

#[tokio::test]
async fn ten_concurrent_joins_create_exactly_one_application() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, _) = open_wave(&app, &admin, 10).await;
    let person = registered(&app, "racer", 3, 3, "1990-02-02").await;
    let attempts = (0..10).map(|_| app.apply(&person, &wave));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM applications").await,
        1
    );
}

#[tokio::test]
async fn face_cannot_be_re_enrolled_after_joining_a_wave() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, _) = open_wave(&app, &admin, 10).await;
    let person = registered(&app, "locked", 4, 4, "1990-02-02").await;
    assert_eq!(app.apply(&person, &wave).await.status(), 201);
    let res = app
        .send_bytes(
            reqwest::Method::POST,
            "/v1/me/face-enrollment",
            &person.access,
            "image/png",
            crate::fixtures::png(4000),
        )
        .await;
    assert_problem(res, 409, "registration_locked").await;
}

#[tokio::test]
async fn selection_runs_once_after_closing_within_the_quota_and_issues_credited_cards() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 2).await;
    let mut people = Vec::new();
    for i in 0..4u16 {
        let p = registered(&app, &format!("p{i}"), 10 + i, 100 + i, "1990-03-03").await;
        assert_eq!(app.apply(&p, &wave).await.status(), 201);
        people.push(p);
    }
    assert_problem(
        app.get("/v1/me/card", Some(&people[0].access)).await,
        404,
        "card_not_found",
    )
    .await;
    assert_problem(app.select(&admin, &wave).await, 409, "batch_not_closed").await;
    app.set_clock(after_close).await;
    let res = app.select(&admin, &wave).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"selected": 2, "not_selected": 2})
    );
    assert_problem(app.select(&admin, &wave).await, 409, "selection_done").await;
    let view: Value = app
        .get(&format!("/v1/admin/batches/{wave}"), Some(&admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            view["status"].as_str(),
            view["applied"].as_i64(),
            view["selected"].as_i64(),
            view["not_selected"].as_i64()
        ),
        (Some("selected"), Some(4), Some(2), Some(2))
    );
    assert_eq!(view["seed"].as_str().unwrap().len(), 64);

    let selection_date = prakerja_api::clock::jakarta_date(after_close);
    let mut winners = 0;
    let mut credit_entries = HashSet::new();
    for p in &people {
        let res = app.get("/v1/me/card", Some(&p.access)).await;
        let apps: Value = app
            .get("/v1/me/applications", Some(&p.access))
            .await
            .json()
            .await
            .unwrap();
        if res.status() == 200 {
            winners += 1;
            let card: Value = res.json().await.unwrap();
            let number = card["card_number"].as_str().unwrap();
            assert_eq!(number.len(), 16);
            assert!(prakerja_api::batches::rules::luhn_valid(number));
            assert_eq!(card["status"], "active");
            assert_eq!(card["balance_idr"], 1_000_000);
            assert_eq!(
                card["purchase_deadline"],
                (selection_date + Duration::days(15)).to_string()
            );
            assert_eq!(apps["data"][0]["status"], "selected");
            let me: Value = app
                .get("/v1/me", Some(&p.access))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(me["beneficiary"]["card_status"], "active");
            assert_eq!(me["beneficiary"]["balance_idr"], 1_000_000);
            assert_eq!(me["beneficiary"]["batch_id"], wave.as_str());
            let email: String = me["email"].as_str().unwrap().to_owned();
            let data = app.last_message_data(&email, "beneficiary_selected").await;
            assert_eq!(data["card_number"], number);
            assert_eq!(data["purchase_deadline"], card["purchase_deadline"]);
            let txs: Value = app
                .get("/v1/me/card/transactions", Some(&p.access))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(txs["data"].as_array().unwrap().len(), 1);
            assert_eq!(txs["data"][0]["kind"], "credit");
            assert_eq!(txs["data"][0]["amount_idr"], 1_000_000);
            assert_eq!(txs["data"][0]["balance_after_idr"], 1_000_000);
            // The wave's first (and here only) part of its credits.
            assert_eq!(txs["data"][0]["reference"], format!("selection:{wave}:1"));
            credit_entries.insert(txs["data"][0]["id"].as_str().unwrap().to_owned());
        } else {
            assert_problem(res, 404, "card_not_found").await;
            assert_eq!(apps["data"][0]["status"], "not_selected");
        }
    }
    assert_eq!(winners, 2);
    assert_eq!(
        credit_entries.len(),
        1,
        "the winners' credits are one entry with a leg per card and one from the budget"
    );
    let mut conn = app.db.conn().await;
    let budget_legs = format!(
        "SELECT count(*) AS n FROM ledger_postings p JOIN journal_entries e ON e.id = p.entry_id \
         WHERE e.kind = 'credit' AND p.account_id = '{}' AND p.amount_idr = -2000000",
        prakerja_api::card::ledger::PROGRAMME_FUNDING
    );
    assert_eq!(count(&mut conn, &budget_legs).await, 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_lottery_order_is_reproducible_from_the_published_seed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 3).await;
    let mut applications = Vec::new();
    for i in 0..7u16 {
        let p = registered(&app, &format!("l{i}"), 20 + i, 200 + i, "1989-04-04").await;
        let res = app.apply(&p, &wave).await;
        applications.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap(),
        );
    }
    app.set_clock(after_close).await;
    assert_eq!(app.select(&admin, &wave).await.status(), 200);
    let view: Value = app
        .get(&format!("/v1/admin/batches/{wave}"), Some(&admin.access))
        .await
        .json()
        .await
        .unwrap();
    let seed = hex::decode(view["seed"].as_str().unwrap()).unwrap();
    // Anyone with the seed and the application ids recomputes the winners.
    let mut ranked = applications.clone();
    ranked.sort_by_key(|id| prakerja_api::batches::rules::lottery_key(&seed, *id));
    let expected: HashSet<uuid::Uuid> = ranked[..3].iter().copied().collect();
    let mut conn = app.db.conn().await;
    for id in &applications {
        let selected = count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM applications WHERE id = '{id}' AND status = 'selected'"
            ),
        )
        .await;
        assert_eq!(selected == 1, expected.contains(id), "application {id}");
    }
}

#[tokio::test]
async fn at_most_two_of_a_family_card_are_ever_selected_across_waves() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let family = 77;
    let a = registered(&app, "fam-a", family, 1, "1990-01-01").await;
    let b = registered(&app, "fam-b", family, 2, "1991-01-01").await;
    let c = registered(&app, "fam-c", family, 3, "1992-01-01").await;
    let now = Utc::now();
    let wave1 = app
        .create_wave(
            &admin,
            10,
            now - Duration::hours(1),
            now + Duration::days(1),
        )
        .await;
    let wave2 = app
        .create_wave(
            &admin,
            10,
            now - Duration::hours(1),
            now + Duration::days(2),
        )
        .await;
    assert_eq!(app.apply(&a, &wave1).await.status(), 201);
    assert_eq!(app.apply(&b, &wave1).await.status(), 201);
    // C joins the second wave before the first is selected, so only selection can stop C.
    assert_eq!(app.apply(&c, &wave2).await.status(), 201);
    app.set_clock(now + Duration::days(1) + Duration::minutes(1))
        .await;
    let res = app.select(&admin, &wave1).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"selected": 2, "not_selected": 0})
    );
    let res: Value = app
        .get("/v1/me/eligibility", Some(&c.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["reasons"], json!(["kk_limit_reached"]));
    app.set_clock(now + Duration::days(2) + Duration::minutes(1))
        .await;
    let res = app.select(&admin, &wave2).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"selected": 0, "not_selected": 1})
    );
    assert_problem(
        app.get("/v1/me/card", Some(&c.access)).await,
        404,
        "card_not_found",
    )
    .await;
    let mut conn = app.db.conn().await;
    let reason = count(
        &mut conn,
        "SELECT count(*) AS n FROM applications WHERE decision_reason = 'kk_limit_reached'",
    )
    .await;
    assert_eq!(reason, 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn three_family_members_in_one_wave_yield_at_most_two_beneficiaries() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 10).await;
    for i in 0..3u16 {
        let p = registered(&app, &format!("same{i}"), 88, 10 + i, "1990-05-05").await;
        assert_eq!(app.apply(&p, &wave).await.status(), 201);
    }
    app.set_clock(after_close).await;
    let res = app.select(&admin, &wave).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"selected": 2, "not_selected": 1})
    );
}

#[tokio::test]
async fn a_beneficiary_cannot_join_again_and_a_loser_may_join_a_later_wave() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 1).await;
    let a = registered(&app, "w-a", 31, 1, "1990-06-06").await;
    let b = registered(&app, "w-b", 32, 2, "1990-06-06").await;
    app.apply(&a, &wave).await;
    app.apply(&b, &wave).await;
    app.set_clock(after_close).await;
    app.select(&admin, &wave).await;
    let next = app
        .create_wave(&admin, 5, after_close, after_close + Duration::days(3))
        .await;
    let (winner, loser) = if app.get("/v1/me/card", Some(&a.access)).await.status() == 200 {
        (a, b)
    } else {
        (b, a)
    };
    assert_problem(app.apply(&winner, &next).await, 409, "already_beneficiary").await;
    assert_eq!(app.apply(&loser, &next).await.status(), 201);
}

#[tokio::test]
async fn selection_honours_idempotency_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 1).await;
    let p = registered(&app, "idem", 41, 1, "1990-06-06").await;
    app.apply(&p, &wave).await;
    app.set_clock(after_close).await;
    let send = || {
        app.client
            .post(app.url(&format!("/v1/admin/batches/{wave}/selection")))
            .bearer_auth(&admin.access)
            .header("Idempotency-Key", "select-once")
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first_body = first.text().await.unwrap();
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.text().await.unwrap(), first_body);
}

#[tokio::test]
async fn a_crash_after_the_selection_commits_is_replayed_on_retry_never_run_again() {
    // The test hook fails the handler right after the run's transaction
    // commits, as a process killed before it could answer would.
    let app = TestApp::spawn_with(&[("TEST_FAULT_AFTER_COMMIT", "selection")]).await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 1).await;
    let p = registered(&app, "crash", 42, 1, "1990-06-06").await;
    app.apply(&p, &wave).await;
    app.set_clock(after_close).await;
    let send = || {
        app.client
            .post(app.url(&format!("/v1/admin/batches/{wave}/selection")))
            .bearer_auth(&admin.access)
            .header("Idempotency-Key", "select-crash")
            .send()
    };
    let crashed = send().await.unwrap();
    assert_eq!(crashed.status(), 500, "the client never saw the answer");
    let retry = send().await.unwrap();
    assert_eq!(
        retry.status(),
        200,
        "the retry replays, it does not run again"
    );
    assert_eq!(retry.headers().get("idempotent-replayed").unwrap(), "true");
    let body: Value = retry.json().await.unwrap();
    assert_eq!(body, json!({"selected": 1, "not_selected": 0}));
    let mut conn = app.db.conn().await;
    for (sql, want) in [
        (
            "SELECT count(*) AS n FROM audit_events WHERE action = 'selection_run'",
            1,
        ),
        ("SELECT count(*) AS n FROM cards", 1),
        (
            "SELECT count(*) AS n FROM journal_entries WHERE kind = 'credit'",
            1,
        ),
    ] {
        assert_eq!(count(&mut conn, sql).await, want, "{sql}");
    }
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_verified_phone_can_be_changed_by_a_beneficiary_of_this_year() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (wave, after_close) = open_wave(&app, &admin, 1).await;
    let p = registered(&app, "phone-b", 51, 1, "1990-06-06").await;
    app.apply(&p, &wave).await;
    app.set_clock(after_close).await;
    app.select(&admin, &wave).await;
    let res = app
        .put(
            "/v1/me/phone",
            Some(&p.access),
            &json!({"phone": "+6281299990000"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    // A year later the same participant is no longer a beneficiary "this year".
    app.set_clock(
        Utc.with_ymd_and_hms(
            after_close.format("%Y").to_string().parse::<i32>().unwrap() + 1,
            6,
            1,
            0,
            0,
            0,
        )
        .unwrap(),
    )
    .await;
    let res = app
        .put(
            "/v1/me/phone",
            Some(&p.access),
            &json!({"phone": "+6281299990001"}),
        )
        .await;
    assert_problem(res, 403, "phone_change_not_allowed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_racing_selection_is_decided_or_refused_never_left_pending() {
    // Issue 14 item 7: selection locks the wave and reads its applicants; an
    // application checked as "open" just before that must not slip in after
    // the read and stay pending for ever (the one-pending rule would then
    // keep its owner out of every later wave).
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let person = registered(&app, "late", 4, 4, "1991-03-03").await;
    let (batch, _) = open_wave(&app, &admin, 10).await;
    // A selection's transaction holds the wave's row, as `run` does before it
    // reads the applicants, and finishes while the application is in flight.
    let mut selection = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query("BEGIN"), &mut selection)
        .await
        .unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "SELECT 1 FROM batches WHERE id = '{batch}' FOR UPDATE"
        )),
        &mut selection,
    )
    .await
    .unwrap();
    let application = {
        let app = &app;
        let (person, batch) = (person.clone(), batch.clone());
        async move { app.apply(&person, &batch).await }
    };
    let finish_selection = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "UPDATE batches SET selection_state = 'done', seed = '\\x00'::bytea, selected_at = now() WHERE id = '{batch}'"
            )),
            &mut selection,
        )
        .await
        .unwrap();
        diesel_async::RunQueryDsl::execute(diesel::sql_query("COMMIT"), &mut selection)
            .await
            .unwrap();
    };
    let (res, ()) = tokio::join!(application, finish_selection);
    assert_problem(res, 409, "batch_closed").await;
    let pending = count(
        &mut app.db.conn().await,
        &format!("SELECT count(*) AS n FROM applications WHERE batch_id = '{batch}'"),
    )
    .await;
    assert_eq!(pending, 0, "nothing was written after the wave was decided");
    // The person is free to join the next wave.
    let (next, _) = open_wave(&app, &admin, 10).await;
    assert_eq!(app.apply(&person, &next).await.status(), 201);
}
