//! Spending the card (DOMAIN.md §5–§7): the purchase a partner platform makes
//! with the participant's OTP, its cancellation, the face checks and the
//! redemption that open the training, the completion the institution reports
//! and the participant's review.
//!
//! - `rules`: the programme's rules, pure and table-tested;
//! - `service`: the purchase code and the purchase;
//! - `cancellation`, `face`, `redemption` (and the job `expire_purchases`),
//!   `completion`, `review`: one file per step of a purchase's life;
//! - `listing`: the participant's and the platform's views;
//! - `model`: the rows, and each state change as one conditional update.

pub mod cancellation;
pub mod completion;
pub mod face;
pub mod listing;
pub mod model;
pub mod partner_routes;
pub mod redemption;
pub mod review;
pub mod routes;
pub mod rules;
pub mod service;
pub mod views;
