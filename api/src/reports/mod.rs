//! The report form (DOMAIN.md §10; API.md Help and jobs): anyone reaches the
//! programme office, also without logging in; the office answers in a thread,
//! and with the four identity documents attached it restores access (unblock,
//! clear the fraud flag, or move a NIK to its rightful owner).
//!
//! - `rules`: vocabularies, references, the thread's states, attachments;
//! - `model`: rows (text and files sealed with the PII cipher);
//! - `service`: the flows, each change under the report's row lock;
//! - `routes`, `views`: the HTTP side.

pub mod model;
pub mod routes;
pub mod rules;
pub mod service;
pub mod views;
