//! Typed settings read once from the environment (and `.env` when present).
//!
//! Every variable is parsed and checked at start-up; a bad or missing value stops
//! the process with one line naming the variable, so a misconfigured deploy never
//! half-starts. `.env.example` documents each variable.

use std::{collections::HashMap, fmt, net::IpAddr, str::FromStr, time::Duration};

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

use crate::crypto::{PiiKeyError, PiiKeys};

/// Where the service runs. Sandbox mounts `/v1/sandbox/*` and simulates every
/// unset integration; production refuses to start without the real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Sandbox,
    Production,
}

/// Log line format: human-readable text or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Base URL and bearer token of one outside HTTP service.
#[derive(Clone)]
pub struct Endpoint {
    pub url: url::Url,
    pub token: SecretString,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url.as_str())
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Captcha verification (siteverify shape). Unset means no captcha is asked.
#[derive(Clone, Debug)]
pub struct CaptchaSettings {
    pub provider: String,
    pub site_key: String,
    pub verify_url: url::Url,
    pub secret: SecretString,
}

/// Every setting of the service, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub app_env: AppEnv,
    pub host: IpAddr,
    pub port: u16,
    /// Where `GET /metrics` listens (a listener of its own, never the public
    /// port); `None` (METRICS_PORT unset) serves no metrics.
    pub metrics_listen: Option<(IpAddr, u16)>,
    pub workers: usize,
    pub database_url: SecretString,
    pub db_pool_size: usize,
    pub db_pool_timeout: Duration,
    pub db_statement_timeout: Duration,
    pub run_migrations_on_start: bool,
    pub log_format: LogFormat,
    pub jwt_signing_key: SecretString,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    /// Clock skew tolerated when checking an access token's expiry (default 5 s).
    pub jwt_leeway: Duration,
    pub refresh_token_ttl: Duration,
    /// Key of the keyed hashes (HMAC-SHA256) that store OTPs and single-use tokens.
    pub token_hash_key: SecretString,
    pub cors_allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limit_ip_per_minute: u32,
    pub password_hash_concurrency: usize,
    pub integration_timeout: Duration,
    pub notify: Option<Endpoint>,
    /// Sandbox only: the `X-Sandbox-Token` the inbox asks for. Required when a
    /// real gateway (`NOTIFY_URL`) is set, since the inbox would then show real
    /// people's codes and reset links to anyone who asks.
    pub sandbox_inbox_token: Option<SecretString>,
    /// Population registry (Dukcapil); simulated in sandbox when unset.
    pub registry: Option<Endpoint>,
    /// Face liveness and matching; simulated in sandbox when unset.
    pub face: Option<Endpoint>,
    /// Payout provider (banks and e-wallets); simulated in sandbox when unset.
    pub payout: Option<Endpoint>,
    /// Key of the payout provider's callback signatures (`PAYOUT_WEBHOOK_SECRET`).
    pub payout_webhook_secret: SecretString,
    /// An attempt still `processing` this long after its last send is asked
    /// about by `reconcile_disbursements` (`RECONCILE_AFTER_SECONDS`, default 1 h).
    pub reconcile_after: Duration,
    /// Keys that encrypt personal data at rest and key its blind indexes.
    pub pii_keys: PiiKeys,
    pub captcha: Option<CaptchaSettings>,
    pub job_interval_deliver_notifications: Duration,
    pub job_interval_purge_expired_records: Duration,
    pub job_interval_deactivate_expired_cards: Duration,
    pub job_interval_expire_purchases: Duration,
    pub job_interval_schedule_incentives: Duration,
    pub job_interval_disburse_incentives: Duration,
    pub job_interval_reconcile_disbursements: Duration,
    /// Public base URL of the web front end, used in verification and reset links.
    pub web_base_url: url::Url,
    /// Tests only (refused in production): the route named here fails right
    /// after its transaction commits, as if the process died before answering
    /// (`selection`), to prove that a retry replays instead of running again.
    pub fault_after_commit: Option<String>,
}

/// The single line printed when configuration is wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Reads variables from a map so tests can configure without touching the process environment.
struct Source<'a>(&'a HashMap<String, String>);

