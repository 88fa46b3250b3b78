//! Waves (gelombang) and selection (DOMAIN.md §3): the PMO opens waves,
//! registered and eligible participants join one at a time, and after a wave
//! closes a reproducible lottery picks its beneficiaries within the quota and
//! the family-card limit.

mod lottery;
pub mod model;
pub mod routes;
pub mod rules;
pub mod selection;
pub mod service;
pub mod views;
