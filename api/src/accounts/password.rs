//! The password policy of NIST SP 800-63B (422 `weak_password`). Hashing is a
//! shared mechanism: [`crate::secrets::passwords`].

use std::{collections::HashSet, sync::LazyLock};

use crate::error::{ApiError, ErrorCode};

/// Shortest accepted password (characters).
pub const MIN_LEN: usize = 8;
/// Longest accepted password (characters); bounds hashing work per request.
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .collect()
});

/// Why a password is refused (422 `weak_password`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("must be at least 8 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
    #[error("is too common or appears in known data breaches; choose another")]
    Common,
    #[error("must not contain your email address")]
    ContainsEmail,
}

impl From<WeakPassword> for ApiError {
    fn from(e: WeakPassword) -> Self {
        ApiError::new(ErrorCode::WeakPassword)
            .detail(format!("The password {e}."))
            .with_errors(vec![crate::error::FieldError {
                field: "password".into(),
                message: e.to_string(),
            }])
    }
}

/// NIST SP 800-63B: length 8–128, not common or breached, not the account's own
/// email; no composition rules. `email` is the normalised account email.
pub fn check_policy(password: &str, email: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_LEN {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(WeakPassword::Common);
    }
    let local = email.split('@').next().unwrap_or_default();
    if lower.contains(email) || (local.chars().count() >= 4 && lower.contains(local)) {
        return Err(WeakPassword::ContainsEmail);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_nist_without_composition_rules() {
        let email = "budi.santoso@example.com";
        let cases = [
            ("short12", Err(WeakPassword::TooShort)),
            ("ramping8", Ok(())),
            ("all lowercase words are fine", Ok(())),
            ("password", Err(WeakPassword::Common)),
            ("PassWord123", Err(WeakPassword::Common)),
            ("prakerja123", Err(WeakPassword::Common)),
            ("x-budi.santoso-9", Err(WeakPassword::ContainsEmail)),
        ];
        for (pw, want) in cases {
            assert_eq!(check_policy(pw, email), want, "{pw}");
        }
        assert_eq!(check_policy(&"a".repeat(128), email), Ok(()));
        assert_eq!(
            check_policy(&"a".repeat(129), email),
            Err(WeakPassword::TooLong)
        );
        // Length counts characters, not bytes.
        assert_eq!(check_policy("ééééééé", email), Err(WeakPassword::TooShort));
    }
}
