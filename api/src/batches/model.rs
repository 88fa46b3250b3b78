//! Wave and application rows.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

pub use super::rules::{ApplicationStatus, SelectionState};
use super::{
    rules::{self, BatchStatus, Scheme},
    views::BatchView,
};
use crate::db::schema::batches;

/// A wave row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = batches)]
pub struct Batch {
    pub id: Uuid,
    pub name: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub quota: i32,
    pub province_codes: Vec<String>,
    pub training_idr: i64,
    pub incentive_monthly_idr: i64,
    pub incentive_months: i32,
    pub survey_incentive_idr: i64,
    pub survey_count: i32,
    pub seed: Option<Vec<u8>>,
    pub selection_state: SelectionState,
    pub selected_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Batch {
    /// The status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> BatchStatus {
        rules::status(
            self.opens_at,
            self.closes_at,
            self.selection_state == SelectionState::Done,
            now,
        )
    }

    /// The benefit scheme.
    pub fn scheme(&self) -> Scheme {
        Scheme {
            training_idr: self.training_idr,
            incentive_monthly_idr: self.incentive_monthly_idr,
            incentive_months: self.incentive_months,
            survey_incentive_idr: self.survey_incentive_idr,
            survey_count: self.survey_count,
        }
    }

    /// Whether the wave serves a province of domicile.
    pub fn serves(&self, province: &str) -> bool {
        self.province_codes.is_empty() || self.province_codes.iter().any(|p| p == province)
    }

    /// The public view at `now`.
    pub fn view(&self, now: DateTime<Utc>) -> BatchView {
        BatchView {
            id: self.id,
            name: self.name.clone(),
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            quota: self.quota,
            province_codes: self.province_codes.clone(),
            status: self.status(now),
            scheme: self.scheme(),
        }
    }
}

/// A wave by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Batch>> {
    batches::table
        .find(id)
        .select(Batch::as_select())
        .first(conn)
        .await
        .optional()
}
