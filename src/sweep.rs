//! The periodic sweep: deletes, in bounded batches, the rows that can no longer matter —
//! throttle rows whose window and lock are over, expired login sessions, and evidence of
//! verified credentials that expired or whose password changed. Started by
//! [`crate::server::run`]; every instance may run it (the statements are idempotent).

use crate::AppState;
use crate::storage::auth::{self as store, Swept};
use std::time::Duration;
use tokio::sync::watch;

/// One sweep: at most `state.config.sweep_batch` rows of each kind.
pub async fn once(state: &AppState) -> Result<Swept, sqlx::Error> {
    store::sweep(
        &state.pool,
        state.auth.throttle.window,
        state.auth.evidence_ttl,
        state.config.sweep_batch.max(1),
    )
    .await
}

/// Sweeps every `interval` until `stop` turns true. A failed sweep (the database away) is
/// logged and tried again at the next interval.
pub async fn run(state: AppState, interval: Duration, mut stop: watch::Receiver<bool>) {
    let interval = interval.max(Duration::from_millis(10));
    // The first run one interval after start, not at once: starting instances add no work.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match once(&state).await {
            Ok(s) if s != Swept::default() => tracing::info!(
                throttle = s.throttle,
                sessions = s.sessions,
                evidence = s.evidence,
                "swept expired rows"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(cause = %e, "sweep failed; retrying at the next interval"),
        }
    }
}
