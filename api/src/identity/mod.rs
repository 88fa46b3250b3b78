//! Identity (DOMAIN.md §2): the NIK and family card (KK) numbers a participant
//! registers with, parsed once into types that every later step can trust.
//!
//! The registry check itself lives in `integrations::registry`; the protection of
//! these numbers at rest (encryption, blind index) in `crypto`.

pub mod nik;

pub use nik::{check_birth_date, Gender, KkNumber, KkNumberError, Nik, NikError};
