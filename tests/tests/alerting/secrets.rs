//! Config with an encrypted receiver secret: the webhook's HMAC key is a c5store `.c5encval`
//! value (age), decrypted with a c5store keyring loaded from an identity file when the notifiers
//! are built. The requests verify with the plaintext, which never shows in any `Debug` output.

use std::io::Write;

use age::secrecy::ExposeSecret;
use c5store::secret::Keyring;
use c5store::secret::c5encval::{encrypt_age, parse_recipient};
use notifyd::config::load_file;
use notifyd::receivers::Keys;
use rules_engine::engine::{Engine, EngineConfig, Event};
use rules_engine::input::{Labels, Sample};
use rules_engine::rule::load_rule_file;

use crate::common::{Pipeline, T0, expected_signature, firing_alerts, runtime, webhook_receiver};

const PLAINTEXT: &str = "hmac-from-c5store-7f3a9c";

const RULES: &str = r#"
groups:
  - name: up
    interval: 15s
    rules:
      - alert: InstanceDown
        expr: up == 0
        annotations:
          summary: '{{ $labels.instance }} is down'
"#;

#[test]
fn encrypted_webhook_secret_signs_requests_and_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    // An age identity in a key file, loaded by c5store's keyring as notifyd does.
    let identity = age::x25519::Identity::generate();
    let key_file = dir.path().join("prod.agekey");
    {
        let mut f = std::fs::OpenOptions::new();
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        let mut f = f.write(true).create_new(true).open(&key_file).unwrap();
        writeln!(f, "{}", identity.to_string().expose_secret()).unwrap();
    }
    let mut keyring = Keyring::new();
    assert_eq!(keyring.load_file(&key_file).unwrap(), 1);
    assert!(keyring.warnings().is_empty(), "{:?}", keyring.warnings());
    let recipient = parse_recipient(&identity.to_public().to_string()).unwrap();
    let payload = encrypt_age(&[recipient], PLAINTEXT.as_bytes()).unwrap();

    let rt = runtime();
    let (webhook, inbox) = webhook_receiver(&rt);
    let config_file = dir.path().join("notifyd.yml");
    let yaml = format!(
        "route: {{receiver: ops, group_by: [alertname], group_wait: 0s}}\n\
         receivers:\n\
         - name: ops\n\
         \x20 webhook_configs:\n\
         \x20 - url: '{webhook}/ops'\n\
         \x20   hmac_secret: {{.c5encval: [age, prod, \"{payload}\"]}}\n"
    );
    std::fs::write(&config_file, &yaml).unwrap();
    assert!(!yaml.contains(PLAINTEXT), "the file holds only ciphertext");
    let loaded = load_file(&config_file).unwrap();
    let receiver = loaded.config.receiver("ops").unwrap();
    let configs = receiver
        .notifier_configs_with(&mut Keys::Given(&keyring))
        .unwrap();

    let mut pipe = Pipeline::start(&rt, loaded.config.clone(), &mut Keys::Given(&keyring));
    let groups = load_rule_file("up.rules.yml", RULES).unwrap();
    let mut engine = Engine::new(groups, EngineConfig::default());
    let up = Labels::from_pairs([("__name__", "up"), ("instance", "api-1"), ("job", "api")]);
    engine.observe(Event::Sample(Sample {
        labels: up,
        t_ms: T0,
        value: 0.0,
    }));
    let tr = engine.evaluate(T0);
    assert_eq!(tr.len(), 1, "{tr:?}");
    let firing = firing_alerts(&engine);
    pipe.step(T0, &tr, firing);
    pipe.wait_drained();

    let got = inbox.lock().unwrap();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(
        req.json()["alerts"][0]["annotations"]["summary"],
        "api-1 is down"
    );
    let ts = req.header("x-c5-timestamp");
    assert_eq!(
        req.header("x-c5-signature"),
        expected_signature(PLAINTEXT, &ts, &req.body),
        "signed with the decrypted secret"
    );

    let debug = format!(
        "{:?} {:?} {configs:?} {:?} {:?} {:?} {:?}",
        loaded.config, loaded.warnings, pipe.policy, pipe.produced, pipe.handle, keyring
    );
    assert!(
        !debug.contains(PLAINTEXT),
        "a Debug output shows the secret"
    );
    assert!(
        !debug.contains(&payload),
        "a Debug output shows the ciphertext"
    );
}
