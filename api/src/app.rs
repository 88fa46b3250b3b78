//! Builds the actix application: middleware, routes and the OpenAPI document
//! (collected from the same route registrations, so the document cannot list a
//! route the service does not have). Only `server` and `main` import this file;
//! the shared state lives below the domains, in `state`.

use actix_cors::Cors;
use actix_web::{
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    middleware::from_fn,
    web, App,
};
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        OpenApi as OpenApiDoc,
    },
    Modify, OpenApi,
};
use utoipa_actix_web::{scope, service_config::ServiceConfig, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    accounts, admin, auth, batches, card, catalogue,
    config::Settings,
    contract,
    error::{ErrorCode, FieldError, Problem},
    http::{fallback, gate::gate, request_context::request_context},
    incentives, partners, purchases, registration, reports, sandbox, service,
    state::AppState,
    vacancies,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kartu Prakerja API",
        version = "1.0.0",
        description = "The v1 API of the Kartu Prakerja programme for the participant apps, the web front end, \
partner platforms and the programme office.\n\n\
Conventions: JSON, snake_case; timestamps RFC 3339; calendar dates `YYYY-MM-DD` in Asia/Jakarta; money in \
integer rupiah in fields ending `_idr`. Errors are `application/problem+json` with a stable `code`; clients \
decide by `code`, not status. Lists take `limit` (1-100, default 20) and `cursor` and answer \
`{data, next_cursor}`. Every response carries `X-Request-Id`. Unknown JSON fields are refused (400), and so is a string holding U+0000 in any \
field, or a control character (line break, tab, escape) in a name or address field (those with the \
single-line `pattern`): 400 `invalid_request` naming the field. \
Rate-limited answers are 429 with `Retry-After` (seconds). Every route except `/health` and `/ready` \
has a per-IP limit of `RATE_LIMIT_IP_PER_MINUTE` requests a minute (300 by default) per client address \
and route pattern (a fixed one-minute window); the client address comes from `X-Forwarded-For` only \
behind a proxy listed in `TRUSTED_PROXIES`.\n\n\
Sandbox (APP_ENV=sandbox): `/v1/sandbox/*` routes move the service clock, run jobs and show the messages the \
server would send; the population registry, face service and payout provider are simulated. Production \
answers 404 there."
    ),
    servers((url = "/", description = "This server")),
    components(schemas(Problem, FieldError, ErrorCode)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "service", description = "Health and readiness"),
        (name = "accounts", description = "Sign-up, email verification, login with email OTP, tokens, password, phone"),
        (name = "registration", description = "Identity (NIK/KK via the population registry), profile, KTP photo, face, questionnaire, statement, aptitude test, eligibility"),
        (name = "batches", description = "Waves (gelombang): list, join, applications"),
        (name = "card", description = "The Kartu Prakerja number, balance and transaction history"),
        (name = "catalogue", description = "Training courses: partners publish them, anyone searches them"),
        (name = "purchases", description = "Spending the card: a partner platform's purchase codes, purchases, redemptions, completions, venue face checks and views of its purchases; the participant's purchases, cancellation, face checks, review"),
        (name = "incentives", description = "Payout account, incentives, evaluation surveys, the payout provider's callbacks"),
        (name = "help", description = "The report form: reaching the programme office, also without logging in, with attachments and a thread"),
        (name = "jobs", description = "Job information: job boards publish vacancies, anyone searches them, participants get recommendations"),
        (name = "admin", description = "Programme office (admin role)"),
        (name = "sandbox", description = "Sandbox only: clock, jobs, notification inbox"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from `POST /v1/auth/login/verify` (participants and admins; about 15 minutes).",
                    ))
                    .build(),
            ),
        );
        // A partner request carries all three headers (one security requirement
        // naming the three schemes); partners::SignedPartner checks them.
        let partner = [
            (
                "partner_id",
                "X-Partner-Id",
                "The `partner_id` answered by `POST /v1/admin/partners`.",
            ),
            (
                "partner_timestamp",
                "X-Timestamp",
                "Unix time in seconds when the request was signed; refused when more than 5 minutes \
                 from the server's real time (the sandbox clock does not move it).",
            ),
            (
                "partner_signature",
                "X-Signature",
                "Lowercase hex HMAC-SHA256, keyed with the partner secret (its UTF-8 bytes), over \
                 `METHOD\\nPATH_WITH_QUERY\\nX-Timestamp\\nhex(SHA-256(body))`: PATH_WITH_QUERY is the \
                 request target exactly as sent, an empty body hashes as SHA-256 of zero bytes. Each \
                 signature is accepted once (replays, from any instance, answer 401 \
                 `invalid_signature`), so two identical requests need different timestamps. During a \
                 secret rotation's grace period the previous secret is accepted too.",
            ),
        ];
        components.add_security_scheme(
            "report_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Report-Token",
                "The `upload_token` answered by `POST /v1/reports`: lets an anonymous reporter attach \
                 files to that report only, for 72 hours.",
            ))),
        );
        for (name, header, description) in partner {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header,
                    description,
                ))),
            );
        }
    }
}

