//! Partner platforms: their rows, the secret they sign with (encrypted at rest,
//! needed in clear to verify), its rotation with a grace period, and disabling.

use chrono::{DateTime, Duration, Utc};
use diesel::{
    prelude::*,
    sql_types::{Bool, Bytea, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    crypto::PiiCipher,
    db::{schema::partners, text_enum},
    error::ApiError,
};

text_enum! {
    /// Whether a platform may call the partner routes.
    pub enum PartnerStatus {
        Active => "active",
        /// Every signed request is refused (401 `invalid_signature`).
        Disabled => "disabled",
    }
}

text_enum! {
    /// What a platform may publish (API.md Help and jobs: `capabilities`).
    pub enum PartnerCapability {
        /// A training platform: upserts courses (`PUT /v1/partner/courses/…`).
        Training => "training",
        /// A job board: upserts vacancies (`PUT /v1/partner/jobs/…`).
        Jobs => "jobs",
    }
}

/// A partner row as the admin routes show it (never its secrets).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = partners)]
pub struct Partner {
    pub id: Uuid,
    pub name: String,
    pub status: PartnerStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub capabilities: Vec<PartnerCapability>,
}

/// What verifying a partner's signature needs, and what the partner may do.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct PartnerKeys {
    pub status: PartnerStatus,
    pub capabilities: Vec<PartnerCapability>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

/// Associated data of a partner's secret blob: a blob copied to another row (or
/// from the current to the previous column of another) does not open.
fn secret_aad(partner_id: Uuid) -> Vec<u8> {
    format!("partners.secret:{partner_id}").into_bytes()
}

/// A new secret: 256 random bits, URL-safe base64, with a prefix that secret
/// scanners can recognise. The HMAC key is the whole string's UTF-8 bytes.
pub fn new_secret() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("pks_{}", URL_SAFE_NO_PAD.encode(bytes))
}

impl PartnerKeys {
    /// The secrets a signature may be made with at `now` (real time): the
    /// current one, and the previous one until its grace deadline.
    pub fn valid_secrets(
        &self,
        pii: &PiiCipher,
        partner_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, ApiError> {
        let aad = secret_aad(partner_id);
        let open = |blob: &[u8]| {
            pii.decrypt_string(blob, &aad).map_err(|e| {
                ApiError::internal(anyhow::anyhow!("secret of partner {partner_id}: {e}"))
            })
        };
        let mut secrets = Vec::with_capacity(2);
        if let Some(blob) = &self.secret_ciphertext {
            secrets.push(open(blob)?);
        }
        if let (Some(blob), Some(until)) = (
            &self.previous_secret_ciphertext,
            self.previous_secret_valid_until,
        ) {
            if now < until {
                secrets.push(open(blob)?);
            }
        }
        Ok(secrets)
    }
}

/// The keys of partner `id`, if it exists.
pub async fn keys(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PartnerKeys>> {
    partners::table
        .find(id)
        .select(PartnerKeys::as_select())
        .first(conn)
        .await
        .optional()
}

/// Partner `id`.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Partner>> {
    partners::table
        .find(id)
        .select(Partner::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates a partner with a new secret; returns it and the secret (the only
/// time the secret leaves the server).
pub async fn create(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    name: &str,
    capabilities: &[PartnerCapability],
    now: DateTime<Utc>,
) -> QueryResult<(Partner, String)> {
    let id = Uuid::new_v4();
    let secret = new_secret();
    let partner = diesel::insert_into(partners::table)
        .values((
            partners::id.eq(id),
            partners::name.eq(name),
            partners::secret_ciphertext.eq(pii.encrypt_str(&secret, &secret_aad(id))),
            partners::status.eq(PartnerStatus::Active),
            partners::capabilities.eq(capabilities),
            partners::created_at.eq(now),
            partners::updated_at.eq(now),
        ))
        .returning(Partner::as_returning())
        .get_result(conn)
        .await?;
    Ok((partner, secret))
}

/// The columns of [`Partner`], for the raw updates below.
const PARTNER_COLUMNS: &str = "id, name, status, created_at, updated_at, secret_rotated_at, \
                               previous_secret_valid_until, disabled_at, capabilities";

/// Replaces the secret; the one it replaces stays valid for `grace` after
/// `real_now` (a security window, on real time like the signature's). A secret
/// replaced earlier and still in its grace period is dropped at once: at most
/// two secrets are ever valid. The new secret is returned once.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    id: Uuid,
    grace: Duration,
    now: DateTime<Utc>,
    real_now: DateTime<Utc>,
) -> QueryResult<Option<(Partner, String)>> {
    let secret = new_secret();
    let keep_previous = grace > Duration::zero();
    // One statement: the current secret moves to `previous` as the row holds
    // it, so two rotations at once serialise on the row and neither is lost.
    let partner = diesel::sql_query(format!(
        "UPDATE partners SET \
             previous_secret_ciphertext = CASE WHEN $2 THEN secret_ciphertext END, \
             previous_secret_valid_until = CASE WHEN $2 AND secret_ciphertext IS NOT NULL THEN $3 END, \
             secret_ciphertext = $4, secret_rotated_at = $5, updated_at = $5 \
         WHERE id = $1 RETURNING {PARTNER_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Bool, _>(keep_previous)
    .bind::<Timestamptz, _>(real_now + grace)
    .bind::<Bytea, _>(pii.encrypt_str(&secret, &secret_aad(id)))
    .bind::<Timestamptz, _>(now)
    .get_result::<Partner>(conn)
    .await
    .optional()?;
    Ok(partner.map(|p| (p, secret)))
}

/// Sets the status; returns the row (None for an unknown id). Disabling a
/// disabled partner keeps its first stamp.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: PartnerStatus,
    now: DateTime<Utc>,
) -> QueryResult<Option<Partner>> {
    diesel::sql_query(format!(
        "UPDATE partners SET status = $2, \
             disabled_at = CASE WHEN $2 = 'disabled' THEN COALESCE(disabled_at, $3) END, \
             updated_at = $3 \
         WHERE id = $1 RETURNING {PARTNER_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
    .optional()
}
