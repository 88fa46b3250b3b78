//! Document-only types: the vocabularies of API.md › Fixed names that views
//! carry as strings, so the schema can list them as enums.

use serde::Serialize;
use utoipa::ToSchema;

/// A registration step (`GET /v1/me` › registration); all are needed to join a wave.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStep {
    Identity,
    Profile,
    KtpPhoto,
    Face,
    Questionnaire,
    Phone,
    Statement,
    AptitudeTest,
}

/// The kind of a card transaction.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Credit,
    Purchase,
    Refund,
    Expiry,
}
