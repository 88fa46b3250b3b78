//! NIK and KK numbers (DOMAIN.md §2) as parse-don't-validate newtypes.
//!
//! A NIK reads `PP RR KK DDMMYY SSSS`: province, regency/city, district, the date of
//! birth (women add 40 to the day) and a serial. A KK number starts with the same
//! six region digits. [`Nik::parse`] and [`KkNumber::parse`] are the only ways in,
//! so a function taking a `Nik` never re-checks it.
//!
//! Both types print only their masked form (`Display` and `Debug`), so a number
//! cannot leak into a log line or an error by accident; [`Nik::expose`] hands out
//! the digits where they are really needed (the registry call, encryption, the
//! blind index).

use std::fmt;

use crate::{
    db::text_enum,
    error::{ApiError, ErrorCode, FieldError},
};
use chrono::{Datelike, NaiveDate};

/// Both numbers have exactly this many ASCII digits.
const LEN: usize = 16;

/// How many leading and trailing digits the masked form keeps: the regency code
/// (useful to support staff, shared by a whole city) and the serial.
const MASK_KEEP: usize = 4;

/// Whether `code` is an Indonesian province code as NIKs carry it.
///
/// The region codes in a NIK are the Ministry of Home Affairs (Kemendagri) codes,
/// which equal the BPS codes everywhere except Papua, where the 2022 split numbered
/// the new provinces differently: Kemendagri 91 Papua, 92 Papua Barat, 93 Papua
/// Selatan, 94 Papua Tengah, 95 Papua Pegunungan, 96 Papua Barat Daya; BPS 91 Papua
/// Barat, 92 Papua Barat Daya, 94 Papua, 95 Papua Selatan, 96 Papua Tengah, 97
/// Papua Pegunungan. We accept the union (91–97) so that no real NIK is refused
/// whichever table a registry clerk used. A NIK never changes, so codes of
/// provinces later split (e.g. 91 for someone now in Papua Tengah) stay valid.
///
/// This is deliberately stricter than the sandbox registry's "real-looking 11–94"
/// (API.md), which is a simulator rule applied by `integrations::registry`, not a
/// statement about which NIKs exist.
fn is_province_code(code: u32) -> bool {
    matches!(
        code,
        11..=19 | 21 | 31..=36 | 51..=53 | 61..=65 | 71..=76 | 81 | 82 | 91..=97
    )
}

/// Why 16 characters are not 16 digits; shared by both parsers.
enum DigitsError {
    NotDigits,
    WrongLength(usize),
}

/// Trims surrounding whitespace (numbers are often pasted from a scan or a chat,
/// trailing newline included) and demands exactly 16 ASCII digits. Inner spaces
/// are refused rather than removed: a number typed in groups may also be a number
/// typed wrongly, and the participant should look at it again.
fn sixteen_digits(input: &str) -> Result<String, DigitsError> {
    let trimmed = input.trim();
    if !trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(DigitsError::NotDigits);
    }
    if trimmed.len() != LEN {
        return Err(DigitsError::WrongLength(trimmed.len()));
    }
    Ok(trimmed.to_owned())
}

/// The two-digit number at `at` of a string known to hold only ASCII digits.
fn two_digits(digits: &str, at: usize) -> u32 {
    let b = digits.as_bytes();
    u32::from(b[at] - b'0') * 10 + u32::from(b[at + 1] - b'0')
}

/// `3174********0001`: the region and serial stay readable, the district and the
/// date of birth do not.
fn mask(digits: &str) -> String {
    let hidden = digits.len() - 2 * MASK_KEEP;
    format!(
        "{}{}{}",
        &digits[..MASK_KEEP],
        "*".repeat(hidden),
        &digits[digits.len() - MASK_KEEP..]
    )
}

text_enum! {
    /// Sex as the NIK and the registry record state it.
    pub enum Gender {
        /// Day of birth written as 01–31 in the NIK.
        Male => "male",
        /// Day of birth written as 41–71 in the NIK (day + 40).
        Female => "female",
    }
}

