//! Population registry (Dukcapil), INTEGRATIONS.md: `POST {REGISTRY_URL}/v1/nik/verify`
//! with a bearer token and `{nik, kk_number, date_of_birth}`; the answer says whether
//! the NIK exists, whether the KK and date of birth match, and gives the record
//! (name, gender, birth place, KTP address) that registration copies.
//!
//! The call is a read, so it is retried once after a connection failure or a 5xx
//! (see `retry`); a timeout is not retried, so a slow registry costs the
//! participant one timeout, not two. Every failure is a [`ProviderError`], which
//! the caller answers as 503 `registry_unavailable` ([`unavailable`]).
//!
//! Sandbox adapter: API.md's simulated registry, deterministic so that app
//! developers and tests can choose their outcome through the numbers they send.
//!
//! A NIK appears in logs only masked (its `Display`); the request body holds the
//! digits because the registry needs them, and the body is never logged.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    provider::ProviderError,
    retry::{self, RetryPolicy},
};
use crate::{
    config::Endpoint,
    error::{ApiError, ErrorCode},
    identity::{Gender, KkNumber, Nik},
};

/// What the registry knows of a NIK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// No such NIK (`{"found": false}`).
    NotFound,
    /// The NIK exists; identity is accepted only when both flags are true.
    Found {
        /// The given KK number is the one on the record.
        kk_matches: bool,
        /// The given date of birth is the one on the record.
        dob_matches: bool,
        /// The registry's record of the person.
        record: RegistryRecord,
    },
}

impl RegistryAnswer {
    /// The record when NIK, KK and date of birth all match (DOMAIN.md §2), the only
    /// case in which identity is verified.
    pub fn into_verified_record(self) -> Option<RegistryRecord> {
        match self {
            RegistryAnswer::Found {
                kk_matches: true,
                dob_matches: true,
                record,
            } => Some(record),
            _ => None,
        }
    }
}

/// A person as the registry records them. `Debug` hides everything personal.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    /// Name as on the KTP.
    pub full_name: String,
    /// Sex on the record.
    pub gender: Gender,
    /// Place of birth.
    pub birth_place: String,
    /// Date of birth on the record.
    pub date_of_birth: NaiveDate,
    /// KTP address; the profile address must equal it exactly.
    pub address: String,
    /// Province code of the KTP address (2 digits).
    pub province_code: String,
    /// Regency/city code of the KTP address (4 digits).
    pub regency_code: String,
    /// The family card the person belongs to.
    pub kk_number: KkNumber,
}

impl std::fmt::Debug for RegistryRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRecord")
            .field("full_name", &"[redacted]")
            .field("gender", &self.gender)
            .field("birth_place", &"[redacted]")
            .field("date_of_birth", &"[redacted]")
            .field("address", &"[redacted]")
            .field("province_code", &self.province_code)
            .field("regency_code", &self.regency_code)
            .field("kk_number", &self.kk_number)
            .finish()
    }
}

/// The 503 answer when the registry could not answer.
pub fn unavailable(e: ProviderError) -> ApiError {
    e.unavailable(ErrorCode::RegistryUnavailable, "population registry")
}

/// The configured registry.
#[derive(Clone)]
pub enum RegistryAdapter {
    /// The real registry over HTTP.
    Http {
        /// Shared client; its timeout bounds each attempt.
        client: reqwest::Client,
        /// `REGISTRY_URL` and `REGISTRY_TOKEN`.
        endpoint: Endpoint,
    },
    /// Sandbox: API.md's simulated registry.
    Sandbox,
}

impl RegistryAdapter {
    /// Asks the registry about a NIK with the KK number and date of birth the
    /// participant gave. Takes at most about twice the client's timeout.
    pub async fn verify(
        &self,
        nik: &Nik,
        kk: &KkNumber,
        dob: NaiveDate,
    ) -> Result<RegistryAnswer, ProviderError> {
        match self {
            RegistryAdapter::Sandbox => Ok(sandbox_verify(nik, kk, dob)),
            RegistryAdapter::Http { client, endpoint } => {
                http_verify(client, endpoint, nik, kk, dob).await
            }
        }
    }
}

#[derive(Serialize)]
struct VerifyRequest<'a> {
    nik: &'a str,
    kk_number: &'a str,
    date_of_birth: NaiveDate,
}

