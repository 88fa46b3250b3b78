//! Partner platforms (issue 16; API.md Conventions and Administration): the
//! programme office creates them with a secret, rotates and disables them; their
//! requests are HMAC-signed and verified by one extractor.
//!
//! - `signature`: the HMAC scheme as plain functions (also for the payout
//!   provider's webhooks);
//! - `auth`: `SignedPartner`, the extractor of every partner route, and the
//!   once-only record of accepted signatures;
//! - `model`: the partner rows and their encrypted secrets;
//! - `service`, `routes`, `views`: the admin routes.

pub mod auth;
pub mod model;
pub mod routes;
pub mod service;
pub mod signature;
pub mod views;

pub use auth::SignedPartner;
