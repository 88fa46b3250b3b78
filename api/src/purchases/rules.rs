//! The programme's rules for buying, cancelling, redeeming and finishing a
//! training (DOMAIN.md §5–§7), as pure functions of the facts and the service
//! time. Every calendar rule works on Asia/Jakarta dates (`clock::jakarta_date`);
//! every rule about a purchase reads the purchase's own copy of the course's
//! terms, never the course as it is today.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use crate::{
    clock::jakarta_date,
    db::text_enum,
    registration::rules::{eligibility, Facts},
};

text_enum! {
    /// How a training is given (API.md Fixed names).
    pub enum Delivery {
        /// Live online.
        Webinar => "webinar",
        /// Self-paced learning (SPL) on the institution's LMS.
        SelfPaced => "self_paced",
        /// Face to face at a venue.
        Offline => "offline",
    }
}

text_enum! {
    /// Where a purchase is in its life. Every change is one [`Transition`],
    /// written as one conditional update from its `from` state.
    pub enum PurchaseStatus {
        /// Paid; the redeem code is not used yet.
        Purchased => "purchased",
        /// The redeem code was used: the training has been joined.
        Redeemed => "redeemed",
        /// The institution reported the training finished.
        Completed => "completed",
        /// Cancelled by the participant; the price went back to the card.
        Cancelled => "cancelled",
        /// Not redeemed by the end of its redemption window (webinar, offline);
        /// the money stays with the platform.
        Expired => "expired",
    }
}

text_enum! {
    /// Why a participant cancelled (API.md Fixed names).
    pub enum CancellationReason {
        ScheduleConflict => "schedule_conflict",
        WrongCourse => "wrong_course",
        FoundBetterCourse => "found_better_course",
        PersonalReasons => "personal_reasons",
        Other => "other",
    }
}

text_enum! {
    /// Who sent a face check: the participant's app, or the offline venue's
    /// device through the partner.
    pub enum FaceCheckSource {
        Participant => "participant",
        Partner => "partner",
    }
}

/// The only moves a purchase makes. Each is one `UPDATE … WHERE status = from`
/// whose row count says whether it happened, so two racing moves (a cancel
/// and a redemption) can never both win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Redeem,
    Complete,
    Cancel,
    Expire,
}

impl Transition {
    /// Every transition.
    pub const ALL: [Transition; 4] = [
        Transition::Redeem,
        Transition::Complete,
        Transition::Cancel,
        Transition::Expire,
    ];

    /// The state it leaves.
    pub const fn from(self) -> PurchaseStatus {
        match self {
            Transition::Redeem | Transition::Cancel | Transition::Expire => {
                PurchaseStatus::Purchased
            }
            Transition::Complete => PurchaseStatus::Redeemed,
        }
    }

    /// The state it enters.
    pub const fn to(self) -> PurchaseStatus {
        match self {
            Transition::Redeem => PurchaseStatus::Redeemed,
            Transition::Complete => PurchaseStatus::Completed,
            Transition::Cancel => PurchaseStatus::Cancelled,
            Transition::Expire => PurchaseStatus::Expired,
        }
    }
}

/// Days after a review (or an expiry) within which the next training may be
/// bought, and after selection for the first one (DOMAIN.md §5).
pub const NEXT_PURCHASE_DAYS: u64 = 15;

/// Adds calendar days to a date (saturating at the end of the calendar).
pub fn plus_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

fn minus_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days))
        .unwrap_or(NaiveDate::MIN)
}

// ---------------------------------------------------------------- §5 buying

/// Whether a training starting at `starts_at` may still be bought on `today`:
/// online (webinar, self-paced) at least 1 calendar day before the start date,
/// offline at least 3.
pub fn starts_too_soon(delivery: Delivery, starts_at: DateTime<Utc>, today: NaiveDate) -> bool {
    let days_before = match delivery {
        Delivery::Offline => 3,
        Delivery::Webinar | Delivery::SelfPaced => 1,
    };
    today > minus_days(jakarta_date(starts_at), days_before)
}

