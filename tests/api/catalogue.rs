//! The catalogue: partners' courses (API.md `PUT /v1/partner/courses`), the
//! public search `GET /v1/courses` with its filters, sorts and pages, and a
//! course's page with its recent reviews.

use diesel_async::SimpleAsyncConnection;
use serde_json::{json, Value};

use crate::{
    fixtures::{kk, nik},
    helpers::{assert_problem, TestApp},
    partners::{course_body, Partner},
};

/// Publishes a course of `partner` with these fields over the default body.
async fn publish(app: &TestApp, partner: &Partner, external_id: &str, fields: Value) -> Value {
    let mut body = course_body("Kursus");
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.course(partner, external_id, &body).await
}

async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/v1/courses?{query}"), None).await;
    assert_eq!(res.status(), 200, "{query}");
    let page: Value = res.json().await.unwrap();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Sets a course's cached rating as the review transaction would leave it.
async fn rate(app: &TestApp, id: &str, count: i32, sum: i64) {
    let mut conn = app.db.conn().await;
    conn.batch_execute(&format!(
        "UPDATE courses SET rating_count = {count}, rating_sum = {sum} WHERE id = '{id}'"
    ))
    .await
    .unwrap();
}

async fn catalogue(app: &TestApp) -> Vec<Value> {
    let partner = app.partner().await;
    let courses = [
        (
            "web",
            json!({"title": "Pemrograman Web dengan JavaScript", "category": "Teknologi", "price_idr": 500000, "duration_hours": 10, "level": "beginner"}),
        ),
        (
            "umkm",
            json!({"title": "Pemasaran Digital untuk UMKM", "category": "Pemasaran", "delivery": "self_paced", "price_idr": 300000, "duration_hours": 8}),
        ),
        (
            "kopi",
            json!({"title": "Barista Kopi Profesional", "category": "Kuliner", "delivery": "offline", "location": "Bandung", "institution": "Café Belajar", "price_idr": 900000, "duration_hours": 20, "level": "intermediate"}),
        ),
        (
            "jahit",
            json!({"title": "Menjahit Busana Muslim", "category": "Fesyen", "delivery": "offline", "location": "Solo", "price_idr": 800000, "duration_hours": 30, "description": "Pola dasar, potong kain, dan pemasaran digital hasil jahitan."}),
        ),
        (
            "iklan",
            json!({"title": "Digital Marketing Lanjutan: Iklan Berbayar", "category": "Pemasaran", "price_idr": 1200000, "duration_hours": 16, "level": "advanced"}),
        ),
    ];
    let mut out = Vec::new();
    for (id, fields) in courses {
        out.push(publish(app, &partner, id, fields).await);
    }
    out
}

#[tokio::test]
async fn keywords_match_word_prefixes_without_accents_and_titles_with_typos() {
    let app = TestApp::spawn().await;
    catalogue(&app).await;
    // Every keyword must match; the title outranks the description.
    assert_eq!(
        titles(&app, "q=pemasaran%20digital").await,
        [
            "Pemasaran Digital untuk UMKM",
            "Digital Marketing Lanjutan: Iklan Berbayar",
            "Menjahit Busana Muslim"
        ]
    );
    // A prefix is enough, case does not matter.
    assert_eq!(
        titles(&app, "q=PROGRAM").await,
        Vec::<String>::new(),
        "only word starts match"
    );
    assert_eq!(
        titles(&app, "q=pemrog").await,
        ["Pemrograman Web dengan JavaScript"]
    );
    // Accents are ignored both ways.
    assert_eq!(titles(&app, "q=cafe").await, ["Barista Kopi Profesional"]);
    assert_eq!(
        titles(&app, "q=caf%C3%A9").await,
        ["Barista Kopi Profesional"]
    );
    // A typo in the title still finds it.
    assert_eq!(
        titles(&app, "q=pemograman").await,
        ["Pemrograman Web dengan JavaScript"]
    );
    assert_eq!(
        titles(&app, "q=barista%20kopy").await,
        ["Barista Kopi Profesional"]
    );
    // Nothing like it: nothing.
    assert!(titles(&app, "q=astronomi").await.is_empty());
    // tsquery syntax in q is just punctuation.
    assert_eq!(
        titles(&app, "q=kopi%20%26%20!(teh)%3A*").await,
        Vec::<String>::new()
    );
    assert_eq!(
        titles(&app, "q=kopi%20%26").await,
        ["Barista Kopi Profesional"]
    );
}

#[tokio::test]
async fn every_filter_of_api_md_narrows_the_list() {
    let app = TestApp::spawn().await;
    let courses = catalogue(&app).await;
    rate(&app, courses[0]["id"].as_str().unwrap(), 2, 9).await; // 4.5
    rate(&app, courses[2]["id"].as_str().unwrap(), 3, 11).await; // 3.67
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(titles(&app, "delivery=offline").await),
        ["Barista Kopi Profesional", "Menjahit Busana Muslim"]
    );
    assert_eq!(
        titles(
            &app,
            "min_price_idr=500000&max_price_idr=800000&sort=price_asc"
        )
        .await,
        [
            "Pemrograman Web dengan JavaScript",
            "Menjahit Busana Muslim"
        ]
    );
    assert_eq!(
        titles(&app, "level=advanced").await,
        ["Digital Marketing Lanjutan: Iklan Berbayar"]
    );
    assert_eq!(
        sorted(titles(&app, "max_duration_hours=10").await),
        [
            "Pemasaran Digital untuk UMKM",
            "Pemrograman Web dengan JavaScript"
        ]
    );
    assert_eq!(
        titles(&app, "min_rating=4").await,
        ["Pemrograman Web dengan JavaScript"]
    );
    assert_eq!(
        titles(&app, "min_rating=3.6&sort=rating").await,
        [
            "Pemrograman Web dengan JavaScript",
            "Barista Kopi Profesional"
        ]
    );
    assert_eq!(titles(&app, "min_rating=4.6").await, Vec::<String>::new());
    assert_eq!(
        titles(&app, "q=pemasaran&delivery=webinar").await,
        ["Digital Marketing Lanjutan: Iklan Berbayar"]
    );
    // The cached rating is in every item.
    let res = app.get("/v1/courses?min_rating=4", None).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["data"][0]["rating_average"], 4.5);
    assert_eq!(page["data"][0]["rating_count"], 2);
}