/// Why a NIK (or a NIK with its date of birth) is refused. Each message is written
/// for the participant and becomes the `detail` of the 422 `nik_invalid` answer; none
/// repeats the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    /// Something other than the digits 0–9 (letters, inner spaces, dashes).
    #[error("A NIK contains only the digits 0-9.")]
    NotDigits,
    /// Not exactly 16 digits; carries how many there were.
    #[error("A NIK has exactly 16 digits, not {0}.")]
    WrongLength(usize),
    /// The first two digits are no Indonesian province.
    #[error("The NIK does not start with an Indonesian province code.")]
    UnknownProvince,
    /// Digits 9–10 are not a month.
    #[error("The birth month in the NIK (digits 9 and 10) must be 01 to 12.")]
    InvalidMonth,
    /// Digits 7–8 are neither 01–31 nor 41–71.
    #[error("The birth day in the NIK (digits 7 and 8) must be 01 to 31, or 41 to 71 for women.")]
    InvalidDay,
    /// Day and month are in range but make no date (31 April, 29 February of a
    /// common year).
    #[error("The date of birth in the NIK is not a real calendar date.")]
    InvalidDate,
    /// The NIK is well-formed but its date of birth is not the one given.
    #[error("The date of birth does not match the one encoded in the NIK.")]
    BirthDateMismatch,
}

impl NikError {
    /// The request field the participant should correct.
    pub const fn field(self) -> &'static str {
        match self {
            NikError::BirthDateMismatch => "date_of_birth",
            _ => "nik",
        }
    }
}

impl From<NikError> for ApiError {
    fn from(e: NikError) -> Self {
        ApiError::new(ErrorCode::NikInvalid)
            .detail(e.to_string())
            .with_errors(vec![FieldError {
                field: e.field().to_owned(),
                message: e.to_string(),
            }])
    }
}

/// A national identity number (Nomor Induk Kependudukan): 16 digits with a known
/// province code and a real embedded date of birth.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nik(String);

impl Nik {
    /// Parses a NIK as typed by a participant (surrounding whitespace ignored).
    ///
    /// Checks, in this order: digits only, 16 of them, province code, month, day,
    /// and that day and month make a real date. 29 February is accepted when the
    /// two-digit year is divisible by 4: that is the leap-year rule for every year
    /// from 1901 to 2099, and for 2000, the only `00` year a living person has.
    pub fn parse(input: &str) -> Result<Nik, NikError> {
        let digits = sixteen_digits(input).map_err(|e| match e {
            DigitsError::NotDigits => NikError::NotDigits,
            DigitsError::WrongLength(n) => NikError::WrongLength(n),
        })?;
        if !is_province_code(two_digits(&digits, 0)) {
            return Err(NikError::UnknownProvince);
        }
        let month = two_digits(&digits, 8);
        if !(1..=12).contains(&month) {
            return Err(NikError::InvalidMonth);
        }
        let encoded_day = two_digits(&digits, 6);
        let day = match encoded_day {
            1..=31 => encoded_day,
            41..=71 => encoded_day - 40,
            _ => return Err(NikError::InvalidDay),
        };
        let yy = two_digits(&digits, 10);
        // 2000 is a leap year and stands for every year divisible by 4 here.
        let probe_year = 2000 + (yy % 4) as i32;
        if NaiveDate::from_ymd_opt(probe_year, month, day).is_none() {
            return Err(NikError::InvalidDate);
        }
        Ok(Nik(digits))
    }

    /// The 16 digits, for the registry call, encryption and the blind index only.
    /// Never log or render them; `Display` gives the masked form.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 4 and last 4 digits kept, the rest `*` (e.g. `3174********0001`); the
    /// form for logs, support screens and `nik_masked`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// The province code (digits 1–2), e.g. `31` for DKI Jakarta.
    pub fn province_code(&self) -> &str {
        &self.0[..2]
    }

