//! `callback_url`: once a submission is done, its result object is POSTed
//! there. Deliveries are rows in the store, written with the result, so a
//! restart drops none; any node may deliver, retrying with backoff until
//! `--callback-retry-secs` after the result. With `--callback-secret` the
//! body is signed: `X-Judge-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
//! Only hosts matching `--callback-allow` are reached (none by default), and
//! redirects are not followed, so the judge cannot be aimed at internal
//! services.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::{info, warn};

use super::error::ApiError;
use super::outcome;
use super::App;
use crate::store::{now_ms, CallbackJob, CallbackResult, State};

/// Longest callback URL accepted.
const MAX_URL: usize = 2048;
/// Deliveries a node attempts at once.
const BATCH: u32 = 16;
/// One delivery attempt's time limit.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle deliverers look for due deliveries this often.
const POLL: Duration = Duration::from_millis(500);

/// Hosts callbacks may go to: `host`, `host:port`, `*.domain` (any
/// subdomain), or `*` (anywhere: only for trusted submitters).
#[derive(Clone, Debug, Default)]
pub struct Allow {
    patterns: Vec<(String, Option<u16>)>,
}

impl Allow {
    pub fn parse(list: &[String]) -> Result<Allow, String> {
        let mut patterns = Vec::new();
        for item in list.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            let (host, port) = match item.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
                    let port = port.parse().map_err(|_| format!("--callback-allow {item:?}: bad port {port:?}"))?;
                    (host, Some(port))
                }
                _ => (item, None),
            };
            if host.is_empty() || host.contains('/') || (host.contains('*') && host != "*" && !host.starts_with("*.")) {
                return Err(format!("--callback-allow {item:?}: use host, host:port, *.domain or *"));
            }
            patterns.push((host.to_ascii_lowercase(), port));
        }
        Ok(Allow { patterns })
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.patterns.iter().any(|(pattern, want_port)| {
            let host_ok = match pattern.strip_prefix("*.") {
                _ if pattern == "*" => true,
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => *pattern == host,
            };
            host_ok && want_port.is_none_or(|p| p == port)
        })
    }

    fn describe(&self) -> String {
        if self.patterns.is_empty() {
            return "none".to_string();
        }
        let list: Vec<String> = self
            .patterns
            .iter()
            .map(|(h, p)| match p {
                Some(p) => format!("{h}:{p}"),
                None => h.clone(),
            })
            .collect();
        list.join(", ")
    }
}

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
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Err(ApiError::bad_request(format!("callback_url {url:?} has no host")));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !app.config.callback_allow.allows(host, port) {
        return Err(ApiError::bad_request(format!(
            "callback_url host {host}:{port} is not allowed here; allowed (--callback-allow): {}",
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
    let client = match reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("judge/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            warn!("callbacks disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
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
                    let client = client.clone();
                    tokio::spawn(async move { attempt(&app, &client, job).await })
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

async fn attempt(app: &App, client: &reqwest::Client, job: CallbackJob) {
    let deadline = job.created_ms + app.config.callback_retry.as_millis() as i64;
    let result = match post(app, client, &job).await {
        Ok(()) => {
            info!(id = %job.submission_id, attempt = job.attempts, "callback delivered");
            CallbackResult::Delivered
        }
        Err(error) => {
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

async fn post(app: &App, client: &reqwest::Client, job: &CallbackJob) -> Result<(), String> {
    let record = match app.store.get(&job.submission_id, 0).await {
        Ok(Some(record)) if matches!(record.state, State::Done(_)) => record,
        Ok(_) => return Err("the result is gone (expired)".to_string()),
        Err(e) => return Err(e.to_string()),
    };
    // A Judge0 submission's result goes as Judge0 sends it: PUT, its own shape.
    let (method, body) = match crate::judge0::callback_body(app, &record).await {
        Some(body) => (reqwest::Method::PUT, body),
        None => (reqwest::Method::POST, outcome::body_bytes(outcome::render(&record)).await),
    };
    let mut request = client.request(method.clone(), &job.url).header("content-type", "application/json");
    if let Some(secret) = &app.config.callback_secret {
        request = request.header("x-judge-signature", signature(secret.as_bytes(), &body));
    }
    let response = request.body(body).send().await.map_err(|e| format!("{method} {}: {e}", job.url))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{method} {}: answered {}", job.url, response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        let allow = Allow::parse(&["hooks.example.com,*.contest.org".into(), "127.0.0.1:9000".into()]).unwrap();
        assert!(allow.allows("hooks.example.com", 443));
        assert!(allow.allows("a.b.contest.org", 80));
        assert!(!allow.allows("contest.org", 80), "*.domain is subdomains only");
        assert!(!allow.allows("evilcontest.org", 80));
        assert!(allow.allows("127.0.0.1", 9000));
        assert!(!allow.allows("127.0.0.1", 9001));
        assert!(!Allow::default().allows("localhost", 80), "nothing by default");
        assert!(Allow::parse(&["*".into()]).unwrap().allows("anything", 1));
        assert!(Allow::parse(&["a*.com".into()]).is_err());
        assert!(Allow::parse(&["host:port".into()]).is_err());
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let mac = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
