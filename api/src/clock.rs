//! The service clock: the one source of "now" for every programme rule and job.
//!
//! In production it is real time. In sandbox an app developer may move it
//! (`PUT /v1/sandbox/clock`); the offset from real time is stored in the database
//! so that every instance agrees, and it keeps ticking from the time set. Each
//! instance refreshes its copy of the offset in the background (see
//! [`Clock::spawn_refresher`]) so reading the time never waits on the database.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::{schema::service_clock, DbPool};

/// Western Indonesia Time. Asia/Jakarta has been UTC+07:00 without daylight saving
/// since 1964, so a fixed offset gives the same calendar dates as the tz database
/// for every date this programme handles.
pub fn wib() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

/// The Asia/Jakarta calendar date of an instant.
pub fn jakarta_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&wib()).date_naive()
}

/// The service clock, cheap to clone.
#[derive(Clone)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    settable: bool,
}

impl Clock {
    /// Real time, not settable (production).
    pub fn real() -> Self {
        Clock {
            offset_ms: Arc::new(AtomicI64::new(0)),
            settable: false,
        }
    }

    /// A clock that sandbox routes may move; starts from the stored offset.
    pub async fn sandbox(conn: &mut AsyncPgConnection) -> anyhow::Result<Self> {
        let clock = Clock {
            offset_ms: Arc::new(AtomicI64::new(0)),
            settable: true,
        };
        clock.reload(conn).await?;
        Ok(clock)
    }

    /// The current service time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(AtomicI64::load(&self.offset_ms, Ordering::Relaxed))
    }

    /// Real time for the security checks that must ignore the sandbox clock:
    /// token and session lifetimes, and the partner `X-Timestamp` window
    /// (API.md: Time). A moved sandbox clock must not revive or expire them.
    pub fn security_now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Today's date in Asia/Jakarta on the service clock.
    pub fn today_jakarta(&self) -> NaiveDate {
        jakarta_date(self.now())
    }

    /// Whether this clock may be moved (sandbox only).
    pub fn is_settable(&self) -> bool {
        self.settable
    }

    /// Moves the clock to `to` for every instance; it keeps ticking from there.
    pub async fn set(&self, conn: &mut AsyncPgConnection, to: DateTime<Utc>) -> anyhow::Result<()> {
        anyhow::ensure!(self.settable, "the service clock is real time here");
        let offset = (to - Utc::now()).num_milliseconds();
        diesel::insert_into(service_clock::table)
            .values((
                service_clock::offset_ms.eq(offset),
                service_clock::updated_at.eq(Utc::now()),
            ))
            .on_conflict(service_clock::singleton)
            .do_update()
            .set((
                service_clock::offset_ms.eq(offset),
                service_clock::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        self.offset_ms.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// Returns the clock to real time for every instance.
    pub async fn reset(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        anyhow::ensure!(self.settable, "the service clock is real time here");
        diesel::delete(service_clock::table).execute(conn).await?;
        self.offset_ms.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Re-reads the shared offset (another instance may have moved the clock).
    pub async fn reload(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        if !self.settable {
            return Ok(());
        }
        let offset: Option<i64> = service_clock::table
            .select(service_clock::offset_ms)
            .first(conn)
            .await
            .optional()?;
        self.offset_ms.store(offset.unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }

    /// Keeps this instance's offset in step with the database (sandbox only).
    pub fn spawn_refresher(&self, pool: DbPool) {
        if !self.settable {
            return;
        }
        let clock = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                tick.tick().await;
                if let Ok(mut conn) = pool.get().await {
                    if let Err(e) = clock.reload(&mut conn).await {
                        tracing::warn!(error = %e, "could not refresh the sandbox clock");
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jakarta_date_turns_at_17_00_utc() {
        let before = DateTime::parse_from_rfc3339("2026-07-19T16:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        let after = DateTime::parse_from_rfc3339("2026-07-19T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            jakarta_date(before),
            NaiveDate::from_ymd_opt(2026, 7, 19).unwrap()
        );
        assert_eq!(
            jakarta_date(after),
            NaiveDate::from_ymd_opt(2026, 7, 20).unwrap()
        );
    }

    #[test]
    fn real_clock_is_not_settable() {
        assert!(!Clock::real().is_settable());
    }
}
