//! `callback_url`: once a submission is done, its result object is POSTed
//! there. Deliveries are rows in the store, written with the result, so a
//! restart drops none; any node may deliver, retrying with backoff until
//! `--callback-retry-secs` after the result. With `--callback-secret` the
//! body is signed: `X-Judge-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
//! Only hosts matching `--callback-allow` are reached (none by default,
//! `allow.rs`); a host name is resolved when a delivery is sent, and only to
//! addresses that are public or that the allow-list names, and the
//! connection goes to exactly those addresses (no second lookup, no proxy,
//! no redirects), so the judge cannot be aimed at internal services.

mod allow;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::{info, warn};

use super::error::ApiError;
use super::outcome;
use super::App;
use crate::store::{now_ms, CallbackJob, CallbackResult, State};

pub use allow::Allow;

/// Longest callback URL accepted.
const MAX_URL: usize = 2048;
/// Deliveries a node attempts at once.
const BATCH: u32 = 16;
/// One delivery attempt's time limit.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle deliverers look for due deliveries this often.
const POLL: Duration = Duration::from_millis(500);

/// Checks a submission's `callback_url` (a 400 naming the problem if bad).
pub fn check_url(app: &App, url: &str) -> Result<String, ApiError> {
    if url.len() > MAX_URL {
        return Err(ApiError::bad_request(format!("callback_url is over {MAX_URL} characters")));
    }
    let parsed = url::Url::parse(url).map_err(|e| ApiError::bad_request(format!("callback_url {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::bad_request(format!("callback_url {url:?}: only http and https are supported")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::bad_request("callback_url must not carry credentials; use --callback-secret"));
    }
    let (Some(host), Some(port)) = (parsed.host(), parsed.port_or_known_default()) else {
        return Err(ApiError::bad_request(format!("callback_url {url:?} has no host")));
    };
    if !app.config.callback_allow.allows_host(&host, port) {
        let public = match host {
            url::Host::Domain(_) => "",
            url::Host::Ipv4(ip) if allow::is_public(ip.into()) => "",
            url::Host::Ipv6(ip) if allow::is_public(ip.into()) => "",
            _ => " (an internal address: allowed only when an address or range pattern names it)",
        };
        return Err(ApiError::bad_request(format!(
            "callback_url host {host}:{port} is not allowed here{public}; allowed (--callback-allow): {}",
            app.config.callback_allow.describe()
        )));
    }
    Ok(parsed.to_string())
}

/// `sha256=<hex>` of the body under the secret.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers due callbacks for as long as the node runs.
pub async fn deliver(app: Arc<App>) {
    let mut draining = app.draining.subscribe();
    let mut failures = 0u32;
    while !app.is_draining() {
        let now = now_ms();
        let lease = now + (ATTEMPT_TIMEOUT.as_millis() as i64) * 2;
        match app.store.claim_callbacks(now, lease, BATCH).await {
            Ok(jobs) if !jobs.is_empty() => {
                failures = 0;
                let attempts = jobs.into_iter().map(|job| {
                    let app = app.clone();
                    tokio::spawn(async move { attempt(&app, job).await })
                });
                for task in attempts.collect::<Vec<_>>() {
                    let _ = task.await;
                }
                continue;
            }
            Ok(_) => failures = 0,
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    warn!(failures, "cannot look for due callbacks: {e}");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = draining.changed() => {}
        }
    }
}

async fn attempt(app: &App, job: CallbackJob) {
    let deadline = job.created_ms + app.config.callback_retry.as_millis() as i64;
    let result = match post(app, &job).await {
        Ok(()) => {
            info!(id = %job.submission_id, attempt = job.attempts, "callback delivered");
            CallbackResult::Delivered
        }
        Err(Failure::Refused(error)) => {
            warn!(id = %job.submission_id, "callback refused: {error}");
            CallbackResult::GaveUp(error)
        }
        Err(Failure::Failed(error)) => {
            // 1 s, 2 s, 4 s … at most a minute apart.
            let backoff = 1000i64 << job.attempts.saturating_sub(1).min(6);
            let next = now_ms() + backoff;
            if next > deadline {
                warn!(id = %job.submission_id, attempts = job.attempts, "callback given up (--callback-retry-secs): {error}");
                CallbackResult::GaveUp(error)
            } else {
                info!(id = %job.submission_id, attempt = job.attempts, "callback failed, retrying: {error}");
                CallbackResult::RetryAt(next, error)
            }
        }
    };
    if let Err(e) = app.store.callback_attempted(&job, result).await {
        warn!(id = %job.submission_id, "cannot record a callback attempt (it will be retried): {e}");
    }
}

/// Why a delivery did not happen.
enum Failure {
    /// The allow-list forbids it: not retried.
    Refused(String),
    /// Worth another try later.
    Failed(String),
}

async fn post(app: &App, job: &CallbackJob) -> Result<(), Failure> {
    let record = match app.store.get(&job.submission_id, 0).await {
        Ok(Some(record)) if matches!(record.state, State::Done(_)) => record,
        Ok(_) => return Err(Failure::Failed("the result is gone (expired)".to_string())),
        Err(e) => return Err(Failure::Failed(e.to_string())),
    };
    let url = url::Url::parse(&job.url).map_err(|e| Failure::Refused(format!("{}: {e}", job.url)))?;
    let client = pinned_client(&app.config.callback_allow, &url).await?;
    // A Judge0 submission's result goes as Judge0 sends it: PUT, its own shape.
    let judge0 = crate::judge0::callback_body(app, &record).await.map_err(|e| Failure::Failed(e.to_string()))?;
    let (method, body) = match judge0 {
        Some(body) => (reqwest::Method::PUT, body),
        None => (reqwest::Method::POST, outcome::body_bytes(outcome::render(&record)).await),
    };
    let mut request = client.request(method.clone(), url.clone()).header("content-type", "application/json");
    if let Some(secret) = &app.config.callback_secret {
        request = request.header("x-judge-signature", signature(secret.as_bytes(), &body));
    }
    let response = request.body(body).send().await.map_err(|e| Failure::Failed(format!("{method} {url}: {e}")))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(Failure::Failed(format!("{method} {url}: answered {}", response.status())))
    }
}

/// A client for one delivery to `url`, checked against the allow-list now
/// (it may have changed since the submission) and, for a host name,
/// connecting only to the addresses it resolved to that are allowed.
async fn pinned_client(allow: &Allow, url: &url::Url) -> Result<reqwest::Client, Failure> {
    let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
        return Err(Failure::Refused(format!("{url} has no host")));
    };
    if !allow.allows_host(&host, port) {
        return Err(Failure::Refused(format!("{host}:{port} is not allowed (--callback-allow: {})", allow.describe())));
    }
    let mut pins = None;
    if let url::Host::Domain(name) = host {
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| Failure::Failed(format!("cannot resolve {name}: {e}")))?
            .collect();
        let (admitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
            resolved.into_iter().partition(|addr| allow.admits_address(addr.ip(), port));
        if admitted.is_empty() {
            let refused: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
            return Err(Failure::Refused(format!(
                "{name} resolves to {}, internal addresses that --callback-allow does not name (list the address or its range to allow it)",
                refused.join(", ")
            )));
        }
        pins = Some((name, admitted));
    }
    client(pins.as_ref().map(|(name, addrs)| (*name, addrs.as_slice())))
        .map_err(|e| Failure::Failed(format!("cannot build an HTTP client: {e}")))
}

