//! The eligibility rules of DOMAIN.md §2 and the registration vocabularies, as
//! plain functions and enums. [`eligibility`] is the one place the rules live:
//! joining a wave, selection and purchase-day checks all call it.

use chrono::{NaiveDate, TimeDelta};

use crate::{db::text_enum, ratelimit::Limit};

/// API.md: failed identity attempts (`nik_invalid`, `identity_mismatch`,
/// `nik_registered`) per account in any 24 hours; the next answers 429, so
/// nobody can probe NIK/KK/date-of-birth combinations or squat a NIK by trial.
pub const IDENTITY_FAILURES: Limit = Limit {
    max: 20,
    window: TimeDelta::hours(24),
};
/// Population-registry look-ups per account in any 24 hours: every failure the
/// cap above allows, the one success, and retries after registry outages
/// (which are not failed attempts but still cost a call).
pub const REGISTRY_LOOKUPS: Limit = Limit {
    max: 30,
    window: TimeDelta::hours(24),
};
/// Face-service liveness calls for enrollment per account in any 24 hours
/// (room for photos retaken in bad light; each call costs money).
pub const FACE_ENROLLMENT_CALLS: Limit = Limit {
    max: 20,
    window: TimeDelta::hours(24),
};

/// Youngest eligible age (inclusive).
pub const MIN_AGE: u32 = 18;
/// Oldest eligible age (inclusive).
pub const MAX_AGE: u32 = 64;
/// At most this many NIKs of one family card (KK) may ever be beneficiaries.
pub const KK_BENEFICIARY_LIMIT: i64 = 2;

/// Registration steps in the order of the participant's journey (API.md Fixed
/// names); every one is needed to join a wave.
pub const REGISTRATION_STEPS: [&str; 8] = [
    "identity",
    "profile",
    "ktp_photo",
    "face",
    "questionnaire",
    "phone",
    "statement",
    "aptitude_test",
];

text_enum! {
    /// Highest education completed.
    pub enum EducationLevel {
        None => "none", Sd => "sd", Smp => "smp", Sma => "sma", Smk => "smk", D1 => "d1", D2 => "d2",
        D3 => "d3", D4 => "d4", S1 => "s1", S2 => "s2", S3 => "s3",
    }
}

text_enum! {
    /// Occupation, including every category DOMAIN.md §2 excludes.
    pub enum Occupation {
        Unemployed => "unemployed", PrivateEmployee => "private_employee", Entrepreneur => "entrepreneur",
        Farmer => "farmer", Fisher => "fisher", Laborer => "laborer", Freelancer => "freelancer",
        Homemaker => "homemaker", Other => "other",
        StateOfficial => "state_official", DprdMember => "dprd_member", CivilServant => "civil_servant",
        Military => "military", Police => "police", VillageOfficial => "village_official",
        SoeBoardMember => "soe_board_member",
    }
}

impl Occupation {
    /// State official, DPRD member, civil servant (ASN), TNI, Polri, village head
    /// or official, BUMN/BUMD director, commissioner or supervisory board member.
    pub const fn is_excluded(self) -> bool {
        matches!(
            self,
            Occupation::StateOfficial
                | Occupation::DprdMember
                | Occupation::CivilServant
                | Occupation::Military
                | Occupation::Police
                | Occupation::VillageOfficial
                | Occupation::SoeBoardMember
        )
    }
}

text_enum! {
    /// Employment situation.
    pub enum EmploymentStatus {
        Unemployed => "unemployed", Employed => "employed", SelfEmployed => "self_employed", LaidOff => "laid_off",
    }
}

text_enum! {
    /// Why someone is not eligible (API.md Fixed names).
    pub enum Reason {
        IdentityNotVerified => "identity_not_verified",
        AgeOutOfRange => "age_out_of_range",
        InFormalEducation => "in_formal_education",
        ExcludedOccupation => "excluded_occupation",
        PastBeneficiary => "past_beneficiary",
        KkLimitReached => "kk_limit_reached",
    }
}

/// What eligibility is decided on. Unknown profile facts (profile not filled
/// yet) fail no rule: completeness is the registration check's job.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The registry confirmed NIK, KK and date of birth.
    pub identity_verified: bool,
    pub birth_date: Option<NaiveDate>,
    pub in_formal_education: Option<bool>,
    pub occupation: Option<Occupation>,
    /// The person already holds (or held) a card.
    pub past_beneficiary: bool,
    /// Beneficiaries among the other members of the person's family card.
    pub kk_other_beneficiaries: i64,
}

/// Full years from `birth` to `on`. Someone born on 29 February turns a year
/// older on 1 March in common years.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    on.years_since(birth).unwrap_or(0)
}

/// Every failing rule, in API.md order; empty means eligible on `today`
/// (an Asia/Jakarta date).
pub fn eligibility(facts: &Facts, today: NaiveDate) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if !facts.identity_verified {
        reasons.push(Reason::IdentityNotVerified);
    }
    if let Some(birth) = facts.birth_date {
        if !(MIN_AGE..=MAX_AGE).contains(&age_on(birth, today)) || birth > today {
            reasons.push(Reason::AgeOutOfRange);
        }
    }
    if facts.in_formal_education == Some(true) {
        reasons.push(Reason::InFormalEducation);
    }
    if facts.occupation.is_some_and(Occupation::is_excluded) {
        reasons.push(Reason::ExcludedOccupation);
    }
    if facts.past_beneficiary {
        reasons.push(Reason::PastBeneficiary);
    }
    if facts.kk_other_beneficiaries >= KK_BENEFICIARY_LIMIT {
        reasons.push(Reason::KkLimitReached);
    }
    reasons
}

