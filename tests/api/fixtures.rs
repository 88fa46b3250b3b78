//! Reusable journeys: a verified participant, a logged-in session, an admin.

use serde_json::{json, Value};

use crate::helpers::TestApp;

/// A password that passes the policy.
pub const PASSWORD: &str = "kopi tubruk pagi hari";

/// Tokens of a logged-in account.
#[derive(Debug, Clone)]
pub struct Session {
    pub account_id: String,
    pub access: String,
    pub refresh: String,
}

/// A unique email for this test.
pub fn email(tag: &str) -> String {
    format!(
        "{tag}.{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

impl TestApp {
    /// Signs up and verifies the email; returns the account id.
    pub async fn verified_account(&self, email: &str, password: &str) -> String {
        let res = self
            .post(
                "/v1/accounts",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        let body: Value = res.json().await.unwrap();
        let token = self.last_message_data(email, "email_verification").await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = self
            .post(
                "/v1/accounts/email-verification",
                None,
                &json!({"token": token}),
            )
            .await;
        assert_eq!(res.status(), 200);
        body["id"].as_str().unwrap().to_owned()
    }

    /// Login step 1; returns the challenge id.
    pub async fn login_challenge(&self, email: &str, password: &str) -> String {
        let res = self
            .post(
                "/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        res.json::<Value>().await.unwrap()["challenge_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The newest login code sent to `email`.
    pub async fn login_code(&self, email: &str) -> String {
        self.last_message_data(email, "login_otp").await["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Both login steps.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let challenge = self.login_challenge(email, password).await;
        let code = self.login_code(email).await;
        let res = self
            .post(
                "/v1/auth/login/verify",
                None,
                &json!({"challenge_id": challenge, "code": code}),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let pair: Value = res.json().await.unwrap();
        let access = pair["access_token"].as_str().unwrap().to_owned();
        let me: Value = self
            .get("/v1/me", Some(&access))
            .await
            .json()
            .await
            .unwrap();
        Session {
            account_id: me["id"].as_str().unwrap().to_owned(),
            access,
            refresh: pair["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A verified participant, logged in.
    pub async fn participant(&self, tag: &str) -> (String, Session) {
        let email = email(tag);
        self.verified_account(&email, PASSWORD).await;
        let session = self.login(&email, PASSWORD).await;
        (email, session)
    }

    /// An admin made the way `prakerja-api admin create` makes one, logged in.
    pub async fn admin(&self) -> Session {
        let email = email("admin");
        let state = &self.state;
        prakerja_api::accounts::signup::create_admin(
            &state.db,
            &state.passwords,
            state.clock.now(),
            &email,
            PASSWORD,
        )
        .await
        .expect("admin created");
        self.login(&email, PASSWORD).await
    }
}

/// A NIK the sandbox registry finds: Jakarta Timur (3174), district 05, the
/// birth date encoded (women: day + 40), and a serial not starting with 9.
pub fn nik(birth: chrono::NaiveDate, female: bool, serial: u16) -> String {
    use chrono::Datelike;
    let day = birth.day() + if female { 40 } else { 0 };
    format!(
        "317405{day:02}{:02}{:02}{serial:04}",
        birth.month(),
        birth.year() % 100
    )
}

/// A family card number. It ends in 1: the sandbox registry answers a KK
/// mismatch for numbers ending in 0.
pub fn kk(family: u16) -> String {
    format!("31740501010{family:04}1")
}

/// The sandbox registry's KTP address for a NIK.
pub fn ktp_address(nik: &str) -> String {
    format!("JL. PERCOBAAN NO. {}", &nik[12..])
}

/// A tiny but valid-looking PNG (signature and padding) over the sandbox's 100-byte threshold.
pub fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 7);
    bytes
}

impl TestApp {
    /// Sends raw bytes with a content type.
    pub async fn send_bytes(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Verifies the identity; panics unless the registry accepts it.
    pub async fn verify_identity(
        &self,
        session: &Session,
        nik: &str,
        kk: &str,
        dob: &str,
    ) -> Value {
        let res = self
            .put(
                "/v1/me/identity",
                Some(&session.access),
                &json!({"nik": nik, "kk_number": kk, "date_of_birth": dob}),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        res.json().await.unwrap()
    }

    /// Every registration step, as an eligible job seeker.
    pub async fn complete_registration(
        &self,
        session: &Session,
        nik: &str,
        kk: &str,
        dob: &str,
        phone: &str,
    ) {
        self.verify_identity(session, nik, kk, dob).await;
        let token = Some(session.access.as_str());
        let res = self
            .put(
                "/v1/me/profile",
                token,
                &json!({"address": ktp_address(nik), "domicile_province_code": "31", "domicile_regency_code": "3174",
                        "education_level": "sma", "in_formal_education": false, "occupation": "unemployed",
                        "employment_status": "laid_off"}),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let res = self
            .send_bytes(
                reqwest::Method::PUT,
                "/v1/me/ktp-photo",
                &session.access,
                "image/png",
                png(2048),
            )
            .await;
        assert_eq!(res.status(), 204);
        let res = self
            .send_bytes(
                reqwest::Method::POST,
                "/v1/me/face-enrollment",
                &session.access,
                "image/png",
                png(2048),
            )
            .await;
        assert_eq!(res.status(), 200);
        let res = self
            .put(
                "/v1/me/questionnaire",
                token,
                &json!({"motivation": "Ingin bekerja", "preferred_skills": ["menjahit"]}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let res = self
            .put("/v1/me/phone", token, &json!({"phone": phone}))
            .await;
        assert_eq!(res.status(), 202, "{:?}", res.text().await);
        let challenge: Value = res.json().await.unwrap();
        let code = self.last_message_data(phone, "phone_otp").await["code"].clone();
        let res = self
            .post(
                "/v1/me/phone/verify",
                token,
                &json!({"challenge_id": challenge["challenge_id"], "code": code}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let res = self
            .put("/v1/me/statement", token, &json!({"agreed": true}))
            .await;
        assert_eq!(res.status(), 200);
        let test: Value = self
            .get("/v1/aptitude-test", token)
            .await
            .json()
            .await
            .unwrap();
        let answers: Vec<Value> = test["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| json!({"question_id": q["id"], "option": q["options"][0]["id"]}))
            .collect();
        let res = self
            .post(
                "/v1/aptitude-test/submissions",
                token,
                &json!({"answers": answers}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
}

/// A registered, eligible participant (all steps done), logged in.
pub async fn registered(app: &TestApp, tag: &str, family: u16, serial: u16, dob: &str) -> Session {
    let (_, session) = app.participant(tag).await;
    let birth: chrono::NaiveDate = dob.parse().unwrap();
    let phone = format!("+628133{:03}{serial:04}", family % 1000);
    app.complete_registration(
        &session,
        &nik(birth, false, serial),
        &kk(family),
        dob,
        &phone,
    )
    .await;
    session
}

impl TestApp {
    /// Creates a wave (as `admin`) open from `opens_at` to `closes_at`.
    pub async fn create_wave(
        &self,
        admin: &Session,
        quota: i32,
        opens_at: chrono::DateTime<chrono::Utc>,
        closes_at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let res = self
            .post(
                "/v1/admin/batches",
                Some(&admin.access),
                &json!({"name": "Gelombang Uji", "opens_at": opens_at.to_rfc3339(), "closes_at": closes_at.to_rfc3339(), "quota": quota}),
            )
            .await;
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Joins a wave; returns the response.
    pub async fn apply(&self, session: &Session, batch: &str) -> reqwest::Response {
        self.post(
            &format!("/v1/batches/{batch}/applications"),
            Some(&session.access),
            &json!({}),
        )
        .await
    }

    /// Runs a wave's selection; returns the response.
    pub async fn select(&self, admin: &Session, batch: &str) -> reqwest::Response {
        self.post(
            &format!("/v1/admin/batches/{batch}/selection"),
            Some(&admin.access),
            &json!({}),
        )
        .await
    }

    /// Checks the ledger's invariants: every entry balances, one entry per
    /// cause, only card accounts cache a balance and each cache equals the sum of
    /// its postings (and the newest posting's `balance_after_idr`), no card is
    /// negative, and money is neither created nor lost (all postings sum to zero).
    pub async fn assert_ledger_invariants(&self) {
        let mut conn = self.db.conn().await;
        let checks: [(&str, &str); 7] = [
            (
                "SELECT count(*) AS n FROM (SELECT entry_id FROM ledger_postings GROUP BY entry_id HAVING sum(amount_idr) <> 0) x",
                "unbalanced journal entries",
            ),
            (
                "SELECT count(*) AS n FROM (SELECT 1 FROM journal_entries GROUP BY kind, reference HAVING count(*) > 1) x",
                "a cause posted twice",
            ),
            (
                "SELECT count(*) AS n FROM ledger_accounts WHERE (kind = 'participant_card') <> (balance_idr IS NOT NULL)",
                "a cached balance on a shared account (a hot row), or a card without one",
            ),
            (
                "SELECT count(*) AS n FROM ledger_accounts a WHERE a.balance_idr <> \
                 (SELECT coalesce(sum(amount_idr), 0) FROM ledger_postings p WHERE p.account_id = a.id)",
                "cached balances differ from their postings",
            ),
            (
                "SELECT count(*) AS n FROM ledger_accounts WHERE kind = 'participant_card' AND balance_idr < 0",
                "negative card balance",
            ),
            (
                "SELECT count(*) AS n FROM ledger_accounts a WHERE a.balance_idr <> coalesce( \
                 (SELECT balance_after_idr FROM ledger_postings p WHERE p.account_id = a.id ORDER BY p.id DESC LIMIT 1), 0)",
                "balance_after of the newest card posting differs from the balance",
            ),
            (
                "SELECT count(*) AS n FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id \
                 WHERE (a.kind = 'participant_card') <> (p.balance_after_idr IS NOT NULL)",
                "a running balance on a shared account's posting, or a card posting without one",
            ),
        ];
        for (sql, what) in checks {
            assert_eq!(crate::helpers::count(&mut conn, sql).await, 0, "{what}");
        }
        let total = crate::helpers::count(
            &mut conn,
            "SELECT coalesce(sum(amount_idr), 0)::bigint AS n FROM ledger_postings",
        )
        .await;
        assert_eq!(total, 0, "money created or lost");
    }
}