/// The previous training of a card, as far as the next purchase is concerned
/// (its latest purchase that was not cancelled; a cancelled one is as if it
/// never happened, except that its course can never be bought again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previous {
    /// No purchase yet: the first-purchase deadline applies.
    None,
    /// Bought and not finished: purchased, redeemed, or completed but not
    /// reviewed.
    Open,
    /// Completed and reviewed on this Asia/Jakarta date.
    Reviewed(NaiveDate),
    /// Not redeemed in its window; expired on this Asia/Jakarta date.
    Expired(NaiveDate),
}

impl Previous {
    /// What a purchase in `status` (reviewed on `reviewed_on`, expired on
    /// `expired_on`) leaves for the next one. `None` for a cancelled purchase:
    /// look further back.
    pub fn of(
        status: PurchaseStatus,
        reviewed_on: Option<NaiveDate>,
        expired_on: Option<NaiveDate>,
    ) -> Option<Previous> {
        match status {
            PurchaseStatus::Cancelled => None,
            PurchaseStatus::Purchased | PurchaseStatus::Redeemed => Some(Previous::Open),
            PurchaseStatus::Completed => {
                Some(reviewed_on.map_or(Previous::Open, Previous::Reviewed))
            }
            PurchaseStatus::Expired => {
                Some(expired_on.map(Previous::Expired).unwrap_or(Previous::Open))
            }
        }
    }
}

/// `purchase_deadline` of `GET /v1/me/card` (API.md Card and balance): the
/// last Asia/Jakarta date (inclusive) for the next purchase. The card's
/// first-purchase deadline (selection date + 15) before the first purchase;
/// none while a training is open; review date + 15 after a review; expiry date
/// + 15 after an expiry.
pub fn purchase_deadline(first_deadline: NaiveDate, previous: Previous) -> Option<NaiveDate> {
    match previous {
        Previous::None => Some(first_deadline),
        Previous::Open => None,
        Previous::Reviewed(on) | Previous::Expired(on) => Some(plus_days(on, NEXT_PURCHASE_DAYS)),
    }
}

/// Why the card may not buy its next training now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextPurchaseRefusal {
    /// 409 `previous_training_unfinished`.
    PreviousTrainingUnfinished,
    /// 409 `purchase_deadline_passed`.
    DeadlinePassed,
}

/// Whether the card may buy its next training on `today`.
pub fn may_buy_next(
    first_deadline: NaiveDate,
    previous: Previous,
    today: NaiveDate,
) -> Result<(), NextPurchaseRefusal> {
    match purchase_deadline(first_deadline, previous) {
        None => Err(NextPurchaseRefusal::PreviousTrainingUnfinished),
        Some(last) if today > last => Err(NextPurchaseRefusal::DeadlinePassed),
        Some(_) => Ok(()),
    }
}

/// The buyer's side of DOMAIN.md §5: 18 to 64 and not in formal education on
/// the day of purchase, decided by the one eligibility function. Only those
/// two facts count here (a beneficiary has, by definition, a card).
pub fn buyer_eligible(
    birth_date: NaiveDate,
    in_formal_education: Option<bool>,
    today: NaiveDate,
) -> bool {
    let facts = Facts {
        identity_verified: true,
        birth_date: Some(birth_date),
        in_formal_education,
        occupation: None,
        past_beneficiary: false,
        kk_other_beneficiaries: 0,
    };
    eligibility(&facts, today).is_empty()
}

// ---------------------------------------------------------------- §6 cancelling

/// The last Asia/Jakarta date on which a purchase may be cancelled:
/// min(purchase date + 3, start date − 3), or `None` when that is before the
/// purchase date (the training starts too soon to cancel at all).
pub fn cancel_deadline(purchase_date: NaiveDate, start_date: NaiveDate) -> Option<NaiveDate> {
    let last = plus_days(purchase_date, 3).min(minus_days(start_date, 3));
    (last >= purchase_date).then_some(last)
}

