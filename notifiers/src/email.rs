//! Email delivery over SMTP with lettre: STARTTLS, implicit TLS or (loopback only) plain text,
//! AUTH PLAIN/LOGIN, pooled connections, timeouts, multipart text + HTML, and a `Message-ID` that
//! carries the notification's idempotency key.

use std::net::IpAddr;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::notifier::DeliverFuture;
use crate::payload::{default_text, default_title};
use crate::{BuildError, DeliveryError, Notification, Notifier, Receipt, Secret};

/// Header repeating the idempotency key verbatim (the `Message-ID` carries it too, encoded).
pub const IDEMPOTENCY_HEADER: &str = "X-C5-Idempotency-Key";

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; refuses servers that do not offer it (port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    ImplicitTls,
    /// No encryption at all. Only accepted for a loopback host (a local relay or a dev server):
    /// the explicit opt-in for plain text.
    PlainLoopbackOnly,
}

/// SMTP AUTH mechanisms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMechanism {
    /// AUTH PLAIN.
    Plain,
    /// AUTH LOGIN.
    Login,
}

/// Configuration of one email receiver.
#[derive(Clone, Debug)]
pub struct EmailConfig {
    /// SMTP server host name or IP.
    pub host: String,
    /// Port; `None` picks 587 (STARTTLS), 465 (implicit TLS) or 25 (plain).
    pub port: Option<u16>,
    /// Connection security.
    pub security: SmtpSecurity,
    /// User name and password for AUTH; `None` sends without authenticating.
    pub credentials: Option<(String, Secret)>,
    /// Mechanisms to try, in order (default PLAIN then LOGIN).
    pub mechanisms: Vec<AuthMechanism>,
    /// The `From` mailbox, e.g. `c5 <alerts@example.com>`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Name sent in EHLO; `None` uses the local host name.
    pub hello_name: Option<String>,
    /// Timeout of one whole delivery: connect, TLS, AUTH and the SMTP dialogue (lettre's async
    /// transport only bounds the connect, so the notifier bounds the rest).
    pub timeout: Duration,
    /// Most pooled connections kept open to the server.
    pub pool_max_size: u32,
    /// How long an idle pooled connection stays open.
    pub pool_idle_timeout: Duration,
    /// Extra trusted CA certificates (PEM) for servers with a private CA.
    pub extra_root_certs_pem: Vec<Vec<u8>>,
}

impl EmailConfig {
    /// A STARTTLS config with 30 s timeouts and a pool of 4 connections.
    pub fn new(host: impl Into<String>, from: impl Into<String>, to: Vec<String>) -> Self {
        Self {
            host: host.into(),
            port: None,
            security: SmtpSecurity::StartTls,
            credentials: None,
            mechanisms: vec![AuthMechanism::Plain, AuthMechanism::Login],
            from: from.into(),
            to,
            hello_name: None,
            timeout: Duration::from_secs(30),
            pool_max_size: 4,
            pool_idle_timeout: Duration::from_secs(60),
            extra_root_certs_pem: Vec::new(),
        }
    }
}

/// Delivers notifications as email through one pooled SMTP transport.
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    id_domain: String,
    timeout: Duration,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailNotifier {
    /// Validates addresses and TLS settings and builds the pooled transport (connects lazily).
    ///
    /// Must be called, and the notifier dropped, inside a Tokio runtime: the connection pool runs
    /// a background task there. Outside one this returns an error instead of panicking.
    pub fn new(config: EmailConfig) -> Result<Self, BuildError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BuildError::new(
                "email notifier must be built inside a Tokio runtime",
            ));
        }
        crate::tls::install_ring_provider();
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| BuildError::new(format!("email from {:?}: {e}", config.from)))?;
        if config.to.is_empty() {
            return Err(BuildError::new("email: no recipients in `to`"));
        }
        let to = config
            .to
            .iter()
            .map(|t| {
                t.parse::<Mailbox>()
                    .map_err(|e| BuildError::new(format!("email to {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tls = |host: &str| -> Result<TlsParameters, BuildError> {
            let mut b = TlsParameters::builder(host.to_owned());
            for pem in &config.extra_root_certs_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| BuildError::new(format!("email CA certificate: {e}")))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| BuildError::new(format!("email TLS settings: {e}")))
        };
        let (tls, default_port) = match config.security {
            SmtpSecurity::StartTls => (Tls::Required(tls(&config.host)?), 587),
            SmtpSecurity::ImplicitTls => (Tls::Wrapper(tls(&config.host)?), 465),
            SmtpSecurity::PlainLoopbackOnly => {
                if !is_loopback(&config.host) {
                    return Err(BuildError::new(format!(
                        "email: plain SMTP is only allowed to a loopback host, not {:?}; use \
                         STARTTLS or implicit TLS",
                        config.host
                    )));
                }
                (Tls::None, 25)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(config.timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(config.pool_max_size.max(1))
                    .idle_timeout(config.pool_idle_timeout),
            );
        if let Some(name) = &config.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        if let Some((user, password)) = &config.credentials {
            builder = builder
                .credentials(Credentials::new(user.clone(), password.expose().to_owned()))
                .authentication(
                    config
                        .mechanisms
                        .iter()
                        .map(|m| match m {
                            AuthMechanism::Plain => Mechanism::Plain,
                            AuthMechanism::Login => Mechanism::Login,
                        })
                        .collect(),
                );
        }
        let id_domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            id_domain,
            timeout: config.timeout,
        })
    }

    /// Builds the MIME message for `n` (public so callers can preview what would be sent).
    pub fn message(&self, n: &Notification) -> Result<Message, DeliveryError> {
        let subject = if n.title.is_empty() {
            default_title(n)
        } else {
            n.title.clone()
        };
        let text = if n.text.is_empty() {
            default_text(n)
        } else {
            n.text.clone()
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(message_id(&n.idempotency_key, &self.id_domain)));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let built = if n.html.is_empty() {
            builder.singlepart(SinglePart::plain(text))
        } else {
            builder.multipart(MultiPart::alternative_plain_html(text, n.html.clone()))
        };
        let mut message = built
            .map_err(|e| DeliveryError::permanent("cannot build email message").with_source(e))?;
        if !n.idempotency_key.is_empty() {
            message.headers_mut().insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER),
                n.idempotency_key.clone(),
            ));
        }
        Ok(message)
    }

    async fn send(&self, n: &Notification) -> Result<Receipt, DeliveryError> {
        let message = self.message(n)?;
        let response = tokio::time::timeout(self.timeout, self.transport.send(message))
            .await
            .map_err(|_| {
                DeliveryError::timeout(format!("SMTP delivery took longer than {:?}", self.timeout))
            })?
            .map_err(classify)?;
        Ok(Receipt {
            detail: format!("SMTP {}", response.code()),
        })
    }
}