/// Registers every route. `sandbox` adds `/v1/sandbox/*`.
fn routes(cfg: &mut ServiceConfig, sandbox: bool) {
    cfg.service(service::routes::health)
        .service(service::routes::ready);
    let mut v1 = scope::scope("/v1")
        .service(accounts::routes::sign_up)
        .service(accounts::routes::verify_email)
        .service(accounts::routes::resend_verification)
        .service(accounts::routes::captcha)
        .service(accounts::routes::login)
        .service(accounts::routes::verify_login)
        .service(accounts::routes::resend_login)
        .service(accounts::routes::refresh)
        .service(accounts::routes::logout)
        .service(accounts::routes::request_password_reset)
        .service(accounts::routes::confirm_password_reset)
        .service(accounts::routes::me)
        .service(accounts::routes::change_password)
        .service(accounts::routes::set_phone)
        .service(accounts::routes::verify_phone)
        .service(admin::routes::list_accounts)
        .service(admin::routes::get_account)
        .service(admin::routes::block)
        .service(admin::routes::unblock)
        .service(admin::routes::fraud_flag)
        .service(admin::routes::audit_events)
        .service(partners::routes::create)
        .service(partners::routes::get)
        .service(partners::routes::rotate)
        .service(partners::routes::disable)
        .service(partners::routes::enable)
        .service(catalogue::routes::upsert_course)
        .service(catalogue::routes::list_courses)
        .service(catalogue::routes::get_course)
        .service(vacancies::routes::upsert_job)
        .service(vacancies::routes::list_jobs)
        .service(vacancies::routes::get_job)
        .service(vacancies::routes::list_job_recommendations)
        .service(registration::routes::put_identity)
        .service(registration::routes::put_profile)
        .service(registration::routes::post_data_review)
        .service(registration::routes::put_ktp_photo)
        .service(registration::routes::post_face_enrollment)
        .service(registration::routes::put_questionnaire)
        .service(registration::routes::put_statement)
        .service(registration::routes::get_aptitude_test)
        .service(registration::routes::post_aptitude_submission)
        .service(registration::routes::get_eligibility)
        .service(batches::routes::list)
        .service(batches::routes::apply)
        .service(batches::routes::my_applications)
        .service(batches::routes::create)
        .service(batches::routes::get)
        .service(batches::routes::update)
        .service(batches::routes::select)
        .service(card::routes::my_card)
        .service(card::routes::my_transactions)
        .service(purchases::routes::list_mine)
        .service(purchases::routes::get_mine)
        .service(purchases::routes::cancel)
        .service(purchases::routes::check_face)
        .service(incentives::routes::link_payout_account)
        .service(incentives::routes::get_payout_account)
        .service(incentives::routes::unlink_payout_account)
        .service(incentives::routes::list_my_incentives)
        .service(incentives::routes::list_my_surveys)
        .service(incentives::routes::respond_to_survey)
        .service(incentives::routes::get_account_incentives)
        .service(incentives::routes::disbursement_callback)
        .service(purchases::routes::review_mine)
        .service(purchases::partner_routes::request_code)
        .service(purchases::partner_routes::buy)
        .service(purchases::partner_routes::redeem)
        .service(purchases::partner_routes::complete)
        .service(purchases::partner_routes::check_face)
        .service(purchases::partner_routes::feed)
        .service(purchases::partner_routes::read)
        .service(reports::routes::create_report)
        .service(reports::routes::upload_report_attachment)
        .service(reports::routes::list_my_reports)
        .service(reports::routes::get_my_report)
        .service(reports::routes::post_my_report_message)
        .service(reports::routes::list_reports)
        .service(reports::routes::get_report)
        .service(reports::routes::download_report_attachment)
        .service(reports::routes::answer_report)
        .service(reports::routes::transfer_nik);
    if sandbox {
        v1 = v1.service(
            scope::scope("/sandbox")
                .service(sandbox::routes::get_clock)
                .service(sandbox::routes::set_clock)
                .service(sandbox::routes::reset_clock)
                .service(sandbox::routes::notifications)
                .service(sandbox::routes::run_job),
        );
    }
    cfg.service(v1);
}

