//! Delivery fault tests against real servers: aiosmtpd down then up, webhook receivers failing,
//! rejecting and hanging, and a dispatcher process killed with SIGKILL mid-delivery.
#![allow(clippy::unwrap_used)] // helpers in a test binary: a failed unwrap is a failed test
#![allow(clippy::disallowed_methods)] // the tests measure retry gaps with the real clock

mod faults;
mod kill;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use notifiers::{Alert, AlertStatus, Notification, Notifier};
use notifyd::dispatch::{DispatchConfig, Dispatcher};
use notifyd::outbox::Outbox;
use notifyd::outbox::policy::RetryPolicy;

/// A notification for group `group` with the key left for the outbox to fill in.
pub fn notification(group: &str) -> Notification {
    Notification {
        receiver: "ops".into(),
        status: AlertStatus::Firing,
        alerts: vec![Alert {
            status: AlertStatus::Firing,
            labels: [("alertname".to_owned(), group.to_owned())].into(),
            annotations: BTreeMap::new(),
            starts_at: "2026-11-25T10:00:00Z".into(),
            ends_at: "0001-01-01T00:00:00Z".into(),
            generator_url: String::new(),
            fingerprint: format!("fp-{group}"),
        }],
        group_labels: [("alertname".to_owned(), group.to_owned())].into(),
        common_labels: [("alertname".to_owned(), group.to_owned())].into(),
        common_annotations: BTreeMap::new(),
        external_url: "http://notifyd.test".into(),
        group_key: format!("{{}}:{{alertname=\"{group}\"}}"),
        truncated_alerts: 0,
        idempotency_key: String::new(),
        title: String::new(),
        text: String::new(),
        html: String::new(),
    }
}

/// Fast retries for tests.
pub fn fast_config() -> DispatchConfig {
    DispatchConfig {
        retry: RetryPolicy {
            initial: Duration::from_millis(60),
            multiplier: 2.0,
            max: Duration::from_secs(2),
            jitter: 0.2,
            deadline: Duration::from_secs(60),
        },
        poll_interval: Duration::from_millis(50),
        ..DispatchConfig::default()
    }
}

/// Starts a dispatcher with one notifier as target `t`.
pub fn dispatcher(
    outbox: &Arc<Outbox>,
    notifier: Arc<dyn Notifier>,
    config: DispatchConfig,
) -> (
    notifyd::dispatch::DispatchHandle,
    tokio::task::JoinHandle<Result<(), notifyd::outbox::OutboxError>>,
) {
    let notifiers: HashMap<String, Arc<dyn Notifier>> = [("t".to_owned(), notifier)].into();
    Dispatcher::new(outbox.clone(), notifiers, config).start(std::future::pending())
}

/// Waits for `cond` with a deadline, polling on the runtime.
pub async fn until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(timeout, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after {timeout:?} waiting for {what}"));
}

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Request {
    /// When it arrived.
    pub at: Instant,
    /// Its `Idempotency-Key`.
    pub key: String,
    /// Its body.
    pub body: Bytes,
}

/// A webhook receiver whose answer to the n-th request (0-based) is `respond(n)`: a status and
/// how long to wait before answering.
pub struct Receiver {
    /// Where to POST.
    pub url: String,
    /// Requests in arrival order.
    pub requests: Arc<Mutex<Vec<Request>>>,
}

type Respond = Arc<dyn Fn(usize) -> (u16, Duration) + Send + Sync>;

impl Receiver {
    /// Starts the receiver on a loopback port.
    pub async fn start(respond: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static) -> Self {
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let state = (requests.clone(), Arc::new(respond) as Respond);
        async fn handle(
            State((requests, respond)): State<(Arc<Mutex<Vec<Request>>>, Respond)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            let key = headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let n = {
                let mut r = requests.lock().unwrap();
                r.push(Request {
                    at: Instant::now(),
                    key,
                    body,
                });
                r.len() - 1
            };
            let (status, delay) = respond(n);
            tokio::time::sleep(delay).await;
            StatusCode::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(handle))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, requests }
    }

    /// A copy of the requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}
