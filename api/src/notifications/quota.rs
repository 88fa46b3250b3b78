//! The cap per SMS destination number (API.md: at least 30 an hour; here 50; OWASP
//! API6:2023). The per-account OTP budgets bound what one account can send, but
//! not what many accounts can send to one number: without this cap a stranger's
//! phone could be flooded (and the programme billed) from a farm of accounts.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::{
    ratelimit::{self, Exceeded, Limit},
    secrets::SecretHasher,
};

/// SMS to one number in any hour, whichever accounts or flows ask. Above
/// what one account's own flows can legitimately send in an hour (30 purchase
/// codes, 10 phone codes, 5 reset links), so it never undercuts their rules.
pub const SMS_PER_NUMBER: Limit = Limit {
    max: 50,
    window: TimeDelta::hours(1),
};

/// Takes one SMS slot of `number` (keyed by a keyed hash, so the bucket names
/// no phone number in clear), or says when the next one frees up. Call in the
/// transaction that queues the message, so a refused send queues nothing.
pub async fn take_sms_slot(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    number: &str,
    now: DateTime<Utc>,
) -> QueryResult<Result<(), Exceeded>> {
    let bucket = format!("sms_to:{}", secrets.bucket_id("phone", number));
    ratelimit::hit(conn, &bucket, SMS_PER_NUMBER, now).await
}
