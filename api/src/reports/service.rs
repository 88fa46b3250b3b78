//! The report flows: the form, attachments, the two sides of the thread, the
//! office's queue and the NIK transfer. Every change of a report takes its row
//! lock first, so a message, a status change and an upload racing on one
//! report are applied one after the other against the status each one saw.

use chrono::Datelike;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    model::{self, aad, AttachmentMeta, MessageRow, NewReport, ReportRow},
    rules::{self, AttachmentKind, AttachmentType, Author, Category, ReportStatus},
    views::*,
};
use crate::{
    accounts::model::{end_sessions, EndReason},
    audit::{self, Action, Event, Origin},
    auth::Principal,
    clock::{jakarta_date, Clock},
    crypto::{BlindIndex, PiiCipher},
    db::schema::accounts,
    error::{ApiError, ErrorCode},
    notifications::{channel::Channel, outbox, templates::Message},
    pagination::{Cursor, Page, PageRequest},
    ratelimit::{self, Limit},
    registration,
    secrets::{random_token, SecretHasher},
};

/// Reports one client address may send in an hour, per
/// `RATE_LIMIT_IP_PER_MINUTE` of the settings: as many an hour as any route
/// takes a minute, so a carrier NAT's thousands of phones still get through
/// while a script on one address is slowed sixty-fold.
fn reports_per_ip(per_minute: u32) -> Limit {
    Limit {
        max: i64::from(per_minute),
        window: chrono::TimeDelta::hours(1),
    }
}
/// Reports one contact email may be given for (spam to one person's inbox).
pub const REPORTS_PER_EMAIL: Limit = Limit {
    max: 10,
    window: chrono::TimeDelta::hours(24),
};

/// What the flows use of the shared state.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub clock: &'a Clock,
    /// `RATE_LIMIT_IP_PER_MINUTE`.
    pub ip_per_minute: u32,
    pub pii: &'a PiiCipher,
    pub secrets: &'a SecretHasher,
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound).detail("No such report.")
}

fn closed() -> ApiError {
    ApiError::new(ErrorCode::ReportClosed)
        .detail("The report is resolved or rejected; send a new report if you still need help.")
}

fn text_field(field: &str, text: &str) -> Result<(), ApiError> {
    rules::check_text(text).map_err(|m| ApiError::field(field, m))
}

fn open_text(pii: &PiiCipher, blob: &[u8], column: &str, id: Uuid) -> Result<String, ApiError> {
    pii.decrypt_string(blob, &aad(column, id))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("reports.{column} of {id}: {e}")))
}

/// The contact email: the form's, else (with a token) the account's.
async fn contact_email(
    conn: &mut AsyncPgConnection,
    reporter: Option<&Principal>,
    given: Option<&str>,
) -> Result<String, ApiError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    if let Some(email) = given {
        return Ok(email.trim().to_lowercase());
    }
    let Some(reporter) = reporter else {
        return Err(ApiError::field(
            "contact_email",
            "is required when the report is sent without a token",
        ));
    };
    Ok(accounts::table
        .find(reporter.account_id)
        .select(accounts::email)
        .first(conn)
        .await?)
}

/// `POST /v1/reports`. The captcha (anonymous forms only) is checked by the
/// caller before this runs.
pub async fn create(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    reporter: Option<&Principal>,
    ip: std::net::IpAddr,
    body: &CreateReport,
) -> Result<ReportCreated, ApiError> {
    let category: Category = ApiError::parse_field("category", &body.category)?;
    text_field("description", &body.description)?;
    let email = contact_email(conn, reporter, body.contact_email.as_deref()).await?;
    let now = deps.clock.now();
    let ip_bucket = ratelimit::ip_bucket("report", ip);
    let email_bucket = format!(
        "report:email:{}",
        deps.secrets.bucket_id("report_email", &email)
    );
    ratelimit::hit_all(
        conn,
        &[
            (&ip_bucket, reports_per_ip(deps.ip_per_minute)),
            (&email_bucket, REPORTS_PER_EMAIL),
        ],
        now,
    )
    .await??;
    let id = Uuid::new_v4();
    let token = random_token();
    let expires_at = now + rules::UPLOAD_TOKEN_TTL;
    let year = jakarta_date(now).year();
    let reference = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let number = model::next_number(conn, year).await?;
            let reference = rules::reference(year, number);
            model::insert(
                conn,
                NewReport {
                    id,
                    year,
                    number,
                    reference: &reference,
                    account_id: reporter.map(|p| p.account_id),
                    category,
                    description_ciphertext: deps
                        .pii
                        .encrypt_str(&body.description, &aad("description", id)),
                    contact_email_ciphertext: deps
                        .pii
                        .encrypt_str(&email, &aad("contact_email", id)),
                    upload_token_hash: deps.secrets.hash("report_upload", &token),
                    upload_token_expires_at: expires_at,
                    now,
                },
            )
            .await?;
            Ok(reference)
        })
        .await?;
    Ok(ReportCreated {
        id,
        reference,
        status: ReportStatus::Open,
        upload_token: token,
        upload_token_expires_at: expires_at,
    })
}

