//! The transactional outbox. [`enqueue`] is called inside the transaction of the
//! change that causes a message, so a rolled-back change sends nothing and a
//! committed one is never lost. [`deliver_due`] claims due rows with
//! `FOR UPDATE SKIP LOCKED` under a lease, so several workers never send one
//! message twice, and a worker that dies mid-send releases its rows when the
//! lease runs out. The gateway also receives the message id as its
//! `Idempotency-Key`, so even a retry after a lost answer is delivered once.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, Bool, Integer, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{channel::Channel, templates::Message};
use crate::{
    db::{prepared, schema::notifications, text_enum},
    integrations::notify::{NotifyAdapter, OutgoingMessage},
    pagination::{Page, SeqCursor},
};

text_enum! {
    /// Where a message is in its delivery.
    pub enum NotificationStatus {
        /// Waiting for its next attempt.
        Queued => "queued",
        /// Claimed by a worker under a lease.
        Sending => "sending",
        Sent => "sent",
        /// Given up after [`MAX_ATTEMPTS`].
        Failed => "failed",
    }
}

/// Attempts before a message is given up as `failed`.
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a claimed message stays reserved for the worker that claimed it.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// A worker sends a claimed message only while at least this much of its lease
/// is left (more than a gateway call can take), so it never sends a message
/// another worker may already have re-claimed.
const LEASE_MARGIN: TimeDelta = TimeDelta::seconds(30);

/// A stored notification.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: Uuid,
    pub channel: Channel,
    pub recipient: String,
    pub template: String,
    pub subject: Option<String>,
    pub body: String,
    pub data: serde_json::Value,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Queues a message. Call it with the connection of the transaction that makes
