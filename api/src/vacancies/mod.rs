//! Job information (DOMAIN.md §11 "Jobs"; API.md Help and jobs): job boards
//! (partners with the `jobs` capability) upsert their vacancies by external id;
//! anyone searches the open ones; a participant gets recommendations from the
//! skills they entered and the training they completed. (`crate::jobs` is the
//! service's background jobs, hence this folder's name.)
//!
//! - `model`: vacancy rows and the upsert;
//! - `search`: `GET /v1/jobs` (full-text and trigram match, filters, pages);
//! - `rules`: the recommendation score and its reasons (pure, table-tested);
//! - `recommend`: `GET /v1/me/job-recommendations`, one SQL statement;
//! - `routes`, `views`: the HTTP side.

pub mod model;
pub mod recommend;
pub mod routes;
pub mod rules;
pub mod search;
pub mod views;