/// An HTTP client that follows no redirect and uses no proxy; with `pin`,
/// that name connects only to those addresses (no lookup of its own).
fn client(pin: Option<(&str, &[SocketAddr])>) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("judge/", env!("CARGO_PKG_VERSION")));
    if let Some((name, addrs)) = pin {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-request HTTP server on 127.0.0.1 that answers 204 and hands
    /// back the request's head.
    async fn one_request_server() -> (SocketAddr, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the connection closed mid-request");
                head.extend_from_slice(&buf[..n]);
            }
            stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await.unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        (addr, served)
    }

    #[tokio::test]
    async fn a_pinned_name_connects_to_the_checked_address_without_a_lookup() {
        let (addr, served) = one_request_server().await;
        // .invalid never resolves (RFC 6761): the request can only arrive through the pin.
        let name = "pinned.judge-test.invalid";
        let client = client(Some((name, &[addr]))).unwrap();
        let response = client.post(format!("http://{name}:{}/hook", addr.port())).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
        let head = served.await.unwrap();
        assert!(head.starts_with("POST /hook HTTP/1.1"), "{head}");
        assert!(head.to_ascii_lowercase().contains(&format!("host: {name}:{}", addr.port())), "{head}");
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused_unless_listed() {
        let url = url::Url::parse("http://localhost:9/hook").unwrap();
        let by_name = Allow::parse(&["localhost".into()]).unwrap();
        match pinned_client(&by_name, &url).await {
            Err(Failure::Refused(why)) => assert!(why.contains("127.0.0.1"), "{why}"),
            Err(Failure::Failed(why)) => panic!("not refused: {why}"),
            Ok(_) => panic!("localhost was let through by name alone"),
        }
        let listed = Allow::parse(&["localhost,127.0.0.0/8:9".into()]).unwrap();
        assert!(pinned_client(&listed, &url).await.is_ok(), "the range names 127.0.0.1");
        let other_port = Allow::parse(&["localhost,127.0.0.1:10".into()]).unwrap();
        assert!(matches!(pinned_client(&other_port, &url).await, Err(Failure::Refused(_))));
        // The list is checked again at send time: a host no longer allowed is refused.
        let elsewhere = Allow::parse(&["hooks.example.com".into()]).unwrap();
        assert!(matches!(pinned_client(&elsewhere, &url).await, Err(Failure::Refused(_))));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let mac = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