impl Notifier for EmailNotifier {
    fn deliver<'a>(&'a self, notification: &'a Notification) -> DeliverFuture<'a> {
        Box::pin(self.send(notification))
    }
}

/// `<key@domain>` with every character outside `[A-Za-z0-9.-_]` of the key written as `=XX`, so
/// any key gives a valid, stable msg-id (the same key always gives the same Message-ID).
pub fn message_id(key: &str, domain: &str) -> String {
    let mut left = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            left.push(b as char);
        } else {
            left.push_str(&format!("={b:02X}"));
        }
    }
    let left = left.trim_matches('.');
    if left.is_empty() {
        format!("<c5@{domain}>")
    } else {
        format!("<{}@{domain}>", left.replace("..", ".=2E"))
    }
}

/// SMTP 5xx replies and unbuildable messages are permanent; timeouts are timeouts; everything else
/// (refused connections, 4xx replies, dropped connections, TLS handshakes) is worth retrying.
fn classify(e: lettre::transport::smtp::Error) -> DeliveryError {
    if e.is_permanent() {
        let message = match e.status() {
            Some(code) => format!("SMTP server rejected the message permanently ({code})"),
            None => "SMTP server rejected the message permanently".to_owned(),
        };
        DeliveryError::permanent(message).with_source(e)
    } else if e.is_client() {
        DeliveryError::permanent("SMTP client error").with_source(e)
    } else if e.is_timeout() {
        DeliveryError::timeout("SMTP server timed out").with_source(e)
    } else if e.is_transient() {
        let message = match e.status() {
            Some(code) => format!("SMTP server deferred the message ({code})"),
            None => "SMTP server deferred the message".to_owned(),
        };
        DeliveryError::transient(message).with_source(e)
    } else {
        DeliveryError::transient("SMTP connection failed").with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_is_valid_and_stable() {
        assert_eq!(message_id("ab12.cd.3", "x.org"), "<ab12.cd.3@x.org>");
        assert_eq!(
            message_id("g{a=\"b\"}:1", "x.org"),
            "<g=7Ba=3D=22b=22=7D=3A1@x.org>"
        );
        assert_eq!(message_id("", "x.org"), "<c5@x.org>");
    }

    #[tokio::test]
    async fn plain_smtp_only_to_loopback() {
        let mut c = EmailConfig::new("mail.example.com", "a@x.org", vec!["b@x.org".into()]);
        c.security = SmtpSecurity::PlainLoopbackOnly;
        let err = EmailNotifier::new(c.clone()).unwrap_err().to_string();
        assert!(err.contains("only allowed to a loopback host"), "{err}");
        for host in ["127.0.0.1", "localhost", "::1"] {
            c.host = host.into();
            assert!(EmailNotifier::new(c.clone()).is_ok(), "{host}");
        }
    }

    #[tokio::test]
    async fn bad_addresses_are_build_errors() {
        let c = EmailConfig::new("localhost", "not an address", vec!["b@x.org".into()]);
        assert!(EmailNotifier::new(c).is_err());
        let c = EmailConfig::new("localhost", "a@x.org", vec![]);
        assert!(EmailNotifier::new(c).is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let mut c = EmailConfig::new("localhost", "a@x.org", vec!["b@x.org".into()]);
        c.credentials = Some(("u".into(), Secret::new("hunter2")));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let c = EmailConfig::new("localhost", "a@x.org", vec!["b@x.org".into()]);
        let err = EmailNotifier::new(c).unwrap_err().to_string();
        assert!(err.contains("Tokio runtime"), "{err}");
    }
}
