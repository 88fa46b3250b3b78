//! The test harness: each test gets the real service on a random port, backed by
//! its own PostgreSQL database cloned from a migrated template
//! (`CREATE DATABASE … TEMPLATE`, milliseconds), so tests run in parallel.
//!
//! `DATABASE_URL` points at the server to use (default: local trust auth). The
//! template's name carries a hash of the migrations, so changing a migration
//! builds a new template; an advisory lock keeps parallel test processes from
//! building it twice.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use prakerja_api::{config::Settings, server::Application, state::AppState};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for(db: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{db}"));
    url.to_string()
}

async fn admin_conn() -> AsyncPgConnection {
    AsyncPgConnection::establish(&url_for("postgres"))
        .await
        .expect("the test PostgreSQL server answers at DATABASE_URL")
}

fn migrations_hash() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = Sha256::new();
    for f in files {
        hasher.update(f.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&f).expect("migration readable"));
    }
    hex::encode(&hasher.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Builds (once per server and migration set) the migrated template database.
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("prakerja_tmpl_{}", migrations_hash());
            let mut admin = admin_conn().await;
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(0x7465_7374_746d_706c)
                .execute(&mut admin)
                .await
                .unwrap();
            let exists: i64 = count(
                &mut admin,
                &format!("SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"),
            )
            .await;
            if exists == 0 {
                let building = format!("{name}_building");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                    .await
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {building}"))
                    .await
                    .unwrap();
                prakerja_api::db::run_migrations(&url_for(&building))
                    .await
                    .expect("migrations apply");
                admin
                    .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .await
                    .unwrap();
            }
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<BigInt, _>(0x7465_7374_746d_706c)
                .execute(&mut admin)
                .await
                .unwrap();
            name
        })
        .await
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs a `SELECT count(*) AS n …` and returns n.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .expect(sql)
        .n
}

/// A fresh database cloned from the template; dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let template = template().await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_conn().await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("cloning the template database");
        TestDb {
            url: url_for(&name),
            name,
        }
    }

    /// A direct connection, for assertions on stored rows.
    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async context; a short-lived runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&url_for("postgres")).await {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// The running service and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    pub db: TestDb,
}

/// The inbox token of test sandboxes that have a gateway URL.
pub const SANDBOX_INBOX_TOKEN: &str = "test-sandbox-inbox-token";

/// Settings for a test: sandbox, random port, one worker, the given database.
pub fn test_settings(db_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = [
        ("APP_ENV", "sandbox"),
        ("DATABASE_URL", db_url),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("WORKERS", "1"),
        ("DATABASE_POOL_SIZE", "6"),
        ("RUN_MIGRATIONS_ON_START", "false"),
        ("INTEGRATION_TIMEOUT_MS", "1500"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    // A sandbox with a real gateway guards its inbox (config.rs); `inbox()`
    // always sends this token.
    if vars.contains_key("NOTIFY_URL") && vars["APP_ENV"] == "sandbox" {
        vars.entry("SANDBOX_INBOX_TOKEN".to_owned())
            .or_insert_with(|| SANDBOX_INBOX_TOKEN.to_owned());
    }
    Settings::from_map(&vars).expect("test settings are valid")
}

impl TestApp {
    /// The service in sandbox mode on a fresh database.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// Same, with extra environment variables (mock server URLs, limits).
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        let db = TestDb::new().await;
        let app = Application::build(test_settings(&db.url, overrides), false)
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port);
        let state = app.state.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Sends `body` as JSON with `method`, with an optional bearer token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send(reqwest::Method::PUT, path, token, body).await
    }

    /// Moves the sandbox clock.
    pub async fn set_clock(&self, at: DateTime<Utc>) {
        let res = self
            .put(
                "/v1/sandbox/clock",
                None,
                &json!({ "now": at.to_rfc3339() }),
            )
            .await;
        assert_eq!(res.status(), 200);
    }

    /// Runs a background job through the sandbox route.
    pub async fn run_job(&self, name: &str) -> Value {
        let res = self
            .client
            .post(self.url(&format!("/v1/sandbox/jobs/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "job {name}");
        res.json().await.unwrap()
    }

    /// Messages queued for `recipient`, newest first.
    pub async fn inbox(&self, recipient: &str) -> Vec<Value> {
        let res = self
            .client
            .get(self.url("/v1/sandbox/notifications"))
            .header("x-sandbox-token", SANDBOX_INBOX_TOKEN)
            .query(&[("recipient", recipient), ("limit", "100")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["data"].as_array().cloned().unwrap_or_default()
    }

    /// The `data` of the newest message with `template` to `recipient`.
    pub async fn last_message_data(&self, recipient: &str, template: &str) -> Value {
        self.inbox(recipient)
            .await
            .into_iter()
            .find(|m| m["template"] == template)
            .unwrap_or_else(|| panic!("no {template} message for {recipient}"))["data"]
            .clone()
    }
}

/// Every answer the service gave this test must be one its OpenAPI operation
/// declares (status and problem `code`): the contract guard records any other,
/// and the test fails here, naming the operation.
impl Drop for TestApp {
    fn drop(&mut self) {
        let port = self
            .address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default();
        let violations = prakerja_api::contract::take_violations(port);
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "answers outside the OpenAPI contract (declare them in the operation's \
                 contract table, or fix the handler):\n{}",
                violations.join("\n")
            );
        }
    }
}

/// Reads a problem+json body and checks its status and code.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(
        res.status().as_u16(),
        status,
        "status for expected code {code}"
    );
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status);
    body
}

