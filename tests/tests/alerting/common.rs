//! Shared parts of the alerting e2e tests: a real webhook receiver (axum on a loopback port), the
//! bridge from rules-engine transitions to notifyd alerts (as Prometheus sends them to
//! Alertmanager), and a pipeline that routes, groups, durably enqueues and dispatches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use hmac::{Hmac, KeyInit, Mac};
use notifiers::Notifier;
use notifyd::config::Config;
use notifyd::dispatch::{DispatchConfig, DispatchHandle, Dispatcher};
use notifyd::group::AlertIn;
use notifyd::outbox::Outbox;
use notifyd::policy::{Delivery, Policy};
use notifyd::receivers::Keys;
use rules_engine::alert::AlertState;
use rules_engine::engine::{Engine, Transition};
use rules_engine::input::Labels;

/// How long a test waits for a delivery before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A Unix time (ms) the scenarios start at: 2025-11-24T16:00:00Z.
pub const T0: i64 = 1_764_000_000_000;

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request path (`/hook/<name>`).
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw body (the signature covers these bytes).
    pub body: Vec<u8>,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// A header's value (panics when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    }
}

/// Requests received so far.
pub type Inbox = Arc<Mutex<Vec<Received>>>;

/// A multi-threaded runtime for the servers and the dispatcher; the test thread stays blocking
/// so it can wait with `c5_testkit::wait_until`.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts an HTTP server on a free loopback port answering `POST /hook/{name}` with 200 and
/// recording every request. Returns the base URL (`http://127.0.0.1:port/hook`).
pub fn webhook_receiver(rt: &tokio::runtime::Runtime) -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook/{name}",
            axum::routing::post(
                |State(s): State<Inbox>, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                    s.lock().unwrap().push(Received {
                        path: uri.path().to_owned(),
                        headers,
                        body: body.to_vec(),
                    });
                    "ok"
                },
            ),
        )
        .with_state(inbox.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), inbox)
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"), computed here independently of
/// the notifiers crate.
pub fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn label_set(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// What Prometheus sends Alertmanager for a transition: firing alerts (no end), and resolved
/// ones (ended at the resolution). Pending alerts are not sent.
pub fn alert_in(t: &Transition) -> Option<AlertIn> {
    let ends_at = match (t.from, t.to) {
        (_, AlertState::Firing) => None,
        (AlertState::Firing, AlertState::Inactive) => Some(t.resolved_at_ms.unwrap_or(t.at_ms)),
        _ => return None,
    };
    Some(AlertIn {
        labels: label_set(&t.labels),
        annotations: t.annotations.iter().cloned().collect(),
        starts_at: t.active_at_ms,
        ends_at,
        generator_url: String::new(),
    })
}

/// Prometheus re-sends every firing alert at each evaluation: these refresh the alerts in
/// notifyd (and must not cause repeated notifications).
pub fn firing_alerts(engine: &Engine) -> Vec<AlertIn> {
    engine
        .alerts()
        .filter(|(_, _, a)| a.state == AlertState::Firing)
        .map(|(_, _, a)| AlertIn {
            labels: label_set(&a.labels),
            annotations: a.annotations.iter().cloned().collect(),
            starts_at: a.active_at_ms,
            ends_at: None,
            generator_url: String::new(),
        })
        .collect()
}

/// notifyd's delivery half: policy (route, group, silence, render) → durable outbox →
/// dispatcher → real notifiers.
pub struct Pipeline {
    /// Routing, grouping and silences.
    pub policy: Policy,
    /// Enqueues into the outbox and wakes the dispatcher.
    pub handle: DispatchHandle,
    /// Every delivery the policy produced, in order.
    pub produced: Vec<Delivery>,
    _dir: tempfile::TempDir,
}

impl Pipeline {
    /// Builds every receiver's notifiers (decrypting secrets with `keys`), opens an outbox in a
    /// fresh directory and starts the dispatcher on `rt`.
    pub fn start(rt: &tokio::runtime::Runtime, config: Config, keys: &mut Keys<'_>) -> Pipeline {
        // Notifiers (lettre's pool) and the dispatcher are built inside the runtime.
        let _guard = rt.enter();
        let mut notifiers: HashMap<String, Arc<dyn Notifier>> = HashMap::new();
        for r in &config.receivers {
            for (name, c) in r.notifier_configs_with(keys).unwrap() {
                notifiers.insert(name, c.build().unwrap());
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let outbox = Arc::new(Outbox::open(&dir.path().join("outbox.db")).unwrap());
        let dispatcher = Dispatcher::new(outbox, notifiers, DispatchConfig::default());
        let (handle, _join) = dispatcher.start(std::future::pending());
        Pipeline {
            policy: Policy::new(config, "http://notifyd.test"),
            handle,
            produced: Vec::new(),
            _dir: dir,
        }
    }

    /// Feeds one evaluation's transitions and refreshed firing alerts at `now`, then flushes
    /// due groups and durably enqueues what they produced.
    pub fn step(&mut self, now: i64, transitions: &[Transition], firing: Vec<AlertIn>) {
        for a in firing {
            self.policy.ingest(a, now);
        }
        for a in transitions.iter().filter_map(alert_in) {
            self.policy.ingest(a, now);
        }
        self.tick(now);
    }

    /// Flushes groups due at `now`, enqueues their notifications and waits until they are
    /// delivered.
    pub fn tick(&mut self, now: i64) {
        let out = self.policy.tick(now);
        if out.is_empty() {
            return;
        }
        let items: Vec<(&str, &notifiers::Notification)> = out
            .iter()
            .map(|d| (d.target.as_str(), &d.notification))
            .collect();
        self.handle.enqueue_many(&items).unwrap();
        self.produced.extend(out);
        // Scenario time runs far faster than real time: let this flush be delivered before the
        // next one is produced, as a minute of real time would, so receivers see them in order
        // (the dispatcher does not order deliveries of one group).
        self.wait_drained();
    }

    /// Waits until the outbox holds nothing pending: everything enqueued was delivered (or
    /// dead-lettered, which the caller checks), so no further request can arrive.
    pub fn wait_drained(&self) {
        c5_testkit::wait_until(WAIT, "the outbox to drain", || {
            self.handle.outbox().pending().unwrap().is_empty()
        });
        assert!(
            self.handle.outbox().dead_letters().unwrap().is_empty(),
            "nothing dead-lettered"
        );
    }
}

/// `firing` or `resolved`, as in the webhook payload.
pub fn status(n: &notifiers::Notification) -> &'static str {
    match n.status {
        notifiers::AlertStatus::Firing => "firing",
        notifiers::AlertStatus::Resolved => "resolved",
    }
}
