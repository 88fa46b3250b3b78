//! The rules of DOMAIN.md §4 and §8 as pure functions: whose account may
//! receive the money, when installments fall due, when surveys open, how a
//! failed send is retried, and the vocabularies of the state machines.

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};

use crate::db::text_enum;

text_enum! {
    /// What earned an incentive.
    pub enum IncentiveKind {
        /// An installment of the post-training incentive.
        Training => "training",
        /// The incentive of one completed evaluation survey.
        Survey => "survey",
    }
}

text_enum! {
    /// Where an incentive stands. Moves: awaiting_payout_account ⇄ scheduled
    /// (linking / unlinking), scheduled → processing (an attempt is made),
    /// processing → paid | failed, failed → scheduled (a new account is linked).
    pub enum IncentiveStatus {
        /// Due on its date; paid by the next disbursement run from then.
        Scheduled => "scheduled",
        /// Earned, but no payout account is linked.
        AwaitingPayoutAccount => "awaiting_payout_account",
        /// An attempt is with the provider.
        Processing => "processing",
        Paid => "paid",
        /// The provider refused the payment; linking an account schedules it again.
        Failed => "failed",
    }
}

text_enum! {
    /// Where a payout attempt stands: `processing` until the provider's answer,
    /// callback or status says `completed` or `failed`, which are final (a
    /// completed attempt never goes back).
    pub enum AttemptStatus {
        Processing => "processing",
        Completed => "completed",
        Failed => "failed",
    }
}

/// Linking or replacing a payout account needs a login completed this
/// recently (real time, API.md).
pub const REAUTHENTICATION_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Whether a session whose login completed at `login_at` may change the
/// payout account at `real_now`.
pub fn recently_authenticated(login_at: DateTime<Utc>, real_now: DateTime<Utc>) -> bool {
    real_now - login_at <= REAUTHENTICATION_WINDOW
}

/// Due date of installment `k` (1-based) of an incentive earned on
/// `finished_on` (Asia/Jakarta): the first that same day, each next one a
/// calendar month later (a day missing in a shorter month becomes its last
/// day: 31 January → 28/29 February).
pub fn installment_due_on(finished_on: NaiveDate, k: i32) -> NaiveDate {
    add_months(finished_on, (k - 1).max(0))
}

/// The date a survey opens: `months` after the first training was finished.
pub fn survey_opens_on(finished_on: NaiveDate, months: i32) -> NaiveDate {
    add_months(finished_on, months.max(0))
}

fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    date.checked_add_months(Months::new(months as u32))
        .unwrap_or(NaiveDate::MAX)
}

/// Wait before sending an attempt again after a timeout or a 5xx: 1, 2, 4 …
/// minutes after the `sends`-th send, at most 1 hour.
pub fn resend_backoff(sends: i32) -> TimeDelta {
    let exponent = (sends.max(1) - 1).min(6) as u32;
    TimeDelta::minutes(1 << exponent).min(TimeDelta::hours(1))
}

/// Titles and honorifics that a KTP name or a bank's holder name may carry
/// while the other does not (compared without dots).
const TITLES: &[&str] = &[
    "H", "HJ", "HAJI", "HAJJAH", "DR", "DRS", "DRA", "IR", "PROF", "BPK", "BAPAK", "IBU", "SDR",
    "SDRI", "TN", "NY", "NN", "MR", "MRS", "MS", "MISS", "ST", "SE", "SH", "SKOM", "SPD", "SAG",
    "SSI", "SKM", "SKED", "SPSI", "SSOS", "SIP", "SP", "SPT", "STP", "AMD", "AMDKEB", "AMDKEP",
    "MM", "MT", "MSI", "MKOM", "MPD", "MH", "MAG", "MBA", "PHD", "SPOG", "SPA", "SPB",
];