/// Another instance of the service on an existing database, as a second server
/// behind the load balancer would be. Returns its base URL and its state.
pub async fn spawn_instance(db_url: &str, overrides: &[(&str, &str)]) -> (String, Arc<AppState>) {
    let app = Application::build(test_settings(db_url, overrides), false)
        .await
        .expect("the second instance starts");
    let address = format!("http://127.0.0.1:{}", app.port);
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    (address, state)
}

impl TestApp {
    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }
}

/// Checks the whole error contract of API.md: problem+json with type, title,
/// status, detail and code, the expected status and code, and an `X-Request-Id`.
pub async fn assert_problem_contract(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert!(
        res.headers().get("x-request-id").is_some(),
        "every error carries X-Request-Id"
    );
    let body = assert_problem(res, status, code).await;
    assert_eq!(
        body["type"],
        format!("urn:prakerja:problem:{code}"),
        "body: {body}"
    );
    for field in ["title", "detail"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} in {body}"
        );
    }
    body
}

/// Every variable production refuses to start without, each outside service
/// pointing at `gateway` (a mock server). Unknown names are ignored by `Settings`.
pub fn production_overrides(gateway: &str) -> Vec<(&'static str, String)> {
    vec![
        ("APP_ENV", "production".to_owned()),
        (
            "JWT_SIGNING_KEY",
            "production-test-jwt-signing-key-0123456789abcdef".to_owned(),
        ),
        (
            "TOKEN_HASH_KEY",
            "production-test-token-hash-key-0123456789abcdef".to_owned(),
        ),
        // base64 of 32 bytes each, not the sandbox keys.
        (
            "PII_KEYS",
            "test-1:cHJvZHVjdGlvbi10ZXN0LXBpaS1rZXktMDAwMDAwMDE=".to_owned(),
        ),
        ("PII_CURRENT_KEY_ID", "test-1".to_owned()),
        (
            "PII_BLIND_INDEX_KEY",
            "cHJvZHVjdGlvbi10ZXN0LWJsaW5kLWluZGV4LTAwMDE=".to_owned(),
        ),
        ("NOTIFY_URL", gateway.to_owned()),
        ("NOTIFY_TOKEN", "notify-token".to_owned()),
        ("REGISTRY_URL", gateway.to_owned()),
        ("REGISTRY_TOKEN", "registry-token".to_owned()),
        ("FACE_URL", gateway.to_owned()),
        ("FACE_TOKEN", "face-token".to_owned()),
        ("PAYOUT_URL", gateway.to_owned()),
        ("PAYOUT_TOKEN", "payout-token".to_owned()),
        (
            "PAYOUT_WEBHOOK_SECRET",
            "payout-webhook-secret-0123456789abcdef".to_owned(),
        ),
        ("LOG_FORMAT", "text".to_owned()),
    ]
}

/// The service in production mode on a fresh database.
pub async fn spawn_production(gateway: &str) -> TestApp {
    let vars = production_overrides(gateway);
    let overrides: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(&overrides).await
}

/// Log lines written while tests run (all tests of the process share them).
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[derive(Clone)]
struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
    std::sync::OnceLock::new();

/// Installs (once) a global subscriber at debug level writing JSON lines, as in
/// production, into memory, and returns a handle to read them.
pub fn capture_logs() -> CapturedLogs {
    let buffer = LOGS
        .get_or_init(|| {
            let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = LogSink(buffer.clone());
            let _ = tracing_subscriber::fmt()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_writer(move || sink.clone())
                .try_init();
            buffer
        })
        .clone();
    CapturedLogs(buffer)
}
