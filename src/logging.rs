//! Log lines: tracing's fmt output in its usual shape (time, level, spans, target, fields), with
//! the id of the request being handled on every line written while it is handled, whoever
//! writes it (an internal error's cause, a library's warning).
//!
//! The id travels in a task-local, not in a tracing span. A span is entered and left on every
//! poll of the request's future, through the subscriber's registry and filter: with the
//! default formatter that cost a PATCH 13-14 K instructions (span creation and ~20 enters
//! and exits), and the default formatter's styling of plain text another 4 K, of ~200 K in all
//! (callgrind, a fixed sequence of 1,000 PATCH JSON). The task-local costs a swap per poll and a
//! read per line written.

use axum::http::HeaderValue;
use std::fmt;
use std::io::IsTerminal;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// What is logged when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "voice_api=info,tower_http=info,sqlx=warn";

tokio::task_local! {
    static REQUEST_ID: HeaderValue;
}

/// Runs `f` (a request's handling) with its lines carrying `id`.
pub async fn with_request_id<F: Future>(id: HeaderValue, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The format of every line: `2026-12-02T00:41:34.338692Z  INFO request{request_id="…"}:
/// voice_api::error: internal error cause=…`, the request part only inside a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lines;

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        SystemTime.format_time(&mut w)?;
        let level = meta.level();
        if w.has_ansi_escapes() {
            write!(w, " \x1b[{}m{level:>5}\x1b[0m ", colour(level))?;
        } else {
            write!(w, " {level:>5} ")?;
        }
        // Spans of libraries, if any (this crate opens none).
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                w.write_str(span.name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(w, "{{{fields}}}")?;
                }
                w.write_str(": ")?;
            }
        }
        if let Ok(written) = REQUEST_ID
            .try_with(|id| write!(w, "request{{request_id={:?}}}: ", id.to_str().unwrap_or("")))
        {
            written?;
        }
        write!(w, "{}: ", meta.target())?;
        ctx.format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// The ANSI colour of a level on a terminal, as tracing's own formatter has it.
fn colour(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "31",
        Level::WARN => "33",
        Level::INFO => "32",
        Level::DEBUG => "34",
        Level::TRACE => "35",
    }
}

/// The process's subscriber: `RUST_LOG` (else [`DEFAULT_FILTER`]) to standard output, coloured
/// only on a terminal and without `NO_COLOR`.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .event_format(Lines)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines `f` logs, each without its timestamp (checked for shape here).
    fn lines(ansi: bool, f: impl FnOnce()) -> Vec<String> {
        let out = Capture::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("voice_api=debug"))
            .with_ansi(ansi)
            .event_format(Lines)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let (time, rest) = line.split_at(27);
                assert!(
                    chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
                    "{line}"
                );
                rest.to_string()
            })
            .collect()
    }

    #[test]
    fn a_line_carries_the_request_id_only_inside_the_request() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = lines(false, || {
            tracing::info!(n = 1, "before");
            rt.block_on(with_request_id(HeaderValue::from_static("abc-1"), async {
                tracing::warn!(cause = %"x y", "inside");
                tokio::task::yield_now().await;
                tracing::debug!("after a poll");
            }));
            tracing::error!("outside again");
        });
        assert_eq!(
            got,
            [
                "  INFO voice_api::logging::tests: before n=1",
                "  WARN request{request_id=\"abc-1\"}: voice_api::logging::tests: inside cause=x y",
                " DEBUG request{request_id=\"abc-1\"}: voice_api::logging::tests: after a poll",
                " ERROR voice_api::logging::tests: outside again",
            ]
        );
    }

    #[test]
    fn a_terminal_gets_the_level_coloured() {
        let got = lines(true, || tracing::info!("hi"));
        assert_eq!(got, [" \x1b[32m INFO\x1b[0m voice_api::logging::tests: hi"]);
    }
}
