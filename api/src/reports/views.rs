//! Request and response bodies of the report routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::rules::{AttachmentKind, AttachmentType, Author, Category, ReportStatus};

/// The report form.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "category": "account_blocked",
    "description": "Akun saya diblokir setelah ganti nomor HP. Mohon dibuka kembali.",
    "contact_email": "budi@example.com"
}))]
pub struct CreateReport {
    /// An unknown category is 422 `validation_failed` naming `category`.
    #[schema(value_type = Category)]
    pub category: String,
    /// What happened, in the reporter's words (1-4000 characters, no control
    /// characters except line breaks and tabs).
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub description: String,
    /// Where the office answers. Required without a bearer token; with one it
    /// defaults to the account's email.
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub contact_email: Option<String>,
    /// Required without a bearer token when a captcha is configured
    /// (`GET /v1/auth/captcha` says which); ignored otherwise.
    pub captcha_token: Option<String>,
}

/// A new report. `upload_token` (shown once) lets the reporter attach files
/// with `X-Report-Token` until `upload_token_expires_at`, without logging in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "reference": "LAP-2026-000123",
    "status": "open",
    "upload_token": "q1n2Hk8tV4yZ0bX7mC3dR6sE9wA5uJ2pL8oI1kF4gT0",
    "upload_token_expires_at": "2026-12-05T03:00:00Z"
}))]
pub struct ReportCreated {
    pub id: Uuid,
    pub reference: String,
    pub status: ReportStatus,
    pub upload_token: String,
    pub upload_token_expires_at: DateTime<Utc>,
}

/// The `kind` of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttachmentQuery {
    /// What the file shows. The four identity documents (`ktp_photo`,
    /// `kk_photo`, `selfie_with_ktp`, `selfie_with_kk`) are what restoring
    /// access needs.
    pub kind: AttachmentKind,
}

/// An attachment, without its bytes.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "kind": "ktp_photo",
    "content_type": "image/jpeg",
    "size_bytes": 183211,
    "created_at": "2026-12-02T03:05:00Z"
}))]
pub struct AttachmentView {
    pub id: Uuid,
    pub kind: AttachmentKind,
    pub content_type: AttachmentType,
    pub size_bytes: i32,
    pub created_at: DateTime<Utc>,
}

/// One message of a report's thread.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "9b2f0a3e-5d1c-4f7a-8e6b-2c4d6e8f0a1b",
    "from": "pmo",
    "body": "Mohon lampirkan foto KK asli.",
    "created_at": "2026-12-02T04:00:00Z"
}))]
pub struct MessageView {
    pub id: Uuid,
    pub from: Author,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A report in a list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "reference": "LAP-2026-000123",
    "category": "account_blocked",
    "status": "open",
    "created_at": "2026-12-02T03:00:00Z",
    "updated_at": "2026-12-02T03:00:00Z",
    "closed_at": null
}))]
pub struct ReportSummary {
    pub id: Uuid,
    pub reference: String,
    pub category: Category,
    pub status: ReportStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A report with its attachments (without their bytes) and its thread, oldest
/// message first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "reference": "LAP-2026-000123",
    "category": "account_blocked",
    "status": "waiting_for_participant",
    "description": "Akun saya diblokir setelah ganti nomor HP.",
    "contact_email": "budi@example.com",
    "created_at": "2026-12-02T03:00:00Z",
    "updated_at": "2026-12-02T04:00:00Z",
    "closed_at": null,
    "attachments": [],
    "messages": [{"id": "9b2f0a3e-5d1c-4f7a-8e6b-2c4d6e8f0a1b", "from": "pmo", "body": "Mohon lampirkan foto KK asli.", "created_at": "2026-12-02T04:00:00Z"}]
}))]
pub struct ReportDetail {
    pub id: Uuid,
    pub reference: String,
    pub category: Category,
    pub status: ReportStatus,
    pub description: String,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub attachments: Vec<AttachmentView>,
    pub messages: Vec<MessageView>,
}

/// What the office sees of a report: the participant's view, plus the
/// reporter's account (null when anonymous) and which identity documents are
/// still missing before access can be restored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "reference": "LAP-2026-000123",
    "category": "nik_registered_by_someone_else",
    "status": "in_progress",
    "description": "NIK saya sudah dipakai akun lain.",
    "contact_email": "budi@example.com",
    "created_at": "2026-12-02T03:00:00Z",
    "updated_at": "2026-12-02T04:00:00Z",
    "closed_at": null,
    "attachments": [{"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "kind": "ktp_photo", "content_type": "image/jpeg", "size_bytes": 183211, "created_at": "2026-12-02T03:05:00Z"}],
    "messages": [],
    "account_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "missing_documents": ["kk_photo", "selfie_with_ktp", "selfie_with_kk"],
    "nik_claim": true
}))]
pub struct AdminReportDetail {
    #[serde(flatten)]
    pub report: ReportDetail,
    pub account_id: Option<Uuid>,
    pub missing_documents: Vec<AttachmentKind>,
    /// Whether the reporter's account holds a refused claim to a NIK that
    /// `nik-transfer` can act on.
    pub nik_claim: bool,
}

/// A participant's message.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Foto KK sudah saya lampirkan."}))]
pub struct ParticipantMessage {
    /// 1-4000 characters, no control characters except line breaks and tabs.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub body: String,
}

/// The office's answer, optionally moving the report.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Mohon lampirkan foto KK asli.", "status": "waiting_for_participant"}))]
pub struct OfficeMessage {
    /// 1-4000 characters, no control characters except line breaks and tabs.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub body: String,
    /// `in_progress`, `waiting_for_participant`, `resolved` or `rejected`
    /// (`open` or an unknown value is refused with 422). Without it an open
    /// report moves to `in_progress` and any other keeps its status.
    #[schema(value_type = Option<ReportStatus>)]
    pub status: Option<String>,
}

/// A message as stored, with the report's status after it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "9b2f0a3e-5d1c-4f7a-8e6b-2c4d6e8f0a1b",
    "from": "pmo",
    "body": "Mohon lampirkan foto KK asli.",
    "created_at": "2026-12-02T04:00:00Z",
    "report_status": "waiting_for_participant"
}))]
pub struct MessagePosted {
    pub id: Uuid,
    pub from: Author,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub report_status: ReportStatus,
}

/// Filters of the office's report list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminReportQuery {
    pub status: Option<ReportStatus>,
    pub category: Option<Category>,
}

/// Why the office moves a NIK (kept in both accounts' audit events with the
/// report's reference).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "KTP, KK dan swafoto sesuai; pemilik sah NIK."}))]
pub struct NikTransferBody {
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The NIK moved: from the account that held it to the reporter's.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "report_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "reference": "LAP-2026-000123",
    "from_account_id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "to_account_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "transferred_at": "2026-12-02T05:00:00Z"
}))]
pub struct NikTransferred {
    pub report_id: Uuid,
    pub reference: String,
    pub from_account_id: Uuid,
    pub to_account_id: Uuid,
    pub transferred_at: DateTime<Utc>,
}