/// A person's name as compared with the account holder's: upper case, words
/// only (punctuation and repeated spaces dropped), titles removed.
pub fn normalise_name(name: &str) -> String {
    let upper = name.to_uppercase();
    let mut words: Vec<String> = Vec::new();
    for token in upper.split(|c: char| c.is_whitespace() || matches!(c, ',' | '-' | '_' | '/')) {
        let squashed: String = token.chars().filter(|c| c.is_alphanumeric()).collect();
        if squashed.is_empty() || TITLES.contains(&squashed.as_str()) {
            continue;
        }
        // "H.AHMAD" is a title and a name; "S.KOM" (squashed above) is a title.
        for part in token.split('.') {
            let part: String = part.chars().filter(|c| c.is_alphanumeric()).collect();
            let title = token.contains('.') && TITLES.contains(&part.as_str());
            if !part.is_empty() && !title {
                words.push(part);
            }
        }
    }
    words.join(" ")
}

/// Whether the provider's holder name is the participant's KTP name.
pub fn same_holder(holder_name: &str, ktp_name: &str) -> bool {
    let (a, b) = (normalise_name(holder_name), normalise_name(ktp_name));
    !a.is_empty() && a == b
}

/// The account number as shown: the last four digits.
pub fn mask_account(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let shown = chars.len().min(4);
    let hidden = chars.len() - shown;
    let mut masked = "*".repeat(hidden.max(4));
    masked.extend(&chars[hidden..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn names_match_across_case_spacing_punctuation_and_titles() {
        // (holder name at the provider, KTP name, same person)
        let cases = [
            ("SITI RAHAYU", "SITI RAHAYU", true),
            ("siti  rahayu", "SITI RAHAYU", true),
            ("Siti Rahayu, S.Kom", "SITI RAHAYU", true),
            ("H. AHMAD DAHLAN", "AHMAD DAHLAN", true),
            ("H.AHMAD DAHLAN", "AHMAD DAHLAN", true),
            ("DR. IR. BUDI SANTOSO, M.T.", "BUDI SANTOSO", true),
            ("IBU SITI RAHAYU", "SITI RAHAYU", true),
            ("MA'RUF AMIN", "MARUF AMIN", true),
            ("SITI-RAHAYU", "SITI RAHAYU", true),
            ("ORANG LAIN", "PESERTA 010101", false),
            ("SITI RAHAYU", "SITI RAHAYUNINGSIH", false),
            ("SITI", "SITI RAHAYU", false),
            ("", "", false),
            ("DR.", "H.", false),
        ];
        for (holder, ktp, same) in cases {
            assert_eq!(same_holder(holder, ktp), same, "{holder:?} vs {ktp:?}");
        }
    }

    #[test]
    fn installments_fall_due_monthly_from_the_day_the_training_was_finished() {
        let start = d("2026-08-20");
        let due: Vec<NaiveDate> = (1..=4).map(|k| installment_due_on(start, k)).collect();
        assert_eq!(
            due,
            [
                d("2026-08-20"),
                d("2026-09-20"),
                d("2026-10-20"),
                d("2026-11-20")
            ]
        );
        // The 31st in a shorter month is its last day.
        assert_eq!(installment_due_on(d("2027-01-31"), 2), d("2027-02-28"));
        assert_eq!(installment_due_on(d("2028-01-31"), 2), d("2028-02-29"));
        assert_eq!(survey_opens_on(start, 0), start);
        assert_eq!(survey_opens_on(start, 3), d("2026-11-20"));
    }

    #[test]
    fn reauthentication_is_needed_after_fifteen_minutes() {
        let login: DateTime<Utc> = "2026-08-20T08:00:00Z".parse().unwrap();
        assert!(recently_authenticated(login, login));
        assert!(recently_authenticated(
            login,
            login + TimeDelta::minutes(15)
        ));
        assert!(!recently_authenticated(
            login,
            login + TimeDelta::minutes(15) + TimeDelta::seconds(1)
        ));
    }

    #[test]
    fn resends_back_off_up_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(|n| resend_backoff(n).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn account_numbers_show_their_last_four_digits() {
        assert_eq!(mask_account("081234567890"), "********7890");
        assert_eq!(mask_account("12345"), "****2345");
    }
}