/// The OpenAPI document of every route, sandbox included (as committed in
/// `docs/openapi/openapi.json`).
pub fn openapi() -> serde_json::Value {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(|cfg| routes(cfg, true))
        .split_for_parts();
    // After the routes are collected (ApiDoc's own modifiers run before that).
    let mut json = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    contract::apply(&mut json, &OPERATIONS);
    json
}

/// Every domain's table of error codes (`contract`), one per routes module.
const OPERATIONS: [&[contract::Operation]; 14] = [
    service::routes::OPERATIONS,
    accounts::routes::OPERATIONS,
    admin::routes::OPERATIONS,
    partners::routes::OPERATIONS,
    catalogue::routes::OPERATIONS,
    registration::routes::OPERATIONS,
    batches::routes::OPERATIONS,
    card::routes::OPERATIONS,
    purchases::routes::OPERATIONS,
    incentives::routes::OPERATIONS,
    purchases::partner_routes::OPERATIONS,
    reports::routes::OPERATIONS,
    sandbox::routes::OPERATIONS,
    vacancies::routes::OPERATIONS,
];

/// The document as served and committed: pretty JSON with a trailing newline.
pub fn openapi_json() -> String {
    let mut json =
        serde_json::to_string_pretty(&openapi()).expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// Builds the application for one worker.
pub fn build(
    state: web::Data<AppState>,
    doc: web::Data<serde_json::Value>,
    known: web::Data<fallback::KnownRoutes>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sandbox = state.settings.is_sandbox();
    let cors = cors(&state.settings);
    let declared = web::Data::new(contract::Declared::from_openapi(doc.get_ref()));
    let participant_routes = web::Data::new(auth::ParticipantRoutes(contract::participant_routes(
        doc.get_ref(),
        &OPERATIONS,
    )));
    let (app, _) = App::new()
        .into_utoipa_app()
        .configure(|cfg| routes(cfg, sandbox))
        .split_for_parts();
    app.app_data(state)
        .app_data(known)
        .app_data(declared)
        .app_data(participant_routes)
        .app_data(web::PathConfig::default().error_handler(fallback::path_error))
        .app_data(web::QueryConfig::default().error_handler(fallback::query_error))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .external_url_unchecked("/openapi.json", doc.get_ref().clone()),
        )
        // API.md names the browser `/docs`; the UI itself lives under `/docs/`.
        .service(web::redirect("/docs", "/docs/").permanent())
        .default_service(web::to(fallback::not_matched))
        .wrap(from_fn(contract::guard))
        .wrap(from_fn(gate))
        .wrap(cors)
        .wrap(from_fn(request_context))
        .wrap(from_fn(crate::metrics::http::track))
}

fn cors(settings: &Settings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "x-request-id",
            "x-partner-id",
            "x-timestamp",
            "x-signature",
            "x-report-token",
        ])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(3600);
    for origin in &settings.cors_allowed_origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// The completed document: what `contract::apply` promises of it.