#[tokio::test]
async fn every_sort_pages_through_all_courses_once() {
    let app = TestApp::spawn().await;
    catalogue(&app).await;
    for sort in [
        "starts_at",
        "price_asc",
        "price_desc",
        "rating",
        "relevance",
    ] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        for _ in 0..10 {
            let res = app
                .get(
                    &format!("/v1/courses?sort={sort}&limit=2&cursor={cursor}"),
                    None,
                )
                .await;
            assert_eq!(res.status(), 200);
            let page: Value = res.json().await.unwrap();
            for c in page["data"].as_array().unwrap() {
                seen.push(c["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (5, 5), "{sort}");
    }
    assert_eq!(
        titles(&app, "sort=price_desc&limit=2").await,
        [
            "Digital Marketing Lanjutan: Iklan Berbayar",
            "Barista Kopi Profesional"
        ]
    );
    // Relevance pages too (a keyword matching three courses, one per page).
    let res = app.get("/v1/courses?q=digital&limit=1", None).await;
    let page: Value = res.json().await.unwrap();
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let res = app
        .get(
            &format!("/v1/courses?q=digital&limit=1&cursor={next}"),
            None,
        )
        .await;
    let second: Value = res.json().await.unwrap();
    assert_ne!(page["data"][0]["id"], second["data"][0]["id"]);
}

#[tokio::test]
async fn bad_filters_answer_problems_naming_them() {
    let app = TestApp::spawn().await;
    for (query, status, code) in [
        ("min_price_idr=-1", 422, "validation_failed"),
        ("min_price_idr=10&max_price_idr=5", 422, "validation_failed"),
        ("min_rating=6", 422, "validation_failed"),
        ("max_duration_hours=0", 422, "validation_failed"),
        ("delivery=hybrid", 400, "invalid_request"),
        ("level=expert", 400, "invalid_request"),
        ("sort=random", 400, "invalid_request"),
        ("min_price_idr=abc", 400, "invalid_request"),
        ("limit=0", 422, "validation_failed"),
        ("cursor=nope", 422, "validation_failed"),
    ] {
        let res = app.get(&format!("/v1/courses?{query}"), None).await;
        assert_problem(res, status, code).await;
    }
    let long = "a".repeat(201);
    let res = app.get(&format!("/v1/courses?q={long}"), None).await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "q");
}

#[tokio::test]
async fn a_course_page_shows_recent_reviews_with_masked_reviewers() {
    let app = TestApp::spawn().await;
    let partner = app.partner().await;
    let course = publish(
        &app,
        &partner,
        "umkm",
        json!({"title": "Pemasaran Digital"}),
    )
    .await;
    let id = course["id"].as_str().unwrap();
    let res = app.get(&format!("/v1/courses/{id}"), None).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["title"], "Pemasaran Digital");
    assert_eq!(page["recent_reviews"], json!([]));
    // Twelve reviewers with verified identities (the sandbox registry names
    // them PESERTA <last 6 digits of the NIK>).
    let mut accounts = Vec::new();
    for i in 0..12u16 {
        let (email, session) = app.participant(&format!("r{i}")).await;
        let birth = chrono::NaiveDate::from_ymd_opt(1995, 4, 17).unwrap();
        app.verify_identity(&session, &nik(birth, false, 100 + i), &kk(i), "1995-04-17")
            .await;
        accounts.push((email, session.account_id));
    }
    // Reviews are written by the purchase domain; here straight into the table
    // (triggers off, so no purchase rows are needed to test the read side).
    let mut conn = app.db.conn().await;
    let mut sql = String::from("SET session_replication_role = replica;");
    for (i, (_, account)) in accounts.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO course_reviews VALUES (gen_random_uuid(), '{id}', '{account}', {}, 'Ulasan {i}', now() - interval '{i} hours');",
            1 + i % 5
        ));
    }
    sql.push_str(&format!(
        "UPDATE courses SET rating_count = 12, rating_sum = 34 WHERE id = '{id}';"
    ));
    conn.batch_execute(&sql).await.unwrap();
    let res = app.get(&format!("/v1/courses/{id}"), None).await;
    let page: Value = res.json().await.unwrap();
    let reviews = page["recent_reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 10, "the ten most recent");
    assert_eq!(reviews[0]["comment"], "Ulasan 0");
    assert_eq!(reviews[9]["comment"], "Ulasan 9");
    assert_eq!(reviews[0]["rating"], 1);
    // `PESERTA 950100` → "Peserta 9.": first name and initial, nothing more.
    assert_eq!(reviews[0]["reviewer"], "Peserta 9.");
    let text = page.to_string();
    for (email, account) in &accounts {
        assert!(!text.contains(email.as_str()) && !text.contains(account.as_str()));
    }
    assert!(!text.contains("PESERTA"), "never the full name");
    assert_eq!(page["rating_count"], 12);
    assert_eq!(page["rating_average"], 2.83);
    // Unknown ids are 404.
    let res = app
        .get(&format!("/v1/courses/{}", uuid::Uuid::new_v4()), None)
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get("/v1/courses/not-a-uuid", None).await;
    assert_problem(res, 404, "not_found").await;
}
