//! Spending the card (DOMAIN.md §5–§7): the purchase a partner platform makes
//! with the participant's OTP, its cancellation, the face checks and the
//! redemption that open the training, the completion the institution reports
//! and the participant's review.

pub mod model;
pub mod rules;
