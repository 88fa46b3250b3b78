//! The card and its balance (DOMAIN.md §3–§5): the 16-digit Kartu Prakerja
//! number, the double-entry ledger behind its balance, and the first-purchase
//! deadline after which an unused card is deactivated for good.

pub mod expiry;
pub mod ledger;
pub mod model;
pub mod routes;
pub mod service;
pub mod views;
