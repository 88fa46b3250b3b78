//! `Email`: an address normalised at the edge (trimmed, lower-cased) so that
//! uniqueness is case-insensitive and every lookup uses one form.

use std::fmt;

use crate::{error::ApiError, notifications::channel::mask_email};

/// A syntactically valid, normalised email address.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalises; `Err` carries the reason for a field error.
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 {
            return Err("must be at most 254 characters");
        }
        if !validator::ValidateEmail::validate_email(&email) {
            return Err("is not a valid email address");
        }
        Ok(Email(email))
    }

    /// Parses the request field `email`: 422 `validation_failed` naming it otherwise.
    pub fn parse_field(raw: &str) -> Result<Email, ApiError> {
        Email::parse(raw).map_err(|m| ApiError::field("email", m))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For display to someone who must not learn the address: `b***@example.com`.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Logs get the masked form only.
        write!(f, "Email({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        assert_eq!(
            Email::parse("  Budi@Example.COM ").unwrap().as_str(),
            "budi@example.com"
        );
    }

    #[test]
    fn refuses_non_addresses() {
        for bad in ["", "budi", "budi@", "@example.com", "a b@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_the_masked_address() {
        assert_eq!(
            format!("{:?}", Email::parse("budi@example.com").unwrap()),
            "Email(b***@example.com)"
        );
    }
}
