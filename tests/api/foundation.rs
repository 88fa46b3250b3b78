//! Foundation: health, readiness, errors, request ids, sandbox clock.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, assert_problem_contract, spawn_instance, spawn_production, TestApp, TestDb,
};

#[tokio::test]
async fn health_and_ready_answer_ok() {
    let app = TestApp::spawn().await;
    let res = app.get("/health", None).await;
    assert_eq!(res.status(), 200);
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
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
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");
    let res = app.get("/health", None).await;
    let generated = res.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    let res = app.get("/v1/missing", None).await;
    assert!(
        res.headers().get("x-request-id").is_some(),
        "errors carry the id too"
    );
}

// ---- Errors: every failure is problem+json with a stable code ----------------

const CLOCK: &str = "/v1/sandbox/clock";

async fn put_raw(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .put(app.url(CLOCK))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let app = TestApp::spawn().await;
    let body = assert_problem_contract(
        put_raw(&app, "application/json", r#"{"now":"#).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body.get("errors").is_none(),
        "a syntax error names no field: {body}"
    );
    assert_problem_contract(
        put_raw(&app, "application/json", "").await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn type_error_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let res = app.put(CLOCK, None, &json!({ "now": 5 })).await;
    let body = assert_problem_contract(res, 400, "invalid_request").await;
    assert_eq!(body["errors"][0]["field"], "now", "body: {body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn unknown_field_is_400_invalid_request() {
    let app = TestApp::spawn().await;
    let res = app
        .put(
            CLOCK,
            None,
            &json!({ "now": "2030-01-01T00:00:00Z", "overridden": false }),
        )
        .await;
    let body = assert_problem_contract(res, 400, "invalid_request").await;
    assert!(
        body.to_string().contains("unknown field `overridden`"),
        "body: {body}"
    );
    // Nothing was applied.
    let clock: Value = app.get(CLOCK, None).await.json().await.unwrap();
    assert_eq!(clock["overridden"], false);
}

#[tokio::test]
async fn wrong_content_type_is_415_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let body = r#"{"now":"2030-01-01T00:00:00Z"}"#;
    assert_problem_contract(
        put_raw(&app, "text/plain", body).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem_contract(
        put_raw(&app, "application/x-www-form-urlencoded", body).await,
        415,
        "unsupported_media_type",
    )
    .await;
    let res = app
        .client
        .put(app.url(CLOCK))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem_contract(res, 415, "unsupported_media_type").await;
    // A +json suffix and a charset are still JSON.
    assert_eq!(
        put_raw(&app, "application/json; charset=utf-8", body)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn body_over_64_kib_is_413_and_up_to_64_kib_is_read() {
    let app = TestApp::spawn().await;
    let json = r#"{"now":"2030-01-01T00:00:00Z"}"#;
    let exactly = format!("{json}{}", " ".repeat(64 * 1024 - json.len()));
    assert_eq!(
        put_raw(&app, "application/json", exactly.clone())
            .await
            .status(),
        200
    );
    let over = format!("{exactly} ");
    assert_problem_contract(
        put_raw(&app, "application/json", over).await,
        413,
        "payload_too_large",
    )
    .await;
    let huge = format!("{json}{}", " ".repeat(1024 * 1024));
    assert_problem_contract(
        put_raw(&app, "application/json", huge).await,
        413,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn query_type_error_is_400_and_out_of_range_is_422() {
    let app = TestApp::spawn().await;
    let inbox = |q: &'static str| {
        app.client
            .get(app.url(&format!("/v1/sandbox/notifications?{q}")))
            .send()
    };
    assert_problem_contract(inbox("limit=abc").await.unwrap(), 400, "invalid_request").await;
    for q in ["limit=101", "limit=0", "limit=-1"] {
        let body = assert_problem_contract(inbox(q).await.unwrap(), 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "limit", "{q}: {body}");
    }
    let body = assert_problem_contract(
        inbox("cursor=not-a-cursor").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "cursor");
    for q in ["limit=100", "limit=1", "cursor="] {
        assert_eq!(inbox(q).await.unwrap().status(), 200, "{q}");
    }
}

#[tokio::test]
async fn every_error_is_problem_json_with_request_id() {
    let app = TestApp::spawn().await;
    assert_problem_contract(app.get("/v1/nothing-here", None).await, 404, "not_found").await;
    assert_problem_contract(app.delete("/health", None).await, 405, "method_not_allowed").await;
    assert_problem_contract(
        put_raw(&app, "application/json", "[").await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem_contract(
        put_raw(&app, "text/csv", "a,b").await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem_contract(
        app.get("/v1/sandbox/notifications?limit=500", None).await,
        422,
        "validation_failed",
    )
    .await;
    let res = app
        .client
        .post(app.url("/v1/sandbox/jobs/no_such_job"))
        .send()
        .await
        .unwrap();
    assert_problem_contract(res, 404, "not_found").await;
    // The id the client sent is echoed on errors as on successes.
    let res = app
        .client
        .get(app.url("/v1/nothing-here"))
        .header("X-Request-Id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "req-42");
}

// ---- Readiness -----------------------------------------------------------

#[tokio::test]
async fn ready_is_503_service_unavailable_when_migrations_are_not_current() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/ready", None).await.status(), 200);
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let res = app.get("/ready", None).await;
    assert!(res.headers().get("retry-after").is_some());
    let body = assert_problem_contract(res, 503, "service_unavailable").await;
    assert!(
        !body.to_string().contains("__diesel"),
        "no internal names: {body}"
    );
    // Liveness does not depend on the schema.
    assert_eq!(app.get("/health", None).await.status(), 200);
}

// ---- Production mode -------------------------------------------------------

#[tokio::test]
async fn production_mounts_no_sandbox_routes_but_serves_docs_and_health() {
    let gateway = wiremock::MockServer::start().await;
    let app = spawn_production(&gateway.uri()).await;
    assert!(!app.state.settings.is_sandbox());
    assert!(!app.state.clock.is_settable());
    assert_problem_contract(app.get(CLOCK, None).await, 404, "not_found").await;
    let res = app
        .put(CLOCK, None, &json!({ "now": "2030-01-01T00:00:00Z" }))
        .await;
    assert_problem_contract(res, 404, "not_found").await;
    assert_problem_contract(app.delete(CLOCK, None).await, 404, "not_found").await;
    assert_problem_contract(
        app.get("/v1/sandbox/notifications", None).await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .client
        .post(app.url("/v1/sandbox/jobs/deliver_notifications"))
        .send()
        .await
        .unwrap();
    assert_problem_contract(res, 404, "not_found").await;

    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["paths"]["/ready"].is_object(), "the document is served");
    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // API.md: "an interactive API browser at /docs".
    let res = app.get("/docs", None).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/docs/");
    assert_eq!(app.get("/health", None).await.status(), 200);
    assert_eq!(app.get("/ready", None).await.status(), 200);
}

// ---- Sandbox clock -------------------------------------------------------

fn parse_time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("an RFC 3339 string"))
        .unwrap()
        .with_timezone(&Utc)
}

async fn read_clock(client: &reqwest::Client, base: &str) -> (DateTime<Utc>, bool) {
    let res = client.get(format!("{base}{CLOCK}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (
        parse_time(&body["now"]),
        body["overridden"].as_bool().unwrap(),
    )
}

#[tokio::test]
async fn sandbox_clock_set_keeps_ticking_from_the_time_set() {
    let app = TestApp::spawn().await;
    let target = DateTime::parse_from_rfc3339("2030-01-01T07:00:00+07:00")
        .unwrap()
        .with_timezone(&Utc);
    let res = app
        .put(CLOCK, None, &json!({ "now": "2030-01-01T07:00:00+07:00" }))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["overridden"], true);
    assert!((parse_time(&body["now"]) - target).num_milliseconds().abs() < 1000);

    let (first, overridden) = read_clock(&app.client, &app.address).await;
    assert!(overridden);
    // A second request is later in real time, so a ticking clock reads later.
    let (second, _) = read_clock(&app.client, &app.address).await;
    assert!(second > first, "the clock ticks: {first} then {second}");
    assert!(first >= target && second - target < TimeDelta::seconds(5));
    // The state the jobs read agrees with the route.
    assert!((app.state.clock.now() - target).num_seconds().abs() < 5);
}

#[tokio::test]
async fn sandbox_clock_delete_returns_to_real_time() {
    let app = TestApp::spawn().await;
    app.set_clock(Utc::now() - TimeDelta::days(400)).await;
    let res = app.delete(CLOCK, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["overridden"], false);
    let (now, overridden) = read_clock(&app.client, &app.address).await;
    assert!(!overridden);
    assert!((now - Utc::now()).num_milliseconds().abs() < 1000);
    // Resetting an unmoved clock is harmless.
    assert_eq!(app.delete(CLOCK, None).await.status(), 200);
}

/// Polls `done` until it holds. The deadline only keeps a broken build from
/// hanging the suite; it is no claim about how fast anything is.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let wait = async {
        while !done().await {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test]
async fn moved_sandbox_clock_reaches_another_instance() {
    // Each instance re-reads the shared offset in the background (every 500 ms).
    let app = TestApp::spawn().await;
    let (other, other_state) = spawn_instance(&app.db.url, &[]).await;
    let target = Utc::now() + TimeDelta::days(30);
    app.set_clock(target).await;
    eventually("the other instance never read the moved clock", || async {
        let (now, overridden) = read_clock(&app.client, &other).await;
        overridden && now >= target
    })
    .await;
    assert!(
        (other_state.clock.now() - target).num_seconds().abs() < 5,
        "its jobs read the moved clock too"
    );

    assert_eq!(app.delete(CLOCK, None).await.status(), 200);
    eventually("the reset did not reach the other instance", || async {
        !read_clock(&app.client, &other).await.1
    })
    .await;
}

#[tokio::test]
async fn invalid_sandbox_clock_body_is_refused() {
    let app = TestApp::spawn().await;
    for now in [
        json!("yesterday"),
        json!("2030-01-01T07:00:00"),
        json!("2030-13-01T00:00:00Z"),
        json!(null),
    ] {
        let res = app.put(CLOCK, None, &json!({ "now": now })).await;
        let body = assert_problem_contract(res, 400, "invalid_request").await;
        assert_eq!(body["errors"][0]["field"], "now", "{now}: {body}");
    }
    // A missing field is a validation failure naming the field.
    let res = app.put(CLOCK, None, &json!({})).await;
    let body = assert_problem_contract(res, 422, "validation_failed").await;
    assert_eq!(
        body["errors"],
        json!([{"field": "now", "message": "is required"}])
    );
    let (_, overridden) = read_clock(&app.client, &app.address).await;
    assert!(!overridden, "nothing was applied");
}

// ---- Migrations ------------------------------------------------------------

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SchemaItem {
    #[diesel(sql_type = diesel::sql_types::Text)]
    item: String,
}

/// Every table, column, index, constraint, sequence, type and function of the
/// public schema, one line each (Diesel's own bookkeeping table excluded).
async fn schema_snapshot(conn: &mut diesel_async::AsyncPgConnection) -> Vec<String> {
    let sql = "
        SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable
               || ' default=' || coalesce(column_default, '') AS item
          FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
        UNION ALL
        SELECT 'index ' || indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
        UNION ALL
        SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace AND conrelid <> '__diesel_schema_migrations'::regclass
        UNION ALL
        SELECT 'relation ' || relkind::text || ' ' || relname FROM pg_class
         WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE '__diesel_schema_migrations%'
        UNION ALL
        SELECT 'type ' || typname FROM pg_type
         WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c') AND typrelid = 0
        UNION ALL
        SELECT 'function ' || proname || '(' || pg_get_function_identity_arguments(oid) || ')' FROM pg_proc
         WHERE pronamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal";
    let mut items: Vec<SchemaItem> = diesel_async::RunQueryDsl::load(diesel::sql_query(sql), conn)
        .await
        .unwrap();
    items.sort();
    items.into_iter().map(|i| i.item).collect()
}

#[tokio::test]
async fn every_migration_reverts_cleanly_and_reapplies_to_the_same_schema() {
    let db = TestDb::new().await;
    let before = schema_snapshot(&mut db.conn().await).await;
    assert!(
        before
            .iter()
            .any(|i| i.starts_with("column notifications.id")),
        "the template is migrated"
    );

    prakerja_api::db::revert_all_migrations(&db.url)
        .await
        .expect("every down.sql runs");
    let mut conn = db.conn().await;
    assert_eq!(
        schema_snapshot(&mut conn).await,
        Vec::<String>::new(),
        "down.sql leaves nothing behind"
    );
    assert!(!prakerja_api::db::migrations_current(&mut conn)
        .await
        .unwrap());

    let applied = prakerja_api::db::run_migrations(&db.url)
        .await
        .expect("migrations apply again");
    let embedded = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
        &prakerja_api::db::MIGRATIONS,
    )
    .unwrap();
    assert_eq!(applied.len(), embedded.len(), "every migration reapplied");
    let after = schema_snapshot(&mut db.conn().await).await;
    assert_eq!(before, after);
    assert!(prakerja_api::db::migrations_current(&mut db.conn().await)
        .await
        .unwrap());
}

#[derive(diesel::QueryableByName)]
struct DbColumn {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    udt_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    is_nullable: String,
}

/// `table -> column -> (diesel type, nullable)` read from `api/src/db/schema.rs`.
fn diesel_schema(
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, (String, bool)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/schema.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let mut tables = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("diesel::table!") || line.starts_with("table!") {
            current = Some(String::new());
        } else if current.as_deref() == Some("") && line.ends_with('{') {
            let name = line
                .split(|c: char| c == '(' || c.is_whitespace())
                .next()
                .unwrap()
                .to_owned();
            tables.insert(name.clone(), std::collections::BTreeMap::new());
            current = Some(name);
        } else if let (Some(table), Some((column, ty))) = (
            current.as_ref().filter(|t| !t.is_empty()),
            line.split_once("->"),
        ) {
            let ty = ty.trim().trim_end_matches(',');
            let (ty, nullable) = match ty
                .strip_prefix("Nullable<")
                .and_then(|t| t.strip_suffix('>'))
            {
                Some(inner) => (inner, true),
                None => (ty, false),
            };
            tables
                .get_mut(table)
                .unwrap()
                .insert(column.trim().to_owned(), (ty.to_owned(), nullable));
        } else if line == "}" && current.as_ref().is_some_and(|t| !t.is_empty()) {
            current = None;
        }
    }
    tables
}

/// Postgres' `udt_name` for a Diesel SQL type, where the mapping is one to one.
fn udt_for(diesel_type: &str) -> Option<String> {
    let udt = match diesel_type {
        "Bool" => "bool",
        "Int2" | "SmallInt" => "int2",
        "Int4" | "Integer" => "int4",
        "Int8" | "BigInt" => "int8",
        "Text" => "text",
        "Varchar" => "varchar",
        "Bytea" | "Binary" => "bytea",
        "Uuid" => "uuid",
        "Jsonb" => "jsonb",
        "Json" => "json",
        "Date" => "date",
        "Timestamptz" => "timestamptz",
        "Timestamp" => "timestamp",
        "Float8" | "Double" => "float8",
        "Numeric" => "numeric",
        "Inet" => "inet",
        _ => {
            let inner = diesel_type.strip_prefix("Array<")?.strip_suffix('>')?;
            let inner = inner
                .strip_prefix("Nullable<")
                .and_then(|t| t.strip_suffix('>'))
                .unwrap_or(inner);
            return udt_for(inner).map(|u| format!("_{u}"));
        }
    };
    Some(udt.to_owned())
}

#[tokio::test]
async fn schema_matches_migrations() {
    let db = TestDb::new().await;
    let columns: Vec<DbColumn> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        ),
        &mut db.conn().await,
    )
    .await
    .unwrap();
    let mut migrated: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, (String, bool)>,
    > = Default::default();
    for c in columns {
        migrated
            .entry(c.table_name)
            .or_default()
            .insert(c.column_name, (c.udt_name, c.is_nullable == "YES"));
    }
    let declared = diesel_schema();
    assert_eq!(
        declared.keys().collect::<Vec<_>>(),
        migrated.keys().collect::<Vec<_>>(),
        "schema.rs declares exactly the migrated tables"
    );
    let mut mismatches = Vec::new();
    for (table, cols) in &declared {
        let db_cols = &migrated[table];
        if cols.keys().collect::<Vec<_>>() != db_cols.keys().collect::<Vec<_>>() {
            mismatches.push(format!(
                "{table}: schema.rs {:?} vs database {:?}",
                cols.keys(),
                db_cols.keys()
            ));
            continue;
        }
        for (name, (ty, nullable)) in cols {
            let (udt, db_nullable) = &db_cols[name];
            if nullable != db_nullable {
                mismatches.push(format!("{table}.{name}: Nullable in schema.rs is {nullable}, in the database {db_nullable}"));
            }
            if udt_for(ty).is_some_and(|expected| &expected != udt) {
                mismatches.push(format!(
                    "{table}.{name}: {ty} in schema.rs, {udt} in the database"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "schema.rs differs from the migrations:\n{}",
        mismatches.join("\n")
    );
}
