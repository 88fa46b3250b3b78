//! prakerja-api: the backend of the Kartu Prakerja programme.
//!
//! Layout: `app` wires routes and middleware (only `server` and `main` import
//! it); `state` holds what handlers share, below every domain; `config`, `db`,
//! `clock`, `error`, `http`, `secrets`, `crypto`, `pagination`, `ratelimit`,
//! `idempotency`, `audit`, `notifications` and `retention` are the shared mechanisms; `otp`
//! and `card::ledger` are the shared domain services later flows build on; one
//! folder per domain holds its routes, model, rules and views (`vacancies` is
//! DOMAIN.md §11's jobs; `jobs` the background jobs).

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod batches;
pub mod card;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod contract;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod incentives;
pub mod integrations;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod otp;
pub mod pagination;
pub mod partners;
pub mod purchases;
pub mod ratelimit;
pub mod registration;
pub mod reports;
pub mod retention;
pub mod sandbox;
pub mod secrets;
pub mod server;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod vacancies;

#[cfg(test)]
mod fuzz;