impl Source<'_> {
    fn raw(&self, name: &'static str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.raw(name).ok_or_else(|| problem(name, "must be set"))
    }

    fn parse<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| problem(name, format!("cannot parse {v:?}: {e}"))),
        }
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let secs: u64 = self.parse(name, default)?;
        if secs == 0 {
            return Err(problem(name, "must be greater than zero"));
        }
        Ok(Duration::from_secs(secs))
    }

    fn boolean(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(problem(name, format!("expected true or false, got {v:?}"))),
        }
    }

    fn url(&self, name: &'static str) -> Result<Option<url::Url>, ConfigError> {
        self.raw(name)
            .map(|v| {
                let url =
                    url::Url::parse(v).map_err(|e| problem(name, format!("not a URL: {e}")))?;
                match url.scheme() {
                    "http" | "https" => Ok(url),
                    other => Err(problem(name, format!("scheme {other:?} is not http(s)"))),
                }
            })
            .transpose()
    }

    /// A secret key: at least 32 bytes so HMAC and HS256 keys carry 256 bits.
    fn key(
        &self,
        name: &'static str,
        sandbox_default: &str,
        env: AppEnv,
    ) -> Result<SecretString, ConfigError> {
        let value = match (self.raw(name), env) {
            (Some(v), _) => v,
            (None, AppEnv::Sandbox) => sandbox_default,
            (None, AppEnv::Production) => return Err(problem(name, "must be set in production")),
        };
        if value.len() < 32 {
            return Err(problem(name, "must be at least 32 characters"));
        }
        if env == AppEnv::Production && value == sandbox_default {
            return Err(problem(
                name,
                "the sandbox default key cannot be used in production",
            ));
        }
        Ok(SecretString::from(value.to_owned()))
    }

    /// `PAYOUT_WEBHOOK_SECRET`: production needs its own of at least 32
    /// characters; sandbox takes any (an integrator's test secret) or a default.
    fn webhook_secret(&self, env: AppEnv) -> Result<SecretString, ConfigError> {
        const NAME: &str = "PAYOUT_WEBHOOK_SECRET";
        match (self.raw(NAME), env) {
            (Some(v), AppEnv::Sandbox) => Ok(SecretString::from(v.to_owned())),
            (None, AppEnv::Sandbox) => Ok(SecretString::from(SANDBOX_PAYOUT_WEBHOOK_SECRET)),
            (None, AppEnv::Production) => Err(problem(NAME, "must be set in production")),
            (Some(v), AppEnv::Production) if v.len() < 32 || v == SANDBOX_PAYOUT_WEBHOOK_SECRET => {
                Err(problem(
                    NAME,
                    "must be at least 32 characters, not the sandbox default",
                ))
            }
            (Some(v), AppEnv::Production) => Ok(SecretString::from(v.to_owned())),
        }
    }

    /// An outside service: URL plus token, both or neither.
    fn endpoint(
        &self,
        url_name: &'static str,
        token_name: &'static str,
        env: AppEnv,
    ) -> Result<Option<Endpoint>, ConfigError> {
        match self.url(url_name)? {
            Some(mut url) => {
                // Adapters call `url.join("v1/…")` for INTEGRATIONS.md's `{URL}/v1/…`;
                // without a trailing slash `join` would drop a path prefix
                // (`https://gw/api` + `v1/messages` → `https://gw/v1/messages`).
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                let token = self.required(token_name)?;
                Ok(Some(Endpoint {
                    url,
                    token: SecretString::from(token.to_owned()),
                }))
            }
            None if env == AppEnv::Production => {
                Err(problem(url_name, "must be set in production"))
            }
            None => Ok(None),
        }
    }
}