    /// The regency/city code (digits 1–4, province included), e.g. `3174`.
    pub fn regency_code(&self) -> &str {
        &self.0[..4]
    }

    /// The district code (digits 1–6, regency included).
    pub fn district_code(&self) -> &str {
        &self.0[..6]
    }

    /// The serial (last 4 digits) that tells apart people of one district born on
    /// the same day.
    pub fn serial(&self) -> &str {
        &self.0[12..]
    }

    /// Female when the encoded day is above 40.
    pub fn gender(&self) -> Gender {
        if two_digits(&self.0, 6) > 40 {
            Gender::Female
        } else {
            Gender::Male
        }
    }

    /// Day of birth, 1–31 (the +40 for women removed).
    pub fn birth_day(&self) -> u32 {
        let encoded = two_digits(&self.0, 6);
        if encoded > 40 {
            encoded - 40
        } else {
            encoded
        }
    }

    /// Month of birth, 1–12.
    pub fn birth_month(&self) -> u32 {
        two_digits(&self.0, 8)
    }

    /// The last two digits of the year of birth; the NIK carries no century.
    pub fn birth_year_two_digits(&self) -> u32 {
        two_digits(&self.0, 10)
    }

    /// The date of birth, the century taken from `reference` (normally today on the
    /// service clock): the most recent date not after `reference` whose day and
    /// month are the NIK's and whose year ends in its two digits. So the person is
    /// between 0 and 99 years old on `reference`, and nobody is born in the future.
    ///
    /// Why not the sandbox registry's fixed "00–29 → 20yy, else 19yy": that rule
    /// stops being right in 2030, while this one never does. The two agree for every
    /// birth date from 1930 up to the reference date whenever the reference lies in
    /// 2000–2029 (tested), which covers everyone of programme age (18–64) today; the
    /// sandbox registry keeps its own rule in `integrations::registry`, and
    /// [`check_birth_date`] does not depend on either.
    pub fn birth_date(&self, reference: NaiveDate) -> NaiveDate {
        let (day, month) = (self.birth_day(), self.birth_month());
        let yy = self.birth_year_two_digits() as i32;
        let century = reference.year().div_euclid(100) * 100;
        // Step back a century at a time. Only 29 February of a `00` year can skip a
        // century (1900, 2100 are common years); among any four consecutive century
        // years one is a leap year, so five candidates always hold a valid date.
        (0..=4)
            .filter_map(|back| NaiveDate::from_ymd_opt(century - 100 * back + yy, month, day))
            .find(|date| *date <= reference)
            // Unreachable by the argument above; the reference date is a safe answer.
            .unwrap_or(reference)
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

/// Checks a given date of birth against the one a NIK encodes: same day, month
/// and last two digits of the year (DOMAIN.md §2: a NIK whose embedded date
/// disagrees with the given date of birth is invalid).
///
/// The century is not compared: the NIK does not carry one, so any century rule
/// would refuse some real person; the registry confirms the full date afterwards.
pub fn check_birth_date(nik: &Nik, given_dob: NaiveDate) -> Result<(), NikError> {
    let given_yy = given_dob.year().rem_euclid(100) as u32;
    if given_dob.day() == nik.birth_day()
        && given_dob.month() == nik.birth_month()
        && given_yy == nik.birth_year_two_digits()
    {
        Ok(())
    } else {
        Err(NikError::BirthDateMismatch)
    }
}

/// Why a family card (KK) number is refused; messages are for the participant and
/// never repeat the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KkNumberError {
    /// Something other than the digits 0–9.
    #[error("A family card number contains only the digits 0-9.")]
    NotDigits,
    /// Not exactly 16 digits; carries how many there were.
    #[error("A family card number has exactly 16 digits, not {0}.")]
    WrongLength(usize),
    /// The first two digits are no Indonesian province.
    #[error("The family card number does not start with an Indonesian province code.")]
    UnknownProvince,
}

impl From<KkNumberError> for ApiError {
    /// A malformed KK is an ordinary field error (422 `validation_failed` on
    /// `kk_number`): `nik_invalid` is about the NIK, and API.md has no KK code.
    fn from(e: KkNumberError) -> Self {
        ApiError::field("kk_number", e.to_string())
    }
}

/// A family card number (Nomor Kartu Keluarga): 16 digits starting with a known
/// province code. The rest (region, issue date, serial) is not checked: the
/// registry is the authority on which family cards exist.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KkNumber(String);

impl KkNumber {
    /// Parses a KK number as typed (surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<KkNumber, KkNumberError> {
        let digits = sixteen_digits(input).map_err(|e| match e {
            DigitsError::NotDigits => KkNumberError::NotDigits,
            DigitsError::WrongLength(n) => KkNumberError::WrongLength(n),
        })?;
        if !is_province_code(two_digits(&digits, 0)) {
            return Err(KkNumberError::UnknownProvince);
        }
        Ok(KkNumber(digits))
    }

