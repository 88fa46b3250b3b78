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

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use serde_json::{json, Map, Value};

pub mod schema;

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
    if spec.database || bearer {
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

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

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
                    fill_examples(response.get_mut("content"), &components);
                }
            }
            fill_examples(operation.pointer_mut("/requestBody/content"), &components);
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
    prune_unused_schemas(doc);
    require_nullable_response_fields(doc);
}

/// Marks every nullable property of a response schema as required: the views
/// serialize `None` as `null`, never leave the field out, so a client may rely
/// on the key being there. A field that is left out instead
/// (`skip_serializing_if`) must not be nullable (`#[schema(nullable = false)]`).
/// Schemas that request bodies use as well are left alone.
fn require_nullable_response_fields(doc: &mut Value) {
    fn collect(value: &Value, schemas: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    if !out.iter().any(|n| n == name) {
                        out.push(name.to_owned());
                        collect(&schemas[name], schemas, out);
                    }
                }
                map.values().for_each(|v| collect(v, schemas, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, schemas, out)),
            _ => {}
        }
    }
    fn nullable(schema: &Value) -> bool {
        let null = json!("null");
        schema["type"].as_array().is_some_and(|t| t.contains(&null))
            || ["oneOf", "anyOf"].iter().any(|k| {
                schema[*k]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|s| s["type"] == null))
            })
    }
    fn require(schema: &mut Value) {
        for key in ["allOf", "oneOf", "anyOf"] {
            if let Some(parts) = schema.get_mut(key).and_then(Value::as_array_mut) {
                parts.iter_mut().for_each(require);
            }
        }
        if let Some(items) = schema.get_mut("items") {
            require(items);
        }
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let mut names: Vec<String> = props
            .iter()
            .filter(|(_, p)| nullable(p))
            .map(|(n, _)| n.clone())
            .collect();
        let mut nested: Vec<String> = props.keys().cloned().collect();
        if !names.is_empty() {
            let required = schema
                .as_object_mut()
                .expect("a schema with properties is an object")
                .entry("required")
                .or_insert_with(|| json!([]));
            if let Some(list) = required.as_array_mut() {
                names.retain(|n| !list.contains(&json!(n)));
                list.extend(names.into_iter().map(Value::String));
            }
        }
        for name in nested.drain(..) {
            require(&mut schema["properties"][&name]);
        }
    }
    let schemas = doc["components"]["schemas"].clone();
    let (mut requests, mut responses) = (Vec::new(), Vec::new());
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, i)| i)
    {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            collect(&op["requestBody"], &schemas, &mut requests);
            collect(&op["parameters"], &schemas, &mut requests);
            collect(&op["responses"], &schemas, &mut responses);
        }
    }
    responses.retain(|n| !requests.contains(n));
    for name in &responses {
        require(&mut doc["components"]["schemas"][name]);
    }
    // Schemas written inline in a response (generic pages, say).
    for (_, item) in doc["paths"].as_object_mut().into_iter().flatten() {
        for method in METHODS {
            let Some(responses) = item
                .get_mut(method)
                .and_then(|op| op.get_mut("responses"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                if status.starts_with('2') {
                    if let Some(content) =
                        response.get_mut("content").and_then(Value::as_object_mut)
                    {
                        for (_, media) in content.iter_mut() {
                            if let Some(schema) = media.get_mut("schema") {
                                require(schema);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Drops component schemas nothing refers to (utoipa inlines the item type of
/// a generic `Page<T>`, leaving `T` itself unused).
fn prune_unused_schemas(doc: &mut Value) {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    if let Some(name) = r.strip_prefix("#/components/schemas/") {
                        out.push(name.to_owned());
                    }
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut used = Vec::new();
    refs(&doc["paths"], &mut used);
    let schemas = doc["components"]["schemas"].clone();
    let mut i = 0;
    while i < used.len() {
        let mut more = Vec::new();
        refs(&schemas[&used[i]], &mut more);
        for name in more {
            if !used.contains(&name) {
                used.push(name);
            }
        }
        i += 1;
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.retain(|name, _| used.contains(name));
    }
}

/// Gives each JSON content without an example one built from its schema.
fn fill_examples(content: Option<&mut Value>, components: &Value) {
    let Some(content) = content.and_then(Value::as_object_mut) else {
        return;
    };
    for (media, entry) in content.iter_mut() {
        if !media.contains("json")
            || entry.get("example").is_some()
            || entry.get("examples").is_some()
        {
            continue;
        }
        if let Some(schema) = entry.get("schema").cloned() {
            entry["example"] = example_of(&schema, components, 0);
        }
    }
}

/// An example value for `schema`: its own `example` where it has one, else one
/// built from its parts. The test of the examples proves each validates.
pub fn example_of(schema: &Value, components: &Value, depth: usize) -> Value {
    if depth > 12 {
        return Value::Null;
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(first) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return example_of(&components["schemas"][name], components, depth + 1);
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.iter().find(|v| !v.is_null()))
    {
        return first.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let option = options
                .iter()
                .find(|o| o.get("type") != Some(&json!("null")))
                .unwrap_or(&Value::Null);
            return example_of(option, components, depth + 1);
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(o) = example_of(part, components, depth + 1) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), example_of(prop, components, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let item = example_of(&schema["items"], components, depth + 1);
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1) as usize;
            Value::Array(vec![item; n])
        }
        "string" => json!(match schema["format"].as_str() {
            Some("uuid") => "5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11",
            Some("date-time") => "2026-07-19T09:00:00+07:00",
            Some("date") => "2026-07-19",
            Some("email") => "budi@example.com",
            Some("uri") => "https://example.com/",
            _ => "teks",
        }),
        "integer" | "number" => {
            let min = schema["minimum"].as_i64().unwrap_or(1);
            let max = schema["maximum"].as_i64().unwrap_or(i64::MAX);
            json!(1.clamp(min, max))
        }
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

/// The statuses one operation declares, each with its problem codes (None for a
/// response without a problem body).
type Statuses = HashMap<u16, Option<Vec<String>>>;

/// Statuses and codes each operation declares, read from the finished document.
pub struct Declared(HashMap<(String, String), Statuses>);

impl Declared {
    /// Reads the responses of every operation of `doc`.
    pub fn from_openapi(doc: &Value) -> Self {
        let mut map = HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(responses) = item.pointer(&format!("/{method}/responses")) else {
                    continue;
                };
                let statuses = responses
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(status, response)| {
                        let codes = response
                            .pointer("/content/application~1problem+json/schema/allOf/1/properties/code/enum")
                            .and_then(Value::as_array)
                            .map(|codes| {
                                codes
                                    .iter()
                                    .filter_map(|c| c.as_str().map(str::to_owned))
                                    .collect()
                            });
                        Some((status.parse().ok()?, codes))
                    })
                    .collect();
                map.insert((method.to_uppercase(), path.clone()), statuses);
            }
        }
        Declared(map)
    }

    /// Why an answer breaks the contract of `method path_pattern`, if it does.
    pub fn violation(
        &self,
        method: &str,
        pattern: &str,
        status: u16,
        code: Option<ErrorCode>,
    ) -> Option<String> {
        let statuses = self.0.get(&(method.to_owned(), pattern.to_owned()))?;
        match (statuses.get(&status), code) {
            (None, _) => Some(format!(
                "{method} {pattern} answered {status}, which it does not declare"
            )),
            (Some(Some(codes)), Some(code)) if !codes.iter().any(|c| c == code.as_str()) => Some(
                format!("{method} {pattern} answered {status} `{code}`, which it does not declare"),
            ),
            _ => None,
        }
    }
}

static VIOLATIONS: Mutex<Vec<(u16, String)>> = Mutex::new(Vec::new());

/// Violations recorded (debug builds) by the server listening on `port`, removed
/// from the record. The API tests assert there are none.
pub fn take_violations(port: u16) -> Vec<String> {
    let mut all = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner());
    let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(p, _)| *p == port);
    *all = rest;
    mine.into_iter().map(|(_, v)| v).collect()
}

/// The middleware (installed with `actix_web::middleware::from_fn`): checks each
/// answer of a routed request against the document.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let request = res.request();
    if let (Some(pattern), Some(declared)) = (
        request.match_pattern(),
        request.app_data::<actix_web::web::Data<Declared>>(),
    ) {
        let code = res.response().extensions().get::<ErrorCode>().copied();
        let status = res.status().as_u16();
        if let Some(violation) =
            declared.violation(request.method().as_str(), &pattern, status, code)
        {
            tracing::error!(%violation, "answer outside the OpenAPI contract");
            if cfg!(debug_assertions) {
                let port = request.app_config().local_addr().port();
                VIOLATIONS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((port, violation));
            }
        }
    }
    Ok(res)
}