#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::openapi;
    use crate::{contract::Declared, error::ErrorCode};

    fn declared() -> Declared {
        Declared::from_openapi(&openapi())
    }

    #[test]
    fn undeclared_codes_and_statuses_are_violations() {
        let d = declared();
        assert_eq!(
            d.violation("POST", "/v1/accounts", 409, Some(ErrorCode::EmailTaken)),
            None
        );
        assert!(d
            .violation("POST", "/v1/accounts", 409, Some(ErrorCode::AlreadyApplied))
            .is_some());
        assert!(d.violation("POST", "/v1/accounts", 200, None).is_some());
        assert_eq!(d.violation("POST", "/v1/accounts", 201, None), None);
    }

    #[test]
    fn every_declared_code_is_sent_with_its_own_status() {
        let doc = openapi();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    assert!(
                        response.pointer("/headers/X-Request-Id").is_some(),
                        "{method} {path} {status}: X-Request-Id"
                    );
                    if status == "429" || status == "503" {
                        assert!(
                            response.pointer("/headers/Retry-After").is_some(),
                            "{method} {path} {status}: Retry-After"
                        );
                    }
                    let codes = response.pointer(
                        "/content/application~1problem+json/schema/allOf/1/properties/code/enum",
                    );
                    if status.starts_with('4') || status.starts_with('5') {
                        let codes = codes
                            .unwrap_or_else(|| panic!("{method} {path} {status} lists no codes"));
                        for code in codes.as_array().unwrap() {
                            let code = ErrorCode::ALL
                                .iter()
                                .find(|c| c.as_str() == code)
                                .unwrap_or_else(|| panic!("unknown code {code}"));
                            assert_eq!(code.status().as_str(), status, "{method} {path} {code}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn generic_codes_follow_the_operation_shape() {
        let doc = openapi();
        let codes = |method: &str, path: &str, status: &str| -> Vec<String> {
            doc["paths"][path][method]["responses"][status]
                .pointer("/content/application~1problem+json/schema/allOf/1/properties/code/enum")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        // A JSON body: 400, 413, 415, 422.
        assert!(codes("post", "/v1/accounts", "400").contains(&"invalid_request".into()));
        assert!(codes("post", "/v1/accounts", "422").contains(&"validation_failed".into()));
        assert!(codes("post", "/v1/accounts", "415").contains(&"unsupported_media_type".into()));
        // A paged list: 422 for limit and cursor.
        assert!(codes("get", "/v1/me/applications", "422").contains(&"validation_failed".into()));
        // A bearer route: the three token codes; an admin route: forbidden.
        assert_eq!(
            codes("get", "/v1/me", "401"),
            ["unauthenticated", "access_token_expired", "session_ended"]
        );
        assert_eq!(codes("get", "/v1/admin/accounts", "403"), ["forbidden"]);
        // Every route: 429 with Retry-After.
        assert_eq!(codes("get", "/health", "429"), ["rate_limited"]);
    }
}

/// The patterns the document states agree with the parsers the server runs,
/// over a deterministic corpus of near misses: a schema-valid value is one the
/// server accepts, and a value the server accepts is schema-valid.
#[cfg(test)]
mod pattern_tests {
    use regex::Regex;
    use serde_json::Value;

    use super::openapi;
    use crate::{
        accounts::rules::parse_phone,
        identity::{KkNumber, Nik, NikError},
        pagination::{Cursor, SeqCursor},
    };

    fn pattern(doc: &Value, pointer: &str) -> Regex {
        let p = doc
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no pattern at {pointer}"));
        Regex::new(p).unwrap()
    }

    /// A small deterministic generator (no dependency, same corpus every run).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
        fn digits(&mut self, len: usize) -> String {
            (0..len)
                .map(|_| char::from(b'0' + self.next(10) as u8))
                .collect()
        }
    }

    #[test]
    fn nik_and_kk_patterns_agree_with_their_parsers() {
        let doc = openapi();
        let nik = pattern(
            &doc,
            "/components/schemas/IdentityBody/properties/nik/pattern",
        );
        let kk = pattern(
            &doc,
            "/components/schemas/IdentityBody/properties/kk_number/pattern",
        );
        let mut rng = Lcg(15);
        let mut accepted = 0;
        for i in 0..20_000 {
            // Mostly plausible NIKs (province, day and month near their ranges).
            let s = if i % 3 == 0 {
                let len = 15 + rng.next(3) as usize;
                rng.digits(len)
            } else {
                format!(
                    "{:02}{}{:02}{:02}{}",
                    10 + rng.next(90),
                    rng.digits(4),
                    rng.next(80),
                    rng.next(14),
                    rng.digits(6)
                )
            };
            match Nik::parse(&s) {
                Ok(_) => assert!(
                    nik.is_match(&s),
                    "the server accepts NIK {s}, the pattern not"
                ),
                // A date that does not exist is the one rule the pattern leaves
                // to the server (documented on the field).
                Err(NikError::InvalidDate) => {}
                Err(e) => assert!(
                    !nik.is_match(&s),
                    "the pattern admits NIK {s}, the server: {e}"
                ),
            }
            assert_eq!(KkNumber::parse(&s).is_ok(), kk.is_match(&s), "KK {s}");
            accepted += usize::from(nik.is_match(&s));
        }
        assert!(
            accepted > 2_000,
            "the corpus holds valid NIKs too ({accepted})"
        );
    }

    #[test]
    fn phone_pattern_agrees_with_parse_phone() {
        let doc = openapi();
        let phone = pattern(
            &doc,
            "/components/schemas/SetPhone/properties/phone/pattern",
        );
        assert_eq!(phone.as_str(), crate::accounts::views::PHONE_PATTERN);
        let mut rng = Lcg(62);
        let mut accepted = 0;
        let prefixes = [
            "+62", "62", "0", "+", "", "+6", "620", "+62 ", " 0", "6-2", "+-62",
        ];
        for _ in 0..20_000 {
            let mut s = prefixes[rng.next(prefixes.len() as u64) as usize].to_owned();
            let first = if rng.next(5) == 0 { '7' } else { '8' };
            s.push(first);
            for _ in 0..(6 + rng.next(9)) {
                match rng.next(12) {
                    0 => s.push(' '),
                    1 => s.push('-'),
                    2 if rng.next(4) == 0 => s.push('x'),
                    _ => s.push(char::from(b'0' + rng.next(10) as u8)),
                }
            }
            if rng.next(6) == 0 {
                s.push(' ');
            }
            assert_eq!(parse_phone(&s).is_ok(), phone.is_match(&s), "phone {s:?}");
            accepted += usize::from(phone.is_match(&s));
        }
        assert!(
            accepted > 2_000,
            "the corpus holds valid numbers too ({accepted})"
        );
    }

    #[test]
    fn cursor_patterns_agree_with_their_decoders() {
        let doc = openapi();
        let param = |path: &str| {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let cursor = params.iter().find(|p| p["name"] == "cursor").unwrap();
            Regex::new(cursor["schema"]["pattern"].as_str().unwrap()).unwrap()
        };
        let (time, seq) = (param("/v1/batches"), param("/v1/sandbox/notifications"));
        let mut rng = Lcg(7);
        let mut accepted = 0;
        let hex = "0123456789abcdefABCDEF-";
        for _ in 0..20_000 {
            let len = 1 + rng.next(18) as usize;
            let micros = rng.digits(len);
            // Mostly lowercase hex; now and then uppercase or a hyphen.
            let alphabet = if rng.next(8) == 0 { hex.len() } else { 16 };
            let id: String = (0..(30 + rng.next(4)))
                .map(|_| hex.as_bytes()[rng.next(alphabet as u64) as usize] as char)
                .collect();
            let s = format!("{micros}_{id}");
            assert_eq!(
                Cursor::decode(&s).is_some(),
                time.is_match(&s),
                "cursor {s}"
            );
            assert_eq!(
                SeqCursor::decode(&micros).is_some(),
                seq.is_match(&micros),
                "seq {micros}"
            );
            accepted += usize::from(time.is_match(&s));
        }
        assert!(
            accepted > 2_000,
            "the corpus holds valid cursors too ({accepted})"
        );
        // Empty means the first page, for both.
        assert!(time.is_match("") && seq.is_match(""));
    }

    /// API.md: participant routes are every `/v1/me/…` route except `GET /v1/me`
    /// and `PUT /v1/me/password`, plus joining a wave and the aptitude submission.
    #[test]
    fn participant_routes_are_the_ones_api_md_names() {
        let doc = openapi();
        let routes = crate::contract::participant_routes(&doc, &super::OPERATIONS);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "put", "post", "delete", "patch"] {
                if item.get(method).is_none() {
                    continue;
                }
                let method = method.to_uppercase();
                let expected = (path.starts_with("/v1/me/")
                    && !(method == "PUT" && path == "/v1/me/password"))
                    || (method == "POST" && path == "/v1/batches/{id}/applications")
                    || (method == "POST" && path == "/v1/aptitude-test/submissions");
                assert_eq!(
                    routes.contains(&(method.clone(), path.clone())),
                    expected,
                    "{method} {path}"
                );
            }
        }
    }
}
