//! Registration and identity (DOMAIN.md §2): the steps of the participant's
//! journey and the eligibility rules.

pub mod model;
pub mod routes;
pub mod rules;
pub mod service;
pub mod views;
