//! The one table of OTP limits (DOMAIN.md §1, API.md Login rules and Purchases):
//! per purpose, how long a code lives, how many wrong guesses a challenge takes,
//! and the budgets kept per subject (the account for login and phone, the card
//! for purchases) and purpose, so one flow never spends another's allowance.

use chrono::TimeDelta;

use crate::{db::text_enum, error::ErrorCode, notifications::Channel, ratelimit::Limit};

text_enum! {
    /// What a code is for.
    pub enum Purpose {
        /// Login step 2, by email.
        Login => "login",
        /// Verifying a (new) mobile number, by SMS to that number.
        Phone => "phone",
        /// Paying for one training on a partner platform (issue 16).
        Purchase => "purchase",
    }
}

text_enum! {
    /// Where a challenge is in its life. Every change is one conditional update
    /// from `open`, so two racing verifications cannot both consume it.
    pub enum ChallengeState {
        /// Waiting for the code.
        Open => "open",
        /// Verified once; never again.
        Consumed => "consumed",
        /// A newer challenge of the same scope replaced it.
        Superseded => "superseded",
        /// Its wrong guesses are used up.
        Locked => "locked",
    }
}

/// The limits of one purpose.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a code is valid (on the service clock).
    pub ttl: TimeDelta,
    /// Wrong guesses a challenge takes; every later try, the right code
    /// included, answers 429 `otp_attempts_exceeded`.
    pub wrong_per_challenge: i32,
    /// Resends of a challenge per subject; `None` where there is no resend (a
    /// new purchase code replaces the older one instead).
    pub resends: Option<Limit>,
    /// Codes sent per subject, over all its challenges of this purpose.
    pub codes_sent: Limit,
    /// Wrong guesses per subject, over all its challenges of this purpose.
    pub wrong_guesses: Limit,
    /// The code of a refused send: the budget is spent for now.
    pub send_refused: ErrorCode,
    /// The channel a resend goes by (to the challenge's destination).
    pub channel: Channel,
    /// What to do after an unknown or finished challenge, for the problem detail.
    pub restart_hint: &'static str,
}

const TWO_HOURS: TimeDelta = TimeDelta::hours(2);

/// API.md Login rules: 5 minutes, 5 wrong guesses a challenge; per account in
/// any 2 hours at most 5 resends, 10 codes and 10 wrong guesses.
const LOGIN: Policy = Policy {
    ttl: TimeDelta::minutes(5),
    wrong_per_challenge: 5,
    resends: Some(Limit {
        max: 5,
        window: TWO_HOURS,
    }),
    codes_sent: Limit {
        max: 10,
        window: TWO_HOURS,
    },
    wrong_guesses: Limit {
        max: 10,
        window: TWO_HOURS,
    },
    send_refused: ErrorCode::OtpResendLimit,
    channel: Channel::Email,
    restart_hint: "log in again",
};

/// The limits of `purpose`: the one place they are written.
pub const fn policy(purpose: Purpose) -> Policy {
    match purpose {
        Purpose::Login => LOGIN,
        // The login's numbers, with a budget of its own.
        Purpose::Phone => Policy {
            channel: Channel::Sms,
            restart_hint: "enter the number again for a new code",
            ..LOGIN
        },
        Purpose::Purchase => Policy {
            resends: None,
            // API.md: at least 30 purchase codes per card in any 2 hours, apart
            // from the login budget.
            codes_sent: Limit {
                max: 30,
                window: TWO_HOURS,
            },
            // API.md: at most 10 wrong purchase codes per card in any 2 hours.
            wrong_guesses: Limit {
                max: 10,
                window: TWO_HOURS,
            },
            send_refused: ErrorCode::OtpSendLimit,
            restart_hint: "ask the platform for a new purchase code",
            ..LOGIN
        },
    }
}

impl Purpose {
    /// This purpose's limits.
    pub const fn policy(self) -> Policy {
        policy(self)
    }

    /// The label of its code hashes, so a hash made for one purpose never
    /// matches a code of another.
    pub fn hash_label(self) -> String {
        format!("otp:{}", self.as_str())
    }
}

/// What is hashed for a code: bound to its challenge, so a code can never be
/// replayed against another challenge. The one place this input is built.
pub fn hash_input(challenge_id: uuid::Uuid, code: &str) -> String {
    format!("{challenge_id}:{code}")
}

/// Whether a guess can be a code at all (six ASCII digits).
pub fn well_formed(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_and_phone_follow_the_login_rules() {
        for purpose in [Purpose::Login, Purpose::Phone] {
            let p = purpose.policy();
            assert_eq!(p.ttl, TimeDelta::minutes(5));
            assert_eq!(p.wrong_per_challenge, 5);
            let resends = p.resends.expect("login and phone codes can be resent");
            assert_eq!((resends.max, resends.window), (5, TWO_HOURS));
            assert_eq!((p.codes_sent.max, p.codes_sent.window), (10, TWO_HOURS));
            assert_eq!(
                (p.wrong_guesses.max, p.wrong_guesses.window),
                (10, TWO_HOURS)
            );
            assert_eq!(p.send_refused, ErrorCode::OtpResendLimit);
        }
    }

    #[test]
    fn purchase_codes_have_their_own_budget_per_card() {
        let p = Purpose::Purchase.policy();
        assert_eq!(p.ttl, TimeDelta::minutes(5));
        assert_eq!(p.wrong_per_challenge, 5);
        assert!(p.resends.is_none());
        assert!(p.codes_sent.max >= 30 && p.codes_sent.window <= TWO_HOURS);
        assert!(p.wrong_guesses.max <= 10 && p.wrong_guesses.window >= TWO_HOURS);
        assert_eq!(p.send_refused, ErrorCode::OtpSendLimit);
        assert!(!p.restart_hint.contains("log in"));
    }

    #[test]
    fn hash_labels_differ_per_purpose() {
        let labels: Vec<String> = Purpose::ALL.iter().map(|p| p.hash_label()).collect();
        assert_eq!(labels, ["otp:login", "otp:phone", "otp:purchase"]);
    }

    #[test]
    fn only_six_digits_are_well_formed() {
        assert!(well_formed("012345"));
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦", ""] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
