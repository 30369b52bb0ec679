//! Receivers: `email_configs` and `webhook_configs` decoded from Alertmanager YAML.
//!
//! Other integrations (Slack, PagerDuty, ...) load with a warning and deliver nothing. Secrets
//! (SMTP passwords, bearer tokens, HMAC keys) are held in [`Secret`], whose `Debug` is redacted.

use std::collections::BTreeMap;
use std::fmt;

use crate::decode::Cx;
use crate::yaml::{Node, Pos};

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    /// The secret value, for the transport that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// SMTP defaults from `global` (`smtp_*`).
#[derive(Debug, Clone, Default)]
pub struct SmtpDefaults {
    /// `smtp_from`.
    pub from: Option<String>,
    /// `smtp_hello`.
    pub hello: Option<String>,
    /// `smtp_smarthost` (`host:port`).
    pub smarthost: Option<String>,
    /// `smtp_auth_username`.
    pub auth_username: Option<String>,
    /// `smtp_auth_password`.
    pub auth_password: Option<Secret>,
    /// `smtp_auth_password_file`.
    pub auth_password_file: Option<String>,
    /// `smtp_auth_identity`.
    pub auth_identity: Option<String>,
    /// `smtp_require_tls` (default true).
    pub require_tls: bool,
}

/// One receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Where it is defined.
    pub pos: Pos,
    /// `name`.
    pub name: String,
    /// `email_configs`.
    pub email: Vec<EmailConfig>,
    /// `webhook_configs`.
    pub webhook: Vec<WebhookConfig>,
}

/// The kinds of integration notifyd delivers through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    /// `email_configs`.
    Email,
    /// `webhook_configs`.
    Webhook,
}

impl Receiver {
    /// Every integration of the receiver as (kind, index within that kind, send_resolved).
    pub fn integrations(&self) -> Vec<(IntegrationKind, usize, bool)> {
        let e = self
            .email
            .iter()
            .enumerate()
            .map(|(i, c)| (IntegrationKind::Email, i, c.send_resolved));
        let w = self
            .webhook
            .iter()
            .enumerate()
            .map(|(i, c)| (IntegrationKind::Webhook, i, c.send_resolved));
        e.chain(w).collect()
    }
}

/// One `email_configs` entry with globals applied.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `send_resolved` (default false, as in Alertmanager).
    pub send_resolved: bool,
    /// `to` (comma-separated addresses; may be a template).
    pub to: String,
    /// `from`.
    pub from: String,
    /// `hello` (EHLO name; default `localhost`).
    pub hello: String,
    /// `smarthost` as `host:port`; port 465 means implicit TLS.
    pub smarthost: String,
    /// `auth_username`.
    pub auth_username: Option<String>,
    /// `auth_password`.
    pub auth_password: Option<Secret>,
    /// `auth_password_file`.
    pub auth_password_file: Option<String>,
    /// `auth_identity`.
    pub auth_identity: Option<String>,
    /// `require_tls`: STARTTLS required (default from `smtp_require_tls`, itself default true).
    pub require_tls: bool,
    /// `tls_config`.
    pub tls: TlsConfig,
    /// `html` body template (`None`: the default template).
    pub html: Option<String>,
    /// `text` body template (`None`: the default template).
    pub text: Option<String>,
    /// `headers`, including `Subject`; values are templates.
    pub headers: BTreeMap<String, String>,
}

/// One `webhook_configs` entry.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `send_resolved` (default true, as in Alertmanager).
    pub send_resolved: bool,
    /// `url` (or the contents of `url_file`, read by the daemon).
    pub url: Option<Secret>,
    /// `url_file`.
    pub url_file: Option<String>,
    /// `max_alerts` (0 = all).
    pub max_alerts: u64,
    /// `http_config`.
    pub http: HttpConfig,
    /// notifyd extension `headers`: extra request headers.
    pub headers: BTreeMap<String, String>,
    /// notifyd extension `hmac_secret`: key for the `X-C5-Signature` HMAC-SHA256 of the body.
    pub hmac_secret: Option<Secret>,
    /// notifyd extension `hmac_secret_file`.
    pub hmac_secret_file: Option<String>,
    /// notifyd extension `body_template`: a template for the whole request body, sent instead of
    /// Alertmanager's JSON payload.
    pub body_template: Option<String>,
    /// notifyd extension `body_content_type` for `body_template` (default `application/json`).
    pub body_content_type: String,
}

