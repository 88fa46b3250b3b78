//! Job information (DOMAIN.md §11; API.md Help and jobs): partner capabilities,
//! the job board's vacancy upsert, the public search and vacancy page on the
//! service clock, the participant's recommendations, and the yearly data check.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fixtures::{ktp_address, Session},
    helpers::{assert_problem, TestApp},
    partners::{course_body, Partner},
    spending::{beneficiary, buy, complete, course, pass_face, redeem, wib},
};

// ---------------------------------------------------------------- fixtures

/// A partner made by `admin` with these `capabilities` (None: the default).
async fn partner_with(app: &TestApp, admin: &Session, capabilities: Option<Value>) -> Partner {
    let mut body = json!({"name": "Karier Nusantara"});
    if let Some(c) = capabilities {
        body["capabilities"] = c;
    }
    let res = app
        .post("/v1/admin/partners", Some(&admin.access), &body)
        .await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    Partner {
        id: body["partner_id"].as_str().unwrap().to_owned(),
        secret: body["secret"].as_str().unwrap().to_owned(),
    }
}

/// A job board (a partner with the `jobs` capability only).
async fn job_board(app: &TestApp) -> Partner {
    let admin = app.admin().await;
    partner_with(app, &admin, Some(json!(["jobs"]))).await
}

/// A valid vacancy body, closing on `closes_on`.
fn vacancy(title: &str, closes_on: &str) -> Value {
    json!({
        "title": title,
        "company": "PT Busana Nusantara",
        "description": "Menjahit pakaian jadi di lini produksi.",
        "requirements": "Pengalaman minimal satu tahun.",
        "province_code": "31",
        "regency_code": "3174",
        "employment_type": "full_time",
        "skills": ["menjahit"],
        "apply_url": "https://karir.example.id/lowongan/1",
        "closes_on": closes_on,
    })
}