/// Who may attach to a report: its account's bearer, or its upload token.
pub enum Uploader<'a> {
    Account(&'a Principal),
    Token(&'a str),
}

fn may_upload(deps: Deps<'_>, report: &ReportRow, who: &Uploader<'_>) -> Result<(), ApiError> {
    match who {
        Uploader::Account(p) if report.account_id == Some(p.account_id) => Ok(()),
        Uploader::Account(_) => Err(not_found()),
        Uploader::Token(token) => {
            let valid = deps
                .secrets
                .matches("report_upload", token, &report.upload_token_hash)
                && deps.clock.now() < report.upload_token_expires_at;
            if valid {
                Ok(())
            } else {
                Err(ApiError::new(ErrorCode::Unauthenticated).detail(
                    "The upload token is wrong for this report or has expired; log in to attach files to your own report.",
                ))
            }
        }
    }
}

/// `POST /v1/reports/{id}/attachments`: at most [`rules::MAX_ATTACHMENTS`],
/// counted under the report's lock so uploads sent at once cannot pass it.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    report_id: Uuid,
    who: Uploader<'_>,
    kind: AttachmentKind,
    content_type: AttachmentType,
    bytes: &[u8],
) -> Result<AttachmentView, ApiError> {
    let now = deps.clock.now();
    conn.transaction::<_, ApiError, _>(async |conn| {
        let report = model::find(conn, report_id, true)
            .await?
            .ok_or_else(not_found)?;
        may_upload(deps, &report, &who)?;
        if report.status.is_closed() {
            return Err(closed());
        }
        if model::count_attachments(conn, report_id).await? >= rules::MAX_ATTACHMENTS {
            return Err(ApiError::new(ErrorCode::AttachmentsLimit)
                .detail("A report takes at most 10 attachments."));
        }
        let meta = AttachmentMeta {
            id: Uuid::new_v4(),
            kind,
            content_type,
            size_bytes: bytes.len() as i32,
            created_at: now,
        };
        let sealed = deps.pii.encrypt(bytes, &aad("attachment", meta.id));
        model::insert_attachment(conn, report_id, &meta, sealed).await?;
        Ok(attachment_view(meta))
    })
    .await
}

fn attachment_view(a: AttachmentMeta) -> AttachmentView {
    AttachmentView {
        id: a.id,
        kind: a.kind,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        created_at: a.created_at,
    }
}

fn summary(r: ReportRow) -> ReportSummary {
    ReportSummary {
        id: r.id,
        reference: r.reference,
        category: r.category,
        status: r.status,
        created_at: r.created_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
    }
}

/// The participant's reports, or the office's queue.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
    filter: &AdminReportQuery,
    page: PageRequest,
) -> Result<Page<ReportSummary>, ApiError> {
    let rows = model::list(conn, account_id, filter.status, filter.category, &page).await?;
    Ok(page.page(
        rows,
        |r| Cursor {
            created_at: r.created_at,
            id: r.id,
        },
        summary,
    ))
}

async fn detail(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    report: ReportRow,
) -> Result<(ReportDetail, Vec<AttachmentKind>), ApiError> {
    let attachments = model::attachments(conn, report.id).await?;
    let kinds: Vec<AttachmentKind> = attachments.iter().map(|a| a.kind).collect();
    let messages = model::messages(conn, report.id)
        .await?
        .into_iter()
        .map(|m| message_view(pii, m))
        .collect::<Result<_, _>>()?;
    let view = ReportDetail {
        id: report.id,
        description: open_text(
            pii,
            &report.description_ciphertext,
            "description",
            report.id,
        )?,
        contact_email: open_text(
            pii,
            &report.contact_email_ciphertext,
            "contact_email",
            report.id,
        )?,
        reference: report.reference,
        category: report.category,
        status: report.status,
        created_at: report.created_at,
        updated_at: report.updated_at,
        closed_at: report.closed_at,
        attachments: attachments.into_iter().map(attachment_view).collect(),
        messages,
    };
    Ok((view, kinds))
}

