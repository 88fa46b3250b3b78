//! One-time codes (DOMAIN.md §1, §5), one module for the three flows that use
//! them: login (email), phone verification (SMS) and the purchase OTP a
//! partner platform asks for (email, and SMS when a phone is verified).
//!
//! A challenge has a purpose and a scope: a new challenge supersedes the open
//! ones of the same purpose and scope (the account for login and phone; card,
//! course and partner for a purchase, so codes for different courses stay
//! valid side by side). Budgets (codes sent, resends, wrong guesses) are kept
//! per subject and purpose, with every limit in one table ([`rules::policy`]),
//! so a purchase code never spends the login's allowance. The code is stored
//! only as a keyed hash bound to its challenge and purpose; a resend replaces
//! it and keeps the count of wrong guesses.
//!
//! Use [`issue`] to send a code (it checks the budget, supersedes, stores,
//! queues the message and answers what to show), [`resend`] for a new code on
//! the same challenge, and [`verify`] inside the transaction of the change the
//! code authorises.

pub mod model;
pub mod rules;
pub mod service;

pub use model::Challenge;
pub use rules::{ChallengeState, Purpose};
pub use service::{issue, resend, verify, CodeMessage, Guess, Issue, IssuedCode, Scope, Verdict};