    /// The 16 digits, for the registry call, encryption and the blind index only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 4 and last 4 digits kept, the rest `*`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// The province code (digits 1–2).
    pub fn province_code(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for KkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for KkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KkNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The service clock's "today" in these tests.
    fn today() -> NaiveDate {
        date(2026, 6, 1)
    }

    /// Region 317401 (Jakarta Timur), then DDMMYY, then the serial.
    fn nik_with(ddmmyy: &str, serial: &str) -> String {
        format!("317401{ddmmyy}{serial}")
    }

    #[test]
    fn nik_parse_accepts_and_decodes() {
        use Gender::{Female, Male};
        // (NIK, gender, birth date resolved against 2026-06-01)
        let cases = [
            (nik_with("170495", "0001"), Male, date(1995, 4, 17)),
            (nik_with("570495", "0001"), Female, date(1995, 4, 17)),
            (nik_with("010100", "0001"), Male, date(2000, 1, 1)),
            (nik_with("410100", "0001"), Female, date(2000, 1, 1)),
            (nik_with("311299", "0001"), Male, date(1999, 12, 31)),
            (nik_with("710108", "0001"), Female, date(2008, 1, 31)),
            // 29 February: 1996 and 2000 are leap years.
            (nik_with("290296", "0001"), Male, date(1996, 2, 29)),
            (nik_with("690200", "0001"), Female, date(2000, 2, 29)),
            (nik_with("290224", "0001"), Male, date(2024, 2, 29)),
            // Century boundary around the reference date (2026-06-01).
            (nik_with("010626", "0001"), Male, date(2026, 6, 1)),
            (nik_with("020626", "0001"), Male, date(1926, 6, 2)),
            (nik_with("010127", "0001"), Male, date(1927, 1, 1)),
            (nik_with("010129", "0001"), Male, date(1929, 1, 1)),
            (nik_with("010130", "0001"), Male, date(1930, 1, 1)),
            (nik_with("010161", "0001"), Male, date(1961, 1, 1)),
        ];
        for (input, gender, dob) in cases {
            let nik = Nik::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(nik.gender(), gender, "{input}");
            assert_eq!(nik.birth_date(today()), dob, "{input}");
            assert_eq!(check_birth_date(&nik, dob), Ok(()), "{input}");
            assert_eq!(nik.expose(), input);
        }
    }

    #[test]
    fn nik_parse_refuses_with_a_reason() {
        let cases = [
            (String::new(), NikError::WrongLength(0)),
            ("317401170495001".into(), NikError::WrongLength(15)),
            ("31740117049500011".into(), NikError::WrongLength(17)),
            ("3174O11704950001".into(), NikError::NotDigits),
            ("3174 0117 0495 0001".into(), NikError::NotDigits),
            ("3174-0117-0495-0001".into(), NikError::NotDigits),
            ("+317401170495001".into(), NikError::NotDigits),
            ("٣١٧٤٠١١٧٠٤٩٥٠٠٠١".into(), NikError::NotDigits),
            ("1074011704950001".into(), NikError::UnknownProvince),
            ("2074011704950001".into(), NikError::UnknownProvince),
            ("5474011704950001".into(), NikError::UnknownProvince),
            ("9874011704950001".into(), NikError::UnknownProvince),
            ("0074011704950001".into(), NikError::UnknownProvince),
            (nik_with("170095", "0001"), NikError::InvalidMonth),
            (nik_with("171395", "0001"), NikError::InvalidMonth),
            (nik_with("000495", "0001"), NikError::InvalidDay),
            (nik_with("320495", "0001"), NikError::InvalidDay),
            (nik_with("400495", "0001"), NikError::InvalidDay),
            (nik_with("720495", "0001"), NikError::InvalidDay),
            (nik_with("990495", "0001"), NikError::InvalidDay),
            // In range but no date: 31 April (men and women), 29 February of a
            // common year (1995, 2001).
            (nik_with("310495", "0001"), NikError::InvalidDate),
            (nik_with("710495", "0001"), NikError::InvalidDate),
            (nik_with("290295", "0001"), NikError::InvalidDate),
            (nik_with("690201", "0001"), NikError::InvalidDate),
        ];
        for (input, expected) in cases {
            assert_eq!(Nik::parse(&input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn nik_parse_accepts_every_real_province_code() {
        let real = [
            11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63,
            64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97,
        ];
        for code in 0..100u32 {
            let input = format!("{code:02}74011704950001");
            assert_eq!(
                Nik::parse(&input).is_ok(),
                real.contains(&code),
                "province {code:02}"
            );
        }
    }

    #[test]
    fn nik_parse_ignores_surrounding_whitespace() {
        for input in [
            " 3174011704950001",
            "3174011704950001 ",
            "\t3174011704950001\n",
        ] {
            assert_eq!(Nik::parse(input).unwrap().expose(), "3174011704950001");
        }
    }

    #[test]
    fn nik_parts() {
        let nik = Nik::parse("3174015704950123").unwrap();
        assert_eq!(nik.province_code(), "31");
        assert_eq!(nik.regency_code(), "3174");
        assert_eq!(nik.district_code(), "317401");
        assert_eq!(nik.serial(), "0123");
        assert_eq!(nik.birth_day(), 17);
        assert_eq!(nik.birth_month(), 4);
        assert_eq!(nik.birth_year_two_digits(), 95);
        assert_eq!(nik.gender().as_str(), "female");
    }

    #[test]
    fn nik_prints_only_its_masked_form() {
        let nik = Nik::parse("3174011704950001").unwrap();
        assert_eq!(nik.masked(), "3174********0001");
        assert_eq!(nik.to_string(), "3174********0001");
        assert_eq!(format!("{nik:?}"), "Nik(3174********0001)");
        let nested = format!("{:?} {:#?}", Some(&nik), vec![nik.clone()]);
        assert!(!nested.contains("011704"), "{nested}");
    }

    #[test]
    fn check_birth_date_compares_day_month_and_year_digits() {
        let man = Nik::parse(&nik_with("170495", "0001")).unwrap();
        let woman = Nik::parse(&nik_with("570495", "0001")).unwrap();
        let cases = [
            (&man, date(1995, 4, 17), Ok(())),
            (&woman, date(1995, 4, 17), Ok(())),
            (&man, date(1995, 4, 18), Err(NikError::BirthDateMismatch)),
            (&man, date(1995, 5, 17), Err(NikError::BirthDateMismatch)),
            (&man, date(1996, 4, 17), Err(NikError::BirthDateMismatch)),
            (&man, date(1985, 4, 17), Err(NikError::BirthDateMismatch)),
            // The century is the registry's to confirm, not the NIK's.
            (&man, date(2095, 4, 17), Ok(())),
        ];
        for (nik, given, expected) in cases {
            assert_eq!(check_birth_date(nik, given), expected, "{nik} {given}");
        }
    }

    #[test]
    fn birth_date_agrees_with_the_sandbox_century_rule_for_living_ages() {
        fn sandbox_rule(yy: u32) -> i32 {
            if yy <= 29 {
                2000 + yy as i32
            } else {
                1900 + yy as i32
            }
        }
        for reference in [
            date(2000, 3, 1),
            date(2026, 1, 1),
            date(2026, 6, 1),
            date(2029, 12, 31),
        ] {
            let mut dob = date(1930, 1, 1);
            while dob <= reference {
                let input = nik_with(&dob.format("%d%m%y").to_string(), "0001");
                let nik = Nik::parse(&input).unwrap();
                assert_eq!(nik.birth_date(reference), dob, "{input} at {reference}");
                assert_eq!(
                    sandbox_rule(nik.birth_year_two_digits()),
                    dob.year(),
                    "{input}"
                );
                dob = dob.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn birth_date_is_never_in_the_future_and_under_a_hundred_years() {
        let reference = date(2040, 3, 15);
        let cases = [
            ("150340", date(2040, 3, 15)),
            ("160340", date(1940, 3, 16)),
            ("010130", date(2030, 1, 1)),
            ("010199", date(1999, 1, 1)),
        ];
        for (ddmmyy, expected) in cases {
            let nik = Nik::parse(&nik_with(ddmmyy, "0001")).unwrap();
            assert_eq!(nik.birth_date(reference), expected, "{ddmmyy}");
        }
        // 29 February 00 seen in early 2000: 1900 was a common year, so the most
        // recent such date is still a valid one (never a panic).
        let nik = Nik::parse(&nik_with("290200", "0001")).unwrap();
        let resolved = nik.birth_date(date(2000, 2, 1));
        assert!(resolved <= date(2000, 2, 1));
        assert_eq!((resolved.month(), resolved.day()), (2, 29));
        assert_eq!(nik.birth_date(date(2000, 2, 29)), date(2000, 2, 29));
    }

    #[test]
    fn nik_error_becomes_nik_invalid_with_the_field() {
        let problem = ApiError::from(NikError::InvalidMonth).problem();
        assert_eq!(problem.code, ErrorCode::NikInvalid);
        assert_eq!(problem.status, 422);
        assert_eq!(problem.detail, NikError::InvalidMonth.to_string());
        assert_eq!(problem.errors[0].field, "nik");
        let problem = ApiError::from(NikError::BirthDateMismatch).problem();
        assert_eq!(problem.errors[0].field, "date_of_birth");
    }

    #[test]
    fn kk_number_parse() {
        let cases: [(&str, Result<&str, KkNumberError>); 8] = [
            ("3174010101090001", Ok("3174010101090001")),
            (" 9701010101090001\n", Ok("9701010101090001")),
            ("317401010109000", Err(KkNumberError::WrongLength(15))),
            ("31740101010900010", Err(KkNumberError::WrongLength(17))),
            ("31740101010900O1", Err(KkNumberError::NotDigits)),
            ("3174 010101090001", Err(KkNumberError::NotDigits)),
            ("2074010101090001", Err(KkNumberError::UnknownProvince)),
            ("9974010101090001", Err(KkNumberError::UnknownProvince)),
        ];
        for (input, expected) in cases {
            let parsed = KkNumber::parse(input);
            assert_eq!(
                parsed.as_ref().map(KkNumber::expose),
                expected.as_ref().map(|s| *s),
                "{input:?}"
            );
        }
    }

    #[test]
    fn kk_number_prints_only_its_masked_form() {
        let kk = KkNumber::parse("3174010101090001").unwrap();
        assert_eq!(kk.province_code(), "31");
        assert_eq!(kk.to_string(), "3174********0001");
        assert_eq!(format!("{kk:?}"), "KkNumber(3174********0001)");
        let problem = ApiError::from(KkNumberError::NotDigits).problem();
        assert_eq!(problem.code, ErrorCode::ValidationFailed);
        assert_eq!(problem.errors[0].field, "kk_number");
    }
}