/// Why a purchase cannot be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRefusal {
    /// 409 `already_redeemed` (the training was joined, maybe finished).
    AlreadyRedeemed,
    /// 409 `already_cancelled`.
    AlreadyCancelled,
    /// 409 `cancellation_window_closed` (past the deadline, or expired).
    WindowClosed,
}

/// Whether a purchase in `status` with `deadline` may be cancelled on `today`.
pub fn may_cancel(
    status: PurchaseStatus,
    deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), CancelRefusal> {
    match status {
        PurchaseStatus::Redeemed | PurchaseStatus::Completed => Err(CancelRefusal::AlreadyRedeemed),
        PurchaseStatus::Cancelled => Err(CancelRefusal::AlreadyCancelled),
        PurchaseStatus::Expired => Err(CancelRefusal::WindowClosed),
        PurchaseStatus::Purchased => match deadline {
            Some(last) if today <= last => Ok(()),
            _ => Err(CancelRefusal::WindowClosed),
        },
    }
}

// ---------------------------------------------------------------- §7 redeeming

/// The redemption window of a scheduled training, both ends inclusive:
/// webinar from 1 hour before to 1 hour after the start, offline from 1 hour
/// before to 2 hours after. Self-paced training has none (any time before
/// completion).
pub fn redemption_window(
    delivery: Delivery,
    starts_at: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    match delivery {
        Delivery::Webinar => Some((
            starts_at - TimeDelta::hours(1),
            starts_at + TimeDelta::hours(1),
        )),
        Delivery::Offline => Some((
            starts_at - TimeDelta::hours(1),
            starts_at + TimeDelta::hours(2),
        )),
        Delivery::SelfPaced => None,
    }
}

/// Whether a purchase may be redeemed at `now` as far as time goes.
pub fn in_redemption_window(
    delivery: Delivery,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    match redemption_window(delivery, starts_at) {
        Some((opens, closes)) => opens <= now && now <= closes,
        None => true,
    }
}

/// Whether an unredeemed purchase has missed its window for good at `now`
/// (job `expire_purchases`). Self-paced training never expires this way.
pub fn missed_redemption(delivery: Delivery, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    redemption_window(delivery, starts_at).is_some_and(|(_, closes)| now > closes)
}

/// Online training (webinar, self-paced) is redeemed only after a passed face
/// check; offline training shows its QR code first and is face-checked on the
/// venue's device.
pub const fn redemption_needs_face_check(delivery: Delivery) -> bool {
    matches!(delivery, Delivery::Webinar | Delivery::SelfPaced)
}

/// How long a passed face check keeps redemption open.
pub const FACE_PASS_VALIDITY: TimeDelta = TimeDelta::minutes(15);

/// Face-check attempts per purchase per Asia/Jakarta day: 5 for self-paced,
/// 10 for webinars (and offline training, which takes the webinar limit).
pub const fn face_attempts_per_day(delivery: Delivery) -> i64 {
    match delivery {
        Delivery::SelfPaced => 5,
        Delivery::Webinar | Delivery::Offline => 10,
    }
}

/// Failed matches in one Asia/Jakarta day that flag the account as suspected
/// fraud (API.md Fixed names).
pub const FAILED_MATCHES_FOR_FRAUD: i64 = 3;

/// Face-service calls per account in any 24 hours for training face checks
/// (API.md: at least 30 a day, checked after the per-purchase limits).
pub const FACE_CALLS_PER_ACCOUNT_PER_DAY: i64 = 40;

// ---------------------------------------------------------------- §7 finishing

/// The certificate shows to the participant no sooner than this after
/// completion.
pub const CERTIFICATE_DELAY: TimeDelta = TimeDelta::days(7);

/// Whether the certificate of a training completed at `completed_at` shows at
/// `now`.
pub fn certificate_visible(completed_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= completed_at + CERTIFICATE_DELAY
}

/// Why a completion report is refused (422 on `completed_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletedAtRefusal {
    BeforeRedemption,
    InTheFuture,
}