impl Settings {
    /// Reads the process environment, after loading `.env` if one exists.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars)
    }

    /// Parses settings from a map of variables (the process environment, or a test's).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let src = Source(vars);
        let app_env = match src.required("APP_ENV")? {
            "sandbox" => AppEnv::Sandbox,
            "production" => AppEnv::Production,
            other => {
                return Err(problem(
                    "APP_ENV",
                    format!("expected sandbox or production, got {other:?}"),
                ))
            }
        };
        let log_format = match src.raw("LOG_FORMAT") {
            None if app_env == AppEnv::Production => LogFormat::Json,
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(problem(
                    "LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ))
            }
        };
        let database_url = src.required("DATABASE_URL")?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(problem("DATABASE_URL", "must be a postgres:// URL"));
        }
        let db_pool_size: usize = src.parse("DATABASE_POOL_SIZE", 8)?;
        if db_pool_size == 0 {
            return Err(problem("DATABASE_POOL_SIZE", "must be greater than zero"));
        }
        let trusted_proxies = src
            .raw("TRUSTED_PROXIES")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        problem(
                            "TRUSTED_PROXIES",
                            format!("{s:?} is not an IP address or CIDR range"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cors_allowed_origins = src
            .raw("CORS_ALLOWED_ORIGINS")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let captcha = match src.url("CAPTCHA_VERIFY_URL")? {
            Some(verify_url) => Some(CaptchaSettings {
                provider: src
                    .raw("CAPTCHA_PROVIDER")
                    .unwrap_or("turnstile")
                    .to_owned(),
                site_key: src.required("CAPTCHA_SITE_KEY")?.to_owned(),
                verify_url,
                secret: SecretString::from(src.required("CAPTCHA_SECRET")?.to_owned()),
            }),
            None => None,
        };
        let pii_keys = match (src.raw("PII_KEYS"), app_env) {
            (Some(keys), _) => {
                let from_keys = |e: PiiKeyError| problem(e.variable, e.problem);
                let keys = PiiKeys::from_env_values(
                    src.required("PII_CURRENT_KEY_ID")?,
                    keys,
                    src.required("PII_BLIND_INDEX_KEY")?,
                )
                .map_err(from_keys)?;
                if app_env == AppEnv::Production && keys.uses_sandbox_keys() {
                    return Err(problem(
                        "PII_KEYS",
                        "the sandbox keys cannot be used in production",
                    ));
                }
                keys
            }
            (None, AppEnv::Sandbox) => PiiKeys::sandbox(),
            (None, AppEnv::Production) => {
                return Err(problem("PII_KEYS", "must be set in production"))
            }
        };
        let rate_limit_ip_per_minute: u32 = src.parse("RATE_LIMIT_IP_PER_MINUTE", 300)?;
        if rate_limit_ip_per_minute == 0 {
            return Err(problem(
                "RATE_LIMIT_IP_PER_MINUTE",
                "must be greater than zero",
            ));
        }
        let notify = src.endpoint("NOTIFY_URL", "NOTIFY_TOKEN", app_env)?;
        let sandbox_inbox_token = match (src.raw("SANDBOX_INBOX_TOKEN"), app_env) {
            (Some(_), AppEnv::Production) => {
                return Err(problem(
                    "SANDBOX_INBOX_TOKEN",
                    "is a sandbox setting and cannot be set in production",
                ))
            }
            (Some(token), _) if token.len() < 16 => {
                return Err(problem("SANDBOX_INBOX_TOKEN", "must be at least 16 characters"))
            }
            (None, AppEnv::Sandbox) if notify.is_some() => {
                return Err(problem(
                    "SANDBOX_INBOX_TOKEN",
                    "must be set in sandbox when NOTIFY_URL names a real gateway: the unauthenticated inbox would show the messages it sends",
                ))
            }
            (token, _) => token.map(|t| SecretString::from(t.to_owned())),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let settings = Settings {
            app_env,
            host: src.parse("HOST", IpAddr::from([0, 0, 0, 0]))?,
            port: src.parse("PORT", 8080)?,
            metrics_listen: match src.raw("METRICS_PORT") {
                None => None,
                Some(_) => Some((
                    src.parse("METRICS_HOST", IpAddr::from([127, 0, 0, 1]))?,
                    src.parse("METRICS_PORT", 0)?,
                )),
            },
            workers: src.parse("WORKERS", cores)?,
            database_url: SecretString::from(database_url.to_owned()),
            db_pool_size,
            db_pool_timeout: Duration::from_millis(src.parse("DATABASE_POOL_TIMEOUT_MS", 2_000)?),
            db_statement_timeout: Duration::from_millis(
                src.parse("DATABASE_STATEMENT_TIMEOUT_MS", 10_000)?,
            ),
            run_migrations_on_start: src.boolean("RUN_MIGRATIONS_ON_START", true)?,
            log_format,
            jwt_signing_key: src.key("JWT_SIGNING_KEY", SANDBOX_JWT_KEY, app_env)?,
            jwt_issuer: src.raw("JWT_ISSUER").unwrap_or("prakerja-api").to_owned(),
            jwt_audience: src.raw("JWT_AUDIENCE").unwrap_or("prakerja-app").to_owned(),
            access_token_ttl: src.seconds("ACCESS_TOKEN_TTL_SECONDS", 900)?,
            jwt_leeway: Duration::from_secs(src.parse("JWT_LEEWAY_SECONDS", 5)?),
            refresh_token_ttl: src.seconds("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)?,
            token_hash_key: src.key("TOKEN_HASH_KEY", SANDBOX_TOKEN_HASH_KEY, app_env)?,
            cors_allowed_origins,
            trusted_proxies,
            rate_limit_ip_per_minute,
            // All cores but one: the one left serves every request that only reads or
            // writes the database, so a login storm cannot starve them (measured:
            // GET /v1/me p99 during a 10x storm 61 ms with 2 hashing threads on 2
            // cores, 16 ms with 1).
            password_hash_concurrency: src
                .parse("PASSWORD_HASH_CONCURRENCY", cores.saturating_sub(1))?
                .max(1),
            integration_timeout: Duration::from_millis(src.parse("INTEGRATION_TIMEOUT_MS", 5_000)?),
            notify,
            sandbox_inbox_token,
            registry: src.endpoint("REGISTRY_URL", "REGISTRY_TOKEN", app_env)?,
            face: src.endpoint("FACE_URL", "FACE_TOKEN", app_env)?,
            payout: src.endpoint("PAYOUT_URL", "PAYOUT_TOKEN", app_env)?,
            payout_webhook_secret: src.webhook_secret(app_env)?,
            reconcile_after: src.seconds("RECONCILE_AFTER_SECONDS", 3600)?,
            pii_keys,
            captcha,
            job_interval_deliver_notifications: src
                .seconds("JOB_INTERVAL_DELIVER_NOTIFICATIONS_SECONDS", 5)?,
            job_interval_purge_expired_records: src
                .seconds("JOB_INTERVAL_PURGE_EXPIRED_RECORDS_SECONDS", 3600)?,
            job_interval_deactivate_expired_cards: src
                .seconds("JOB_INTERVAL_DEACTIVATE_EXPIRED_CARDS_SECONDS", 300)?,
            job_interval_expire_purchases: src
                .seconds("JOB_INTERVAL_EXPIRE_PURCHASES_SECONDS", 60)?,
            job_interval_schedule_incentives: src
                .seconds("JOB_INTERVAL_SCHEDULE_INCENTIVES_SECONDS", 300)?,
            job_interval_disburse_incentives: src
                .seconds("JOB_INTERVAL_DISBURSE_INCENTIVES_SECONDS", 30)?,
            job_interval_reconcile_disbursements: src
                .seconds("JOB_INTERVAL_RECONCILE_DISBURSEMENTS_SECONDS", 600)?,
            web_base_url: src.url("WEB_BASE_URL")?.unwrap_or_else(|| {
                url::Url::parse("https://www.prakerja.go.id").expect("static URL")
            }),
            fault_after_commit: match (src.raw("TEST_FAULT_AFTER_COMMIT"), app_env) {
                (Some(_), AppEnv::Production) => {
                    return Err(problem(
                        "TEST_FAULT_AFTER_COMMIT",
                        "is a test hook and cannot be set in production",
                    ))
                }
                (value, _) => value.map(str::to_owned),
            },
        };
        Ok(settings)
    }

    /// Whether sandbox routes and simulated integrations are on.
    pub fn is_sandbox(&self) -> bool {
        self.app_env == AppEnv::Sandbox
    }

    /// The database URL (a secret: it may carry a password).
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

/// Sandbox-only defaults; production refuses them (see [`Source::key`]).
const SANDBOX_JWT_KEY: &str = "sandbox-only-jwt-signing-key-change-me-0001";
const SANDBOX_TOKEN_HASH_KEY: &str = "sandbox-only-token-hash-key-change-me-0001";
/// The sandbox's payout-callback key (documented in `.env.example`, so sandbox
/// integrators can sign simulated callbacks).
pub const SANDBOX_PAYOUT_WEBHOOK_SECRET: &str = "sandbox-only-payout-webhook-secret-0001";

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn app_env_is_required() {
        let err = Settings::from_map(&vars(&[("DATABASE_URL", "postgres://x/y")])).unwrap_err();
        assert_eq!(err.variable, "APP_ENV");
    }

    #[test]
    fn sandbox_starts_with_defaults() {
        let s = Settings::from_map(&vars(&[
            ("APP_ENV", "sandbox"),
            ("DATABASE_URL", "postgres://x/y"),
        ]))
        .unwrap();
        assert!(s.is_sandbox());
        assert_eq!(s.port, 8080);
        assert_eq!(s.rate_limit_ip_per_minute, 300);
        assert!(s.notify.is_none());
        assert!(
            s.metrics_listen.is_none(),
            "no metrics listener unless asked"
        );
    }

    #[test]
    fn metrics_listen_on_loopback_unless_told_otherwise() {
        let base = [("APP_ENV", "sandbox"), ("DATABASE_URL", "postgres://x/y")];
        let with = |extra: &[(&str, &str)]| {
            let all: Vec<_> = base.iter().chain(extra).copied().collect();
            Settings::from_map(&vars(&all))
        };
        let s = with(&[("METRICS_PORT", "9464")]).unwrap();
        assert_eq!(s.metrics_listen, Some((IpAddr::from([127, 0, 0, 1]), 9464)));
        let s = with(&[("METRICS_PORT", "9464"), ("METRICS_HOST", "0.0.0.0")]).unwrap();
        assert_eq!(s.metrics_listen, Some((IpAddr::from([0, 0, 0, 0]), 9464)));
        assert_eq!(
            with(&[("METRICS_PORT", "x")]).unwrap_err().variable,
            "METRICS_PORT"
        );
    }

    fn production_vars() -> Vec<(&'static str, String)> {
        let key = crate::crypto::SANDBOX_PII_KEYS.replace("sandbox-1:", "k1:");
        // Any other 32 bytes, so the production check against sandbox keys passes.
        let key = key.replace("c2FuZGJveC1vbmx5", "cHJvZHVjdGlvbi1r");
        vec![
            ("APP_ENV", "production".into()),
            ("DATABASE_URL", "postgres://x/y".into()),
            ("JWT_SIGNING_KEY", "k".repeat(40)),
            ("TOKEN_HASH_KEY", "h".repeat(40)),
            ("PII_KEYS", key),
            ("PII_CURRENT_KEY_ID", "k1".into()),
            (
                "PII_BLIND_INDEX_KEY",
                "cHJvZHVjdGlvbi1ibGluZC1pbmRleC1rZXktMDAwMDE=".into(),
            ),
            ("NOTIFY_URL", "https://notify.example".into()),
            ("NOTIFY_TOKEN", "t".into()),
            ("REGISTRY_URL", "https://registry.example".into()),
            ("REGISTRY_TOKEN", "t".into()),
            ("FACE_URL", "https://face.example".into()),
            ("FACE_TOKEN", "t".into()),
            ("PAYOUT_URL", "https://payout.example".into()),
            ("PAYOUT_TOKEN", "t".into()),
            ("PAYOUT_WEBHOOK_SECRET", "w".repeat(40)),
        ]
    }

    #[test]
    fn production_starts_with_every_integration_and_key() {
        let all = production_vars();
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let s = Settings::from_map(&vars(&pairs)).unwrap();
        assert!(!s.is_sandbox());
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn production_refuses_to_start_without_any_integration_or_key() {
        let all = production_vars();
        for missing in [
            "JWT_SIGNING_KEY",
            "TOKEN_HASH_KEY",
            "PII_KEYS",
            "NOTIFY_URL",
            "REGISTRY_URL",
            "FACE_URL",
            "PAYOUT_URL",
            "PAYOUT_WEBHOOK_SECRET",
        ] {
            let pairs: Vec<(&str, &str)> = all
                .iter()
                .filter(|(k, _)| *k != missing)
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            let err = Settings::from_map(&vars(&pairs)).unwrap_err();
            assert_eq!(err.variable, missing);
        }
    }

    #[test]
    fn production_refuses_the_sandbox_keys() {
        let mut all = production_vars();
        all.retain(|(k, _)| !k.starts_with("PII_"));
        all.push(("PII_KEYS", crate::crypto::SANDBOX_PII_KEYS.into()));
        all.push((
            "PII_CURRENT_KEY_ID",
            crate::crypto::SANDBOX_PII_CURRENT_KEY_ID.into(),
        ));
        all.push((
            "PII_BLIND_INDEX_KEY",
            crate::crypto::SANDBOX_PII_BLIND_INDEX_KEY.into(),
        ));
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            Settings::from_map(&vars(&pairs)).unwrap_err().variable,
            "PII_KEYS"
        );
    }

    #[test]
    fn production_refuses_the_test_fault_hook() {
        let mut all = production_vars();
        all.push(("TEST_FAULT_AFTER_COMMIT", "selection".into()));
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            Settings::from_map(&vars(&pairs)).unwrap_err().variable,
            "TEST_FAULT_AFTER_COMMIT"
        );
    }

    #[test]
    fn weak_signing_key_is_refused() {
        let err = Settings::from_map(&vars(&[
            ("APP_ENV", "sandbox"),
            ("DATABASE_URL", "postgres://x/y"),
            ("JWT_SIGNING_KEY", "short"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "JWT_SIGNING_KEY");
        assert!(err.to_string().contains("at least 32"));
    }

    #[test]
    fn bad_number_names_the_variable() {
        let err = Settings::from_map(&vars(&[
            ("APP_ENV", "sandbox"),
            ("DATABASE_URL", "postgres://x/y"),
            ("PORT", "eighty"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: PORT: cannot parse \"eighty\": invalid digit found in string"
        );
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_ranges() {
        let s = Settings::from_map(&vars(&[
            ("APP_ENV", "sandbox"),
            ("DATABASE_URL", "postgres://x/y"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ]))
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
    }
}
