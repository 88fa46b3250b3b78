//! Foundation: health, readiness, errors, request ids, sandbox clock.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};

#[tokio::test]
async fn health_and_ready_answer_ok() {
    let app = TestApp::spawn().await;
    let res = app.get("/health", None).await;
    assert_eq!(res.status(), 200);
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ready"}));
}

#[tokio::test]
async fn unknown_route_is_404_problem_and_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    assert_problem(app.get("/v1/nothing-here", None).await, 404, "not_found").await;
    let res = app.post("/health", None, &json!({})).await;
    assert_eq!(res.headers().get("allow").unwrap(), "GET");
    assert_problem(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/health")).header("X-Request-Id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");
    let res = app.get("/health", None).await;
    let generated = res.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    let res = app.get("/v1/missing", None).await;
    assert!(res.headers().get("x-request-id").is_some(), "errors carry the id too");
}