/// The supported part of Prometheus' `http_config`.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// `basic_auth.username`.
    pub basic_username: Option<String>,
    /// `basic_auth.password`.
    pub basic_password: Option<Secret>,
    /// `bearer_token` or `authorization.credentials` (type Bearer).
    pub bearer_token: Option<Secret>,
    /// `bearer_token_file` or `authorization.credentials_file`.
    pub bearer_token_file: Option<String>,
    /// `follow_redirects` (default true).
    pub follow_redirects: bool,
    /// `tls_config`.
    pub tls: TlsConfig,
}

/// The supported part of Prometheus' `tls_config`.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// `ca_file`.
    pub ca_file: Option<String>,
    /// `server_name`.
    pub server_name: Option<String>,
    /// `insecure_skip_verify`.
    pub insecure_skip_verify: bool,
}

/// The outbox target name of one integration: `receiver/email/0`, `receiver/webhook/1`, ...
pub fn target_name(receiver: &str, kind: IntegrationKind, index: usize) -> String {
    let k = match kind {
        IntegrationKind::Email => "email",
        IntegrationKind::Webhook => "webhook",
    };
    format!("{receiver}/{k}/{index}")
}

/// A receiver could not be turned into notifier configs (a referenced file is unreadable, ...).
#[derive(Debug, thiserror::Error)]
#[error("receiver {receiver:?}: {message}")]
pub struct ReceiverError {
    /// The receiver.
    pub receiver: String,
    /// What went wrong (never contains a secret).
    pub message: String,
}

impl Receiver {
    /// The notifier configs of every integration, named by [`target_name`], in the order of
    /// [`Receiver::integrations`]. Reads `*_file` settings (passwords, URLs, CA files).
    ///
    /// Mapping: `smarthost` port 465 → implicit TLS; `require_tls: true` → STARTTLS (required);
    /// `require_tls: false` → plain text, which notifiers accepts only for loopback hosts.
    pub fn notifier_configs(
        &self,
    ) -> Result<Vec<(String, notifiers::NotifierConfig)>, ReceiverError> {
        let fail = |message: String| ReceiverError {
            receiver: self.name.clone(),
            message,
        };
        let read = |path: &str, what: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| fail(format!("cannot read {what} file {path}: {e}")))
        };
        let read_pem = |tls: &TlsConfig| -> Result<Vec<Vec<u8>>, ReceiverError> {
            match &tls.ca_file {
                Some(p) => std::fs::read(p)
                    .map(|b| vec![b])
                    .map_err(|e| fail(format!("cannot read ca_file {p}: {e}"))),
                None => Ok(Vec::new()),
            }
        };
        let mut out = Vec::new();
        for (i, e) in self.email.iter().enumerate() {
            let (host, port) =
                match e.smarthost.rsplit_once(':') {
                    Some((h, p)) => (
                        h.trim_start_matches('[').trim_end_matches(']').to_string(),
                        Some(p.parse::<u16>().map_err(|_| {
                            fail(format!("bad smarthost port in {:?}", e.smarthost))
                        })?),
                    ),
                    None => (e.smarthost.clone(), None),
                };
            let to =
                e.to.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect();
            let mut c = notifiers::EmailConfig::new(host, e.from.clone(), to);
            c.port = port;
            c.security = if port == Some(465) {
                notifiers::SmtpSecurity::ImplicitTls
            } else if e.require_tls {
                notifiers::SmtpSecurity::StartTls
            } else {
                notifiers::SmtpSecurity::PlainLoopbackOnly
            };
            let password = match (&e.auth_password, &e.auth_password_file) {
                (Some(p), _) => Some(p.expose().to_string()),
                (None, Some(f)) => Some(read(f, "auth_password")?),
                (None, None) => None,
            };
            if let (Some(user), Some(pw)) = (&e.auth_username, password) {
                c.credentials = Some((user.clone(), notifiers::Secret::new(pw)));
            }
            c.hello_name = Some(e.hello.clone());
            c.extra_root_certs_pem = read_pem(&e.tls)?;
            out.push((
                target_name(&self.name, IntegrationKind::Email, i),
                notifiers::NotifierConfig::Email(c),
            ));
        }
        for (i, w) in self.webhook.iter().enumerate() {
            let url = match (&w.url, &w.url_file) {
                (Some(u), _) => u.expose().to_string(),
                (None, Some(f)) => read(f, "url")?,
                (None, None) => return Err(fail("webhook without url".into())),
            };
            let mut c = notifiers::WebhookConfig::new(url);
            c.headers = w
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            c.max_alerts = usize::try_from(w.max_alerts).unwrap_or(usize::MAX);
            let bearer = match (&w.http.bearer_token, &w.http.bearer_token_file) {
                (Some(t), _) => Some(t.expose().to_string()),
                (None, Some(f)) => Some(read(f, "bearer_token")?),
                (None, None) => None,
            };
            c.auth = match (bearer, &w.http.basic_username) {
                (Some(t), _) => Some(notifiers::WebhookAuth::Bearer(notifiers::Secret::new(t))),
                (None, Some(u)) => Some(notifiers::WebhookAuth::Basic {
                    username: u.clone(),
                    password: notifiers::Secret::new(
                        w.http
                            .basic_password
                            .as_ref()
                            .map(|p| p.expose().to_string())
                            .unwrap_or_default(),
                    ),
                }),
                (None, None) => None,
            };
            let hmac = match (&w.hmac_secret, &w.hmac_secret_file) {
                (Some(s), _) => Some(s.expose().to_string()),
                (None, Some(f)) => Some(read(f, "hmac_secret")?),
                (None, None) => None,
            };
            c.signing_secret = hmac.map(notifiers::Secret::new);
            c.extra_root_certs_pem = read_pem(&w.http.tls)?;
            if w.body_template.is_some() {
                c.body = notifiers::WebhookBody::Rendered {
                    content_type: w.body_content_type.clone(),
                };
            }
            out.push((
                target_name(&self.name, IntegrationKind::Webhook, i),
                notifiers::NotifierConfig::Webhook(c),
            ));
        }
        Ok(out)
    }
}

