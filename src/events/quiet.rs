//! The quiet lock (migration 0010): held by an instance with no stream once the feed's lease
//! is over, so writes decide not to log from two lock calls; let go when a renewal asks.

use super::Hub;
use crate::storage::events as store;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::sync::atomic::Ordering;

impl Hub {
    /// Takes the quiet lock once the lease is over, if this instance hears renewals and no
    /// other instance holds it (`store::hold_quiet`).
    pub(super) async fn keep_quiet(&self) -> Result<(), sqlx::Error> {
        let mut quiet = self.quiet.lock().await;
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
                    drop(quiet);
                    self.end_quiet().await;
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

    /// Lets the quiet lock go, if this instance holds it (closing its connection on failure,
    /// which lets it go too).
    pub(super) async fn end_quiet(&self) {
        let mut quiet = self.quiet.lock().await;
        if !std::mem::take(&mut quiet.held) {
            return;
        }
        let Some(conn) = &mut quiet.conn else {
            return;
        };
        if let Err(e) = store::release_quiet(conn).await {
            tracing::debug!(cause = %e, "letting the quiet lock go failed; closing its connection");
            if let Some(conn) = quiet.conn.take() {
                let _ = conn.close().await;
            }
        }
    }
}

/// The connection of [`Hub::quiet`], kept between quiet spells, and whether it holds the lock.
#[derive(Default)]
pub(super) struct Quiet {
    conn: Option<PgConnection>,
    held: bool,
}
