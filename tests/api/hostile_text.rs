//! Hostile text (issue 14 item 6), over every operation of the document that
//! takes a JSON body: a string holding U+0000 (which PostgreSQL cannot store)
//! in any field, and a control character in a name or address field (those
//! the document gives the single-line pattern), answer 400 `invalid_request`
//! naming the field, from the right caller (partner routes signed, admin routes
//! with an admin token, the rest with a participant's), never a 5xx.

use reqwest::Method;
use serde_json::Value;

use crate::{
    helpers::TestApp,
    incentives::callback,
    spending::{partner_with_capabilities, Partner},
};

/// The document's single-line pattern (`http::text::SINGLE_LINE_PATTERN`).
const SINGLE_LINE: &str = prakerja_api::http::text::SINGLE_LINE_PATTERN;

/// Every string leaf of `value`, as (JSON pointer, dotted field name).
fn string_leaves(value: &Value, pointer: String, field: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(_) => out.push((pointer, field)),
        Value::Object(map) => {
            for (k, v) in map {
                let f = if field.is_empty() {
                    k.clone()
                } else {
                    format!("{field}.{k}")
                };
                string_leaves(v, format!("{pointer}/{k}"), f, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                string_leaves(v, format!("{pointer}/{i}"), format!("{field}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The top-level properties of a body schema that carry the single-line pattern.
fn single_line_fields(doc: &Value, schema: &Value) -> Vec<String> {
    let resolved = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(&r.replace("#/", "/"))
            .cloned()
            .unwrap_or(Value::Null),
        None => schema.clone(),
    };
    resolved["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, p)| p["pattern"] == SINGLE_LINE)
        .map(|(name, _)| name.clone())
        .collect()
}

struct Callers {
    participant: String,
    admin: String,
    partner: Partner,
}

async fn send(
    app: &TestApp,
    callers: &Callers,
    method: &str,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    if path == "/v1/webhooks/disbursements" {
        use secrecy::ExposeSecret;
        let secret = app.state.settings.payout_webhook_secret.expose_secret();
        return callback(app, body, secret, chrono::Utc::now().timestamp()).await;
    }
    if path.starts_with("/v1/partner/") {
        let bytes = serde_json::to_vec(body).unwrap();
        return app
            .partner_raw(
                &callers.partner,
                method,
                path,
                "application/json",
                bytes,
                None,
            )
            .await;
    }
    let token = if path.starts_with("/v1/admin/") {
        &callers.admin
    } else {
        &callers.participant
    };
    app.send(method, path, Some(token), body).await
}

/// The 400 `invalid_request` problem, or a failure naming the operation.
async fn refused(res: reqwest::Response, method: &str, path: &str) -> Value {
    let status = res.status().as_u16();
    let problem: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_request")),
        "{method} {path}: {problem}"
    );
    problem
}

/// A concrete path for a templated one: ids are random UUIDs, other
/// parameters a plain word.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        if name == "id" || name.ends_with("_id") {
            out.push_str(&uuid::Uuid::new_v4().to_string());
        } else {
            out.push_str("ext-1");
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_text_field_of_every_body_refuses_nul_and_names_refuse_control_characters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, participant) = app.participant("hostile").await;
    let callers = Callers {
        participant: participant.access.clone(),
        // Both capabilities, so the course and the vacancy routes read the body
        // (a missing capability is refused before it, 403).
        partner: partner_with_capabilities(&app, &admin, &["training", "jobs"]).await,
        admin: admin.access.clone(),
    };
    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let mut checked = 0;
    let mut names = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(json) = op.pointer("/requestBody/content/application~1json") else {
                continue;
            };
            let example = json["example"].clone();
            let target = concrete(path);
            let mut leaves = Vec::new();
            string_leaves(&example, String::new(), String::new(), &mut leaves);
            for (pointer, field) in leaves {
                let mut body = example.clone();
                *body.pointer_mut(&pointer).unwrap() = Value::from("a\u{0}b");
                let res = send(&app, &callers, method, &target, &body).await;
                let problem = refused(res, method, path).await;
                assert_eq!(
                    problem["errors"][0]["field"],
                    field.as_str(),
                    "{method} {path}: {problem}"
                );
                checked += 1;
            }
            for field in single_line_fields(&doc, &json["schema"]) {
                for hostile in [
                    "Gelombang\n71",
                    "tab\there",
                    "\u{1b}[31mmerah",
                    "next\u{85}line",
                ] {
                    let mut body = example.clone();
                    body[field.as_str()] = Value::from(hostile);
                    let res = send(&app, &callers, method, &target, &body).await;
                    let problem = refused(res, method, path).await;
                    assert_eq!(
                        problem["errors"][0]["field"],
                        field.as_str(),
                        "{method} {path}"
                    );
                }
                names.push(format!("{method} {path} {field}"));
            }
        }
    }
    assert!(checked > 60, "string fields checked: {checked}");
    // The names and addresses of issue 14: waves, platforms, courses, the KTP address.
    for expected in [
        "post /v1/admin/batches name",
        "patch /v1/admin/batches/{id} name",
        "post /v1/admin/partners name",
        "put /v1/partner/courses/{external_id} title",
        "put /v1/partner/courses/{external_id} institution",
        "put /v1/partner/courses/{external_id} location",
        "put /v1/me/profile address",
        "put /v1/partner/jobs/{external_id} title",
        "put /v1/partner/jobs/{external_id} company",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}
