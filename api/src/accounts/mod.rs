//! Accounts and sessions (DOMAIN.md §1): sign-up and email verification, login
//! with password and an emailed code, sessions with rotating refresh tokens,
//! password change and reset, phone verification.

pub mod email;
pub mod model;
pub mod otp;
pub mod password;
pub mod routes;
pub mod rules;
pub mod secrets;
pub mod service;
pub mod views;
