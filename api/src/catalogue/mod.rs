//! The training catalogue (DOMAIN.md §9; API.md Catalogue): partners upsert
//! their courses by external id; anyone searches and reads them, with ratings
//! kept in the course row by the review's transaction.
//!
//! - `model`: course rows and the upsert;
//! - `search`: `GET /v1/courses` (full-text and trigram match, filters, sorts);
//! - `reviews`: a course's page with its recent reviews, reviewers masked;
//! - `routes`, `views`: the HTTP side.

pub mod model;
pub mod reviews;
pub mod routes;
pub mod search;
pub mod views;
