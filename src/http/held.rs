//! A response body that keeps something alive until the body is sent or dropped: a
//! connection's count of requests in progress, a permit of a bounded resource.

use std::pin::Pin;
use std::task::{Context, Poll};

/// `body`, holding `guard` until hyper has written it out (or dropped it, the client gone).
pub struct Held<G> {
    body: axum::body::Body,
    _guard: G,
    /// A frame has been asked for.
    polled: bool,
}

impl<G: Send + Unpin + 'static> Held<G> {
    pub fn new(body: axum::body::Body, guard: G) -> Self {
        Held {
            body,
            _guard: guard,
            polled: false,
        }
    }
}

impl<G: Unpin> hyper::body::Body for Held<G> {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        self.polled = true;
        Pin::new(&mut self.body).poll_frame(cx)
    }

    /// Over only when the body is empty from the start (hyper then writes no length for a 304
    /// and drops it at once); once polled, never known ahead, which keeps a long body (and
    /// its guard) until hyper has handed all but its write buffer's last bytes to the kernel.
    /// A body that fits that buffer (about 16 KiB) is still dropped once its last frame is
    /// buffered, before anything is written: the connection then counts a response it is
    /// still writing by its send deadline (`server::ConnInner::busy`), not by this guard.
    /// (The size hint is still exact: Content-Length is unchanged.)
    fn is_end_stream(&self) -> bool {
        !self.polled && self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