fn message_view(pii: &PiiCipher, m: MessageRow) -> Result<MessageView, ApiError> {
    Ok(MessageView {
        body: open_text(pii, &m.body_ciphertext, "message", m.id)?,
        id: m.id,
        from: m.author,
        created_at: m.created_at,
    })
}

/// `GET /v1/me/reports/{id}`: the participant's own report only (404 for
/// anyone else's).
pub async fn mine(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    account_id: Uuid,
    report_id: Uuid,
) -> Result<ReportDetail, ApiError> {
    let report = model::find(conn, report_id, false)
        .await?
        .filter(|r| r.account_id == Some(account_id))
        .ok_or_else(not_found)?;
    Ok(detail(conn, pii, report).await?.0)
}

/// `GET /v1/admin/reports/{id}`.
pub async fn for_office(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    report_id: Uuid,
) -> Result<AdminReportDetail, ApiError> {
    let report = model::find(conn, report_id, false)
        .await?
        .ok_or_else(not_found)?;
    let account_id = report.account_id;
    let (report, kinds) = detail(conn, pii, report).await?;
    let nik_claim = match account_id {
        Some(account) => registration::model::nik_claim(conn, account)
            .await?
            .is_some(),
        None => false,
    };
    Ok(AdminReportDetail {
        report,
        account_id,
        missing_documents: rules::missing_documents(&kinds),
        nik_claim,
    })
}

/// An attachment's bytes and type, for the office.
pub async fn attachment(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    report_id: Uuid,
    attachment_id: Uuid,
) -> Result<(AttachmentType, Vec<u8>), ApiError> {
    let (content_type, sealed) = model::attachment_bytes(conn, report_id, attachment_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("No such attachment."))?;
    let bytes = pii
        .decrypt(&sealed, &aad("attachment", attachment_id))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("attachment {attachment_id}: {e}")))?;
    Ok((content_type, bytes))
}

/// Adds a message to a report's thread under its lock, moving its status as
/// `next` decides from the status it finds. `report_of` picks which reports
/// the writer may reach (404 otherwise).
async fn post(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    report_id: Uuid,
    author: (Author, Uuid),
    body: &str,
    may_write: impl Fn(&ReportRow) -> bool + Sync,
    next: impl Fn(ReportStatus) -> Result<ReportStatus, ErrorCode> + Sync,
) -> Result<(ReportRow, MessagePosted), ApiError> {
    text_field("body", body)?;
    let now = deps.clock.now();
    conn.transaction::<_, ApiError, _>(async |conn| {
        let report = model::find(conn, report_id, true)
            .await?
            .filter(|r| may_write(r))
            .ok_or_else(not_found)?;
        let status = next(report.status).map_err(|code| match code {
            ErrorCode::ReportClosed => closed(),
            ErrorCode::ValidationFailed => ApiError::field(
                "status",
                "must be in_progress, waiting_for_participant, resolved or rejected",
            ),
            code => ApiError::new(code),
        })?;
        if status != report.status {
            model::set_status(conn, report_id, report.status, status, now).await?;
        }
        let id = Uuid::new_v4();
        let sealed = deps.pii.encrypt_str(body, &aad("message", id));
        model::insert_message(conn, report_id, id, author.0, author.1, sealed, now).await?;
        let posted = MessagePosted {
            id,
            from: author.0,
            body: body.to_owned(),
            created_at: now,
            report_status: status,
        };
        Ok((report, posted))
    })
    .await
}

/// `POST /v1/me/reports/{id}/messages`.
pub async fn participant_message(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    who: &Principal,
    report_id: Uuid,
    body: &ParticipantMessage,
) -> Result<MessagePosted, ApiError> {
    let author = (Author::Participant, who.account_id);
    let own = |r: &ReportRow| r.account_id == Some(who.account_id);
    let (_, posted) = post(
        conn,
        deps,
        report_id,
        author,
        &body.body,
        own,
        rules::after_participant_message,
    )
    .await?;
    Ok(posted)
}

