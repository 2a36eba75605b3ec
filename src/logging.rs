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
//!
//! Lines at INFO and below from a runtime worker are written when the worker is about to sleep
//! ([`on_park`]), not while the request is answered: at c = 1 the access line's `write` came
//! before the response's `writev`, on the request's latency, and under load one `write` now
//! carries many lines. A line waits until its thread next sleeps, [`MAX_PENDING`] bytes are
//! pending, or a later line of the thread finds the oldest pending one [`MAX_AGE`] old (a
//! thread that stays busy without logging again holds its lines until it sleeps: tokio calls
//! the hook only when a worker is idle). WARN and ERROR lines, and every line of a thread that
//! never sleeps through the runtime (the blocking pool), are written at once, after what their
//! thread had pending; with several worker threads, a line written at once can come out before
//! an earlier one another thread still holds.

use axum::http::HeaderValue;
use std::cell::RefCell;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
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
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .event_format(Lines)
        .with_writer(Deferred(write_stdout))
        .try_init();
    if installed.is_ok() {
        // A panicking thread's pending lines come out before the panic's message.
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            flush();
            report(info);
        }));
    }
}

/// Where a thread's pending lines go.
type Sink = fn(&[u8]);

fn write_stdout(bytes: &[u8]) {
    let _ = std::io::stdout().lock().write_all(bytes);
}

/// Most bytes a thread holds back (about 80 access lines).
pub const MAX_PENDING: usize = 16 * 1024;
/// Longest a line is held back while its thread keeps logging without sleeping.
pub const MAX_AGE: Duration = Duration::from_millis(50);

/// One thread's lines not yet written.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// When the oldest pending line was logged.
    since: Option<Instant>,
    /// The thread has slept through [`on_park`] once: it will again, so its lines can wait.
    parks: bool,
    sink: Option<Sink>,
}

impl Pending {
    fn flush(&mut self) {
        if let Some(sink) = self.sink
            && !self.bytes.is_empty()
        {
            sink(&self.bytes);
        }
        self.bytes.clear();
        self.since = None;
    }
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

/// Runs `f` on this thread's pending lines; false when they cannot be reached (the thread is
/// being torn down, or a panic in the sink left them borrowed).
fn with_pending(f: impl FnOnce(&mut Pending)) -> bool {
    PENDING
        .try_with(|p| p.try_borrow_mut().map(|mut p| f(&mut p)).is_ok())
        .unwrap_or(false)
}

/// Called by the runtime before a worker sleeps (`on_thread_park`): writes what the thread has
/// pending, and from now on lets its lines wait for the next time.
pub fn on_park() {
    with_pending(|p| {
        p.parks = true;
        p.flush();
    });
}

/// Writes what this thread has pending, and its later lines at once (a worker that stops, the
/// end of `main`, a panic).
pub fn flush() {
    with_pending(|p| {
        p.parks = false;
        p.flush();
    });
}

/// The runtime's hooks for this module: a worker's lines wait for it to sleep, and what a
/// stopping worker holds is written.
pub fn hooks(b: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    b.on_thread_park(on_park).on_thread_stop(flush)
}

/// The subscriber's writer: each line to its thread's pending bytes or, see the module doc,
/// straight to the sink.
#[derive(Clone, Copy)]
pub struct Deferred(Sink);

/// One line's writer: `defer` when the line's level may wait.
pub struct Line {
    sink: Sink,
    defer: bool,
}

impl<'a> MakeWriter<'a> for Deferred {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            sink: self.0,
            defer: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        Line {
            sink: self.0,
            // Levels compare by verbosity: INFO, DEBUG and TRACE are above WARN.
            defer: *meta.level() > Level::WARN,
        }
    }
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let (sink, defer) = (self.sink, self.defer);
        let kept = with_pending(|p| {
            p.sink = Some(sink);
            let hold = defer && p.parks && p.since.is_none_or(|t| t.elapsed() < MAX_AGE);
            p.bytes.extend_from_slice(bytes);
            if hold {
                p.since.get_or_insert_with(Instant::now);
            }
            if !hold || p.bytes.len() >= MAX_PENDING {
                p.flush();
            }
        });
        // Pending lines out of reach (see `with_pending`): this one is written at once.
        if !kept {
            sink(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

    thread_local! {
        static WRITTEN: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    fn capture(bytes: &[u8]) {
        WRITTEN.with(|w| w.borrow_mut().push(bytes.to_vec()));
    }

    /// The writes so far on this thread, each as its lines' messages.
    fn writes() -> Vec<Vec<String>> {
        WRITTEN.with(|w| {
            w.borrow_mut()
                .drain(..)
                .map(|bytes| {
                    String::from_utf8(bytes)
                        .unwrap()
                        .lines()
                        .map(|l| l.rsplit(": ").next().unwrap().to_string())
                        .collect()
                })
                .collect()
        })
    }

    /// Runs `f` on a thread of its own (its own pending lines), logging through [`Deferred`]
    /// into [`writes`].
    fn deferred(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new("voice_api=debug"))
                .with_ansi(false)
                .event_format(Lines)
                .with_writer(Deferred(capture))
                .finish();
            tracing::subscriber::with_default(subscriber, f);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_sleeping_threads_lines_wait_for_its_next_sleep_and_warnings_do_not() {
        deferred(|| {
            tracing::info!("before any sleep");
            assert_eq!(writes(), [["before any sleep"]], "written at once");
            on_park();
            tracing::info!("one");
            tracing::debug!("two");
            assert!(writes().is_empty(), "held until the thread sleeps");
            on_park();
            assert_eq!(writes(), [["one", "two"]], "one write at the sleep");
            tracing::info!("three");
            tracing::warn!("a warning");
            assert_eq!(
                writes(),
                [["three", "a warning"]],
                "a warning is written at once, after what was pending"
            );
            on_park();
            assert!(writes().is_empty());
            tracing::info!("four");
            flush();
            assert_eq!(writes(), [["four"]]);
            tracing::info!("five");
            assert_eq!(writes(), [["five"]], "after flush, written at once");
        });
    }

    #[test]
    fn the_runtime_writes_a_workers_lines_when_it_sleeps() {
        deferred(|| {
            let mut b = tokio::runtime::Builder::new_current_thread();
            let rt = hooks(&mut b).enable_time().build().unwrap();
            rt.block_on(async {
                // Its first sleep: from now on this thread's lines wait.
                tokio::time::sleep(Duration::from_millis(1)).await;
                tracing::info!("while busy");
                assert!(writes().is_empty(), "held while the worker is busy");
                tokio::time::sleep(Duration::from_millis(1)).await;
                assert_eq!(writes(), [["while busy"]], "written as it slept");
            });
        });
    }

    #[test]
    fn held_lines_are_bounded_in_bytes_and_in_age() {
        deferred(|| {
            on_park();
            let line = "x".repeat(100);
            let mut logged = 0;
            while writes().is_empty() {
                tracing::info!("{line}");
                logged += 1;
                assert!(logged * 100 <= MAX_PENDING, "held past MAX_PENDING");
            }
            tracing::info!("old");
            std::thread::sleep(MAX_AGE + Duration::from_millis(5));
            assert!(writes().is_empty());
            tracing::info!("next");
            assert_eq!(
                writes(),
                [["old", "next"]],
                "a line finds the oldest too old"
            );
        });
    }

    #[test]
    fn a_terminal_gets_the_level_coloured() {
        let got = lines(true, || tracing::info!("hi"));
        assert_eq!(got, [" \x1b[32m INFO\x1b[0m voice_api::logging::tests: hi"]);
    }
}