/// A training is completed between its redemption and now, both inclusive.
pub fn check_completed_at(
    completed_at: DateTime<Utc>,
    redeemed_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), CompletedAtRefusal> {
    if completed_at < redeemed_at {
        Err(CompletedAtRefusal::BeforeRedemption)
    } else if completed_at > now {
        Err(CompletedAtRefusal::InTheFuture)
    } else {
        Ok(())
    }
}

/// Star ratings.
pub const RATINGS: std::ops::RangeInclusive<i16> = 1..=5;
/// The longest review comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// A card number as a platform sees it: the last four digits only.
pub fn mask_card_number(number: &str) -> String {
    let keep = number.len().min(4);
    format!(
        "{}{}",
        "*".repeat(number.len() - keep),
        &number[number.len() - keep..]
    )
}

// ---------------------------------------------------------------- redeem codes

/// Redeem-code characters: Crockford's base 32, digits and capitals without
/// I, L, O and U, so no two symbols look alike (0/O, 1/I/L) when a participant
/// reads the code out (32 symbols, 5 bits each).
pub const REDEEM_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters per redeem code: 12 × 5 = 60 bits.
pub const REDEEM_CODE_LEN: usize = 12;

/// A fresh redeem code from a cryptographic RNG.
pub fn new_redeem_code(rng: &mut impl rand::RngCore) -> String {
    (0..REDEEM_CODE_LEN)
        .map(|_| {
            // 32 symbols: the low 5 bits of a random word pick one without bias.
            REDEEM_ALPHABET[(rng.next_u32() & 0x1f) as usize] as char
        })
        .collect()
}

