//! API tests: the real service, in-process on a random port, each test on its own
//! database. See `helpers.rs`.

mod fixtures;
mod helpers;
mod spending;

mod accounts;
mod admin;
mod batches;
mod card;
mod catalogue;
mod contract;
mod crash;
mod foundation;
mod hardening;
mod hostile_text;
mod idempotency;
mod incentives;
mod jobs;
mod ledger;
mod metrics;
mod otp;
mod outbox;
mod partners;
mod purchase_life;
mod purchase_races;
mod purchases;
mod ratelimit;
mod registration;
mod reports;
mod two_instances;
mod vocabularies;
