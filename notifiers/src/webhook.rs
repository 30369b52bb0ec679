//! Webhook delivery: POST JSON (Alertmanager's payload by default) with timeouts, auth, custom
//! headers, an `Idempotency-Key` and an HMAC-SHA256 signature against tampering and replays.
//!
//! # Signature
//!
//! When a signing secret is configured every request carries two headers:
//!
//! - `X-C5-Timestamp: <unix seconds>` — when the request was signed;
//! - `X-C5-Signature: sha256=<hex>` — lowercase hex of HMAC-SHA256 keyed with the secret's UTF-8
//!   bytes over the exact bytes `<timestamp>` `.` `<body>`: the decimal timestamp as sent in the
//!   header, one ASCII full stop, then the raw request body.
//!
//! A receiver recomputes the HMAC over what it received, compares in constant time, and rejects
//! timestamps too far from its own clock (a few minutes) so a captured request cannot be replayed
//! later. [`verify_signature`] does exactly that.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use sha2::Sha256;

use crate::notifier::DeliverFuture;
use crate::payload::{WebhookPayload, default_text};
use crate::{BuildError, DeliveryError, Notification, Notifier, Receipt, Secret};

/// Header carrying the signing time (unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-c5-timestamp";
/// Header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-c5-signature";
/// Header carrying the notification's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// How the request authenticates itself.
#[derive(Clone, Debug)]
pub enum WebhookAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic ...`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
}

/// What the request body is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WebhookBody {
    /// Alertmanager's webhook JSON, version "4" (the default): existing receivers work unchanged.
    #[default]
    AlertmanagerV4,
    /// The notification's rendered `text` (from the daemon's body template) sent as is.
    Rendered {
        /// Content type of the rendered body, e.g. `application/json`.
        content_type: String,
    },
}

/// Configuration of one webhook receiver. `Debug` shows only the URL's scheme, host and port:
/// webhook URLs often carry a token (Alertmanager treats them as secrets).
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Optional authentication.
    pub auth: Option<WebhookAuth>,
    /// Optional HMAC signing secret (see the module docs for what is signed).
    pub signing_secret: Option<Secret>,
    /// Body format.
    pub body: WebhookBody,
    /// Keep at most this many alerts in the payload (0 = all), like Alertmanager's `max_alerts`.
    pub max_alerts: usize,
    /// Extra trusted CA certificates (PEM) for HTTPS receivers with a private CA.
    pub extra_root_certs_pem: Vec<Vec<u8>>,
}

impl WebhookConfig {
    /// A config for `url` with 10 s timeouts and the Alertmanager body.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            headers: Vec::new(),
            auth: None,
            signing_secret: None,
            body: WebhookBody::AlertmanagerV4,
            max_alerts: 0,
            extra_root_certs_pem: Vec::new(),
        }
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_url(&self.url))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("headers", &self.headers)
            .field("auth", &self.auth)
            .field("signing_secret", &self.signing_secret)
            .field("body", &self.body)
            .field("max_alerts", &self.max_alerts)
            .field("extra_root_certs_pem", &self.extra_root_certs_pem.len())
            .finish()
    }
}

/// `scheme://host:port/<redacted>`: enough to tell receivers apart, without path, query or
/// credentials.
pub fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/<redacted>",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "<redacted>".to_owned(),
    }
}

/// Delivers notifications by HTTP POST. Cheap to share: the client pools connections.
pub struct WebhookNotifier {
    client: reqwest::Client,
    config: WebhookConfig,
    /// `config.url`, parsed once.
    url: reqwest::Url,
    headers: HeaderMap,
    /// The body's content type, validated once.
    content_type: HeaderValue,
}

