//! The audit trail: who did what to whom, from where, and when. Rows are written
//! in the transaction of the change they record and never hold a password, code,
//! token or NIK: only ids, an action name and an optional reason.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    db::{schema::audit_events, text_enum},
    pagination::{self, Cursor, Page, PageRequest},
};

text_enum! {
    /// Audited actions.
    pub enum Action {
        AccountCreated => "account_created",
        EmailVerified => "email_verified",
        LoginSucceeded => "login_succeeded",
        LoginFailed => "login_failed",
        LoginLockedOut => "login_locked_out",
        /// A challenge's wrong guesses are used up (`reason`: the purpose).
        OtpLockedOut => "otp_locked_out",
        /// A subject's wrong-guess budget of a purpose is spent (`reason`: the purpose).
        OtpGuessLimitReached => "otp_guess_limit_reached",
        Logout => "logout",
        RefreshTokenReused => "refresh_token_reused",
        PasswordChanged => "password_changed",
        PasswordResetRequested => "password_reset_requested",
        PasswordReset => "password_reset",
        PhoneChanged => "phone_changed",
        AccountBlocked => "account_blocked",
        AccountUnblocked => "account_unblocked",
        FraudFlagSet => "fraud_flag_set",
        FraudFlagCleared => "fraud_flag_cleared",
        AdminCreated => "admin_created",
        IdentityVerified => "identity_verified",
        BatchCreated => "batch_created",
        BatchUpdated => "batch_updated",
        SelectionRun => "selection_run",
        /// A payout account was linked or replaced (`reason`: provider and masked number).
        PayoutAccountLinked => "payout_account_linked",
        PayoutAccountUnlinked => "payout_account_unlinked",
        PartnerCreated => "partner_created",
        PartnerSecretRotated => "partner_secret_rotated",
        PartnerDisabled => "partner_disabled",
        PartnerEnabled => "partner_enabled",
        /// The office moved this account's NIK to its rightful owner
        /// (`reason`: the report's reference and the office's reason).
        NikTransferredAway => "nik_transferred_away",
        /// The office gave this account the NIK it claimed (`reason` as above).
        NikTransferredIn => "nik_transferred_in",
    }
}

/// Where a request came from, for the audit row.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub actor_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub action: Action,
    pub reason: Option<&'a str>,
}

impl Event<'static> {
    /// An account acting on itself (login, password change …).
    pub fn own(account: Uuid, action: Action) -> Self {
        Event {
            actor_id: Some(account),
            subject_id: Some(account),
            action,
            reason: None,
        }
    }

    /// Something that happened to an account with no authenticated actor
    /// (a failed login, a lock-out).
    pub fn about(subject: Uuid, action: Action) -> Self {
        Event {
            actor_id: None,
            subject_id: Some(subject),
            action,
            reason: None,
        }
    }
}

/// Records an event (call inside the transaction of the change it describes).
pub async fn record(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    origin: &Origin,
    event: Event<'_>,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(Uuid::new_v4()),
            audit_events::actor_id.eq(event.actor_id),
            audit_events::subject_id.eq(event.subject_id),
            audit_events::action.eq(event.action),
            audit_events::reason.eq(event.reason),
            audit_events::ip.eq(&origin.ip),
            audit_events::request_id.eq(&origin.request_id),
            audit_events::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// An audit event as admins see it.
#[derive(Debug, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventView {
    pub id: Uuid,
    /// Who acted (null for the system or an anonymous caller).
    pub actor_id: Option<Uuid>,
    /// Whose account the action concerned.
    pub subject_id: Option<Uuid>,
    #[schema(example = "account_blocked", value_type = Action)]
    pub action: String,
    pub reason: Option<String>,
    #[schema(example = "203.0.113.7")]
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Filters of `GET /v1/admin/audit-events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    /// An action name, e.g. `login_failed`.
    #[param(example = "account_blocked")]
    #[serde(default, deserialize_with = "crate::http::query::text")]
    pub action: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// Lists events newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    page: PageRequest,
) -> QueryResult<Page<AuditEventView>> {
    let mut query = audit_events::table
        .select(AuditEventView::as_select())
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(a) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(a));
    }
    if let Some(s) = filter.subject_id {
        query = query.filter(audit_events::subject_id.eq(s));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::created_at.lt(to));
    }
    if let Some(after) = page.after {
        query = query.filter(pagination::before(
            audit_events::created_at,
            audit_events::id,
            after,
        ));
    }
    let rows = query.load(conn).await?;
    Ok(page.page(
        rows,
        |e| Cursor {
            created_at: e.created_at,
            id: e.id,
        },
        |e| e,
    ))
}
