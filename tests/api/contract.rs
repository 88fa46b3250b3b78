//! The server changes the OpenAPI contract brought (issue 15): what a client
//! built from the document may send is what the server accepts.

use serde_json::{json, Value};

use crate::helpers::{assert_problem_contract, TestApp};

#[tokio::test]
async fn a_string_with_nul_is_400_naming_the_field_in_bodies_and_query_filters() {
    let app = TestApp::spawn().await;
    let (_, session) = app.participant("nul").await;
    let res = app
        .put(
            "/v1/me/questionnaire",
            Some(&session.access),
            &json!({"motivation": "Ingin bekerja", "preferred_skills": ["menjahit", "a\u{0}b"]}),
        )
        .await;
    let body = assert_problem_contract(res, 400, "invalid_request").await;
    assert_eq!(body["errors"][0]["field"], "preferred_skills[1]", "{body}");

    let admin = app.admin().await;
    let res = app
        .get("/v1/admin/audit-events?action=a%00b", Some(&admin.access))
        .await;
    assert_problem_contract(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_number_without_a_fraction_is_the_integer_it_equals() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post(
            "/v1/admin/batches",
            Some(&admin.access),
            &json!({"name": "Gelombang 3.0", "opens_at": "2030-01-01T00:00:00+07:00",
                    "closes_at": "2030-01-15T00:00:00+07:00", "quota": 10.0}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let wave: Value = res.json().await.unwrap();
    assert_eq!(wave["quota"], 10);
}

#[tokio::test]
async fn cursors_have_the_documented_form_and_nothing_looser_is_accepted() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..3 {
        let res = app
            .post(
                "/v1/admin/batches",
                Some(&admin.access),
                &json!({"name": format!("Gelombang {i}"), "opens_at": "2030-01-01T00:00:00+07:00",
                        "closes_at": "2030-01-15T00:00:00+07:00", "quota": 10}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let page: Value = app
        .get("/v1/batches?limit=2", None)
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (micros, id) = cursor.split_once('_').unwrap();
    assert!(
        micros.bytes().all(|b| b.is_ascii_digit()) && id.len() == 32,
        "{cursor}"
    );
    let next: Value = app
        .get(&format!("/v1/batches?limit=2&cursor={cursor}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["data"].as_array().unwrap().len(), 1);
    // Empty is the first page; the same position in capitals is no cursor.
    let res = app.get("/v1/batches?cursor=", None).await;
    assert_eq!(res.status(), 200);
    let res = app
        .get(
            &format!("/v1/batches?cursor={}", cursor.to_uppercase()),
            None,
        )
        .await;
    assert_problem_contract(res, 422, "validation_failed").await;
}
