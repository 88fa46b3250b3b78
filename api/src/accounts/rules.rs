//! The account rules of DOMAIN.md §1 and API.md as plain values and functions
//! (the OTP limits are the OTP module's: `otp::rules`).

use chrono::TimeDelta;

use crate::{
    error::{ApiError, ErrorCode},
    ratelimit::Limit,
};

/// Wrong passwords per email: 10 in 15 minutes lock login until 15 minutes after the last.
pub const LOGIN_FAILURES: Limit = Limit {
    max: 10,
    window: TimeDelta::minutes(15),
};
/// Verification emails asked per address per hour.
pub const VERIFICATION_RESENDS: Limit = Limit {
    max: 5,
    window: TimeDelta::hours(1),
};
/// Password-reset requests per identifier per hour.
pub const RESET_REQUESTS: Limit = Limit {
    max: 5,
    window: TimeDelta::hours(1),
};
/// Email verification links live 24 hours.
pub const VERIFICATION_TOKEN_TTL: TimeDelta = TimeDelta::hours(24);
/// Password reset links live 1 hour.
pub const RESET_TOKEN_TTL: TimeDelta = TimeDelta::hours(1);

/// Why a phone number may not be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneChangeRefused {
    /// Only a beneficiary of the current year may replace a verified number.
    NotBeneficiaryThisYear,
    /// The payout account must be unlinked first.
    PayoutAccountLinked,
}

impl From<PhoneChangeRefused> for ApiError {
    fn from(r: PhoneChangeRefused) -> Self {
        match r {
            PhoneChangeRefused::NotBeneficiaryThisYear => {
                ApiError::new(ErrorCode::PhoneChangeNotAllowed)
                    .detail("A verified number can be changed only by a beneficiary of this year.")
            }
            PhoneChangeRefused::PayoutAccountLinked => {
                ApiError::new(ErrorCode::PayoutAccountLinked)
                    .detail("Unlink the payout account before changing the number.")
            }
        }
    }
}

/// DOMAIN.md §1: a first number may always be verified; a verified number may be
/// replaced only by a beneficiary of the current year with no payout account linked.
pub fn phone_change_allowed(
    has_verified_phone: bool,
    beneficiary_this_year: bool,
    payout_account_linked: bool,
) -> Result<(), PhoneChangeRefused> {
    if !has_verified_phone {
        return Ok(());
    }
    if !beneficiary_this_year {
        return Err(PhoneChangeRefused::NotBeneficiaryThisYear);
    }
    if payout_account_linked {
        return Err(PhoneChangeRefused::PayoutAccountLinked);
    }
    Ok(())
}

/// Normalises an Indonesian mobile number to E.164 (`+628…`). Accepts `+628…`,
/// `628…` and `08…`; 9 to 12 digits after the country code.
pub fn parse_phone(raw: &str) -> Result<String, &'static str> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let national = if let Some(rest) = compact.strip_prefix("+62") {
        rest
    } else if let Some(rest) = compact.strip_prefix("62") {
        rest
    } else if let Some(rest) = compact.strip_prefix('0') {
        rest
    } else {
        return Err("must be an Indonesian mobile number such as +6281234567890");
    };
    let ok = national.starts_with('8')
        && (9..=12).contains(&national.len())
        && national.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(format!("+62{national}"))
    } else {
        Err("must be an Indonesian mobile number such as +6281234567890")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_change_rule_table() {
        use PhoneChangeRefused::*;
        let cases = [
            // (verified phone, beneficiary this year, payout linked) -> verdict
            ((false, false, false), Ok(())),
            ((false, true, true), Ok(())),
            ((true, false, false), Err(NotBeneficiaryThisYear)),
            ((true, false, true), Err(NotBeneficiaryThisYear)),
            ((true, true, true), Err(PayoutAccountLinked)),
            ((true, true, false), Ok(())),
        ];
        for ((v, b, p), want) in cases {
            assert_eq!(phone_change_allowed(v, b, p), want, "{v} {b} {p}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(parse_phone("+6281234567890").unwrap(), "+6281234567890");
        assert_eq!(parse_phone("081234567890").unwrap(), "+6281234567890");
        assert_eq!(parse_phone("62 812-3456-7890").unwrap(), "+6281234567890");
        for bad in [
            "+6221234567",
            "+62812",
            "12345678901",
            "+6281234567890123",
            "+62812345678a",
        ] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
    }
}