impl WebhookNotifier {
    /// Validates the config and builds the HTTP client.
    pub fn new(config: WebhookConfig) -> Result<Self, BuildError> {
        crate::tls::install_ring_provider();
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| BuildError::new(format!("webhook url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BuildError::new(format!(
                "webhook url {}: scheme must be http or https",
                redacted_url(&config.url)
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| BuildError::new(format!("webhook header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| BuildError::new(format!("webhook header {name} value: {e}")))?;
            headers.insert(name, value);
        }
        let content_type = match &config.body {
            WebhookBody::AlertmanagerV4 => HeaderValue::from_static("application/json"),
            WebhookBody::Rendered { content_type } => HeaderValue::from_str(content_type)
                .map_err(|e| BuildError::new(format!("webhook content type: {e}")))?,
        };
        let mut certs = Vec::new();
        for pem in &config.extra_root_certs_pem {
            certs.push(
                reqwest::Certificate::from_pem(pem)
                    .map_err(|e| BuildError::new(format!("webhook CA certificate: {e}")))?,
            );
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // No transport-level retries: the dispatcher retries with backoff (and the
            // idempotency key); reqwest's retry layer would also copy every request's headers
            // and extensions up front, in case it retries.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .tcp_nodelay(true);
        if !certs.is_empty() {
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| BuildError::new(format!("webhook client: {e}")))?;
        Ok(Self {
            client,
            config,
            url,
            headers,
            content_type,
        })
    }

    fn body(&self, n: &Notification) -> Result<Vec<u8>, DeliveryError> {
        match &self.config.body {
            WebhookBody::AlertmanagerV4 => {
                let payload = WebhookPayload::new(n, self.config.max_alerts);
                // Pre-sized: a one-alert payload is about 600 bytes, so most need no regrowth.
                let mut body = Vec::with_capacity(1024);
                serde_json::to_writer(&mut body, &payload).map_err(|e| {
                    DeliveryError::permanent("cannot encode webhook payload").with_source(e)
                })?;
                Ok(body)
            }
            WebhookBody::Rendered { .. } => {
                let text = if n.text.is_empty() {
                    default_text(n)
                } else {
                    n.text.clone()
                };
                Ok(text.into_bytes())
            }
        }
    }

    async fn send(&self, n: &Notification) -> Result<Receipt, DeliveryError> {
        let body = self.body(n)?;
        let mut request = self.client.post(self.url.clone());
        if !self.headers.is_empty() {
            request = request.headers(self.headers.clone());
        }
        // After the custom headers: the body's own content type wins.
        request = request.header(CONTENT_TYPE, self.content_type.clone());
        if !n.idempotency_key.is_empty() {
            request = request.header(IDEMPOTENCY_HEADER, &n.idempotency_key);
        }
        if let Some(secret) = &self.config.signing_secret {
            let timestamp = unix_now();
            request = request
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(
                    SIGNATURE_HEADER,
                    sign(secret.expose().as_bytes(), timestamp, &body),
                );
        }
        request = match &self.config.auth {
            Some(WebhookAuth::Bearer(token)) => request.bearer_auth(token.expose()),
            Some(WebhookAuth::Basic { username, password }) => {
                request.basic_auth(username, Some(password.expose()))
            }
            None => request,
        };
        let response = request.body(body).send().await.map_err(classify)?;
        let status = response.status();
        if status.is_success() {
            return Ok(Receipt {
                detail: format!("HTTP {status}"),
            });
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let message = format!("webhook answered HTTP {status}");
        let error = if is_transient_status(status) {
            DeliveryError::transient(message)
        } else {
            DeliveryError::permanent(message)
        };
        Err(match retry_after {
            Some(after) => error.with_retry_after(after),
            None => error,
        })
    }
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Notifier for WebhookNotifier {
    fn deliver<'a>(&'a self, notification: &'a Notification) -> DeliverFuture<'a> {
        Box::pin(self.send(notification))
    }
}

/// 5xx, 429 (too many requests) and 408 (request timeout) may succeed later; other statuses not.
fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// Maps a transport error: timeouts are timeouts, a bad request is permanent, the rest (refused,
/// reset, DNS, TLS handshake) is transient. The URL is left out of the error.
fn classify(e: reqwest::Error) -> DeliveryError {
    // reqwest names the URL in its message; the URL may carry a token.
    let e = e.without_url();
    if e.is_timeout() {
        DeliveryError::timeout("webhook timed out").with_source(e)
    } else if e.is_builder() {
        DeliveryError::permanent("webhook request is invalid").with_source(e)
    } else if e.is_connect() {
        DeliveryError::transient("webhook connection failed").with_source(e)
    } else {
        DeliveryError::transient("webhook request failed").with_source(e)
    }
}

/// The signature header value for `body` signed at `timestamp`: `sha256=<hex>` of
/// HMAC-SHA256(`secret`, `"<timestamp>." + body`).
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Checks a received request: the signature must match (constant-time comparison) and the
/// timestamp must lie within `tolerance` of `now_unix`.
pub fn verify_signature(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: u64,
    tolerance: Duration,
) -> bool {
    let Ok(timestamp) = timestamp_header.trim().parse::<u64>() else {
        return false;
    };
    if now_unix.abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    let Some(expected) = signature_header
        .trim()
        .strip_prefix("sha256=")
        .and_then(unhex)
    else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(timestamp_header.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Seconds since the epoch for the signature timestamp.
#[allow(clippy::disallowed_methods)] // the transport edge stamps the request with the real time
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_build_errors_do_not_show_the_url_path_query_or_credentials() {
        let url = "https://user:pw@hooks.example.org:8443/T0/tok-123?key=k-456";
        let n = WebhookNotifier::new(WebhookConfig::new(url)).unwrap();
        let debug = format!("{n:?}");
        assert!(
            debug.contains("https://hooks.example.org:8443/<redacted>"),
            "{debug}"
        );
        for hidden in ["pw", "tok-123", "k-456", "user"] {
            assert!(!debug.contains(hidden), "{hidden} in {debug}");
        }
        let err = WebhookNotifier::new(WebhookConfig::new("ftp://h/tok-123"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("tok-123") && err.contains("scheme"), "{err}");
    }

    #[test]
    fn signature_round_trips_and_rejects_tampering_and_replays() {
        let sig = sign(b"s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64, "{sig}");
        let ok = |ts: &str, sig: &str, body: &[u8], now| {
            verify_signature(b"s3cret", ts, sig, body, now, Duration::from_secs(300))
        };
        assert!(ok("1700000000", &sig, b"{\"a\":1}", 1_700_000_100));
        assert!(
            !ok("1700000000", &sig, b"{\"a\":2}", 1_700_000_100),
            "body changed"
        );
        assert!(
            !ok("1700000001", &sig, b"{\"a\":1}", 1_700_000_100),
            "timestamp changed"
        );
        assert!(
            !ok("1700000000", &sig, b"{\"a\":1}", 1_700_001_000),
            "replayed late"
        );
        assert!(!verify_signature(
            b"other",
            "1700000000",
            &sig,
            b"{\"a\":1}",
            1_700_000_000,
            Duration::from_secs(300)
        ));
    }

    #[test]
    fn status_classes() {
        for (code, transient) in [(500, true), (503, true), (429, true), (408, true)] {
            assert_eq!(
                is_transient_status(StatusCode::from_u16(code).unwrap()),
                transient
            );
        }
        for code in [400, 401, 404, 410, 422, 301] {
            assert!(!is_transient_status(StatusCode::from_u16(code).unwrap()));
        }
    }

    #[test]
    fn bad_urls_and_headers_are_build_errors() {
        assert!(WebhookNotifier::new(WebhookConfig::new("not a url")).is_err());
        assert!(WebhookNotifier::new(WebhookConfig::new("ftp://x/")).is_err());
        let mut c = WebhookConfig::new("http://127.0.0.1:1/");
        c.headers.push(("bad header".into(), "v".into()));
        assert!(WebhookNotifier::new(c).is_err());
    }
}
