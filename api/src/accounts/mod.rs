//! Accounts and sessions (DOMAIN.md §1), one file per part of the section:
//! sign-up and email verification (`signup`), two-step login with an emailed
//! code (`login`), sessions with rotating refresh tokens (`sessions`),
//! password reset and change (`recovery`), the mobile number (`phone`) and the
//! account as its owner sees it (`me`). Each flow runs its writes, its audit row
//! and its outgoing message in one transaction.

pub mod email;
pub mod login;
pub mod me;
pub mod model;
pub mod password;
pub mod phone;
pub mod recovery;
pub mod routes;
pub mod rules;
pub mod sessions;
pub mod signup;
pub mod views;

use crate::{
    auth::jwt::TokenIssuer,
    clock::Clock,
    config::Settings,
    crypto::{BlindIndex, PiiCipher},
    secrets::{passwords::PasswordHasher, SecretHasher},
};

/// The collaborators of the account flows, borrowed from the app state by the
/// handlers (or built by the CLI or a job). The flows take a connection (or,
/// where they wait on argon2 or a captcha between database steps, the pool, so
/// no connection is held while waiting) and this; never the app state.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub clock: &'a Clock,
    /// Limits, token lifetimes, the web front end's address, the captcha.
    pub settings: &'a Settings,
    pub secrets: &'a SecretHasher,
    pub passwords: &'a PasswordHasher,
    pub tokens: &'a TokenIssuer,
    pub pii: &'a PiiCipher,
    pub blind: &'a BlindIndex,
    /// For the captcha provider.
    pub http: &'a reqwest::Client,
}

impl Deps<'_> {
    /// A link to the web front end carrying a single-use token.
    fn link(&self, path: &str, token: &str) -> String {
        let mut url = self.settings.web_base_url.clone();
        url.set_path(path);
        url.query_pairs_mut().append_pair("token", token);
        url.to_string()
    }
}
