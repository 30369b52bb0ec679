//! Email against real aiosmtpd servers.

use std::time::Duration;

use c5_testkit::{Smtp, SmtpTls, SmtpTlsMode, wait_until};
use notifiers::{
    AuthMechanism, EmailConfig, EmailNotifier, Notifier, Secret, SmtpSecurity, message_id,
};

use crate::notification;

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}: ");
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&prefix))
}

fn tls_config(server: &SmtpTls, security: SmtpSecurity, mech: AuthMechanism) -> EmailConfig {
    let mut c = EmailConfig::new(
        "localhost",
        "c5 alerts <alerts@c5.test>",
        vec!["oncall@c5.test".into()],
    );
    c.port = Some(server.server.port);
    c.security = security;
    c.credentials = Some((server.user.clone(), Secret::new(server.password.clone())));
    c.mechanisms = vec![mech];
    c.extra_root_certs_pem = vec![server.certs.ca_pem.clone().into_bytes()];
    c.timeout = Duration::from_secs(10);
    c
}

#[tokio::test]
async fn plain_loopback_sends_multipart_with_idempotency_message_id() {
    let smtp = Smtp::start();
    let mut c = EmailConfig::new("127.0.0.1", "alerts@c5.test", vec!["a@c5.test".into()]);
    c.port = Some(smtp.server.port);
    c.security = SmtpSecurity::PlainLoopbackOnly;
    let notifier = EmailNotifier::new(c).unwrap();
    let mut n = notification("g1.abc.7");
    n.title = "Disk full on db".into();
    n.text = "plain body line".into();
    n.html = "<p>html body line</p>".into();
    let receipt = notifier.deliver(&n).await.unwrap();
    assert!(receipt.detail.starts_with("SMTP 250"), "{receipt:?}");
    wait_until(Duration::from_secs(5), "one message", || {
        smtp.messages().len() == 1
    });
    let m = &smtp.messages()[0];
    assert_eq!(header(m, "Subject"), Some("Disk full on db"));
    assert_eq!(header(m, "Message-ID"), Some("<g1.abc.7@c5.test>"));
    assert_eq!(header(m, "X-C5-Idempotency-Key"), Some("g1.abc.7"));
    assert_eq!(header(m, "To"), Some("a@c5.test"));
    assert!(
        header(m, "Content-Type").is_some_and(|v| v.starts_with("multipart/alternative")),
        "{m}"
    );
    assert!(m.contains("Content-Type: text/plain"), "{m}");
    assert!(m.contains("plain body line"), "{m}");
    assert!(m.contains("Content-Type: text/html"), "{m}");
    assert!(m.contains("<p>html body line</p>"), "{m}");
}

#[tokio::test]
async fn default_subject_and_text_when_nothing_rendered() {
    let smtp = Smtp::start();
    let mut c = EmailConfig::new("localhost", "alerts@c5.test", vec!["a@c5.test".into()]);
    c.port = Some(smtp.server.port);
    c.security = SmtpSecurity::PlainLoopbackOnly;
    let notifier = EmailNotifier::new(c).unwrap();
    notifier.deliver(&notification("k{1}")).await.unwrap();
    wait_until(Duration::from_secs(5), "one message", || {
        smtp.messages().len() == 1
    });
    let m = &smtp.messages()[0];
    assert_eq!(header(m, "Subject"), Some("[FIRING:2] DiskFull"));
    let id = message_id("k{1}", "c5.test");
    assert_eq!(header(m, "Message-ID"), Some(id.as_str()));
    assert!(m.contains("instance = db2"), "{m}");
}

#[tokio::test]
async fn starttls_with_auth_plain_and_login() {
    let server = SmtpTls::start(SmtpTlsMode::StartTls);
    for (i, mech) in [AuthMechanism::Plain, AuthMechanism::Login]
        .into_iter()
        .enumerate()
    {
        let notifier =
            EmailNotifier::new(tls_config(&server, SmtpSecurity::StartTls, mech)).unwrap();
        notifier
            .deliver(&notification(&format!("starttls-{i}")))
            .await
            .unwrap_or_else(|e| panic!("{mech:?}: {e}: {}", server.server.log()));
    }
    wait_until(Duration::from_secs(5), "two messages", || {
        server.messages().len() == 2
    });
    for m in server.messages() {
        assert_eq!(header(&m, "X-C5-Test-TLS"), Some("yes"), "{m}");
        assert_eq!(header(&m, "X-C5-Test-Auth"), Some("c5-user"), "{m}");
        assert!(header(&m, "Message-ID").is_some_and(|id| id.starts_with("<starttls-")));
    }
}

#[tokio::test]
async fn implicit_tls_with_auth() {
    let server = SmtpTls::start(SmtpTlsMode::Implicit);
    let notifier = EmailNotifier::new(tls_config(
        &server,
        SmtpSecurity::ImplicitTls,
        AuthMechanism::Plain,
    ))
    .unwrap();
    notifier
        .deliver(&notification("implicit-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}: {}", server.server.log()));
    wait_until(Duration::from_secs(5), "one message", || {
        server.messages().len() == 1
    });
    let m = &server.messages()[0];
    assert_eq!(header(m, "X-C5-Test-TLS"), Some("yes"), "{m}");
    assert_eq!(header(m, "X-C5-Test-Auth"), Some("c5-user"), "{m}");
}

#[tokio::test]
async fn wrong_password_is_permanent_and_untrusted_ca_fails() {
    let server = SmtpTls::start(SmtpTlsMode::StartTls);
    let mut c = tls_config(&server, SmtpSecurity::StartTls, AuthMechanism::Plain);
    c.credentials = Some((server.user.clone(), Secret::new("wrong")));
    let err = EmailNotifier::new(c)
        .unwrap()
        .deliver(&notification("x"))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");

    let mut c = tls_config(&server, SmtpSecurity::StartTls, AuthMechanism::Plain);
    c.extra_root_certs_pem.clear();
    let err = EmailNotifier::new(c)
        .unwrap()
        .deliver(&notification("y"))
        .await
        .unwrap_err();
    assert!(
        !err.is_permanent(),
        "a TLS failure may be fixed by the operator: {err}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn refused_connection_is_transient_and_silent_server_times_out() {
    let port = c5_testkit::free_port();
    let mut c = EmailConfig::new("127.0.0.1", "alerts@c5.test", vec!["a@c5.test".into()]);
    c.port = Some(port);
    c.security = SmtpSecurity::PlainLoopbackOnly;
    let err = EmailNotifier::new(c.clone())
        .unwrap()
        .deliver(&notification("r"))
        .await
        .unwrap_err();
    assert!(err.is_transient() && !err.is_permanent(), "{err}");

    // A server that accepts the connection and never says hello.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    c.port = Some(listener.local_addr().unwrap().port());
    c.timeout = Duration::from_millis(300);
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = listener.accept().await.unwrap();
            held.push(s);
        }
    });
    let err = EmailNotifier::new(c)
        .unwrap()
        .deliver(&notification("t"))
        .await
        .unwrap_err();
    assert!(err.is_timeout() && err.is_transient(), "{err}");
    hold.abort();
}