/// Whether a string can be a redeem code at all (checked before any look-up).
pub fn redeem_code_well_formed(code: &str) -> bool {
    code.len() == REDEEM_CODE_LEN && code.bytes().all(|b| REDEEM_ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// An instant written in WIB (UTC+07:00).
    fn wib(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{s}+07:00"))
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn cancellation_window_follows_the_faq_scenarios() {
        // Programme FAQ, "Scenario of course cancelation maximum limit", verbatim:
        let cases = [
            // Scenario 1: purchased 19 July 2023, starts 22 July 2023: "participants
            // should cancel the purchased course on 19 July 2023".
            ("2023-07-19", "2023-07-22", Some("2023-07-19")),
            // Scenario 2: starts 23 July: "can cancel ... from 19 until 20 July 2023".
            ("2023-07-19", "2023-07-23", Some("2023-07-20")),
            // Scenario 3: starts 31 July: "from 19 until 22 July 2023".
            ("2023-07-19", "2023-07-31", Some("2023-07-22")),
            // Scenario 4: starts 20 July: "can no longer cancel the course".
            ("2023-07-19", "2023-07-20", None),
        ];
        for (bought, starts, last) in cases {
            assert_eq!(
                cancel_deadline(d(bought), d(starts)),
                last.map(d),
                "bought {bought}, starts {starts}"
            );
        }
    }

    #[test]
    fn each_scenario_allows_exactly_the_days_the_faq_names() {
        // (start, the days of July 2023 on which a cancel is accepted)
        let cases: [(&str, &[u32]); 4] = [
            ("2023-07-22", &[19]),
            ("2023-07-23", &[19, 20]),
            ("2023-07-31", &[19, 20, 21, 22]),
            ("2023-07-20", &[]),
        ];
        for (starts, days) in cases {
            let deadline = cancel_deadline(d("2023-07-19"), d(starts));
            for day in 19..=31 {
                let today = NaiveDate::from_ymd_opt(2023, 7, day).unwrap();
                assert_eq!(
                    may_cancel(PurchaseStatus::Purchased, deadline, today).is_ok(),
                    days.contains(&day),
                    "start {starts}, cancel on 2023-07-{day}"
                );
            }
        }
    }

    #[test]
    fn cancellation_dates_turn_at_wib_midnight() {
        // Bought at 23:59:59 WIB on 19 July (16:59:59 UTC): purchase date 19 July.
        // One second later it is 20 July in Jakarta, while still 19 July in UTC.
        let late = wib("2023-07-19T23:59:59");
        let next = wib("2023-07-20T00:00:00");
        assert_eq!(late, Utc.with_ymd_and_hms(2023, 7, 19, 16, 59, 59).unwrap());
        let start = d("2023-07-31");
        assert_eq!(
            cancel_deadline(jakarta_date(late), start),
            Some(d("2023-07-22"))
        );
        assert_eq!(
            cancel_deadline(jakarta_date(next), start),
            Some(d("2023-07-23"))
        );
        // Scenario 2's last day ends at 23:59:59 WIB on 20 July, not at UTC midnight.
        let deadline = cancel_deadline(d("2023-07-19"), d("2023-07-23"));
        for (at, ok) in [
            ("2023-07-20T23:59:59", true),
            ("2023-07-21T00:00:00", false),
            ("2023-07-21T06:59:59", false), // still 20 July in UTC
        ] {
            assert_eq!(
                may_cancel(PurchaseStatus::Purchased, deadline, jakarta_date(wib(at))).is_ok(),
                ok,
                "{at} WIB"
            );
        }
    }

    #[test]
    fn only_an_unredeemed_purchase_can_be_cancelled() {
        let deadline = Some(d("2023-07-22"));
        let today = d("2023-07-19");
        let cases = [
            (PurchaseStatus::Purchased, Ok(())),
            (
                PurchaseStatus::Redeemed,
                Err(CancelRefusal::AlreadyRedeemed),
            ),
            (
                PurchaseStatus::Completed,
                Err(CancelRefusal::AlreadyRedeemed),
            ),
            (
                PurchaseStatus::Cancelled,
                Err(CancelRefusal::AlreadyCancelled),
            ),
            (PurchaseStatus::Expired, Err(CancelRefusal::WindowClosed)),
        ];
        for (status, expected) in cases {
            assert_eq!(may_cancel(status, deadline, today), expected, "{status}");
        }
        assert_eq!(
            may_cancel(PurchaseStatus::Purchased, None, today),
            Err(CancelRefusal::WindowClosed)
        );
    }

    #[test]
    fn online_needs_one_calendar_day_and_offline_three() {
        // Starts 10 August 2026 at 09:00 WIB.
        let starts = wib("2026-08-10T09:00:00");
        let cases = [
            (Delivery::Webinar, "2026-08-09", false),
            (Delivery::Webinar, "2026-08-10", true),
            (Delivery::SelfPaced, "2026-08-09", false),
            (Delivery::SelfPaced, "2026-08-10", true),
            (Delivery::Offline, "2026-08-07", false),
            (Delivery::Offline, "2026-08-08", true),
            (Delivery::Offline, "2026-08-09", true),
        ];
        for (delivery, today, too_soon) in cases {
            assert_eq!(
                starts_too_soon(delivery, starts, d(today)),
                too_soon,
                "{delivery} bought {today}"
            );
        }
    }

    #[test]
    fn the_start_date_is_the_jakarta_date_of_the_start() {
        // 00:30 WIB on 10 August is 17:30 UTC on 9 August: the start date is the 10th,
        // so a webinar may still be bought on the 9th.
        let starts = wib("2026-08-10T00:30:00");
        assert_eq!(starts.date_naive(), d("2026-08-09"));
        assert!(!starts_too_soon(Delivery::Webinar, starts, d("2026-08-09")));
        assert!(starts_too_soon(Delivery::Webinar, starts, d("2026-08-10")));
    }

    #[test]
    fn purchase_deadline_as_api_md_defines_it() {
        let first = d("2026-07-19");
        let cases = [
            (Previous::None, Some("2026-07-19")),
            (Previous::Open, None),
            (Previous::Reviewed(d("2026-08-20")), Some("2026-09-04")),
            (Previous::Expired(d("2026-08-31")), Some("2026-09-15")),
        ];
        for (previous, expected) in cases {
            assert_eq!(
                purchase_deadline(first, previous),
                expected.map(d),
                "{previous:?}"
            );
        }
    }

    #[test]
    fn the_next_purchase_waits_for_the_review_and_keeps_to_15_days() {
        let first = d("2026-07-19");
        let cases = [
            (Previous::None, "2026-07-19", Ok(())),
            (
                Previous::None,
                "2026-07-20",
                Err(NextPurchaseRefusal::DeadlinePassed),
            ),
            (
                Previous::Open,
                "2026-07-10",
                Err(NextPurchaseRefusal::PreviousTrainingUnfinished),
            ),
            (Previous::Reviewed(d("2026-08-20")), "2026-08-20", Ok(())),
            (Previous::Reviewed(d("2026-08-20")), "2026-09-04", Ok(())),
            (
                Previous::Reviewed(d("2026-08-20")),
                "2026-09-05",
                Err(NextPurchaseRefusal::DeadlinePassed),
            ),
            (Previous::Expired(d("2026-08-20")), "2026-09-04", Ok(())),
            (
                Previous::Expired(d("2026-08-20")),
                "2026-09-05",
                Err(NextPurchaseRefusal::DeadlinePassed),
            ),
        ];
        for (previous, today, expected) in cases {
            assert_eq!(
                may_buy_next(first, previous, d(today)),
                expected,
                "{previous:?} on {today}"
            );
        }
    }

    #[test]
    fn what_a_purchase_leaves_for_the_next() {
        let on = Some(d("2026-08-20"));
        let cases = [
            (PurchaseStatus::Purchased, None, None, Some(Previous::Open)),
            (PurchaseStatus::Redeemed, None, None, Some(Previous::Open)),
            (PurchaseStatus::Completed, None, None, Some(Previous::Open)),
            (
                PurchaseStatus::Completed,
                on,
                None,
                Some(Previous::Reviewed(d("2026-08-20"))),
            ),
            (
                PurchaseStatus::Expired,
                None,
                on,
                Some(Previous::Expired(d("2026-08-20"))),
            ),
            (PurchaseStatus::Cancelled, None, None, None),
        ];
        for (status, reviewed, expired, expected) in cases {
            assert_eq!(
                Previous::of(status, reviewed, expired),
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn the_buyer_is_18_to_64_and_not_in_formal_education_on_the_purchase_date() {
        let cases = [
            ("2008-07-20", Some(false), "2026-07-19", false), // 17
            ("2008-07-20", Some(false), "2026-07-20", true),  // 18th birthday
            ("1961-07-20", Some(false), "2026-07-19", true),  // 64
            ("1961-07-20", Some(false), "2026-07-20", false), // 65th birthday
            ("1990-01-01", Some(true), "2026-07-20", false),  // a student
            ("1990-01-01", None, "2026-07-20", true),
        ];
        for (birth, studying, today, ok) in cases {
            assert_eq!(
                buyer_eligible(d(birth), studying, d(today)),
                ok,
                "{birth} {studying:?} {today}"
            );
        }
    }

    #[test]
    fn redemption_windows_include_both_ends() {
        let starts = wib("2026-08-10T09:00:00");
        let cases = [
            (Delivery::Webinar, "2026-08-10T07:59:59", false),
            (Delivery::Webinar, "2026-08-10T08:00:00", true),
            (Delivery::Webinar, "2026-08-10T10:00:00", true),
            (Delivery::Webinar, "2026-08-10T10:00:01", false),
            (Delivery::Offline, "2026-08-10T07:59:59", false),
            (Delivery::Offline, "2026-08-10T08:00:00", true),
            (Delivery::Offline, "2026-08-10T11:00:00", true),
            (Delivery::Offline, "2026-08-10T11:00:01", false),
            (Delivery::SelfPaced, "2026-01-01T00:00:00", true),
            (Delivery::SelfPaced, "2027-01-01T00:00:00", true),
        ];
        for (delivery, at, open) in cases {
            assert_eq!(
                in_redemption_window(delivery, starts, wib(at)),
                open,
                "{delivery} at {at} WIB"
            );
        }
    }

    #[test]
    fn scheduled_training_expires_after_its_window_and_self_paced_never() {
        let starts = wib("2026-08-10T09:00:00");
        let cases = [
            (Delivery::Webinar, "2026-08-10T10:00:00", false),
            (Delivery::Webinar, "2026-08-10T10:00:01", true),
            (Delivery::Offline, "2026-08-10T11:00:00", false),
            (Delivery::Offline, "2026-08-10T11:00:01", true),
            (Delivery::SelfPaced, "2030-01-01T00:00:00", false),
        ];
        for (delivery, at, missed) in cases {
            assert_eq!(
                missed_redemption(delivery, starts, wib(at)),
                missed,
                "{delivery} {at}"
            );
        }
    }

    #[test]
    fn face_rules() {
        assert_eq!(face_attempts_per_day(Delivery::SelfPaced), 5);
        assert_eq!(face_attempts_per_day(Delivery::Webinar), 10);
        assert_eq!(face_attempts_per_day(Delivery::Offline), 10);
        assert!(redemption_needs_face_check(Delivery::Webinar));
        assert!(redemption_needs_face_check(Delivery::SelfPaced));
        assert!(!redemption_needs_face_check(Delivery::Offline));
        assert_eq!(FACE_PASS_VALIDITY, TimeDelta::minutes(15));
        assert_eq!(FAILED_MATCHES_FOR_FRAUD, 3);
        // API.md: the per-account quota never undercuts the per-purchase limits.
        const { assert!(FACE_CALLS_PER_ACCOUNT_PER_DAY >= 30) };
    }

    #[test]
    fn the_certificate_shows_seven_days_after_completion() {
        let done = wib("2026-08-20T15:00:00");
        assert!(!certificate_visible(done, wib("2026-08-27T14:59:59")));
        assert!(certificate_visible(done, wib("2026-08-27T15:00:00")));
    }

    #[test]
    fn completion_lies_between_redemption_and_now() {
        let redeemed = wib("2026-08-10T09:00:00");
        let now = wib("2026-08-20T09:00:00");
        assert_eq!(check_completed_at(redeemed, redeemed, now), Ok(()));
        assert_eq!(check_completed_at(now, redeemed, now), Ok(()));
        assert_eq!(
            check_completed_at(redeemed - TimeDelta::seconds(1), redeemed, now),
            Err(CompletedAtRefusal::BeforeRedemption)
        );
        assert_eq!(
            check_completed_at(now + TimeDelta::seconds(1), redeemed, now),
            Err(CompletedAtRefusal::InTheFuture)
        );
    }

    #[test]
    fn the_states_move_only_along_the_machine() {
        use PurchaseStatus::*;
        let moves: Vec<(PurchaseStatus, PurchaseStatus)> =
            Transition::ALL.iter().map(|t| (t.from(), t.to())).collect();
        assert_eq!(
            moves,
            [
                (Purchased, Redeemed),
                (Redeemed, Completed),
                (Purchased, Cancelled),
                (Purchased, Expired),
            ]
        );
        // Terminal states leave nowhere.
        for terminal in [Completed, Cancelled, Expired] {
            assert!(Transition::ALL.iter().all(|t| t.from() != terminal));
        }
    }

    #[test]
    fn a_platform_sees_the_last_four_digits_of_a_card() {
        assert_eq!(mask_card_number("5213459876543217"), "************3217");
    }

    #[test]
    fn redeem_codes_are_long_unambiguous_and_unique() {
        // At least 50 bits (API.md): 32 symbols are 5 bits each.
        const { assert!(REDEEM_CODE_LEN * 5 >= 50 && REDEEM_CODE_LEN >= 10) };
        let distinct: std::collections::BTreeSet<u8> = REDEEM_ALPHABET.iter().copied().collect();
        assert_eq!(distinct.len(), 32);
        for ambiguous in *b"ILOU" {
            assert!(!REDEEM_ALPHABET.contains(&ambiguous));
        }
        let mut rng = rand::rngs::OsRng;
        let codes: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_redeem_code(&mut rng)).collect();
        assert_eq!(codes.len(), 10_000);
        assert!(codes.iter().all(|c| redeem_code_well_formed(c)));
        assert!(!redeem_code_well_formed("0123456789AI"));
        assert!(!redeem_code_well_formed("0123456789A"));
    }
}
