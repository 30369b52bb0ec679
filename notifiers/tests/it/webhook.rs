//! Webhook against a real axum server on loopback.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use notifiers::webhook::verify_signature;
use notifiers::{Notifier, Secret, WebhookAuth, WebhookBody, WebhookConfig, WebhookNotifier};

use crate::notification;

#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(HeaderMap, Bytes)>>,
    status: AtomicU16,
    retry_after: Mutex<Option<String>>,
}

/// Starts a receiver answering every POST with `status`; returns its URL and what it saw.
async fn receiver(status: u16) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    seen.status.store(status, Ordering::SeqCst);
    async fn handle(
        State(seen): State<Arc<Seen>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, HeaderMap) {
        seen.requests.lock().unwrap().push((headers, body));
        let mut out = HeaderMap::new();
        if let Some(v) = seen.retry_after.lock().unwrap().clone() {
            out.insert("retry-after", v.parse().unwrap());
        }
        let status = StatusCode::from_u16(seen.status.load(Ordering::SeqCst)).unwrap();
        (status, out)
    }
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(handle))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[allow(clippy::disallowed_methods)] // the test checks the timestamp against the real clock
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn posts_alertmanager_payload_signed_with_headers_and_bearer() {
    let (url, seen) = receiver(200).await;
    let mut c = WebhookConfig::new(url);
    c.signing_secret = Some(Secret::new("shared-secret"));
    c.headers.push(("X-Team".into(), "storage".into()));
    c.auth = Some(WebhookAuth::Bearer(Secret::new("tok123")));
    let notifier = WebhookNotifier::new(c).unwrap();
    assert!(!format!("{notifier:?}").contains("shared-secret"));
    assert!(!format!("{notifier:?}").contains("tok123"));
    let receipt = notifier.deliver(&notification("key-1")).await.unwrap();
    assert_eq!(receipt.detail, "HTTP 200 OK");

    let requests = seen.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let (h, body) = &requests[0];
    let get = |name: &str| h.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(get("content-type"), "application/json");
    assert_eq!(get("idempotency-key"), "key-1");
    assert_eq!(get("x-team"), "storage");
    assert_eq!(get("authorization"), "Bearer tok123");
    assert!(verify_signature(
        b"shared-secret",
        &get("x-c5-timestamp"),
        &get("x-c5-signature"),
        body,
        now_unix(),
        Duration::from_secs(300),
    ));
    assert!(!verify_signature(
        b"another-secret",
        &get("x-c5-timestamp"),
        &get("x-c5-signature"),
        body,
        now_unix(),
        Duration::from_secs(300),
    ));

    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["version"], "4");
    assert_eq!(v["receiver"], "ops");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["groupKey"], "{}:{alertname=\"DiskFull\"}");
    assert_eq!(v["truncatedAlerts"], 0);
    assert_eq!(v["externalURL"], "http://notifyd.test");
    assert_eq!(v["groupLabels"]["alertname"], "DiskFull");
    assert_eq!(v["commonLabels"]["alertname"], "DiskFull");
    assert!(v["commonAnnotations"].as_object().unwrap().is_empty());
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    for field in [
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    ] {
        assert!(alerts[0].get(field).is_some(), "alert lacks {field}");
    }
    assert_eq!(alerts[1]["labels"]["instance"], "db2");
}

#[tokio::test]
async fn basic_auth_and_rendered_body() {
    let (url, seen) = receiver(204).await;
    let mut c = WebhookConfig::new(url);
    c.auth = Some(WebhookAuth::Basic {
        username: "u".into(),
        password: Secret::new("p"),
    });
    c.body = WebhookBody::Rendered {
        content_type: "text/plain; charset=utf-8".into(),
    };
    let mut n = notification("key-2");
    n.text = "custom body".into();
    WebhookNotifier::new(c).unwrap().deliver(&n).await.unwrap();
    let requests = seen.requests.lock().unwrap();
    let (h, body) = &requests[0];
    assert_eq!(h["authorization"], "Basic dTpw");
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(&body[..], b"custom body");
    assert!(h.get("x-c5-signature").is_none(), "no secret, no signature");
}

#[tokio::test]
async fn statuses_are_classified() {
    let (url, seen) = receiver(500).await;
    let notifier = WebhookNotifier::new(WebhookConfig::new(url)).unwrap();
    let n = notification("k");
    for (status, transient) in [
        (500, true),
        (503, true),
        (408, true),
        (400, false),
        (404, false),
    ] {
        seen.status.store(status, Ordering::SeqCst);
        let err = notifier.deliver(&n).await.unwrap_err();
        assert_eq!(err.is_transient(), transient, "{status}: {err}");
        assert_eq!(err.is_permanent(), !transient, "{status}: {err}");
        assert!(err.to_string().contains(&status.to_string()), "{err}");
    }
    seen.status.store(429, Ordering::SeqCst);
    *seen.retry_after.lock().unwrap() = Some("7".into());
    let err = notifier.deliver(&n).await.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn refused_is_transient_and_hanging_receiver_times_out() {
    let port = c5_testkit::free_port();
    let notifier =
        WebhookNotifier::new(WebhookConfig::new(format!("http://127.0.0.1:{port}/x"))).unwrap();
    let err = notifier.deliver(&notification("k")).await.unwrap_err();
    assert!(err.is_transient() && !err.is_timeout(), "{err}");

    let app = axum::Router::new().route(
        "/slow",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut c = WebhookConfig::new(format!("http://{}/slow", listener.local_addr().unwrap()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    c.timeout = Duration::from_millis(200);
    let err = WebhookNotifier::new(c)
        .unwrap()
        .deliver(&notification("k"))
        .await
        .unwrap_err();
    assert!(err.is_timeout() && err.is_transient(), "{err}");
}
