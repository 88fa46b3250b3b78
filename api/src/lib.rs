//! prakerja-api: the backend of the Kartu Prakerja programme.
//!
//! Layout: `app` wires routes and middleware; `config`, `db`, `clock`, `error`,
//! `http`, `pagination`, `ratelimit`, `idempotency` and `notifications` are the
//! shared mechanisms; one folder per domain holds its routes, model and rules.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod batches;
pub mod card;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod integrations;
pub mod jobs;
pub mod notifications;
pub mod pagination;
pub mod ratelimit;
pub mod registration;
pub mod sandbox;
pub mod server;
pub mod service;
pub mod telemetry;
