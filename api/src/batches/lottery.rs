//! The lottery in memory (DOMAIN.md §3): the applicants of a wave as selection
//! reads them, their ranking in the published order (SHA-256(seed ‖
//! application id), ascending), and the walk down it that decides each one it
//! reaches until the quota is full, counting family cards as it goes. Plain
//! functions without I/O; [`super::selection`] reads and writes around them.

use std::collections::HashMap;
use std::ops::Range;

use chrono::NaiveDate;
use uuid::Uuid;

use super::{model::ApplicationStatus, rules};
use crate::{
    crypto::PiiCipher,
    error::ApiError,
    registration::{
        self,
        rules::{Facts, Occupation},
    },
};

/// An applicant in memory (64 bytes, so a million fit in 64 MB).
pub(super) struct Applicant {
    /// The first 16 bytes of the lottery key, big-endian: the rank, unless two
    /// applicants share them (then the whole key decides, see [`rank`]).
    pub(super) key: u128,
    pub(super) application_id: Uuid,
    pub(super) account_id: Uuid,
    /// Index into the wave's family cards.
    pub(super) family: u32,
    /// Where its sealed date of birth lies in [`SealedBirthDates`].
    pub(super) birth_date: Range<u32>,
    pub(super) in_formal_education: Option<bool>,
    pub(super) occupation: Option<Occupation>,
    pub(super) blocked: bool,
    pub(super) has_card: bool,
}

/// The family cards (KK blind indexes) of a wave's applicants, each with the
/// beneficiaries it has so far.
#[derive(Default)]
pub(super) struct Families {
    pub(super) ids: HashMap<[u8; 32], u32>,
    pub(super) kk: Vec<[u8; 32]>,
    pub(super) taken: Vec<i64>,
}

impl Families {
    pub(super) fn intern(&mut self, kk: &[u8], cards: i64) -> Result<u32, ApiError> {
        let kk: [u8; 32] = kk
            .try_into()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("a KK index is not 32 bytes")))?;
        Ok(*self.ids.entry(kk).or_insert_with(|| {
            self.kk.push(kk);
            self.taken.push(cards);
            (self.kk.len() - 1) as u32
        }))
    }
}

/// The applicants' dates of birth as read, still sealed, end to end: the walk
/// opens only those it reaches (about a tenth of a wave at a 10% quota), since
/// opening one costs more than reading it.
#[derive(Default)]
pub(super) struct SealedBirthDates(Vec<u8>);

impl SealedBirthDates {
    pub(super) fn push(&mut self, ciphertext: &[u8]) -> Result<Range<u32>, ApiError> {
        let offset = |n: usize| {
            u32::try_from(n)
                .map_err(|_| ApiError::internal(anyhow::anyhow!("over 4 GB of dates of birth")))
        };
        let start = offset(self.0.len())?;
        self.0.extend_from_slice(ciphertext);
        Ok(start..offset(self.0.len())?)
    }

    fn open(&self, pii: &PiiCipher, a: &Applicant) -> Result<NaiveDate, ApiError> {
        let aad = registration::model::aad("identities", "birth_date", a.account_id);
        let sealed = &self.0[a.birth_date.start as usize..a.birth_date.end as usize];
        pii.decrypt_string(sealed, &aad)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "birth date of {} does not decrypt",
                    a.account_id
                ))
            })
    }
}

/// A beneficiary chosen by this run.
pub(super) struct Winner {
    pub(super) application_id: Uuid,
    pub(super) account_id: Uuid,
    pub(super) family: u32,
    pub(super) kk_slot: i16,
}

/// What the walk down the ranking decided.
pub(super) struct Walk {
    pub(super) winners: Vec<Winner>,
    /// (application, outcome) of everyone the walk reached.
    pub(super) decided: Vec<(Uuid, i16)>,
    pub(super) outcomes: Outcomes,
}

/// Walks down the ranking until the quota is full, deciding each applicant it
/// reaches and counting family cards as it goes; everyone after that lost the
/// lottery for this quota.
pub(super) fn walk(
    ranked: &[Applicant],
    families: &mut Families,
    birth_dates: &SealedBirthDates,
    pii: &PiiCipher,
    quota: usize,
    today: NaiveDate,
) -> Result<Walk, ApiError> {
    let mut winners: Vec<Winner> = Vec::new();
    let mut outcomes = Outcomes::default();
    let selected = outcomes.code(ApplicationStatus::Selected, "selected");
    let mut decided: Vec<(Uuid, i16)> = Vec::new();
    for a in ranked {
        if winners.len() >= quota {
            break;
        }
        let birth_date = birth_dates.open(pii, a)?;
        let taken = families.taken[a.family as usize];
        match decide(a, birth_date, today, taken) {
            Ok(()) => {
                families.taken[a.family as usize] = taken + 1;
                winners.push(Winner {
                    application_id: a.application_id,
                    account_id: a.account_id,
                    family: a.family,
                    kk_slot: (taken + 1) as i16,
                });
                decided.push((a.application_id, selected));
            }
            Err(reason) => {
                let code = outcomes.code(ApplicationStatus::NotSelected, &reason);
                decided.push((a.application_id, code));
            }
        }
    }
    Ok(Walk {
        winners,
        decided,
        outcomes,
    })
}

