//! Serving: takes an already bound listener (tests bind port 0 and read the address back)
//! and a shutdown future, so nothing here sleeps or guesses ports.

use crate::{AppState, router};
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Serves the API on `listener` until `shutdown` completes, then lets in-flight requests finish.
///
/// After `shutdown`, the listener stops accepting at once; requests already being handled get
/// the configured drain timeout to finish, after which the server returns anyway.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain = state.config.drain_timeout;
    let signalled = Arc::new(Notify::new());
    let notify = signalled.clone();
    // Responses are small and the client waits for each: send them at once (no Nagle delay).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
        shutdown.await;
        notify.notify_one();
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        done = &mut server => done,
        () = signalled.notified() => match tokio::time::timeout(drain, server).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!("drain timeout reached; abandoning requests still in flight");
                Ok(())
            }
        },
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