const RECEIVER: &[&str] = &["name", "email_configs", "webhook_configs"];
const RECEIVER_UNSUPPORTED: &[&str] = &[
    "pagerduty_configs",
    "slack_configs",
    "opsgenie_configs",
    "wechat_configs",
    "pushover_configs",
    "victorops_configs",
    "sns_configs",
    "telegram_configs",
    "webex_configs",
    "discord_configs",
    "msteams_configs",
];
const EMAIL: &[&str] = &[
    "send_resolved",
    "to",
    "from",
    "hello",
    "smarthost",
    "auth_username",
    "auth_password",
    "auth_password_file",
    "auth_identity",
    "require_tls",
    "tls_config",
    "html",
    "text",
    "headers",
];
const WEBHOOK: &[&str] = &[
    "send_resolved",
    "url",
    "url_file",
    "max_alerts",
    "http_config",
    "headers",
    "hmac_secret",
    "hmac_secret_file",
    "body_template",
    "body_content_type",
];
const HTTP: &[&str] = &[
    "basic_auth",
    "bearer_token",
    "bearer_token_file",
    "authorization",
    "follow_redirects",
    "tls_config",
];
const HTTP_UNSUPPORTED: &[&str] = &[
    "oauth2",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "enable_http2",
];
const TLS: &[&str] = &["ca_file", "server_name", "insecure_skip_verify"];
const TLS_UNSUPPORTED: &[&str] = &[
    "cert_file",
    "key_file",
    "min_version",
    "max_version",
    "ca",
    "cert",
    "key",
];

