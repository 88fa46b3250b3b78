//! The error contract of every operation, kept in one place that both the
//! OpenAPI document and the running server read.
//!
//! Each domain's `routes.rs` holds a table, `OPERATIONS`, naming the error codes
//! its operations answer beyond the generic ones. [`apply`] turns those tables
//! plus what each operation's shape implies (a JSON body, a query, a path id, a
//! bearer token, an admin path, an `Idempotency-Key`) into the document's
//! problem responses: one per status, with the `code` values it can carry as an
//! enum, `X-Request-Id` on every response and `Retry-After` on 429 and 503. It
//! also fills in examples from the schemas where a handler gave none.
//!
//! [`guard`] checks every answer of the running server against the same
//! document: a status or `code` its operation does not declare is logged as an
//! error, and in debug builds recorded so the API tests fail on it
//! ([`take_violations`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

mod examples;
mod guard;
pub mod schema;
mod tidy;

pub use guard::{guard, take_violations, Declared};

use crate::error::ErrorCode;

/// What one operation answers beyond what its shape implies (see [`apply`]).
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The `operationId`.
    pub id: &'static str,
    /// Error codes the handler itself can answer.
    pub codes: &'static [ErrorCode],
    /// API.md: participant routes answer 403 `forbidden` to an admin token.
    pub participant_only: bool,
    /// Whether the operation reads or writes the database (503 `service_unavailable`).
    pub database: bool,
}

impl Operation {
    /// An operation that uses the database, open to any caller its security allows.
    pub const fn new(id: &'static str, codes: &'static [ErrorCode]) -> Self {
        Operation {
            id,
            codes,
            participant_only: false,
            database: true,
        }
    }

    /// Marks a participant-only route (403 `forbidden` for admins).
    pub const fn participant_only(mut self) -> Self {
        self.participant_only = true;
        self
    }

    /// Marks an operation that never touches the database.
    pub const fn without_database(mut self) -> Self {
        self.database = false;
        self
    }
}

/// The codes an operation can answer, by status, generic ones first.
pub fn codes_by_status(
    path: &str,
    operation: &Value,
    spec: &Operation,
) -> BTreeMap<u16, Vec<ErrorCode>> {
    use ErrorCode::*;
    let mut codes: Vec<ErrorCode> = Vec::new();
    let content = operation
        .pointer("/requestBody/content")
        .and_then(Value::as_object);
    if let Some(content) = content {
        // JsonBody: 415 wrong type, 413 too large, 400 malformed or unknown
        // field, 422 missing or invalid field. ImageBody: 415, 413, 400 empty.
        codes.extend([InvalidRequest, PayloadTooLarge, UnsupportedMediaType]);
        if content.contains_key("application/json") {
            codes.push(ValidationFailed);
        }
    }
    let parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let param = |location: &str, name: Option<&str>| {
        parameters
            .iter()
            .any(|p| p["in"] == location && name.is_none_or(|n| p["name"].as_str() == Some(n)))
    };
    if param("query", None) {
        // A value that does not parse as its type (QueryConfig's handler).
        codes.push(InvalidRequest);
    }
    if param("query", Some("limit")) || param("query", Some("cursor")) {
        codes.push(ValidationFailed);
    }
    if param("header", Some("Idempotency-Key")) {
        codes.extend([
            InvalidRequest,
            IdempotencyKeyReused,
            IdempotencyRequestInProgress,
        ]);
    }
    let bearer = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
    if bearer {
        codes.extend([Unauthenticated, AccessTokenExpired, SessionEnded]);
    }
    let partner = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("partner_signature").is_some()));
    if partner {
        // partners::SignedPartner: every refusal of the signature.
        codes.push(InvalidSignature);
    }
    if path.starts_with("/v1/admin/") || spec.participant_only {
        codes.push(Forbidden);
    }
    if param("path", None) {
        // An id that does not parse names no resource; one that parses may not exist.
        codes.push(NotFound);
    }
    codes.extend_from_slice(spec.codes);
    // Issue 14's per-IP limit covers every route (API.md: RATE_LIMIT_IP_PER_MINUTE).
    codes.push(RateLimited);
    if spec.database || bearer || partner {
        codes.push(ServiceUnavailable);
    }
    codes.push(InternalError);
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in codes {
        let list = by_status.entry(code.status().as_u16()).or_default();
        if !list.contains(&code) {
            list.push(code);
        }
    }
    by_status
}

