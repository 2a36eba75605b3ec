//! The quiet lock (migration 0010): held by an instance with no stream once the feed's lease
//! is over, so writes decide not to log from two lock calls; let go when a renewal asks.

use super::Hub;
use crate::storage::events as store;
use sqlx::{ConnectOptions, PgConnection};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::{Instant, timeout};

/// Longest the keeper waits on its connection (one with no TCP keepalive can hang silently;
/// the listener must not wait on it for longer).
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The keeper's connection did not answer within [`IO_TIMEOUT`].
fn timed_out(_: tokio::time::error::Elapsed) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the quiet lock's connection did not answer",
    ))
}

impl Hub {
    /// Takes the quiet lock once the lease is over, if this instance hears renewals and no
    /// other instance holds it (`store::hold_quiet`).
    pub(super) async fn keep_quiet(&self) -> Result<(), sqlx::Error> {
        let mut quiet = self.quiet.lock().await;
        match timeout(IO_TIMEOUT, self.keep_quiet_in(&mut quiet)).await {
            Ok(result) => result,
            Err(elapsed) => {
                // Dropping the connection lets the lock go, if it held it.
                *quiet = Quiet::default();
                Err(timed_out(elapsed))
            }
        }
    }

    async fn keep_quiet_in(&self, quiet: &mut Quiet) -> Result<(), sqlx::Error> {
        if quiet.resting_until.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        if quiet.held {
            // Still over? A lease renewed without the quiet lock (by an instance from before
            // migration 0010) would otherwise go unheard. A connection that went away let the
            // lock go with it: take it again.
            let listened = match &mut quiet.conn {
                Some(conn) => store::listened(conn).await.ok(),
                None => None,
            };
            match listened {
                Some(false) => return Ok(()),
                Some(true) => {
                    tracing::warn!(
                        "the feed's lease was renewed beside the quiet lock; letting it go"
                    );
                    release(quiet).await;
                    return Ok(());
                }
                None => *quiet = Quiet::default(),
            }
        }
        if !self.hearing.load(Ordering::Relaxed) {
            return Ok(());
        }
        let conn = match &mut quiet.conn {
            Some(conn) => conn,
            None => {
                // A keeper stalled inside its transaction must not hold the lease's row.
                let options = (*self.pool().connect_options())
                    .clone()
                    .options([("idle_in_transaction_session_timeout", "5s")]);
                quiet.conn.insert(options.connect().await?)
            }
        };
        match store::hold_quiet(conn).await {
            Ok(held) => quiet.held = held,
            Err(e) => {
                quiet.conn = None;
                return Err(e);
            }
        }
        if quiet.held {
            tracing::debug!("the event feed is quiet: nobody listens");
        }
        Ok(())
    }

    /// Lets the quiet lock go, if this instance holds it.
    pub(super) async fn end_quiet(&self) {
        release(&mut *self.quiet.lock().await).await;
    }

    /// A subscription asked for the quiet lock: let it go, and take it again no sooner than two
    /// housekeepings from now, so that no instance takes it between the ask and the renewal.
    pub(super) async fn asked_for_quiet(&self) {
        let mut quiet = self.quiet.lock().await;
        quiet.resting_until = Some(Instant::now() + self.settings.housekeeping * 2);
        release(&mut quiet).await;
    }
}

/// Lets the quiet lock go if held (closing its connection on failure, which lets it go too).
async fn release(quiet: &mut Quiet) {
    if !std::mem::take(&mut quiet.held) {
        return;
    }
    let Some(conn) = &mut quiet.conn else {
        return;
    };
    let released = timeout(IO_TIMEOUT, store::release_quiet(conn))
        .await
        .map_err(timed_out)
        .and_then(|r| r);
    if let Err(e) = released {
        tracing::debug!(cause = %e, "letting the quiet lock go failed; closing its connection");
        quiet.conn = None;
    }
}

/// The connection of [`Hub::quiet`], kept between quiet spells, whether it holds the lock, and
/// until when it may not take it again (after a subscription asked for it).
#[derive(Default)]
pub(super) struct Quiet {
    conn: Option<PgConnection>,
    held: bool,
    resting_until: Option<Instant>,
}
