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
    format!("{tag}.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

impl TestApp {
    /// Signs up and verifies the email; returns the account id.
    pub async fn verified_account(&self, email: &str, password: &str) -> String {
        let res = self.post("/v1/accounts", None, &json!({"email": email, "password": password})).await;
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        let body: Value = res.json().await.unwrap();
        let token = self.last_message_data(email, "email_verification").await["token"].as_str().unwrap().to_owned();
        let res = self.post("/v1/accounts/email-verification", None, &json!({"token": token})).await;
        assert_eq!(res.status(), 200);
        body["id"].as_str().unwrap().to_owned()
    }

    /// Login step 1; returns the challenge id.
    pub async fn login_challenge(&self, email: &str, password: &str) -> String {
        let res = self.post("/v1/auth/login", None, &json!({"email": email, "password": password})).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        res.json::<Value>().await.unwrap()["challenge_id"].as_str().unwrap().to_owned()
    }

    /// The newest login code sent to `email`.
    pub async fn login_code(&self, email: &str) -> String {
        self.last_message_data(email, "login_otp").await["code"].as_str().unwrap().to_owned()
    }

    /// Both login steps.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let challenge = self.login_challenge(email, password).await;
        let code = self.login_code(email).await;
        let res = self
            .post("/v1/auth/login/verify", None, &json!({"challenge_id": challenge, "code": code}))
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let pair: Value = res.json().await.unwrap();
        let access = pair["access_token"].as_str().unwrap().to_owned();
        let me: Value = self.get("/v1/me", Some(&access)).await.json().await.unwrap();
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
        prakerja_api::accounts::service::create_admin(&self.state, &email, PASSWORD)
            .await
            .expect("admin created");
        self.login(&email, PASSWORD).await
    }
}