/// Decodes one receiver; `None` if it has no usable name.
pub(crate) fn decode_receiver(cx: &mut Cx, node: &Node, smtp: &SmtpDefaults) -> Option<Receiver> {
    let f = cx.fields(node, "receiver", RECEIVER, RECEIVER_UNSUPPORTED);
    let name = cx.opt_string(&f, "name", "receiver").unwrap_or_default();
    if name.is_empty() {
        cx.err(node.pos, "receiver: missing name");
        return None;
    }
    let what = format!("receiver {name:?}");
    let mut r = Receiver {
        pos: node.pos,
        name,
        email: Vec::new(),
        webhook: Vec::new(),
    };
    if let Some(n) = f.get("email_configs") {
        for item in cx.seq(n, &what) {
            if let Some(e) = decode_email(cx, item, smtp, &what) {
                r.email.push(e);
            }
        }
    }
    if let Some(n) = f.get("webhook_configs") {
        for item in cx.seq(n, &what) {
            if let Some(w) = decode_webhook(cx, item, &what) {
                r.webhook.push(w);
            }
        }
    }
    Some(r)
}

fn decode_email(cx: &mut Cx, node: &Node, smtp: &SmtpDefaults, recv: &str) -> Option<EmailConfig> {
    let what = format!("{recv}: email config");
    let f = cx.fields(node, &what, EMAIL, &[]);
    let w = what.as_str();
    let to = cx.opt_string(&f, "to", w).unwrap_or_default();
    if to.is_empty() {
        cx.err(node.pos, format!("{w}: missing to address in email config"));
    }
    let smarthost = cx
        .opt_string(&f, "smarthost", w)
        .or_else(|| smtp.smarthost.clone());
    if smarthost.as_deref().unwrap_or("").is_empty() {
        cx.err(node.pos, format!("{w}: no global SMTP smarthost set"));
    }
    let from = cx.opt_string(&f, "from", w).or_else(|| smtp.from.clone());
    if from.as_deref().unwrap_or("").is_empty() {
        cx.err(node.pos, format!("{w}: no global SMTP from set"));
    }
    let mut headers = BTreeMap::new();
    if let Some(n) = f.get("headers") {
        for (k, v, pos) in cx.string_map(n, w) {
            // Alertmanager treats header names case-insensitively and rejects duplicates.
            let canon = canonical_header(&k);
            if headers.insert(canon.clone(), v).is_some() {
                cx.err(pos, format!("{w}: duplicate header {canon:?}"));
            }
        }
    }
    let tls = f
        .get("tls_config")
        .map(|n| decode_tls(cx, n, w))
        .unwrap_or_default();
    let password = cx.opt_string(&f, "auth_password", w).map(Secret::new);
    Some(EmailConfig {
        send_resolved: cx.bool(&f, "send_resolved", w).unwrap_or(false),
        to,
        from: from.unwrap_or_default(),
        hello: cx
            .opt_string(&f, "hello", w)
            .or_else(|| smtp.hello.clone())
            .unwrap_or_else(|| "localhost".into()),
        smarthost: smarthost.unwrap_or_default(),
        auth_username: cx
            .opt_string(&f, "auth_username", w)
            .or_else(|| smtp.auth_username.clone()),
        auth_password: password.or_else(|| smtp.auth_password.clone()),
        auth_password_file: cx
            .opt_string(&f, "auth_password_file", w)
            .or_else(|| smtp.auth_password_file.clone()),
        auth_identity: cx
            .opt_string(&f, "auth_identity", w)
            .or_else(|| smtp.auth_identity.clone()),
        require_tls: cx.bool(&f, "require_tls", w).unwrap_or(smtp.require_tls),
        tls,
        html: cx.opt_string(&f, "html", w),
        text: cx.opt_string(&f, "text", w),
        headers,
    })
}