/// Why an applicant was not selected (kept on the application).
fn decide(
    a: &Applicant,
    birth_date: NaiveDate,
    today: NaiveDate,
    kk_taken: i64,
) -> Result<(), String> {
    if a.blocked {
        return Err("account_blocked".into());
    }
    if a.has_card {
        return Err("already_beneficiary".into());
    }
    // The one eligibility function; past beneficiary and the KK limit are
    // counted live by this run instead.
    let facts = Facts {
        identity_verified: true,
        birth_date: Some(birth_date),
        in_formal_education: a.in_formal_education,
        occupation: a.occupation,
        past_beneficiary: false,
        kk_other_beneficiaries: 0,
    };
    let reasons = registration::rules::eligibility(&facts, today);
    if !reasons.is_empty() {
        let names: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
        return Err(format!("not_eligible:{}", names.join(",")));
    }
    if kk_taken >= registration::rules::KK_BENEFICIARY_LIMIT {
        return Err("kk_limit_reached".into());
    }
    Ok(())
}

/// Sorts applicants into the published lottery order: SHA-256(seed ‖ id)
/// ascending (ids are unique, so no two keys are equal).
pub(super) fn rank(applicants: &mut [Applicant], seed: &[u8]) {
    applicants.sort_unstable_by(|a, b| {
        a.key.cmp(&b.key).then_with(|| {
            rules::lottery_key(seed, a.application_id)
                .cmp(&rules::lottery_key(seed, b.application_id))
        })
    });
}

pub(super) fn key_prefix(seed: &[u8], application_id: Uuid) -> u128 {
    let key = rules::lottery_key(seed, application_id);
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&key[..16]);
    u128::from_be_bytes(prefix)
}

/// The distinct outcomes of a run's reached applicants (a handful: selected,
/// kk_limit_reached, already_beneficiary, not_eligible:…), numbered from 0.
#[derive(Default)]
pub(super) struct Outcomes {
    pub(super) list: Vec<(ApplicationStatus, String)>,
    pub(super) codes: HashMap<String, i16>,
}

impl Outcomes {
    pub(super) fn code(&mut self, outcome: ApplicationStatus, reason: &str) -> i16 {
        if let Some(code) = self.codes.get(reason) {
            return *code;
        }
        self.list.push((outcome, reason.to_owned()));
        let code = (self.list.len() - 1) as i16;
        self.codes.insert(reason.to_owned(), code);
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applicant(id: Uuid, seed: &[u8]) -> Applicant {
        Applicant {
            key: key_prefix(seed, id),
            application_id: id,
            account_id: id,
            family: 0,
            birth_date: 0..0,
            in_formal_education: None,
            occupation: None,
            blocked: false,
            has_card: false,
        }
    }

    #[test]
    fn ranking_in_memory_is_the_published_order() {
        let seed = b"published seed";
        let ids: Vec<Uuid> = (0..2_000).map(|_| Uuid::new_v4()).collect();
        let mut applicants: Vec<Applicant> = ids.iter().map(|id| applicant(*id, seed)).collect();
        rank(&mut applicants, seed);
        let mut expected = ids.clone();
        expected.sort_by_key(|id| rules::lottery_key(seed, *id));
        let got: Vec<Uuid> = applicants.iter().map(|a| a.application_id).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn the_walk_stops_at_the_quota_and_opens_only_the_dates_it_reaches() {
        let pii = crate::crypto::PiiKeys::sandbox().cipher();
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        // In ranked order: three of one family card, then one of another, then
        // one whose date of birth does not open (the quota is full before it).
        let kks = [[1u8; 32], [1u8; 32], [1u8; 32], [2u8; 32], [2u8; 32]];
        let mut birth_dates = SealedBirthDates::default();
        let mut ranked = Vec::new();
        let mut families = Families::default();
        for (i, kk) in kks.iter().enumerate() {
            let mut a = applicant(Uuid::from_u128(i as u128 + 1), b"seed");
            a.family = families.intern(kk, 0).unwrap();
            let aad = registration::model::aad("identities", "birth_date", a.account_id);
            let sealed = match i {
                4 => b"not a sealed date".to_vec(),
                _ => pii.encrypt_str("1995-05-05", &aad),
            };
            a.birth_date = birth_dates.push(&sealed).unwrap();
            ranked.push(a);
        }
        let walk = walk(&ranked, &mut families, &birth_dates, &pii, 3, today).unwrap();
        let winners: Vec<(u128, i16)> = walk
            .winners
            .iter()
            .map(|w| (w.application_id.as_u128(), w.kk_slot))
            .collect();
        assert_eq!(winners, [(1, 1), (2, 2), (4, 1)]);
        let reasons: Vec<&str> = walk
            .decided
            .iter()
            .map(|(_, code)| walk.outcomes.list[*code as usize].1.as_str())
            .collect();
        assert_eq!(
            reasons,
            ["selected", "selected", "kk_limit_reached", "selected"]
        );
        assert_eq!(families.taken, [2, 1]);
        // One more place, and the walk reaches the date that does not open.
        let mut again = Families::default();
        for kk in &kks {
            again.intern(kk, 0).unwrap();
        }
        assert!(super::walk(&ranked, &mut again, &birth_dates, &pii, 4, today).is_err());
    }

    #[test]
    fn an_applicant_takes_64_bytes() {
        assert!(std::mem::size_of::<Applicant>() <= 64);
    }
}
