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

/// Batches of [`once`] until one comes back short (nothing more to sweep) or a time budget
/// (half the interval, at most 5 s) is spent: under a flood of new throttle rows the sweep
/// keeps up instead of deleting one batch a minute.
async fn until_done(state: &AppState, interval: Duration) -> Result<Swept, sqlx::Error> {
    let budget = tokio::time::Instant::now() + (interval / 2).min(Duration::from_secs(5));
    let batch = state.config.sweep_batch.max(1) as u64;
    let mut total = Swept::default();
    loop {
        let s = once(state).await?;
        total.throttle += s.throttle;
        total.sessions += s.sessions;
        total.evidence += s.evidence;
        let short = s.throttle < batch && s.sessions < batch && s.evidence < batch;
        if short || tokio::time::Instant::now() >= budget {
            return Ok(total);
        }
    }
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
        match until_done(&state, interval).await {
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