/// The answer as sent. Unknown fields are ignored: a provider may add some.
#[derive(Deserialize)]
struct VerifyResponse {
    found: bool,
    #[serde(rename = "match")]
    matches: Option<WireMatch>,
    record: Option<WireRecord>,
}

#[derive(Deserialize)]
struct WireMatch {
    kk_number: bool,
    date_of_birth: bool,
}

#[derive(Deserialize)]
struct WireRecord {
    full_name: String,
    gender: WireGender,
    birth_place: String,
    date_of_birth: NaiveDate,
    address: String,
    province_code: String,
    regency_code: String,
    kk_number: String,
}

#[derive(Deserialize)]
enum WireGender {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

async fn http_verify(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    nik: &Nik,
    kk: &KkNumber,
    dob: NaiveDate,
) -> Result<RegistryAnswer, ProviderError> {
    let request = VerifyRequest {
        nik: nik.expose(),
        kk_number: kk.expose(),
        date_of_birth: dob,
    };
    let answer: VerifyResponse = retry::post_json(
        client,
        endpoint,
        "population registry",
        "v1/nik/verify",
        &request,
        RetryPolicy::ConnectFailureOrServerError,
    )
    .await?;
    // A failed call is logged by `post_json`; an answer refused here, with the
    // NIK (masked) it was about.
    check_answer(answer).inspect_err(|e| {
        tracing::warn!(nik = %nik, error = %e, "population registry answer refused");
    })
}

/// Checks a well-formed answer against INTEGRATIONS.md. Errors name the field,
/// never a value: values here are personal data.
fn check_answer(answer: VerifyResponse) -> Result<RegistryAnswer, ProviderError> {
    if !answer.found {
        return Ok(RegistryAnswer::NotFound);
    }
    let (Some(matches), Some(record)) = (answer.matches, answer.record) else {
        return Err(ProviderError::Malformed(
            "found without `match` and `record`".into(),
        ));
    };
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&record.province_code, 2) {
        return Err(ProviderError::Malformed(
            "`record.province_code` is not 2 digits".into(),
        ));
    }
    if !digits(&record.regency_code, 4) {
        return Err(ProviderError::Malformed(
            "`record.regency_code` is not 4 digits".into(),
        ));
    }
    let kk_number = KkNumber::parse(&record.kk_number)
        .map_err(|_| ProviderError::Malformed("`record.kk_number` is not a KK number".into()))?;
    Ok(RegistryAnswer::Found {
        kk_matches: matches.kk_number,
        dob_matches: matches.date_of_birth,
        record: RegistryRecord {
            full_name: record.full_name,
            gender: match record.gender {
                WireGender::Male => Gender::Male,
                WireGender::Female => Gender::Female,
            },
            birth_place: record.birth_place,
            date_of_birth: record.date_of_birth,
            address: record.address,
            province_code: record.province_code,
            regency_code: record.regency_code,
            kk_number,
        },
    })
}

/// The two-digit number at `at` of an all-digit string.
fn two_digits(digits: &[u8], at: usize) -> u32 {
    u32::from(digits[at] - b'0') * 10 + u32::from(digits[at + 1] - b'0')
}

/// API.md's structural rule for the simulated registry, on the raw digits: 16
/// digits, province code 11–94, day 01–31 or 41–71, month 01–12, and a real date
/// with the century rule "00–29 → 20yy, else 19yy". Returns the embedded date of
/// birth and sex, or `None` when the simulator treats the NIK as unknown.
///
/// Kept apart from `Nik::parse` on purpose: the simulator's "real-looking 11–94"
/// is a fixed contract of the sandbox, while `Nik` accepts exactly the real
/// province codes (so a NIK from 95–97 parses but the sandbox does not know it).
fn sandbox_birth(digits: &str) -> Option<(NaiveDate, Gender)> {
    let b = digits.as_bytes();
    if b.len() != 16 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !(11..=94).contains(&two_digits(b, 0)) {
        return None;
    }
    let (day, gender) = match two_digits(b, 6) {
        day @ 1..=31 => (day, Gender::Male),
        day @ 41..=71 => (day - 40, Gender::Female),
        _ => return None,
    };
    let month = two_digits(b, 8);
    let yy = two_digits(b, 10) as i32;
    let year = if yy <= 29 { 2000 + yy } else { 1900 + yy };
    NaiveDate::from_ymd_opt(year, month, day).map(|date| (date, gender))
}

