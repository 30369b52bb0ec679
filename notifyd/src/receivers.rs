//! Receivers: `email_configs` and `webhook_configs` decoded from Alertmanager YAML.
//!
//! Other integrations (Slack, PagerDuty, ...) load with a warning and deliver nothing. Secrets
//! (SMTP passwords, bearer tokens, HMAC keys, webhook URLs) are held in [`Secret`], whose `Debug`
//! is redacted; they may be c5store-encrypted in the file (see `receivers/secret.rs`). Turning a
//! receiver into notifier configs (reading `*_file` settings, decrypting) is in
//! `receivers/build.rs`.

mod build;
mod secret;

use std::collections::BTreeMap;

pub use build::ReceiverError;
pub(crate) use secret::opt_secret;
pub use secret::{Keys, Secret};

use crate::decode::Cx;
use crate::yaml::{Node, Pos};

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
    let password = opt_secret(cx, &f, "auth_password", w);
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
    let url = opt_secret(cx, &f, "url", w).filter(|s| s.plain() != Some(""));
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
        (Some(u), None)
            if u.plain()
                .is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) =>
        {
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
        url,
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
        hmac_secret: opt_secret(cx, &f, "hmac_secret", w),
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
        bearer_token: opt_secret(cx, &f, "bearer_token", w),
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
        h.basic_password = opt_secret(cx, &b, "password", &bw);
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
            if let Some(c) = opt_secret(cx, &a, "credentials", &aw) {
                h.bearer_token = Some(c);
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