/// `POST /v1/admin/reports/{id}/messages`: the answer, its status change and
/// the `report_reply` email to the contact address commit together.
pub async fn office_message(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    admin: &Principal,
    report_id: Uuid,
    body: &OfficeMessage,
) -> Result<MessagePosted, ApiError> {
    let requested: Option<ReportStatus> = body
        .status
        .as_deref()
        .map(|s| ApiError::parse_field("status", s))
        .transpose()?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (report, posted) = post(
            conn,
            deps,
            report_id,
            (Author::Pmo, admin.account_id),
            &body.body,
            |_| true,
            |current| rules::after_office_message(current, requested),
        )
        .await?;
        let email = open_text(
            deps.pii,
            &report.contact_email_ciphertext,
            "contact_email",
            report.id,
        )?;
        let message = Message::ReportReply {
            reference: report.reference.clone(),
        };
        outbox::enqueue(conn, posted.created_at, Channel::Email, &email, &message).await?;
        Ok(posted)
    })
    .await
}

/// `POST /v1/admin/reports/{id}/nik-transfer`: moves the NIK the reporter's
/// account claimed (and was refused with `nik_registered`) from the account
/// holding it to the reporter's, once the four identity documents are
/// attached. One transaction: the identity, the old account's registration
/// and sessions, the claim, and an audit event on each account naming the
/// report's reference.
pub async fn transfer_nik(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    blind: &BlindIndex,
    admin: &Principal,
    origin: &Origin,
    report_id: Uuid,
    body: &NikTransferBody,
) -> Result<NikTransferred, ApiError> {
    let now = deps.clock.now();
    let real_now = deps.clock.security_now();
    conn.transaction::<_, ApiError, _>(async |conn| {
        let report = model::find(conn, report_id, true)
            .await?
            .ok_or_else(not_found)?;
        let kinds: Vec<AttachmentKind> = model::attachments(conn, report_id)
            .await?
            .iter()
            .map(|a| a.kind)
            .collect();
        let missing = rules::missing_documents(&kinds);
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|k| k.as_str()).collect();
            return Err(ApiError::new(ErrorCode::DocumentsIncomplete)
                .detail(format!("Missing attachments: {}.", names.join(", "))));
        }
        let no_claim =
            |detail: &str| ApiError::new(ErrorCode::NoNikClaim).detail(detail.to_owned());
        let to = report.account_id.ok_or_else(|| {
            no_claim("The report was sent without an account, so no NIK claim is tied to it.")
        })?;
        let claimed = registration::model::nik_claim(conn, to)
            .await?
            .ok_or_else(|| {
                no_claim("The reporter's account was never refused a NIK as registered elsewhere.")
            })?;
        let from = holder_of(conn, &claimed)
            .await?
            .filter(|holder| *holder != to)
            .ok_or_else(|| {
                no_claim(
                    "No other account holds the claimed NIK now; the reporter can verify it again.",
                )
            })?;
        if registration::model::load_identity(conn, deps.pii, to)
            .await?
            .is_some()
        {
            return Err(no_claim(
                "The reporter's account has verified another identity since its claim.",
            ));
        }
        registration::model::transfer_identity(conn, deps.pii, blind, from, to, now).await?;
        registration::model::drop_nik_claim(conn, to).await?;
        end_sessions(conn, from, None, EndReason::NikTransferred, real_now).await?;
        let reason = format!("{}: {}", report.reference, body.reason);
        for (subject, action) in [
            (from, Action::NikTransferredAway),
            (to, Action::NikTransferredIn),
        ] {
            let event = Event {
                actor_id: Some(admin.account_id),
                subject_id: Some(subject),
                action,
                reason: Some(&reason),
            };
            audit::record(conn, now, origin, event).await?;
        }
        Ok(NikTransferred {
            report_id,
            reference: report.reference,
            from_account_id: from,
            to_account_id: to,
            transferred_at: now,
        })
    })
    .await
}

/// The account holding a NIK now, by its blind index, with its identity row
/// locked for the move.
async fn holder_of(
    conn: &mut AsyncPgConnection,
    nik_index: &[u8],
) -> Result<Option<Uuid>, ApiError> {
    use crate::db::schema::identities;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    Ok(identities::table
        .filter(identities::nik_index.eq(nik_index))
        .select(identities::account_id)
        .for_update()
        .first(conn)
        .await
        .optional()?)
}
