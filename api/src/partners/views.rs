//! Request and response bodies of the partner administration routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::model::{Partner, PartnerCapability, PartnerStatus};
use crate::error::ApiError;

/// `POST /v1/admin/partners`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartner {
    /// The platform's name as participants know it.
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Kelas Pintar Nusantara",
        min_length = 1,
        max_length = 200
    )]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[serde(deserialize_with = "crate::http::text::single_line")]
    pub name: String,
    /// What the platform publishes: `training` (courses), `jobs` (vacancies),
    /// or both; default `["training"]`. Each at most once; an empty list or
    /// another word is 422 `validation_failed`. Only a `training` platform may
    /// upsert courses and only a `jobs` platform vacancies (403 `forbidden`).
    #[schema(schema_with = capabilities_schema)]
    #[serde(default, deserialize_with = "present_list")]
    pub capabilities: Option<Vec<String>>,
}

/// Absent is the default; `null` is not a list (400, as the document says).
fn present_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    <Vec<String> as serde::Deserialize>::deserialize(d).map(Some)
}

fn capabilities_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let words = PartnerCapability::ALL.iter().map(|c| c.as_str());
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(words)),
        )
        .min_items(Some(1))
        .max_items(Some(PartnerCapability::ALL.len()))
        .unique_items(true)
        .description(Some(
            "What the platform publishes: `training` (courses), `jobs` (vacancies), or both; \
             default `[\"training\"]`. Each at most once; an empty list or another word is 422 \
             `validation_failed`.",
        ))
        .examples([serde_json::json!(["training"])])
        .build()
}

/// The default of `capabilities`: the platforms there were before job boards.
pub const DEFAULT_CAPABILITIES: &[PartnerCapability] = &[PartnerCapability::Training];

impl NewPartner {
    /// The capabilities asked for, checked (422 naming `capabilities`), in
    /// their canonical order.
    pub fn capabilities(&self) -> Result<Vec<PartnerCapability>, ApiError> {
        let Some(words) = &self.capabilities else {
            return Ok(DEFAULT_CAPABILITIES.to_vec());
        };
        if words.is_empty() {
            return Err(ApiError::field(
                "capabilities",
                "must name at least one of: training, jobs",
            ));
        }
        let mut out: Vec<PartnerCapability> = Vec::with_capacity(words.len());
        for word in words {
            let capability: PartnerCapability = word
                .parse()
                .map_err(|m: String| ApiError::field("capabilities", m))?;
            if out.contains(&capability) {
                return Err(ApiError::field(
                    "capabilities",
                    "must not name a capability twice",
                ));
            }
            out.push(capability);
        }
        out.sort();
        Ok(out)
    }
}

/// A new partner with its secret: the only answer that ever shows the secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "partner_id": "0b3e2f6c-63a5-4c4e-9a55-2f1e0d7c9a10",
    "name": "Kelas Pintar Nusantara",
    "status": "active",
    "capabilities": ["training"],
    "secret": "pks_q2Vx0mH1tQmJd6c0e3Jv9p8Yb4kR2wN7sL5fA1zXcU0",
    "created_at": "2026-12-02T01:00:00Z"
}))]
pub struct PartnerCreated {
    pub partner_id: Uuid,
    pub name: String,
    pub status: PartnerStatus,
    /// What the platform may publish.
    pub capabilities: Vec<PartnerCapability>,
    /// The HMAC key (its UTF-8 bytes) for `X-Signature`. Shown once: the server
    /// keeps it encrypted and never answers it again; a lost secret is replaced
    /// by a rotation.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/admin/partners/{id}/secret-rotations`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the replaced secret keeps working, in hours (0 to 168; default
    /// 24). 0 revokes it at once (a leaked secret).
    #[schema(example = 24, minimum = 0, maximum = 168)]
    #[validate(range(min = 0, max = 168, message = "must be 0 to 168 hours"))]
    #[serde(default)]
    pub grace_period_hours: Option<i64>,
}

/// Default grace period of a rotation.
pub const DEFAULT_GRACE_HOURS: i64 = 24;

/// The new secret of a rotation, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "partner_id": "0b3e2f6c-63a5-4c4e-9a55-2f1e0d7c9a10",
    "secret": "pks_Zk3mB8wq1L0aR5tY7uI9oP2sD4fG6hJ8kL0zX2cV4bN",
    "previous_secret_valid_until": "2026-12-03T01:00:00Z"
}))]
pub struct RotatedSecret {
    pub partner_id: Uuid,
    /// The new HMAC key, valid at once. Shown once.
    pub secret: String,
    /// Until when the replaced secret is still accepted (server real time);
    /// null when it was revoked at once.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

/// `POST /v1/admin/partners/{id}/disable` and `/enable`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerStatusChange {
    /// Why (kept in the audit trail).
    #[schema(
        example = "Kontrak kemitraan berakhir",
        min_length = 3,
        max_length = 500
    )]
    #[validate(length(min = 3, max = 500, message = "must be 3 to 500 characters"))]
    pub reason: String,
}

/// A partner platform (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "partner_id": "0b3e2f6c-63a5-4c4e-9a55-2f1e0d7c9a10",
    "name": "Kelas Pintar Nusantara",
    "status": "disabled",
    "capabilities": ["training", "jobs"],
    "created_at": "2026-12-02T01:00:00Z",
    "updated_at": "2026-12-02T02:00:00Z",
    "secret_rotated_at": null,
    "previous_secret_valid_until": null,
    "disabled_at": "2026-12-02T02:00:00Z"
}))]
pub struct PartnerView {
    pub partner_id: Uuid,
    pub name: String,
    /// `disabled`: every signed request is refused with 401 `invalid_signature`.
    pub status: PartnerStatus,
    /// What the platform may publish: `training` (courses), `jobs` (vacancies).
    pub capabilities: Vec<PartnerCapability>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation is accepted, if it still is.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<Partner> for PartnerView {
    fn from(p: Partner) -> Self {
        PartnerView {
            partner_id: p.id,
            name: p.name,
            status: p.status,
            capabilities: p.capabilities,
            created_at: p.created_at,
            updated_at: p.updated_at,
            secret_rotated_at: p.secret_rotated_at,
            previous_secret_valid_until: p.previous_secret_valid_until,
            disabled_at: p.disabled_at,
        }
    }
}
