//! Wave rules (DOMAIN.md §3, §4): status from the clock, the default benefit
//! scheme, and the lottery order.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::text_enum;

text_enum! {
    /// A wave's status (API.md Fixed names).
    pub enum BatchStatus {
        /// Not open yet; the PMO may still edit it.
        Upcoming => "upcoming",
        /// Participants may join.
        Open => "open",
        /// Closed, selection not run yet.
        Closed => "closed",
        /// Selection done.
        Selected => "selected",
    }
}

text_enum! {
    /// Where a wave's selection is.
    pub enum SelectionState {
        /// Not run yet.
        None => "none",
        /// Running (reserved: a run holds the wave's row lock instead).
        Running => "running",
        /// Done, once and for all.
        Done => "done",
    }
}

text_enum! {
    /// An application's status (API.md: pending/selected/not_selected).
    pub enum ApplicationStatus {
        Pending => "pending",
        Selected => "selected",
        NotSelected => "not_selected",
    }
}

/// Status on the service clock. Open from `opens_at` (inclusive) to `closes_at` (exclusive).
pub fn status(
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    selection_done: bool,
    now: DateTime<Utc>,
) -> BatchStatus {
    if selection_done {
        BatchStatus::Selected
    } else if now < opens_at {
        BatchStatus::Upcoming
    } else if now < closes_at {
        BatchStatus::Open
    } else {
        BatchStatus::Closed
    }
}

/// The benefit scheme a wave carries (DOMAIN.md §4 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Scheme {
    #[schema(example = 1000000)]
    pub training_idr: i64,
    #[schema(example = 600000)]
    pub incentive_monthly_idr: i64,
    #[schema(example = 4)]
    pub incentive_months: i32,
    #[schema(example = 50000)]
    pub survey_incentive_idr: i64,
    #[schema(example = 3)]
    pub survey_count: i32,
}

impl Default for Scheme {
    fn default() -> Self {
        Scheme {
            training_idr: 1_000_000,
            incentive_monthly_idr: 600_000,
            incentive_months: 4,
            survey_incentive_idr: 50_000,
            survey_count: 3,
        }
    }
}

impl Scheme {
    /// Everything one beneficiary may receive (Rp3.550.000 by default).
    pub fn total_idr(&self) -> i64 {
        self.training_idr
            + self.incentive_monthly_idr * i64::from(self.incentive_months)
            + self.survey_incentive_idr * i64::from(self.survey_count)
    }
}

/// The lottery key of an application: SHA-256(seed ‖ application id bytes).
/// Applicants are ranked by this key, ascending; with the published seed anyone
/// can recompute the order. The database computes the same value
/// (`sha256(seed || uuid_send(id))`) when it ranks; a test checks they agree.
pub fn lottery_key(seed: &[u8], application_id: Uuid) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(seed);
    hasher.update(application_id.as_bytes());
    hasher.finalize().into()
}

/// A 16-digit card number: 15 random digits (the first not zero) and a Luhn
/// check digit.
pub fn card_number(rng: &mut impl rand::Rng) -> String {
    let mut digits: Vec<u8> = Vec::with_capacity(16);
    digits.push(rng.gen_range(1..=9));
    for _ in 0..14 {
        digits.push(rng.gen_range(0..=9));
    }
    digits.push(luhn_check_digit(&digits));
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// The Luhn check digit for `payload` (most significant digit first).
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Whether a number passes the Luhn check.
pub fn luhn_valid(number: &str) -> bool {
    let digits: Option<Vec<u8>> = number
        .bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect();
    match digits {
        Some(d) if d.len() >= 2 => luhn_check_digit(&d[..d.len() - 1]) == d[d.len() - 1],
        _ => false,
    }
}

/// `1234********3456`: card numbers appear masked in logs and admin lists.
pub fn mask_card_number(number: &str) -> String {
    if number.len() != 16 {
        return "****".to_owned();
    }
    format!("{}********{}", &number[..4], &number[12..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn status_follows_the_clock() {
        let opens = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let closes = opens + TimeDelta::days(7);
        assert_eq!(
            status(opens, closes, false, opens - TimeDelta::seconds(1)),
            BatchStatus::Upcoming
        );
        assert_eq!(status(opens, closes, false, opens), BatchStatus::Open);
        assert_eq!(
            status(opens, closes, false, closes - TimeDelta::seconds(1)),
            BatchStatus::Open
        );
        assert_eq!(status(opens, closes, false, closes), BatchStatus::Closed);
        assert_eq!(status(opens, closes, true, closes), BatchStatus::Selected);
    }

    #[test]
    fn default_scheme_totals_rp_3_550_000() {
        assert_eq!(Scheme::default().total_idr(), 3_550_000);
    }

    #[test]
    fn luhn_matches_known_numbers() {
        assert!(luhn_valid("4539578763621486"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4539578763621487"));
        assert!(!luhn_valid("45395787636214a6"));
    }

    #[test]
    fn card_numbers_are_16_luhn_valid_digits_and_random() {
        let mut rng = rand::thread_rng();
        let numbers: std::collections::HashSet<String> =
            (0..1000).map(|_| card_number(&mut rng)).collect();
        assert_eq!(numbers.len(), 1000);
        for n in &numbers {
            assert_eq!(n.len(), 16);
            assert!(!n.starts_with('0'));
            assert!(luhn_valid(n), "{n}");
        }
    }

    #[test]
    fn lottery_key_is_deterministic_per_seed() {
        let id = Uuid::new_v4();
        assert_eq!(lottery_key(b"seed", id), lottery_key(b"seed", id));
        assert_ne!(lottery_key(b"seed", id), lottery_key(b"other", id));
    }

    #[test]
    fn card_numbers_are_masked() {
        assert_eq!(mask_card_number("4539578763621486"), "4539********1486");
    }
}