/// `vacancy(title, closes_on)` with `fields` replaced.
fn vacancy_with(title: &str, closes_on: &str, fields: Value) -> Value {
    let mut body = vacancy(title, closes_on);
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn put_job(app: &TestApp, p: &Partner, external_id: &str, body: &Value) -> reqwest::Response {
    let path = format!("/v1/partner/jobs/{external_id}");
    app.signed(p, Method::PUT, &path, Some(body)).await
}

/// Publishes a vacancy; panics unless it is accepted. Returns the view.
async fn publish(app: &TestApp, p: &Partner, external_id: &str, body: &Value) -> Value {
    let res = put_job(app, p, external_id, body).await;
    assert!(
        res.status() == 200 || res.status() == 201,
        "{:?}",
        res.text().await
    );
    res.json().await.unwrap()
}

async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/v1/jobs?{query}"), None).await;
    assert_eq!(res.status(), 200, "{query}");
    let page: Value = res.json().await.unwrap();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn me(app: &TestApp, session: &Session) -> Value {
    let res = app.get("/v1/me", Some(&session.access)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

// ---------------------------------------------------------------- capabilities

#[tokio::test]
async fn partners_are_training_platforms_unless_the_admin_names_capabilities() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post(
            "/v1/admin/partners",
            Some(&admin.access),
            &json!({"name": "Kelas Pintar"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["capabilities"], json!(["training"]));
    let res = app
        .post(
            "/v1/admin/partners",
            Some(&admin.access),
            &json!({"name": "Karier dan Kelas", "capabilities": ["jobs", "training"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let both: Value = res.json().await.unwrap();
    assert_eq!(both["capabilities"], json!(["training", "jobs"]));
    let view: Value = app
        .get(
            &format!(
                "/v1/admin/partners/{}",
                both["partner_id"].as_str().unwrap()
            ),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["capabilities"], json!(["training", "jobs"]));
    // Absent means the default; null is not a list.
    let res = app
        .post(
            "/v1/admin/partners",
            Some(&admin.access),
            &json!({"name": "X", "capabilities": null}),
        )
        .await;
    let problem = assert_problem(res, 400, "invalid_request").await;
    assert_eq!(problem["errors"][0]["field"], "capabilities");
    for bad in [json!([]), json!(["banking"]), json!(["jobs", "jobs"])] {
        let res = app
            .post(
                "/v1/admin/partners",
                Some(&admin.access),
                &json!({"name": "X", "capabilities": bad}),
            )
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "capabilities", "{bad}");
    }
}

#[tokio::test]
async fn only_a_jobs_partner_upserts_vacancies_and_only_a_training_partner_courses() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let training = partner_with(&app, &admin, None).await;
    let jobs = partner_with(&app, &admin, Some(json!(["jobs"]))).await;
    let both = partner_with(&app, &admin, Some(json!(["training", "jobs"]))).await;
    let body = vacancy("Penjahit Garmen", "2099-01-31");
    let res = put_job(&app, &training, "PJ-1", &body).await;
    let problem = assert_problem(res, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("jobs"));
    let course = course_body("Pemasaran Digital");
    let res = app
        .signed(
            &jobs,
            Method::PUT,
            "/v1/partner/courses/UMKM-1",
            Some(&course),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // The capability is checked before the body: a job board learns nothing
    // about the course rules.
    let res = app
        .signed(
            &jobs,
            Method::PUT,
            "/v1/partner/courses/UMKM-1",
            Some(&json!({})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(put_job(&app, &jobs, "PJ-1", &body).await.status(), 201);
    assert_eq!(put_job(&app, &both, "PJ-1", &body).await.status(), 201);
    let res = app
        .signed(
            &both,
            Method::PUT,
            "/v1/partner/courses/UMKM-1",
            Some(&course),
        )
        .await;
    assert_eq!(res.status(), 201);
}

// ---------------------------------------------------------------- upsert

#[tokio::test]
async fn a_vacancy_is_created_then_replaced_and_belongs_to_its_job_board() {
    let app = TestApp::spawn().await;
    let board = job_board(&app).await;
    let other = job_board(&app).await;
    let res = put_job(
        &app,
        &board,
        "PJ-2027-01",
        &vacancy("Penjahit", "2099-01-31"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["external_id"], "PJ-2027-01");
    assert_eq!(created["partner_id"], board.id.as_str());
    assert_eq!(created["open"], true);
    assert_eq!(created["skills"], json!(["menjahit"]));
    let replaced = vacancy_with(
        "Penjahit Senior",
        "2099-02-28",
        json!({"skills": ["  menjahit ", "pola busana"], "employment_type": "contract"}),
    );
    let res = put_job(&app, &board, "PJ-2027-01", &replaced).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["id"], created["id"]);
    assert_eq!(view["title"], "Penjahit Senior");
    assert_eq!(view["employment_type"], "contract");
    assert_eq!(view["skills"], json!(["menjahit", "pola busana"]));
    assert_eq!(view["closes_on"], "2099-02-28");
    assert_eq!(view["created_at"], created["created_at"]);
    // Another board's same external id is another vacancy.
    let res = put_job(&app, &other, "PJ-2027-01", &vacancy("Kasir", "2099-01-31")).await;
    assert_eq!(res.status(), 201);
    let theirs: Value = res.json().await.unwrap();
    assert_ne!(theirs["id"], created["id"]);
    let mine: Value = app
        .get(
            &format!("/v1/jobs/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["title"], "Penjahit Senior");
}

#[tokio::test]
async fn an_invalid_vacancy_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let board = job_board(&app).await;
    let long_skill = "x".repeat(101);
    let many: Vec<String> = (0..21).map(|i| format!("skill {i}")).collect();
    let cases = [
        (json!({"regency_code": "3273"}), "regency_code"),
        (json!({"regency_code": "31a4"}), "regency_code"),
        (json!({"province_code": "3"}), "province_code"),
        (json!({"employment_type": "volunteer"}), "employment_type"),
        (
            json!({"apply_url": "http://karir.example.id/1"}),
            "apply_url",
        ),
        (json!({"apply_url": "https://"}), "apply_url"),
        (json!({"apply_url": "karir.example.id"}), "apply_url"),
        (
            json!({"apply_url": "HTTPS://karir.example.id/1"}),
            "apply_url",
        ),
        (json!({"closes_on": "1999-12-31"}), "closes_on"),
        (json!({"closes_on": "2100-01-01"}), "closes_on"),
        (json!({"skills": []}), "skills"),
        (json!({"skills": many}), "skills"),
        (json!({"skills": [long_skill]}), "skills"),
        (json!({"skills": ["   "]}), "skills"),
        (json!({"skills": ["menjahit\nmemasak"]}), "skills"),
        (json!({"title": "PJ"}), "title"),
        (json!({"company": ""}), "company"),
        (json!({"requirements": ""}), "requirements"),
    ];
    for (fields, field) in cases {
        let body = vacancy_with("Penjahit", "2099-01-31", fields.clone());
        let res = put_job(&app, &board, "PJ-1", &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{fields}");
    }
    let mut missing = vacancy("Penjahit", "2099-01-31");
    missing.as_object_mut().unwrap().remove("closes_on");
    let problem = assert_problem(
        put_job(&app, &board, "PJ-1", &missing).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "closes_on");
    let unknown = vacancy_with("Penjahit", "2099-01-31", json!({"salary": 5000000}));
    assert_problem(
        put_job(&app, &board, "PJ-1", &unknown).await,
        400,
        "invalid_request",
    )
    .await;
    let problem = assert_problem(
        put_job(&app, &board, "PJ%201", &vacancy("Penjahit", "2099-01-31")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "external_id");
    // Unsigned: 401.
    let res = app
        .put(
            "/v1/partner/jobs/PJ-1",
            None,
            &vacancy("Penjahit", "2099-01-31"),
        )
        .await;
    assert_problem(res, 401, "invalid_signature").await;
    assert!(titles(&app, "").await.is_empty(), "nothing was stored");
}

// ---------------------------------------------------------------- search

#[tokio::test]
async fn a_vacancy_is_listed_through_its_closing_day_on_the_service_clock() {
    let app = TestApp::spawn().await;
    let board = job_board(&app).await;
    app.set_clock(wib("2027-01-31T08:00:00")).await;
    let view = publish(&app, &board, "PJ-1", &vacancy("Penjahit", "2027-01-31")).await;
    let id = view["id"].as_str().unwrap().to_owned();
    assert_eq!(view["open"], true);
    // The last minute of the closing day (Asia/Jakarta) is still open.
    app.set_clock(wib("2027-01-31T23:59:59")).await;
    assert_eq!(titles(&app, "").await, ["Penjahit"]);
    assert_eq!(titles(&app, "q=penjahit").await, ["Penjahit"]);
    // 17:00 UTC is midnight in Jakarta: closed.
    app.set_clock(wib("2027-02-01T00:00:00")).await;
    assert!(titles(&app, "").await.is_empty());
    assert!(titles(&app, "q=penjahit").await.is_empty());
    // Its page still answers, marked closed.
    let res = app.get(&format!("/v1/jobs/{id}"), None).await;
    assert_eq!(res.status(), 200);
    let closed: Value = res.json().await.unwrap();
    assert_eq!(closed["open"], false);
    assert_eq!(closed["closes_on"], "2027-01-31");
    // The board reopens it by moving the date.
    let reopened = publish(&app, &board, "PJ-1", &vacancy("Penjahit", "2027-02-28")).await;
    assert_eq!(reopened["open"], true);
    assert_eq!(titles(&app, "").await, ["Penjahit"]);
    let res = app
        .get("/v1/jobs/5b0f0c7e-2d7c-4a59-8f7e-6c3b7f1e9a21", None)
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get("/v1/jobs/not-an-id", None).await;
    assert_problem(res, 404, "not_found").await;
}

async fn job_list(app: &TestApp) {
    let board = job_board(app).await;
    let jobs = [
        (
            "jahit",
            vacancy_with(
                "Penjahit Garmen",
                "2099-03-01",
                json!({"skills": ["Menjahit", "Pola Busana"]}),
            ),
        ),
        (
            "kopi",
            vacancy_with(
                "Barista Kafe",
                "2099-01-15",
                json!({"company": "Café Nusantara", "province_code": "32", "regency_code": "3273",
                       "employment_type": "part_time", "skills": ["meracik kopi"]}),
            ),
        ),
        (
            "desain",
            vacancy_with(
                "Desainer Grafis",
                "2099-02-01",
                json!({"employment_type": "freelance", "regency_code": "3171",
                       "skills": ["desain grafis"], "description": "Membuat materi pemasaran digital."}),
            ),
        ),
        (
            "admin",
            vacancy_with(
                "Staf Administrasi",
                "2099-01-20",
                json!({"employment_type": "contract", "skills": ["administrasi", "excel"]}),
            ),
        ),
    ];
    for (id, body) in jobs {
        publish(app, &board, id, &body).await;
    }
}

#[tokio::test]
async fn search_matches_keywords_and_filters_by_place_and_employment_type() {
    let app = TestApp::spawn().await;
    job_list(&app).await;
    // Without q: the soonest closing first.
    assert_eq!(
        titles(&app, "").await,
        [
            "Barista Kafe",
            "Staf Administrasi",
            "Desainer Grafis",
            "Penjahit Garmen"
        ]
    );
    // Word prefixes, in any field; the title ranks first.
    assert_eq!(titles(&app, "q=penja").await, ["Penjahit Garmen"]);
    assert_eq!(titles(&app, "q=pola%20busana").await, ["Penjahit Garmen"]);
    assert_eq!(titles(&app, "q=pemasaran").await, ["Desainer Grafis"]);
    assert_eq!(
        titles(&app, "q=desain").await,
        ["Desainer Grafis"],
        "title and skill"
    );
    // Accents ignored; the company counts; typos in the title still find it.
    assert_eq!(titles(&app, "q=cafe").await, ["Barista Kafe"]);
    assert_eq!(titles(&app, "q=caf%C3%A9").await, ["Barista Kafe"]);
    assert_eq!(
        titles(&app, "q=desainr%20grafis").await,
        ["Desainer Grafis"]
    );
    assert!(titles(&app, "q=astronomi").await.is_empty());
    // Place and employment type.
    assert_eq!(titles(&app, "province_code=32").await, ["Barista Kafe"]);
    assert_eq!(titles(&app, "regency_code=3171").await, ["Desainer Grafis"]);
    assert_eq!(
        titles(&app, "province_code=31&employment_type=contract").await,
        ["Staf Administrasi"]
    );
    assert!(titles(&app, "province_code=32&regency_code=3174")
        .await
        .is_empty());
    assert_eq!(
        titles(&app, "q=barista&employment_type=part_time").await,
        ["Barista Kafe"]
    );
    assert!(titles(&app, "q=barista&employment_type=full_time")
        .await
        .is_empty());
    // Refusals: a bad place code names the parameter; an unknown type is 400.
    for (query, field) in [
        ("province_code=3", "province_code"),
        ("regency_code=317", "regency_code"),
        ("limit=0", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let res = app.get(&format!("/v1/jobs?{query}"), None).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], field);
    }
    let q = "x".repeat(201);
    let res = app.get(&format!("/v1/jobs?q={q}"), None).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app.get("/v1/jobs?employment_type=volunteer", None).await;
    assert_problem(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn pages_follow_the_cursor_without_repeats_or_gaps() {
    let app = TestApp::spawn().await;
    job_list(&app).await;
    for query in ["", "q=pt%20busana"] {
        let all = titles(&app, query).await;
        assert!(all.len() >= 3, "{query}: {all:?}");
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let res = app
                .get(
                    &format!("/v1/jobs?{query}{sep}limit=1&cursor={cursor}"),
                    None,
                )
                .await;
            assert_eq!(res.status(), 200);
            let page: Value = res.json().await.unwrap();
            for v in page["data"].as_array().unwrap() {
                seen.push(v["title"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, all, "{query}");
    }
}

// ---------------------------------------------------------------- recommendations

async fn recommendations(app: &TestApp, session: &Session) -> Value {
    let res = app
        .get("/v1/me/job-recommendations", Some(&session.access))
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    res.json().await.unwrap()
}

#[tokio::test]
async fn recommendations_rank_by_skills_completed_training_and_province_and_say_why() {
    let app = TestApp::spawn().await;
    // A beneficiary living in province 31 who prefers "menjahit" and completes a
    // training of category "bisnis" (the spending fixtures' course).
    let b = beneficiary(&app).await;
    let admin = app.admin().await;
    let trainer = partner_with(&app, &admin, None).await;
    let c = course(
        &app,
        &trainer,
        "self_paced",
        600_000,
        wib("2026-07-10T08:00:00"),
    )
    .await;
    let receipt = buy(&app, &trainer, &b, &c).await;
    let purchase = receipt["id"].as_str().unwrap();
    // Before completion, the training's category does not count.
    let board = job_board(&app).await;
    let only_business = vacancy_with("Asisten Usaha", "2026-08-31", json!({"skills": ["Bisnis"]}));
    publish(&app, &board, "usaha", &only_business).await;
    assert_eq!(recommendations(&app, &b.session).await["data"], json!([]));
    app.set_clock(wib("2026-07-10T09:00:00")).await;
    pass_face(&app, &b, purchase).await;
    assert_eq!(
        redeem(&app, &trainer, receipt["redeem_code"].as_str().unwrap())
            .await
            .status(),
        200
    );
    app.set_clock(wib("2026-07-15T12:00:00")).await;
    assert_eq!(
        complete(&app, &trainer, purchase, wib("2026-07-15T10:00:00"))
            .await
            .status(),
        200
    );
    let jobs = [
        // skill + province: 3 + 4 = 7
        (
            "a",
            vacancy_with(
                "Penjahit Jakarta",
                "2026-08-31",
                json!({"skills": ["Menjahit", "Obras"]}),
            ),
        ),
        // skill + category, elsewhere: 3 + 2 = 5
        (
            "b",
            vacancy_with(
                "Penjahit Bandung",
                "2026-08-31",
                json!({"skills": ["menjahit", "BISNIS"], "province_code": "32", "regency_code": "3273"}),
            ),
        ),
        // nothing matching, nearby: not recommended
        (
            "d",
            vacancy_with("Juru Masak", "2026-08-31", json!({"skills": ["memasak"]})),
        ),
        // matching but closed yesterday: not recommended
        (
            "e",
            vacancy_with(
                "Penjahit Lama",
                "2026-07-14",
                json!({"skills": ["menjahit"]}),
            ),
        ),
        // the same score as "a", closing sooner: first among equals
        (
            "f",
            vacancy_with(
                "Penjahit Kilat",
                "2026-07-15",
                json!({"skills": ["menjáhit"]}),
            ),
        ),
    ];
    for (id, body) in &jobs {
        publish(&app, &board, id, body).await;
    }
    let list = recommendations(&app, &b.session).await;
    assert_eq!(list["next_cursor"], Value::Null);
    let data = list["data"].as_array().unwrap();
    let ranked: Vec<(&str, i64)> = data
        .iter()
        .map(|r| {
            (
                r["job"]["title"].as_str().unwrap(),
                r["score"].as_i64().unwrap(),
            )
        })
        .collect();
    // "Asisten Usaha": category + province: 2 + 4 = 6.
    assert_eq!(
        ranked,
        [
            ("Penjahit Kilat", 7),
            ("Penjahit Jakarta", 7),
            ("Asisten Usaha", 6),
            ("Penjahit Bandung", 5)
        ]
    );
    assert_eq!(
        data[1]["reasons"],
        json!([
            {"kind": "matching_skills", "skills": ["Menjahit"]},
            {"kind": "same_province", "province_code": "31"}
        ])
    );
    assert_eq!(
        data[0]["reasons"][0],
        json!({"kind": "matching_skills", "skills": ["menjáhit"]}),
        "accents and case are ignored"
    );
    assert_eq!(
        data[3]["reasons"],
        json!([
            {"kind": "matching_skills", "skills": ["menjahit"]},
            {"kind": "training_category", "categories": ["bisnis"]}
        ])
    );
    assert_eq!(
        data[2]["reasons"],
        json!([
            {"kind": "training_category", "categories": ["bisnis"]},
            {"kind": "same_province", "province_code": "31"}
        ])
    );
    assert_eq!(data[1]["job"]["open"], true);
    // New preferred skills change the list at once.
    let res = app
        .put(
            "/v1/me/questionnaire",
            Some(&b.session.access),
            &json!({"motivation": "Ingin bekerja", "preferred_skills": ["Memasak"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let titles: Vec<String> = recommendations(&app, &b.session).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job"]["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        titles,
        ["Juru Masak", "Asisten Usaha", "Penjahit Bandung"],
        "7 (skill, province), 6 (category, province), 2 (category)"
    );
}

#[tokio::test]
async fn recommendations_are_at_most_twenty_and_for_participants_only() {
    let app = TestApp::spawn().await;
    let (_, fresh) = app.participant("jobs").await;
    // No questionnaire, no training: nothing to match.
    assert_eq!(recommendations(&app, &fresh).await["data"], json!([]));
    let res = app
        .put(
            "/v1/me/questionnaire",
            Some(&fresh.access),
            &json!({"motivation": "Ingin bekerja", "preferred_skills": ["menjahit"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let board = job_board(&app).await;
    for i in 0..25 {
        let body = vacancy(
            &format!("Penjahit {i:02}"),
            &format!("2099-01-{:02}", i + 1),
        );
        publish(&app, &board, &format!("pj-{i}"), &body).await;
    }
    let data = recommendations(&app, &fresh).await["data"].clone();
    let data = data.as_array().unwrap();
    assert_eq!(data.len(), 20);
    // No profile: no province preference, so the soonest closing first.
    assert_eq!(data[0]["job"]["title"], "Penjahit 00");
    assert_eq!(data[19]["job"]["title"], "Penjahit 19");
    assert!(data.iter().all(|r| r["score"] == 3));
    let res = app.get("/v1/me/job-recommendations", None).await;
    assert_problem(res, 401, "unauthenticated").await;
    let admin = app.admin().await;
    let res = app
        .get("/v1/me/job-recommendations", Some(&admin.access))
        .await;
    assert_problem(res, 403, "forbidden").await;
}

// ---------------------------------------------------------------- yearly data check

#[tokio::test]
async fn data_review_is_due_from_the_next_jakarta_year_until_confirmed() {
    let app = TestApp::spawn().await;
    // Registered in the last hour of 2026, Jakarta time (16:xx UTC).
    app.set_clock(wib("2026-12-31T23:00:00")).await;
    let b = crate::fixtures::registered(&app, "review", 601, 601, "1991-03-14").await;
    assert_eq!(me(&app, &b).await["data_review_due"], false);
    // 17:00 UTC: the new year in Jakarta.
    app.set_clock(wib("2027-01-01T00:00:00")).await;
    assert_eq!(me(&app, &b).await["data_review_due"], true);
    let res = app
        .post(
            "/v1/me/data-review",
            Some(&b.access),
            &json!({"confirmed": false}),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "confirmed");
    assert_eq!(me(&app, &b).await["data_review_due"], true);
    let res = app
        .post(
            "/v1/me/data-review",
            Some(&b.access),
            &json!({"confirmed": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(
        done,
        json!({"data_review_due": false, "data_confirmed_on": "2027-01-01"})
    );
    assert_eq!(me(&app, &b).await["data_review_due"], false);
    // The whole year; then due again.
    app.set_clock(wib("2027-12-31T23:59:00")).await;
    assert_eq!(me(&app, &b).await["data_review_due"], false);
    app.set_clock(wib("2028-01-01T00:00:00")).await;
    assert_eq!(me(&app, &b).await["data_review_due"], true);
    // An updated profile is a confirmation too.
    let nik = crate::fixtures::nik("1991-03-14".parse().unwrap(), false, 601);
    let res = app
        .put(
            "/v1/me/profile",
            Some(&b.access),
            &json!({"address": ktp_address(&nik), "domicile_province_code": "32", "domicile_regency_code": "3273",
                    "education_level": "smk", "in_formal_education": false, "occupation": "laborer",
                    "employment_status": "employed"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    assert_eq!(me(&app, &b).await["data_review_due"], false);
}

#[tokio::test]
async fn data_review_needs_a_profile_and_a_participant() {
    let app = TestApp::spawn().await;
    app.set_clock(wib("2026-06-01T10:00:00")).await;
    let (_, session) = app.participant("noprofile").await;
    let admin = app.admin().await;
    app.set_clock(wib("2027-03-01T10:00:00")).await;
    assert_eq!(me(&app, &session).await["data_review_due"], true);
    let res = app
        .post(
            "/v1/me/data-review",
            Some(&session.access),
            &json!({"confirmed": true}),
        )
        .await;
    assert_problem(res, 409, "registration_incomplete").await;
    assert_eq!(me(&app, &session).await["data_review_due"], true);
    // Admins have no personal data to review.
    assert_eq!(me(&app, &admin).await["data_review_due"], false);
    let res = app
        .post(
            "/v1/me/data-review",
            Some(&admin.access),
            &json!({"confirmed": true}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post("/v1/me/data-review", None, &json!({"confirmed": true}))
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .post("/v1/me/data-review", Some(&session.access), &json!({}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
}