/// The simulated registry of API.md, exactly:
/// - found when structurally valid (see [`sandbox_birth`]) and the serial does not
///   start with `9`;
/// - the record's date of birth and sex are the ones embedded in the NIK, and the
///   date matches when the given one equals it;
/// - the record's KK is the one given (tests choose families freely), except that
///   a KK ending in `0` is a mismatch: the record then holds the same number ending
///   in `1`, so the record stays consistent with the flag;
/// - name `PESERTA {last 6 digits}`, birth place `JAKARTA`, address
///   `JL. PERCOBAAN NO. {last 4 digits}`, province and regency from the NIK.
fn sandbox_verify(nik: &Nik, kk: &KkNumber, dob: NaiveDate) -> RegistryAnswer {
    let digits = nik.expose();
    let Some((date_of_birth, gender)) = sandbox_birth(digits) else {
        return RegistryAnswer::NotFound;
    };
    if nik.serial().starts_with('9') {
        return RegistryAnswer::NotFound;
    }
    let kk_matches = !kk.expose().ends_with('0');
    let kk_number = if kk_matches {
        kk.clone()
    } else {
        let given = kk.expose();
        KkNumber::parse(&format!("{}1", &given[..given.len() - 1])).unwrap_or_else(|_| kk.clone())
    };
    RegistryAnswer::Found {
        kk_matches,
        dob_matches: dob == date_of_birth,
        record: RegistryRecord {
            full_name: format!("PESERTA {}", &digits[digits.len() - 6..]),
            gender,
            birth_place: "JAKARTA".to_owned(),
            date_of_birth,
            address: format!("JL. PERCOBAAN NO. {}", nik.serial()),
            province_code: nik.province_code().to_owned(),
            regency_code: nik.regency_code().to_owned(),
            kk_number,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use serde_json::json;
    use wiremock::{
        matchers::{body_json, header, method, path},
        Mock, MockServer, ResponseTemplate,
    };

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn nik(s: &str) -> Nik {
        Nik::parse(s).unwrap()
    }

    fn kk(s: &str) -> KkNumber {
        KkNumber::parse(s).unwrap()
    }

    // ---- Sandbox: API.md's rules, one row each ----

    /// A sandbox answer flattened for a table.
    #[derive(Debug, PartialEq)]
    enum Sim {
        NotFound,
        Found {
            kk: bool,
            dob: bool,
            born: NaiveDate,
            gender: Gender,
        },
    }

    fn found(kk: bool, dob: bool, born: NaiveDate, gender: Gender) -> Sim {
        Sim::Found {
            kk,
            dob,
            born,
            gender,
        }
    }

    fn simulate(n: &str, k: &str, dob: NaiveDate) -> Sim {
        match sandbox_verify(&nik(n), &kk(k), dob) {
            RegistryAnswer::NotFound => Sim::NotFound,
            RegistryAnswer::Found {
                kk_matches,
                dob_matches,
                record,
            } => found(kk_matches, dob_matches, record.date_of_birth, record.gender),
        }
    }

    #[test]
    fn sandbox_registry_follows_the_api_rules() {
        use Gender::{Female, Male};
        let fam = "3174010101090001";
        let apr17 = date(1995, 4, 17);
        #[rustfmt::skip]
        let cases = [
            // Found, everything matches: a man, and a woman (day + 40).
            ("3174011704950001", fam, apr17, found(true, true, apr17, Male)),
            ("3174015704950001", fam, apr17, found(true, true, apr17, Female)),
            ("3174014104950001", fam, date(1995, 4, 1), found(true, true, date(1995, 4, 1), Female)),
            ("3174017105950001", fam, date(1995, 5, 31), found(true, true, date(1995, 5, 31), Female)),
            // Century rule: 00–29 → 20yy, else 19yy.
            ("3174010101290001", fam, date(2029, 1, 1), found(true, true, date(2029, 1, 1), Male)),
            ("3174010101300001", fam, date(1930, 1, 1), found(true, true, date(1930, 1, 1), Male)),
            ("3174010101000001", fam, date(2000, 1, 1), found(true, true, date(2000, 1, 1), Male)),
            ("3174013112990001", fam, date(1999, 12, 31), found(true, true, date(1999, 12, 31), Male)),
            ("3174016902000001", fam, date(2000, 2, 29), found(true, true, date(2000, 2, 29), Female)),
            // Serial starting with 9: not found; 8999 is found.
            ("3174011704959000", fam, apr17, Sim::NotFound),
            ("3174011704959999", fam, apr17, Sim::NotFound),
            ("3174011704958999", fam, apr17, found(true, true, apr17, Male)),
            // KK ending in 0: KK mismatch; any other last digit matches.
            ("3174011704950001", "3174010101090010", apr17, found(false, true, apr17, Male)),
            ("3174011704950001", "3174010101090019", apr17, found(true, true, apr17, Male)),
            // A date of birth other than the embedded one (the century counts here).
            ("3174011704950001", fam, date(1995, 4, 18), found(true, false, apr17, Male)),
            ("3174011704950001", fam, date(2095, 4, 17), found(true, false, apr17, Male)),
            ("3174011704950001", "3174010101090010", date(1990, 1, 1), found(false, false, apr17, Male)),
            // Province range 11–94: 11 and 94 found; 95–97 are real provinces (Nik
            // parses them) but outside the simulator's range.
            ("1101011704950001", fam, apr17, found(true, true, apr17, Male)),
            ("9401011704950001", fam, apr17, found(true, true, apr17, Male)),
            ("9501011704950001", fam, apr17, Sim::NotFound),
            ("9701011704950001", fam, apr17, Sim::NotFound),
        ];
        for (n, k, dob, expected) in cases {
            assert_eq!(simulate(n, k, dob), expected, "{n} {k} {dob}");
        }
    }

    #[test]
    fn sandbox_structural_rule_on_raw_digits() {
        // Rows Nik::parse would already refuse, checked on the simulator's own rule.
        let cases = [
            ("3174011704950001", true),
            ("1074011704950001", false), // province below 11
            ("2074011704950001", true),  // "real-looking": in 11–94 though not a province
            ("9574011704950001", false), // province above 94
            ("3174010004950001", false), // day 00
            ("3174013204950001", false), // day 32
            ("3174014004950001", false), // day 40
            ("3174017204950001", false), // day 72
            ("3174011700950001", false), // month 00
            ("3174011713950001", false), // month 13
            ("3174013104950001", false), // 31 April
            ("3174012902950001", false), // 29 February 1995
            ("3174012902960001", true),  // 29 February 1996
            ("317401170495000", false),  // 15 digits
            ("317401170495000a", false), // not a digit
        ];
        for (digits, structurally_valid) in cases {
            assert_eq!(
                sandbox_birth(digits).is_some(),
                structurally_valid,
                "{digits}"
            );
        }
    }

    #[test]
    fn sandbox_record_fields() {
        let answer = sandbox_verify(
            &nik("3174015704950123"),
            &kk("3174010101090001"),
            date(1995, 4, 17),
        );
        let record = answer.clone().into_verified_record().unwrap();
        assert_eq!(record.full_name, "PESERTA 950123");
        assert_eq!(record.birth_place, "JAKARTA");
        assert_eq!(record.address, "JL. PERCOBAAN NO. 0123");
        assert_eq!(record.province_code, "31");
        assert_eq!(record.regency_code, "3174");
        assert_eq!(record.kk_number.expose(), "3174010101090001");
        assert_eq!(record.gender, Gender::Female);
        assert_eq!(record.date_of_birth, date(1995, 4, 17));

        // KK mismatch: the record's KK differs from the one given.
        let answer = sandbox_verify(
            &nik("3174015704950123"),
            &kk("3174010101090010"),
            date(1995, 4, 17),
        );
        let RegistryAnswer::Found {
            kk_matches, record, ..
        } = answer.clone()
        else {
            panic!("expected a record");
        };
        assert!(!kk_matches);
        assert_eq!(record.kk_number.expose(), "3174010101090011");
        assert_eq!(answer.into_verified_record(), None);
    }

    #[tokio::test]
    async fn sandbox_adapter_answers_without_a_network() {
        let answer = RegistryAdapter::Sandbox
            .verify(
                &nik("3174011704950001"),
                &kk("3174010101090001"),
                date(1995, 4, 17),
            )
            .await
            .unwrap();
        assert!(answer.into_verified_record().is_some());
    }

    #[test]
    fn record_debug_hides_personal_data() {
        let answer = sandbox_verify(
            &nik("3174015704950123"),
            &kk("3174010101090001"),
            date(1995, 4, 17),
        );
        let text = format!("{answer:?}");
        assert!(!text.contains("PESERTA"), "{text}");
        assert!(!text.contains("PERCOBAAN"), "{text}");
        assert!(!text.contains("1995"), "{text}");
        assert!(!text.contains("3174010101090001"), "{text}");
    }

    // ---- HTTP adapter against a mock registry (INTEGRATIONS.md shapes) ----

    const TOKEN: &str = "registry-test-token";

    fn adapter(server: &MockServer, timeout: Duration) -> RegistryAdapter {
        RegistryAdapter::Http {
            client: crate::integrations::http_client(timeout),
            endpoint: Endpoint {
                url: url::Url::parse(&server.uri()).unwrap(),
                token: SecretString::from(TOKEN),
            },
        }
    }

    fn expected_request() -> serde_json::Value {
        json!({"nik": "3174015704950001", "kk_number": "3174010101090001", "date_of_birth": "1995-04-17"})
    }

    async fn ask(adapter: &RegistryAdapter) -> Result<RegistryAnswer, ProviderError> {
        adapter
            .verify(
                &nik("3174015704950001"),
                &kk("3174010101090001"),
                date(1995, 4, 17),
            )
            .await
    }

    fn registry_record(kk_number: &str) -> serde_json::Value {
        json!({
            "full_name": "SITI RAHAYU", "gender": "F", "birth_place": "BANDUNG",
            "date_of_birth": "1995-04-17", "address": "JL. MAWAR NO. 5",
            "province_code": "31", "regency_code": "3174", "kk_number": kk_number
        })
    }

    /// A mock that only answers the documented request: path, bearer token, body.
    fn verify_mock(response: ResponseTemplate) -> Mock {
        Mock::given(method("POST"))
            .and(path("/v1/nik/verify"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(expected_request()))
            .respond_with(response)
    }

    #[tokio::test]
    async fn http_found_and_matching() {
        let server = MockServer::start().await;
        verify_mock(ResponseTemplate::new(200).set_body_json(json!({
            "found": true,
            "match": {"kk_number": true, "date_of_birth": true},
            "record": registry_record("3174010101090001")
        })))
        .expect(1)
        .mount(&server)
        .await;
        let record = ask(&adapter(&server, Duration::from_secs(2)))
            .await
            .unwrap()
            .into_verified_record()
            .unwrap();
        assert_eq!(record.full_name, "SITI RAHAYU");
        assert_eq!(record.gender, Gender::Female);
        assert_eq!(record.birth_place, "BANDUNG");
        assert_eq!(record.date_of_birth, date(1995, 4, 17));
        assert_eq!(record.address, "JL. MAWAR NO. 5");
        assert_eq!(record.province_code, "31");
        assert_eq!(record.regency_code, "3174");
        assert_eq!(record.kk_number.expose(), "3174010101090001");
    }

    #[tokio::test]
    async fn http_found_with_kk_mismatch() {
        let server = MockServer::start().await;
        verify_mock(ResponseTemplate::new(200).set_body_json(json!({
            "found": true,
            "match": {"kk_number": false, "date_of_birth": true},
            "record": registry_record("3174010101099999")
        })))
        .mount(&server)
        .await;
        let answer = ask(&adapter(&server, Duration::from_secs(2)))
            .await
            .unwrap();
        let RegistryAnswer::Found {
            kk_matches,
            dob_matches,
            ref record,
        } = answer
        else {
            panic!("expected found: {answer:?}");
        };
        assert!(!kk_matches);
        assert!(dob_matches);
        assert_eq!(record.kk_number.expose(), "3174010101099999");
        assert_eq!(answer.into_verified_record(), None);
    }

    #[tokio::test]
    async fn http_not_found() {
        let server = MockServer::start().await;
        verify_mock(ResponseTemplate::new(200).set_body_json(json!({"found": false})))
            .mount(&server)
            .await;
        let answer = ask(&adapter(&server, Duration::from_secs(2)))
            .await
            .unwrap();
        assert_eq!(answer, RegistryAnswer::NotFound);
    }

    #[tokio::test]
    async fn http_server_error_is_retried_once_then_fails() {
        let server = MockServer::start().await;
        verify_mock(ResponseTemplate::new(500))
            .expect(2)
            .mount(&server)
            .await;
        let err = ask(&adapter(&server, Duration::from_secs(2)))
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Status(500));
        let api = unavailable(err);
        assert_eq!(api.code(), ErrorCode::RegistryUnavailable);
        assert_eq!(api.problem().status, 503);
        // Dropping the server verifies it was asked exactly twice.
    }

    #[tokio::test]
    async fn http_server_error_then_success_succeeds() {
        let server = MockServer::start().await;
        verify_mock(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
        verify_mock(ResponseTemplate::new(200).set_body_json(json!({"found": false})))
            .expect(1)
            .mount(&server)
            .await;
        let answer = ask(&adapter(&server, Duration::from_secs(2)))
            .await
            .unwrap();
        assert_eq!(answer, RegistryAnswer::NotFound);
    }

    #[tokio::test]
    async fn http_client_error_is_not_retried() {
        let server = MockServer::start().await;
        verify_mock(ResponseTemplate::new(401))
            .expect(1)
            .mount(&server)
            .await;
        let err = ask(&adapter(&server, Duration::from_secs(2)))
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Status(401));
    }

    #[tokio::test]
    async fn http_timeout_fails_fast_without_retry() {
        let server = MockServer::start().await;
        verify_mock(
            ResponseTemplate::new(200)
                .set_body_json(json!({"found": false}))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
        // One attempt only (`expect(1)`, checked when the server drops): the
        // participant waits one timeout, not two.
        let err = ask(&adapter(&server, Duration::from_millis(300)))
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Timeout);
    }

    #[tokio::test]
    async fn http_unreachable_registry_is_an_error() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let adapter = RegistryAdapter::Http {
            client: crate::integrations::http_client(Duration::from_secs(1)),
            endpoint: Endpoint {
                url: url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
                token: SecretString::from(TOKEN),
            },
        };
        let err = ask(&adapter).await.unwrap_err();
        assert!(matches!(err, ProviderError::Transport(_)), "{err:?}");
        // No URL in the message.
        assert!(!err.to_string().contains(&port.to_string()), "{err}");
    }

    #[tokio::test]
    async fn http_malformed_bodies_are_errors() {
        let bodies = [
            ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
            ResponseTemplate::new(200).set_body_json(json!({"found": true})),
            ResponseTemplate::new(200)
                .set_body_json(json!({"match": {"kk_number": true, "date_of_birth": true}})),
            ResponseTemplate::new(200).set_body_json(json!({
                "found": true,
                "match": {"kk_number": true, "date_of_birth": true},
                "record": registry_record("3174010101090001").as_object().unwrap().clone()
                    .into_iter()
                    .map(|(k, v)| if k == "gender" { (k, json!("X")) } else { (k, v) })
                    .collect::<serde_json::Map<_, _>>()
            })),
            ResponseTemplate::new(200).set_body_json(json!({
                "found": true,
                "match": {"kk_number": true, "date_of_birth": true},
                "record": registry_record("not-a-kk")
            })),
            ResponseTemplate::new(200).set_body_json(json!({
                "found": true,
                "match": {"kk_number": "yes", "date_of_birth": true},
                "record": registry_record("3174010101090001")
            })),
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let server = MockServer::start().await;
            verify_mock(body).expect(1).mount(&server).await;
            let err = ask(&adapter(&server, Duration::from_secs(2)))
                .await
                .unwrap_err();
            assert!(
                matches!(err, ProviderError::Malformed(_)),
                "body {i}: {err:?}"
            );
            // The message names where, never what: no personal data.
            let message = err.to_string();
            assert!(
                !message.contains("SITI") && !message.contains("3174"),
                "body {i}: {message}"
            );
        }
    }
}
