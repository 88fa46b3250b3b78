//! Report rows and their queries. Text and files are stored sealed (the
//! service seals and opens them); this module moves bytes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::rules::{AttachmentKind, AttachmentType, Author, Category, ReportStatus};
use crate::{
    db::schema::{report_attachments, report_messages, report_sequences, reports},
    pagination::{self, PageRequest},
};

/// Associated data binding a sealed value to its row and column, so a
/// ciphertext copied elsewhere does not open.
pub fn aad(column: &str, id: Uuid) -> Vec<u8> {
    format!("reports.{column}:{id}").into_bytes()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub id: Uuid,
    pub reference: String,
    pub account_id: Option<Uuid>,
    pub category: Category,
    pub status: ReportStatus,
    pub description_ciphertext: Vec<u8>,
    pub contact_email_ciphertext: Vec<u8>,
    pub upload_token_hash: Vec<u8>,
    pub upload_token_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A report to insert (sealed already).
pub struct NewReport<'a> {
    pub id: Uuid,
    pub year: i32,
    pub number: i32,
    pub reference: &'a str,
    pub account_id: Option<Uuid>,
    pub category: Category,
    pub description_ciphertext: Vec<u8>,
    pub contact_email_ciphertext: Vec<u8>,
    pub upload_token_hash: Vec<u8>,
    pub upload_token_expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The year's next report number. The counter row is locked until the
/// caller's transaction ends, so numbers are gapless in commit order.
pub async fn next_number(conn: &mut AsyncPgConnection, year: i32) -> QueryResult<i32> {
    diesel::insert_into(report_sequences::table)
        .values((
            report_sequences::year.eq(year),
            report_sequences::last_number.eq(1),
        ))
        .on_conflict(report_sequences::year)
        .do_update()
        .set(report_sequences::last_number.eq(report_sequences::last_number + 1))
        .returning(report_sequences::last_number)
        .get_result(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewReport<'_>) -> QueryResult<()> {
    diesel::insert_into(reports::table)
        .values((
            reports::id.eq(new.id),
            reports::year.eq(new.year),
            reports::number.eq(new.number),
            reports::reference.eq(new.reference),
            reports::account_id.eq(new.account_id),
            reports::category.eq(new.category),
            reports::status.eq(ReportStatus::Open),
            reports::description_ciphertext.eq(new.description_ciphertext),
            reports::contact_email_ciphertext.eq(new.contact_email_ciphertext),
            reports::upload_token_hash.eq(new.upload_token_hash),
            reports::upload_token_expires_at.eq(new.upload_token_expires_at),
            reports::created_at.eq(new.now),
            reports::updated_at.eq(new.now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// One report; `lock` takes its row lock for the rest of the transaction
/// (every change of a report's thread, status or attachments does).
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> QueryResult<Option<ReportRow>> {
    let query = reports::table.find(id).select(ReportRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// A page of reports, newest first: the account's own, or the office's
/// queue with its filters.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
    status: Option<ReportStatus>,
    category: Option<Category>,
    page: &PageRequest,
) -> QueryResult<Vec<ReportRow>> {
    let mut query = reports::table
        .select(ReportRow::as_select())
        .order((reports::created_at.desc(), reports::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(account_id) = account_id {
        query = query.filter(reports::account_id.eq(account_id));
    }
    if let Some(status) = status {
        query = query.filter(reports::status.eq(status));
    }
    if let Some(category) = category {
        query = query.filter(reports::category.eq(category));
    }
    if let Some(after) = page.after {
        query = query.filter(pagination::before(reports::created_at, reports::id, after));
    }
    query.load(conn).await
}

/// Moves a locked report to `status` (closing it when the status is final).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    from: ReportStatus,
    status: ReportStatus,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(reports::table.find(id).filter(reports::status.eq(from)))
        .set((
            reports::status.eq(status),
            reports::updated_at.eq(now),
            reports::closed_at.eq(status.is_closed().then_some(now)),
        ))
        .execute(conn)
        .await
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = report_messages)]
pub struct MessageRow {
    pub id: Uuid,
    pub author: Author,
    pub body_ciphertext: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_message(
    conn: &mut AsyncPgConnection,
    report_id: Uuid,
    id: Uuid,
    author: Author,
    author_id: Uuid,
    body_ciphertext: Vec<u8>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(report_messages::table)
        .values((
            report_messages::id.eq(id),
            report_messages::report_id.eq(report_id),
            report_messages::author.eq(author),
            report_messages::author_id.eq(author_id),
            report_messages::body_ciphertext.eq(body_ciphertext),
            report_messages::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The thread, oldest first.
pub async fn messages(
    conn: &mut AsyncPgConnection,
    report_id: Uuid,
) -> QueryResult<Vec<MessageRow>> {
    report_messages::table
        .filter(report_messages::report_id.eq(report_id))
        .order((report_messages::created_at, report_messages::id))
        .select(MessageRow::as_select())
        .load(conn)
        .await
}

/// An attachment without its bytes.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = report_attachments)]
pub struct AttachmentMeta {
    pub id: Uuid,
    pub kind: AttachmentKind,
    pub content_type: AttachmentType,
    pub size_bytes: i32,
    pub created_at: DateTime<Utc>,
}

pub async fn attachments(
    conn: &mut AsyncPgConnection,
    report_id: Uuid,
) -> QueryResult<Vec<AttachmentMeta>> {
    report_attachments::table
        .filter(report_attachments::report_id.eq(report_id))
        .order((report_attachments::created_at, report_attachments::id))
        .select(AttachmentMeta::as_select())
        .load(conn)
        .await
}

pub async fn count_attachments(conn: &mut AsyncPgConnection, report_id: Uuid) -> QueryResult<i64> {
    report_attachments::table
        .filter(report_attachments::report_id.eq(report_id))
        .count()
        .get_result(conn)
        .await
}

pub async fn insert_attachment(
    conn: &mut AsyncPgConnection,
    report_id: Uuid,
    meta: &AttachmentMeta,
    ciphertext: Vec<u8>,
) -> QueryResult<()> {
    diesel::insert_into(report_attachments::table)
        .values((
            report_attachments::id.eq(meta.id),
            report_attachments::report_id.eq(report_id),
            report_attachments::kind.eq(meta.kind),
            report_attachments::content_type.eq(meta.content_type),
            report_attachments::size_bytes.eq(meta.size_bytes),
            report_attachments::ciphertext.eq(ciphertext),
            report_attachments::created_at.eq(meta.created_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// One attachment's type and sealed bytes.
pub async fn attachment_bytes(
    conn: &mut AsyncPgConnection,
    report_id: Uuid,
    attachment_id: Uuid,
) -> QueryResult<Option<(AttachmentType, Vec<u8>)>> {
    report_attachments::table
        .find(attachment_id)
        .filter(report_attachments::report_id.eq(report_id))
        .select((
            report_attachments::content_type,
            report_attachments::ciphertext,
        ))
        .first(conn)
        .await
        .optional()
}