fn canonical_header(k: &str) -> String {
    k.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn decode_webhook(cx: &mut Cx, node: &Node, recv: &str) -> Option<WebhookConfig> {
    let what = format!("{recv}: webhook config");
    let f = cx.fields(node, &what, WEBHOOK, &[]);
    let w = what.as_str();
    let url = cx.opt_string(&f, "url", w).filter(|s| !s.is_empty());
    let url_file = cx.opt_string(&f, "url_file", w).filter(|s| !s.is_empty());
    match (&url, &url_file) {
        (None, None) => cx.err(
            node.pos,
            format!("{w}: one of url or url_file must be configured"),
        ),
        (Some(_), Some(_)) => cx.err(
            node.pos,
            format!("{w}: at most one of url & url_file must be configured"),
        ),
        (Some(u), None) if !(u.starts_with("http://") || u.starts_with("https://")) => {
            let pos = f.get("url").map_or(node.pos, |n| n.pos);
            cx.err(
                pos,
                format!("{w}: unsupported scheme in url (expected http or https)"),
            );
        }
        _ => {}
    }
    let mut headers = BTreeMap::new();
    if let Some(n) = f.get("headers") {
        for (k, v, _) in cx.string_map(n, w) {
            headers.insert(k, v);
        }
    }
    Some(WebhookConfig {
        send_resolved: cx.bool(&f, "send_resolved", w).unwrap_or(true),
        url: url.map(Secret::new),
        url_file,
        max_alerts: cx.u64(&f, "max_alerts", w).unwrap_or(0),
        http: f
            .get("http_config")
            .map(|n| decode_http(cx, n, w))
            .unwrap_or_else(|| HttpConfig {
                follow_redirects: true,
                ..HttpConfig::default()
            }),
        headers,
        hmac_secret: cx.opt_string(&f, "hmac_secret", w).map(Secret::new),
        hmac_secret_file: cx.opt_string(&f, "hmac_secret_file", w),
        body_template: cx.opt_string(&f, "body_template", w),
        body_content_type: cx
            .opt_string(&f, "body_content_type", w)
            .unwrap_or_else(|| "application/json".into()),
    })
}

fn decode_http(cx: &mut Cx, node: &Node, parent: &str) -> HttpConfig {
    let what = format!("{parent}: http_config");
    let f = cx.fields(node, &what, HTTP, HTTP_UNSUPPORTED);
    let w = what.as_str();
    let mut h = HttpConfig {
        follow_redirects: cx.bool(&f, "follow_redirects", w).unwrap_or(true),
        bearer_token: cx.opt_string(&f, "bearer_token", w).map(Secret::new),
        bearer_token_file: cx.opt_string(&f, "bearer_token_file", w),
        tls: f
            .get("tls_config")
            .map(|n| decode_tls(cx, n, w))
            .unwrap_or_default(),
        ..HttpConfig::default()
    };
    if let Some(n) = f.get("basic_auth") {
        let bw = format!("{w}: basic_auth");
        let b = cx.fields(n, &bw, &["username", "password"], &["password_file"]);
        h.basic_username = cx.opt_string(&b, "username", &bw);
        h.basic_password = cx.opt_string(&b, "password", &bw).map(Secret::new);
    }
    if let Some(n) = f.get("authorization") {
        let aw = format!("{w}: authorization");
        let a = cx.fields(n, &aw, &["type", "credentials", "credentials_file"], &[]);
        let ty = cx
            .opt_string(&a, "type", &aw)
            .unwrap_or_else(|| "Bearer".into());
        if !ty.eq_ignore_ascii_case("bearer") {
            cx.warn(
                n.pos,
                format!("{aw}: only type Bearer is supported, not {ty:?}; ignored"),
            );
        } else {
            if let Some(c) = cx.opt_string(&a, "credentials", &aw) {
                h.bearer_token = Some(Secret::new(c));
            }
            if let Some(c) = cx.opt_string(&a, "credentials_file", &aw) {
                h.bearer_token_file = Some(c);
            }
        }
    }
    if h.basic_username.is_some() && h.bearer_token.is_some() {
        cx.err(
            node.pos,
            format!(
                "{w}: at most one of basic_auth, bearer_token & authorization must be configured"
            ),
        );
    }
    h
}

fn decode_tls(cx: &mut Cx, node: &Node, parent: &str) -> TlsConfig {
    let what = format!("{parent}: tls_config");
    let f = cx.fields(node, &what, TLS, TLS_UNSUPPORTED);
    TlsConfig {
        ca_file: cx.opt_string(&f, "ca_file", &what),
        server_name: cx.opt_string(&f, "server_name", &what),
        insecure_skip_verify: cx.bool(&f, "insecure_skip_verify", &what).unwrap_or(false),
    }
}
