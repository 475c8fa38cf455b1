//! The accept loop: HTTP/1 and HTTP/2 connections served by hyper with the
//! limits axum's own `serve` lacks: a header-read timeout, a body-read
//! deadline, an idle (keep-alive) timeout, a cap on open connections, and a
//! shutdown that ends within a grace period whatever the clients do.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;
use tracing::{debug, warn};

use super::error::ApiError;
use super::hyper_errors::JsonErrorsIo;

/// The connection limits (`judge serve` flags).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request's head must arrive within this (`--header-timeout-secs`).
    pub header_timeout: Duration,
    /// A request's body must arrive within this of its head (`--body-timeout-secs`).
    pub body_timeout: Duration,
    /// A connection with no request in flight closes after this (`--idle-timeout-secs`).
    pub idle_timeout: Duration,
    /// Open connections at most; past it new ones wait in the backlog (`--max-connections`).
    pub max_connections: usize,
    /// After shutdown starts, connections still open after this are dropped (`--shutdown-grace-secs`).
    pub shutdown_grace: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting, asks every connection to finish, and drops those still open
/// after the grace period. Returns when shutdown started.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::time::Instant {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (draining, drain_signal) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: wait for a descriptor to come free.
                    warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let connection = Connection { builder: builder.clone(), router: router.clone(), limits, slot };
        connections.spawn(connection.run(stream, drain_signal.clone()));
    }

    let shutdown_started = std::time::Instant::now();
    drop(listener);
    draining.send_replace(true);
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, all_closed).await.is_err() {
        warn!(
            open = connections.len(),
            grace_secs = limits.shutdown_grace.as_secs_f64(),
            "connections still open after the shutdown grace period: dropping them"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    shutdown_started
}

/// When a connection last finished a request, and how many it is answering.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(SeqCst) > 0 {
            return None;
        }
        Some(*self.last.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Counts one request in flight while alive.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, SeqCst);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    limits: Limits,
    /// Held while the connection is open.
    #[allow(dead_code)]
    slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut drain_signal: watch::Receiver<bool>) {
        let activity = Arc::new(Activity { in_flight: AtomicUsize::new(0), last: Mutex::new(Instant::now()) });
        let service = {
            let activity = activity.clone();
            let router = self.router.clone();
            let body_timeout = self.limits.body_timeout;
            tower::service_fn(move |request: Request<Incoming>| {
                let in_flight = InFlight::new(&activity);
                let router = router.clone();
                let expired = Arc::new(AtomicBool::new(false));
                let request = request.map(|body| Body::new(DeadlinedBody::new(body, body_timeout, expired.clone())));
                async move {
                    let response = router.oneshot(request).await;
                    drop(in_flight);
                    // Whatever the handler made of the cut-off body, the client hears why.
                    if expired.load(SeqCst) {
                        return Ok(body_too_slow(body_timeout));
                    }
                    response
                }
            })
        };
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(JsonErrorsIo::new(stream)), TowerToHyperService::new(service));
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            let idle_deadline = activity.idle_since().map(|since| since + self.limits.idle_timeout);
            let next_check = idle_deadline.unwrap_or_else(|| Instant::now() + self.limits.idle_timeout);
            tokio::select! {
                outcome = connection.as_mut() => {
                    if let Err(e) = outcome {
                        debug!("connection ended: {e}");
                    }
                    return;
                }
                changed = drain_signal.wait_for(|draining| *draining), if !closing => {
                    let _ = changed;
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                _ = tokio::time::sleep_until(next_check), if !closing => {
                    if activity.idle_since().is_some_and(|since| since.elapsed() >= self.limits.idle_timeout) {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// A request body that fails once `deadline` passes with the body still not
/// all there. Data already arrived is always handed out first, so a handler
/// that starts reading late does not cut off a client that was quick.
struct DeadlinedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// Set when the deadline cut the body off.
    expired: Arc<AtomicBool>,
}

impl DeadlinedBody {
    fn new(inner: Incoming, timeout: Duration, expired: Arc<AtomicBool>) -> DeadlinedBody {
        DeadlinedBody { inner, deadline: Box::pin(tokio::time::sleep(timeout)), expired }
    }
}

impl hyper::body::Body for DeadlinedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
        }
        if self.expired.load(SeqCst) || self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.store(true, SeqCst);
            return Poll::Ready(Some(Err("the request body did not arrive in time".into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// 408 for a body cut off by `--body-timeout-secs`; the rest of the body may
/// still be on its way, so the connection cannot carry another request.
fn body_too_slow(timeout: Duration) -> Response {
    let message =
        format!("the request body did not arrive within {} s of its head (--body-timeout-secs)", timeout.as_secs());
    let mut response = ApiError::new(StatusCode::REQUEST_TIMEOUT, message).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
