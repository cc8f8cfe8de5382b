//! A request body must arrive whole within a time from its head. A limit on
//! the wait for each read would not do: a body trickled a byte every few
//! seconds never waits long for one, and holds its connection for hours.
//! When the time is up the body ends with an error; the handler reading it
//! answers 400, and hyper closes the connection, whose rest it cannot read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f32())]
pub struct TooSlow(pub Duration);

/// `inner`, cut at `ends`.
pub struct Deadline<B> {
    inner: B,
    ends: Instant,
    limit: Duration,
    /// Made only when the body first has to wait: most bodies are already
    /// in hyper's buffer with their head, and a timer per request costs.
    sleep: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl<B> Deadline<B> {
    pub fn new(inner: B, limit: Duration) -> Self {
        Deadline {
            inner,
            ends: Instant::now() + limit,
            limit,
            sleep: None,
            expired: false,
        }
    }
}

impl<B> Body for Deadline<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let ends = this.ends;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(ends)));
                if sleep.as_mut().poll(cx).is_ready() {
                    this.expired = true;
                    return Poll::Ready(Some(Err(TooSlow(this.limit).into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body whose bytes come one at a time, `every` apart, for ever.
    struct Trickle {
        every: Duration,
        next: Pin<Box<Sleep>>,
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.next.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let every = self.every;
            self.next.as_mut().reset(Instant::now() + every);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    async fn frame<B: Body<Data = Bytes> + Unpin>(
        b: &mut B,
    ) -> Option<Result<Frame<Bytes>, B::Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *b).poll_frame(cx)).await
    }

    #[tokio::test]
    async fn a_trickled_body_is_cut_at_the_deadline_however_often_bytes_come() {
        let every = Duration::from_millis(20);
        let trickle = Trickle {
            every,
            next: Box::pin(tokio::time::sleep(every)),
        };
        let began = std::time::Instant::now();
        let mut body = Deadline::new(trickle, Duration::from_millis(300));
        let mut bytes = 0;
        let err = loop {
            match frame(&mut body).await {
                Some(Ok(_)) => bytes += 1,
                Some(Err(e)) => break e,
                None => panic!("the trickle never ends by itself"),
            }
        };
        assert!(bytes > 2, "bytes kept coming until the deadline: {bytes}");
        assert!(began.elapsed() >= Duration::from_millis(300));
        assert!(err.to_string().contains("did not arrive within"), "{err}");
        assert!(frame(&mut body).await.is_none(), "a cut body stays ended");
    }
}
