//! Receiver secrets given as c5store-encrypted values (`{.c5encval: [age, ...]}`): decrypted with
//! the keyring when the notifiers are built, used on the wire (HMAC signature, bearer token against
//! a real HTTP server), and never shown in `Debug`, errors or config diagnostics.
#![allow(clippy::unwrap_used)] // helpers in a test binary: a failed unwrap is a failed test
#![allow(clippy::disallowed_methods)] // the signature check compares with the real clock

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use c5store::secret::Keyring;
use c5store::secret::c5encval::{encrypt_age, parse_recipient};
use notifiers::{Alert, AlertStatus, Notification, NotifierConfig};
use notifyd::config::parse_str;
use notifyd::receivers::Keys;

const HMAC: &str = "hmac-plaintext-4242";
const BEARER: &str = "bearer-plaintext-4343";

type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

async fn serve() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(s): State<Seen>, h: HeaderMap, body: Bytes| async move {
                    s.lock().unwrap().push((h, body.to_vec()));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

/// A fresh age identity and a keyring holding it.
fn key() -> (age::x25519::Identity, Keyring) {
    let id = age::x25519::Identity::generate();
    let mut k = Keyring::new();
    k.add_x25519(id.clone(), "test key");
    (id, k)
}

fn encrypt(id: &age::x25519::Identity, plaintext: &str) -> String {
    let r = parse_recipient(&id.to_public().to_string()).unwrap();
    encrypt_age(&[r], plaintext.as_bytes()).unwrap()
}

fn config_yaml(url: &str, hmac_payload: &str, bearer_payload: &str) -> String {
    format!(
        "route: {{receiver: hook}}\n\
         receivers:\n\
         - name: hook\n\
         \x20 webhook_configs:\n\
         \x20 - url: '{url}'\n\
         \x20   hmac_secret: {{.c5encval: [age, test, \"{hmac_payload}\"]}}\n\
         \x20   http_config:\n\
         \x20     authorization: {{credentials: {{.c5encval: [age, test, \"{bearer_payload}\"]}}}}\n"
    )
}

fn notification() -> Notification {
    let labels: BTreeMap<String, String> = [("alertname".to_owned(), "Secret".to_owned())].into();
    Notification {
        receiver: "hook".into(),
        status: AlertStatus::Firing,
        alerts: vec![Alert {
            status: AlertStatus::Firing,
            labels: labels.clone(),
            annotations: BTreeMap::new(),
            starts_at: "2026-11-25T10:00:00Z".into(),
            ends_at: "0001-01-01T00:00:00Z".into(),
            generator_url: String::new(),
            fingerprint: "f".into(),
        }],
        group_labels: labels.clone(),
        common_labels: labels,
        common_annotations: BTreeMap::new(),
        external_url: "http://notifyd.test".into(),
        group_key: "{}:{alertname=\"Secret\"}".into(),
        truncated_alerts: 0,
        idempotency_key: "k-1".into(),
        title: String::new(),
        text: String::new(),
        html: String::new(),
    }
}

#[tokio::test]
async fn encrypted_hmac_secret_and_token_sign_real_requests_and_never_show() {
    let (id, keyring) = key();
    let (hmac_payload, bearer_payload) = (encrypt(&id, HMAC), encrypt(&id, BEARER));
    let (url, seen) = serve().await;
    let yaml = config_yaml(&url, &hmac_payload, &bearer_payload);
    let loaded = parse_str(&yaml, "notifyd.yml").unwrap();
    let receiver = loaded.config.receiver("hook").unwrap();
    let debug = format!("{:?} {receiver:?}", loaded.config);
    for hidden in [HMAC, BEARER, &hmac_payload, &bearer_payload] {
        assert!(
            !debug.contains(hidden),
            "Debug of the config shows a secret"
        );
    }

    let configs = receiver
        .notifier_configs_with(&mut Keys::Given(&keyring))
        .unwrap();
    let NotifierConfig::Webhook(w) = &configs[0].1 else {
        panic!("not a webhook")
    };
    assert_eq!(w.signing_secret.as_ref().unwrap().expose(), HMAC);
    let debug = format!("{configs:?}");
    assert!(!debug.contains(HMAC) && !debug.contains(BEARER), "{debug}");

    let notifier = configs[0].1.clone().build().unwrap();
    notifier.deliver(&notification()).await.unwrap();
    let (headers, body) = seen.lock().unwrap()[0].clone();
    let header = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("authorization"), format!("Bearer {BEARER}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(notifiers::webhook::verify_signature(
        HMAC.as_bytes(),
        &header(notifiers::webhook::TIMESTAMP_HEADER),
        &header(notifiers::webhook::SIGNATURE_HEADER),
        &body,
        now,
        Duration::from_secs(300),
    ));

    // A failed delivery's error does not carry the secrets either.
    let mut dead = w.clone();
    dead.url = format!(
        "http://127.0.0.1:{}/hook?token=url-token-4545",
        c5_testkit::free_port()
    );
    let err = NotifierConfig::Webhook(dead)
        .build()
        .unwrap()
        .deliver(&notification())
        .await
        .unwrap_err();
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&s.to_string());
        source = s.source();
    }
    for hidden in [HMAC, BEARER, "url-token-4545"] {
        assert!(!text.contains(hidden), "{text}");
    }
    assert!(err.is_transient(), "refused: retried later");
}

#[test]
fn a_value_the_keys_cannot_open_is_an_error_naming_the_position_not_the_value() {
    let (id, _) = key();
    let (_, other_keys) = key();
    let hmac_payload = encrypt(&id, HMAC);
    let bearer_payload = encrypt(&id, BEARER);
    let yaml = config_yaml("http://127.0.0.1:9/x", &hmac_payload, &bearer_payload);
    let loaded = parse_str(&yaml, "notifyd.yml").unwrap();
    let err = loaded
        .config
        .receiver("hook")
        .unwrap()
        .notifier_configs_with(&mut Keys::Given(&other_keys))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("receiver \"hook\": bearer_token at notifyd.yml:8:"),
        "{err}"
    );
    assert!(err.contains("cannot decrypt: no identity"), "{err}");
    for hidden in [HMAC, BEARER, &hmac_payload, &bearer_payload] {
        assert!(!err.contains(hidden), "{err}");
    }
    // No key at all: an error too; adding the right key makes it work.
    let mut empty = Keyring::new();
    let err = loaded
        .config
        .receiver("hook")
        .unwrap()
        .notifier_configs_with(&mut Keys::Given(&empty))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot decrypt"), "{err}");
    empty.add_x25519(id, "right key");
    assert!(
        loaded
            .config
            .receiver("hook")
            .unwrap()
            .notifier_configs_with(&mut Keys::Given(&empty))
            .is_ok()
    );
}

#[test]
fn a_malformed_encrypted_value_is_a_config_error_with_position() {
    let yaml = "route: {receiver: hook}\n\
                receivers:\n\
                - name: hook\n\
                \x20 webhook_configs:\n\
                \x20 - url: 'http://127.0.0.1:9/x'\n\
                \x20   hmac_secret: {.c5encval: [age, only-two]}\n";
    let err = parse_str(yaml, "bad.yml").unwrap_err().to_string();
    assert!(
        err.contains("bad.yml:6:18: error:")
            && err.contains("`hmac_secret` must be a string or an encrypted value"),
        "{err}"
    );
}
