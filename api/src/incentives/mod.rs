//! Incentives (DOMAIN.md §4, §8): the payout account (`payout`), the schedule
//! earned by finishing the first training (`schedule`), evaluation surveys and
//! their incentives (`surveys`), paying due incentives exactly once
//! (`disburse`, `settle`) with the provider's signed callbacks (`callbacks`),
//! and reading them (`listing`). Rules are pure functions in `rules`.

pub mod callbacks;
pub mod disburse;
pub mod listing;
pub mod payout;
pub mod routes;
pub mod rules;
pub mod schedule;
pub mod settle;
pub mod surveys;
pub mod views;