/// The (METHOD, path) of every participant-only operation of `doc`, for
/// [`crate::auth::ParticipantRoutes`].
pub fn participant_routes(doc: &Value, tables: &[&[Operation]]) -> HashSet<(String, String)> {
    let participant_only: HashSet<&str> = tables
        .iter()
        .flat_map(|t| t.iter())
        .filter(|op| op.participant_only)
        .map(|op| op.id)
        .collect();
    let mut routes = HashSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let id = item
                .pointer(&format!("/{method}/operationId"))
                .and_then(Value::as_str);
            if id.is_some_and(|id| participant_only.contains(id)) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

pub(crate) const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn request_id_header() -> Value {
    json!({"$ref": "#/components/headers/X-Request-Id"})
}

fn retry_after_header() -> Value {
    json!({"$ref": "#/components/headers/Retry-After"})
}

/// The shared headers, under `components.headers`.
fn header_components() -> Value {
    json!({
        "X-Request-Id": {
        "description": "The request's id: the client's `X-Request-Id` when it sent a sane one (1-128 printable ASCII characters), else a new UUID. Quote it when reporting a problem.",
        "required": true,
        "schema": {"type": "string", "minLength": 1, "maxLength": 128}
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": true,
            "schema": {"type": "integer", "minimum": 1}
        }
    })
}

fn problem_example(code: ErrorCode) -> Value {
    let mut example = json!({
        "type": format!("urn:prakerja:problem:{}", code.as_str()),
        "title": code.title(),
        "status": code.status().as_u16(),
        "detail": format!("{}.", code.title()),
        "code": code.as_str(),
    });
    if matches!(
        code,
        ErrorCode::ValidationFailed | ErrorCode::InvalidRequest
    ) {
        example["detail"] = json!("Fix the fields listed in errors.");
        example["errors"] = json!([{"field": "email", "message": "is required"}]);
    }
    example
}

fn problem_response(codes: &[ErrorCode]) -> Value {
    let listed: Vec<String> = codes
        .iter()
        .map(|c| format!("`{}` ({})", c.as_str(), c.title()))
        .collect();
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let status = codes[0].status().as_u16();
    let mut headers = Map::new();
    headers.insert("X-Request-Id".into(), request_id_header());
    if status == 429 || status == 503 {
        headers.insert("Retry-After".into(), retry_after_header());
    }
    json!({
        "description": format!("Problem; `code` is one of: {}.", listed.join(", ")),
        "headers": headers,
        "content": {
            "application/problem+json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Problem"},
                        {"type": "object", "properties": {"code": {"type": "string", "enum": names}}}
                    ]
                },
                "example": problem_example(codes[0])
            }
        }
    })
}

/// Completes the document: problem responses per the tables, headers, examples.
///
/// Panics when an operation has no table entry or an entry names no operation:
/// the document is built at start-up and in the tests, so a forgotten entry is
/// found at once.
pub fn apply(doc: &mut Value, tables: &[&[Operation]]) {
    let specs: HashMap<&str, &Operation> = tables
        .iter()
        .flat_map(|t| t.iter())
        .map(|op| (op.id, op))
        .collect();
    let mut seen = Vec::new();
    doc["components"]["headers"] = header_components();
    let components = doc["components"].clone();
    let paths = doc["paths"]
        .as_object_mut()
        .expect("the document has paths");
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
                .to_owned();
            let spec = specs.get(id.as_str()).unwrap_or_else(|| {
                panic!("operation {id} ({method} {path}) is missing from the contract tables")
            });
            seen.push(id.clone());
            if operation.get("security").is_none() {
                // Public: say so, rather than leave it to a default.
                operation["security"] = json!([]);
            }
            let by_status = codes_by_status(path, operation, spec);
            let responses = operation["responses"]
                .as_object_mut()
                .expect("every operation has responses");
            for (status, codes) in &by_status {
                responses.insert(status.to_string(), problem_response(codes));
            }
            for (status, response) in responses.iter_mut() {
                let headers = response
                    .as_object_mut()
                    .expect("a response is an object")
                    .entry("headers")
                    .or_insert_with(|| json!({}));
                headers["X-Request-Id"] = request_id_header();
                if response["description"].as_str().is_none_or(str::is_empty) {
                    response["description"] = json!(match status.as_str() {
                        "201" => "Created.",
                        "202" => "Accepted.",
                        "204" => "Done; no body.",
                        _ => "OK.",
                    });
                }
                if status.starts_with('2') {
                    examples::fill_examples(response.get_mut("content"), &components);
                }
            }
            examples::fill_examples(operation.pointer_mut("/requestBody/content"), &components);
            if spec.participant_only {
                let description = operation
                    .as_object_mut()
                    .expect("an operation is an object")
                    .entry("description")
                    .or_insert_with(|| json!(""));
                let text = description.as_str().unwrap_or_default().to_owned();
                let note = "Participant route: an admin token answers 403 `forbidden`.";
                *description = json!(if text.is_empty() {
                    note.to_owned()
                } else {
                    format!("{text}\n\n{note}")
                });
            }
        }
    }
    for id in specs.keys() {
        assert!(
            seen.iter().any(|s| s == id),
            "the contract tables name {id}, which is no operation"
        );
    }
    tidy::prune_unused_schemas(doc);
    tidy::require_nullable_response_fields(doc);
}
