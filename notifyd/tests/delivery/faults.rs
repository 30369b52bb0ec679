//! Each failure mode of a receiver, against a real server.

use std::sync::Arc;
use std::time::Duration;

use c5_testkit::{Smtp, free_port};
use notifiers::{EmailConfig, EmailNotifier, SmtpSecurity, WebhookConfig, WebhookNotifier};
use notifyd::outbox::Outbox;

use crate::{Receiver, dispatcher, fast_config, notification, until};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_for_a_while_then_up_is_delivered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("o.db")).unwrap());
    let port = free_port();
    let mut c = EmailConfig::new("127.0.0.1", "alerts@c5.test", vec!["ops@c5.test".into()]);
    c.port = Some(port);
    c.security = SmtpSecurity::PlainLoopbackOnly;
    c.timeout = Duration::from_secs(5);
    let (h, join) = dispatcher(
        &outbox,
        Arc::new(EmailNotifier::new(c).unwrap()),
        fast_config(),
    );
    h.enqueue("t", &notification("SmtpDown")).unwrap();
    until("two refused attempts", WAIT, || {
        outbox
            .pending()
            .unwrap()
            .first()
            .is_some_and(|e| e.attempts >= 2)
    })
    .await;
    let pending = outbox.pending().unwrap();
    let error = pending[0].last_error.clone().unwrap();
    assert!(error.contains("SMTP connection failed"), "{error}");

    let smtp = tokio::task::spawn_blocking(move || Smtp::start_on(port))
        .await
        .unwrap();
    until("delivered", WAIT, || outbox.pending().unwrap().is_empty()).await;
    until("in the maildir", WAIT, || smtp.messages().len() == 1).await;
    let key = &pending[0].notification.idempotency_key;
    assert!(outbox.was_delivered("t", key).unwrap());
    assert!(outbox.dead_letters().unwrap().is_empty());
    let m = &smtp.messages()[0];
    assert!(m.contains(&format!("X-C5-Idempotency-Key: {key}")), "{m}");
    assert_eq!(smtp.messages().len(), 1, "exactly once");
    join.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_500_then_200_is_retried_with_growing_delays() {
    let receiver = Receiver::start(|n| (if n < 3 { 500 } else { 200 }, Duration::ZERO)).await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("o.db")).unwrap());
    let notifier = Arc::new(WebhookNotifier::new(WebhookConfig::new(&receiver.url)).unwrap());
    let (h, join) = dispatcher(&outbox, notifier, fast_config());
    h.enqueue("t", &notification("Flaky")).unwrap();
    until("delivered", WAIT, || outbox.pending().unwrap().is_empty()).await;
    let r = receiver.requests();
    assert_eq!(r.len(), 4, "three 500s then one 200");
    assert!(r.iter().all(|q| q.key == r[0].key && q.body == r[0].body));
    assert!(outbox.was_delivered("t", &r[0].key).unwrap());
    let gaps: Vec<Duration> = r.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(45), "{gaps:?}");
    assert!(
        gaps[1] > gaps[0] && gaps[2] > gaps[1],
        "delays grow: {gaps:?}"
    );
    join.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_400_is_dead_lettered_without_retry_and_requeued_from_the_cli() {
    // The first request is rejected, later ones accepted: an (illegal) automatic retry after the
    // 400 would deliver it instead of dead-lettering it, and add a request to the count below.
    let receiver = Receiver::start(|n| (if n == 0 { 400 } else { 200 }, Duration::ZERO)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let outbox = Arc::new(Outbox::open(&db).unwrap());
    let notifier = Arc::new(WebhookNotifier::new(WebhookConfig::new(&receiver.url)).unwrap());
    let (h, join) = dispatcher(&outbox, notifier, fast_config());
    h.enqueue("t", &notification("Rejected")).unwrap();
    until("dead-lettered", WAIT, || {
        outbox.dead_letters().unwrap().len() == 1
    })
    .await;
    let dead = outbox.dead_letters().unwrap()[0].clone();
    assert_eq!((dead.reason.as_str(), dead.attempts), ("permanent", 1));
    assert!(dead.error.contains("400"), "{}", dead.error);
    assert!(outbox.pending().unwrap().is_empty());

    let notifyd = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_notifyd"))
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    let text = notifyd(&["outbox", "dead-letters"]);
    assert!(
        text.contains("target=t reason=permanent attempts=1"),
        "{text}"
    );
    assert!(text.contains(&dead.notification.idempotency_key), "{text}");
    assert!(text.starts_with(&format!("#{} ", dead.id)), "{text}");
    assert_eq!(
        notifyd(&["outbox", "status"]),
        "t: 0 pending (0 retrying), 0 delivered (records kept), 1 dead letter(s)\n"
    );

    let missing = (dead.id + 100).to_string();
    let text = notifyd(&["outbox", "requeue", &missing]);
    assert_eq!(
        text,
        format!("#{missing}: no such dead letter\nrequeued 0 of 0 dead letter(s)\n")
    );
    let text = notifyd(&["outbox", "requeue", &dead.id.to_string()]);
    assert_eq!(text, "requeued 1 of 1 dead letter(s)\n");
    // The running dispatcher finds the requeued entry at its next rescan and delivers it.
    until("delivered after requeue", WAIT, || {
        outbox
            .was_delivered("t", &dead.notification.idempotency_key)
            .unwrap()
    })
    .await;
    assert!(outbox.dead_letters().unwrap().is_empty());
    assert!(outbox.pending().unwrap().is_empty());
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "the 400, then the requeued delivery");
    assert!(
        requests
            .iter()
            .all(|r| r.key == dead.notification.idempotency_key)
    );
    assert_eq!(notifyd(&["outbox", "dead-letters"]), "no dead letters\n");
    assert_eq!(
        notifyd(&["outbox", "status"]),
        "t: 0 pending (0 retrying), 1 delivered (records kept), 0 dead letter(s)\n"
    );
    join.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_receiver_times_out_then_retry_succeeds() {
    let receiver = Receiver::start(|n| {
        if n == 0 {
            (200, Duration::from_secs(30))
        } else {
            (200, Duration::ZERO)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("o.db")).unwrap());
    let mut wc = WebhookConfig::new(&receiver.url);
    wc.timeout = Duration::from_millis(300);
    let (h, join) = dispatcher(
        &outbox,
        Arc::new(WebhookNotifier::new(wc).unwrap()),
        fast_config(),
    );
    h.enqueue("t", &notification("Hang")).unwrap();
    until("first attempt timed out", WAIT, || {
        outbox.pending().unwrap().first().is_some_and(|e| {
            e.attempts == 1
                && e.last_error
                    .as_deref()
                    .is_some_and(|x| x.contains("timed out"))
        })
    })
    .await;
    until("delivered", WAIT, || outbox.pending().unwrap().is_empty()).await;
    let r = receiver.requests();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].key, r[1].key);
    assert!(
        r[1].at - r[0].at >= Duration::from_millis(300),
        "retried after the timeout"
    );
    join.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_per_receiver_never_exceed_the_concurrency() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Default)]
    struct Load {
        now: AtomicUsize,
        max: AtomicUsize,
        done: AtomicUsize,
    }
    let load = Arc::new(Load::default());
    async fn handle(axum::extract::State(l): axum::extract::State<Arc<Load>>) -> &'static str {
        let n = l.now.fetch_add(1, Ordering::SeqCst) + 1;
        l.max.fetch_max(n, Ordering::SeqCst);
        // The receiver is slow, so the dispatcher has every reason to pile requests up.
        tokio::time::sleep(Duration::from_millis(40)).await;
        l.now.fetch_sub(1, Ordering::SeqCst);
        l.done.fetch_add(1, Ordering::SeqCst);
        "ok"
    }
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(handle))
        .with_state(load.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("o.db")).unwrap());
    let mut config = fast_config();
    config.concurrency = 3;
    let notifier = Arc::new(WebhookNotifier::new(WebhookConfig::new(&url)).unwrap());
    let (h, join) = dispatcher(&outbox, notifier, config);
    for i in 0..15 {
        h.enqueue("t", &notification(&format!("Busy{i}"))).unwrap();
    }
    until("all answered", WAIT, || {
        load.done.load(Ordering::SeqCst) == 15
    })
    .await;
    assert_eq!(load.max.load(Ordering::SeqCst), 3, "bounded, and used");
    join.abort();
}