/// the change the message reports.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    channel: Channel,
    recipient: &str,
    message: &Message,
) -> QueryResult<Uuid> {
    let rendered = message.render(channel);
    let id = Uuid::new_v4();
    diesel::insert_into(notifications::table)
        .values((
            notifications::id.eq(id),
            notifications::channel.eq(channel),
            notifications::recipient.eq(recipient),
            notifications::template.eq(rendered.template),
            notifications::subject.eq(rendered.subject),
            notifications::body.eq(rendered.body),
            notifications::data.eq(rendered.data),
            notifications::next_attempt_at.eq(now),
            notifications::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Messages rendered and inserted per statement by [`enqueue_many`].
const ENQUEUE_CHUNK: usize = 10_000;

/// Queues many messages with a few set-based statements, in the order given
/// (selection notifies every beneficiary of a wave at once). Same contract as
/// [`enqueue`]. Messages are rendered a chunk at a time, so the memory this
/// holds stays bounded however many there are.
pub async fn enqueue_many(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    messages: &[(Channel, String, Message)],
) -> QueryResult<usize> {
    use diesel::sql_types::{Jsonb, Nullable};
    let mut queued = 0;
    for chunk in messages.chunks(ENQUEUE_CHUNK) {
        let mut ids = Vec::with_capacity(chunk.len());
        let mut channels = Vec::with_capacity(chunk.len());
        let mut recipients = Vec::with_capacity(chunk.len());
        let mut templates = Vec::with_capacity(chunk.len());
        let mut subjects = Vec::with_capacity(chunk.len());
        let mut bodies = Vec::with_capacity(chunk.len());
        let mut data = Vec::with_capacity(chunk.len());
        // Fresh ids in ascending order: the primary key then fills page by
        // page instead of at random places (selection queues a million).
        let mut fresh: Vec<Uuid> = chunk.iter().map(|_| Uuid::new_v4()).collect();
        fresh.sort_unstable();
        for (id, (channel, recipient, message)) in fresh.into_iter().zip(chunk) {
            let rendered = message.render(*channel);
            ids.push(id);
            channels.push(channel.as_str());
            recipients.push(recipient.as_str());
            templates.push(rendered.template);
            subjects.push(rendered.subject);
            bodies.push(rendered.body);
            data.push(rendered.data);
        }
        queued += diesel::sql_query(
            "INSERT INTO notifications (id, channel, recipient, template, subject, body, data, next_attempt_at, created_at) \
             SELECT i, c, r, t, s, b, d, $8, $8 \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) AS x(i, c, r, t, s, b, d)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&channels)
        .bind::<Array<Text>, _>(&recipients)
        .bind::<Array<Text>, _>(&templates)
        .bind::<Array<Nullable<Text>>, _>(&subjects)
        .bind::<Array<Text>, _>(&bodies)
        .bind::<Array<Jsonb>, _>(&data)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
    }
    Ok(queued)
}

/// Claims up to `limit` due messages for this worker (marks them `sending`).
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i32,
) -> QueryResult<Vec<Notification>> {
    prepared(
        diesel::sql_query(
            "UPDATE notifications SET status = $4, locked_until = $1, attempts = attempts + 1 \
             WHERE id IN ( \
               SELECT id FROM notifications \
               WHERE (status = $5 AND next_attempt_at <= $2) \
                  OR (status = $4 AND locked_until < $2) \
               ORDER BY next_attempt_at \
               LIMIT $3 \
               FOR UPDATE SKIP LOCKED) \
             RETURNING *",
        )
        .bind::<Timestamptz, _>(now + LEASE)
        .bind::<Timestamptz, _>(now)
        .bind::<Integer, _>(limit)
        .bind::<Text, _>(NotificationStatus::Sending)
        .bind::<Text, _>(NotificationStatus::Queued),
    )
    .load(conn)
    .await
}

/// Backoff before the next attempt: 5 s doubling, at most one hour.
pub fn backoff(attempts: i32) -> TimeDelta {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let secs = 5i64.saturating_mul(1i64 << exp.min(10));
    TimeDelta::seconds(secs.min(3600))
}

/// What one delivery run did.
#[derive(Debug, Default, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retrying: u32,
    pub failed: u32,
}

/// Delivers every due message, batch by batch, until none is due (or a bound is hit).
///
/// `scrub` (production) blanks the body and data of every finished message,
/// sent or failed for good, and masks its recipient ([`scrub_finished`]), so
/// codes, tokens and addresses do not stay in the database after delivery
/// needs them.
pub async fn deliver_due(
    conn: &mut AsyncPgConnection,
    adapter: &NotifyAdapter,
    now: impl Fn() -> DateTime<Utc>,
    scrub: bool,
) -> anyhow::Result<DeliveryReport> {
    const BATCH: i32 = 50;
    const MAX_BATCHES: usize = 40;
    let mut report = DeliveryReport::default();
    for _ in 0..MAX_BATCHES {
        let batch = claim_due(conn, now(), BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let mut delivered = Vec::with_capacity(batch.len());
        for n in &batch {
            // A slow gateway can make a batch outlast its lease; the rest of the
            // batch is then left for whoever claims it once the lease has passed.
            if n.locked_until
                .is_none_or(|until| now() + LEASE_MARGIN > until)
            {
                break;
            }
            let outgoing = OutgoingMessage {
                id: n.id,
                channel: n.channel.as_str(),
                to: &n.recipient,
                template: &n.template,
                subject: n.subject.as_deref(),
                body: &n.body,
                data: &n.data,
            };
            match adapter.send(&outgoing).await {
                Ok(()) => delivered.push(n),
                Err(e) => {
                    let give_up = n.attempts >= MAX_ATTEMPTS;
                    tracing::warn!(notification_id = %n.id, attempts = n.attempts, give_up, error = %e, "notification not delivered");
                    mark_attempt_failed(conn, n, now(), &e.to_string(), give_up).await?;
                    if give_up && scrub {
                        scrub_finished(conn, n).await?;
                    }
                    if give_up {
                        report.failed += 1;
                    } else {
                        report.retrying += 1;
                    }
                }
            }
        }
        report.sent += mark_sent(conn, &delivered, now(), scrub).await?;
    }
    Ok(report)
}

/// Marks the messages of one batch that the gateway accepted as sent, in one
/// statement: one commit per batch rather than per message. A worker killed
/// before it leaves them `sending`; once their lease has passed they are sent
/// again under the same gateway `Idempotency-Key`, which delivers them once.
/// With `scrub` their body and data are blanked and the recipient masked in
/// the same statement (see [`scrub_finished`]).
async fn mark_sent(
    conn: &mut AsyncPgConnection,
    delivered: &[&Notification],
    now: DateTime<Utc>,
    scrub: bool,
) -> QueryResult<u32> {
    if delivered.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = delivered.iter().map(|n| n.id).collect();
    let masked: Vec<String> = delivered
        .iter()
        .map(|n| n.channel.mask(&n.recipient))
        .collect();
    let marked = prepared(
        diesel::sql_query(
            "UPDATE notifications AS n SET status = $1, sent_at = $2, locked_until = NULL, \
                    recipient = CASE WHEN $3 THEN d.masked ELSE n.recipient END, \
                    body = CASE WHEN $3 THEN '' ELSE n.body END, \
                    data = CASE WHEN $3 THEN '{}'::jsonb ELSE n.data END \
             FROM unnest($4::uuid[], $5::text[]) AS d (id, masked) \
             WHERE n.id = d.id",
        )
        .bind::<Text, _>(NotificationStatus::Sent)
        .bind::<Timestamptz, _>(now)
        .bind::<Bool, _>(scrub)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&masked),
    )
    .execute(conn)
    .await?;
    Ok(marked as u32)
}

/// Blanks what a finished message no longer needs (production): its body and
/// data (codes, tokens, card numbers) go, and the recipient is kept masked
/// (`b***@example.com`, `+62812****7890`), enough to read its delivery history.
/// The sandbox keeps them: its inbox is how app developers read their codes,
/// and a sandbox holds no real person's data.
async fn scrub_finished(conn: &mut AsyncPgConnection, n: &Notification) -> QueryResult<()> {
    let finished = notifications::table.find(n.id).filter(
        notifications::status.eq_any([NotificationStatus::Sent, NotificationStatus::Failed]),
    );
    diesel::update(finished)
        .set((
            notifications::recipient.eq(n.channel.mask(&n.recipient)),
            notifications::body.eq(""),
            notifications::data.eq(serde_json::json!({})),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records a failed attempt, unless another worker took the message over
/// meanwhile (then its outcome stands: a delivered message is never re-queued).
async fn mark_attempt_failed(
    conn: &mut AsyncPgConnection,
    claimed: &Notification,
    now: DateTime<Utc>,
    error: &str,
    give_up: bool,
) -> QueryResult<()> {
    let error: String = error.chars().take(500).collect();
    let still_ours = notifications::table
        .find(claimed.id)
        .filter(notifications::status.eq(NotificationStatus::Sending))
        .filter(notifications::locked_until.eq(claimed.locked_until));
    diesel::update(still_ours)
        .set((
            notifications::status.eq(if give_up {
                NotificationStatus::Failed
            } else {
                NotificationStatus::Queued
            }),
            notifications::next_attempt_at.eq(now + backoff(claimed.attempts)),
            notifications::locked_until.eq(None::<DateTime<Utc>>),
            notifications::last_error.eq(error),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One message as the sandbox inbox shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub channel: Channel,
    /// Email address, or E.164 number for SMS.
    #[schema(example = "budi@example.com")]
    pub recipient: String,
    #[schema(example = "login_otp")]
    pub template: String,
    pub subject: Option<String>,
    pub body: String,
    /// The template's data, e.g. `{"code": "123456"}`.
    #[schema(value_type = Object, example = json!({"code": "123456"}))]
    pub data: serde_json::Value,
    pub status: NotificationStatus,
    pub created_at: DateTime<Utc>,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        NotificationView {
            id: n.id,
            channel: n.channel,
            recipient: n.recipient,
            template: n.template,
            subject: n.subject,
            body: n.body,
            data: n.data,
            status: n.status,
            created_at: n.created_at,
        }
    }
}

/// Lists messages newest first (in the order they were queued, whatever the
/// sandbox clock said), optionally for one recipient.
pub async fn list(
    conn: &mut AsyncPgConnection,
    recipient: Option<&str>,
    limit: i64,
    after: Option<SeqCursor>,
) -> QueryResult<Page<NotificationView>> {
    let mut query = notifications::table
        .select((Notification::as_select(), notifications::seq))
        .order(notifications::seq.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(r) = recipient {
        query = query.filter(notifications::recipient.eq(r.to_owned()));
    }
    if let Some(SeqCursor(seq)) = after {
        query = query.filter(notifications::seq.lt(seq));
    }
    let mut rows: Vec<(Notification, i64)> = query.load(conn).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|(_, seq)| SeqCursor(*seq).encode())
    } else {
        None
    };
    Ok(Page {
        data: rows
            .into_iter()
            .map(|(n, _)| NotificationView::from(n))
            .collect(),
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_an_hour() {
        assert_eq!(backoff(1), TimeDelta::seconds(5));
        assert_eq!(backoff(2), TimeDelta::seconds(10));
        assert_eq!(backoff(3), TimeDelta::seconds(20));
        assert_eq!(backoff(12), TimeDelta::seconds(3600));
    }
}
