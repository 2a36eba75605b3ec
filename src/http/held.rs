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
    /// and drops it at once); once polled, never known ahead. hyper drops a body it knows is
    /// over as soon as it has taken its last frame, with the bytes still in its write buffer
    /// (all of a one-frame body), and the guard would go with them. Not knowing, it drops the
    /// body once its encoder has written the length and its buffer has gone to the kernel.
    /// (The size hint is still exact: Content-Length is unchanged.)
    fn is_end_stream(&self) -> bool {
        !self.polled && self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