/// DOMAIN.md §11, the yearly data check: a participant registered in an
/// earlier Asia/Jakarta year than `today` is asked to confirm or update their
/// personal data once each year, until they do (`PUT /v1/me/profile` or
/// `POST /v1/me/data-review`, which record `confirmed_on`). Admin accounts
/// have no personal data to confirm. All dates are Asia/Jakarta dates.
pub fn data_review_due(
    participant: bool,
    registered_on: NaiveDate,
    confirmed_on: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    use chrono::Datelike;
    participant
        && registered_on.year() < today.year()
        && confirmed_on.is_none_or(|c| c.year() < today.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn adult() -> Facts {
        Facts {
            identity_verified: true,
            birth_date: Some(d("1995-04-17")),
            in_formal_education: Some(false),
            occupation: Some(Occupation::Unemployed),
            past_beneficiary: false,
            kk_other_beneficiaries: 0,
        }
    }

    #[test]
    fn age_boundaries_fall_on_the_birthdays() {
        let cases = [
            // (birth, today, eligible by age)
            ("2008-07-20", "2026-07-19", false), // 17 until the day before the 18th birthday
            ("2008-07-20", "2026-07-20", true),  // 18 on the birthday itself
            ("1961-07-20", "2026-07-19", true),  // 64 the day before the 65th birthday
            ("1961-07-20", "2026-07-20", false), // 65 on the birthday
            ("2008-02-29", "2026-02-28", false), // born 29 Feb: still 17 on 28 Feb of a common year
            ("2008-02-29", "2026-03-01", true),  // 18 on 1 March
            ("2030-01-01", "2026-01-01", false), // not born yet
        ];
        for (birth, today, ok) in cases {
            let facts = Facts {
                birth_date: Some(d(birth)),
                ..adult()
            };
            let reasons = eligibility(&facts, d(today));
            assert_eq!(
                !reasons.contains(&Reason::AgeOutOfRange),
                ok,
                "{birth} on {today}"
            );
        }
    }

    #[test]
    fn each_rule_has_its_reason() {
        assert!(eligibility(&adult(), d("2026-01-01")).is_empty());
        let cases: Vec<(Facts, Reason)> = vec![
            (
                Facts {
                    identity_verified: false,
                    ..adult()
                },
                Reason::IdentityNotVerified,
            ),
            (
                Facts {
                    in_formal_education: Some(true),
                    ..adult()
                },
                Reason::InFormalEducation,
            ),
            (
                Facts {
                    occupation: Some(Occupation::CivilServant),
                    ..adult()
                },
                Reason::ExcludedOccupation,
            ),
            (
                Facts {
                    past_beneficiary: true,
                    ..adult()
                },
                Reason::PastBeneficiary,
            ),
            (
                Facts {
                    kk_other_beneficiaries: 2,
                    ..adult()
                },
                Reason::KkLimitReached,
            ),
        ];
        for (facts, reason) in cases {
            assert_eq!(eligibility(&facts, d("2026-01-01")), vec![reason]);
        }
        assert!(eligibility(
            &Facts {
                kk_other_beneficiaries: 1,
                ..adult()
            },
            d("2026-01-01")
        )
        .is_empty());
    }

    #[test]
    fn every_excluded_occupation_of_domain_md_is_excluded() {
        let excluded: Vec<&str> = Occupation::ALL
            .iter()
            .filter(|o| o.is_excluded())
            .map(|o| o.as_str())
            .collect();
        assert_eq!(
            excluded,
            [
                "state_official",
                "dprd_member",
                "civil_servant",
                "military",
                "police",
                "village_official",
                "soe_board_member"
            ]
        );
    }

    #[test]
    fn vocabularies_parse_only_their_values() {
        assert_eq!("s1".parse::<EducationLevel>(), Ok(EducationLevel::S1));
        assert!("S1".parse::<EducationLevel>().is_err());
        assert!("laid_off".parse::<EmploymentStatus>().is_ok());
        assert!("pilot"
            .parse::<Occupation>()
            .unwrap_err()
            .contains("must be one of"));
    }

    #[test]
    fn data_review_is_due_once_a_year_for_accounts_of_earlier_years() {
        let cases = [
            // (participant, registered, confirmed, today, due)
            (true, "2026-03-01", None, "2026-12-31", false), // registered this year
            (true, "2026-03-01", None, "2027-01-01", true),  // the first day of the next year
            (true, "2026-12-31", None, "2027-01-01", true),  // even a day after registering
            (true, "2026-03-01", Some("2026-03-01"), "2027-01-01", true), // confirmed last year only
            (true, "2026-03-01", Some("2027-01-01"), "2027-01-01", false), // confirmed today
            (true, "2026-03-01", Some("2027-01-01"), "2027-12-31", false), // the whole year
            (true, "2026-03-01", Some("2027-06-30"), "2028-01-01", true), // and due again next year
            (true, "2024-05-05", Some("2025-02-02"), "2027-04-04", true), // years skipped
            (false, "2020-01-01", None, "2027-01-01", false),             // admins are never asked
        ];
        for (participant, registered, confirmed, today, due) in cases {
            assert_eq!(
                data_review_due(participant, d(registered), confirmed.map(d), d(today)),
                due,
                "{participant} {registered} {confirmed:?} {today}"
            );
        }
    }
}
