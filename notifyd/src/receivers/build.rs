//! From decoded receivers to notifier configs: reads `*_file` settings (passwords, URLs, CA
//! files) and decrypts c5store-encrypted secrets. The only part of receiver handling that does I/O.

use super::{IntegrationKind, Keys, Receiver, Secret, TlsConfig, target_name};

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
    ///
    /// Encrypted secrets are decrypted with the keys from the environment (see
    /// [`Keys::FromEnv`]); [`Receiver::notifier_configs_with`] takes a keyring instead.
    pub fn notifier_configs(
        &self,
    ) -> Result<Vec<(String, notifiers::NotifierConfig)>, ReceiverError> {
        self.notifier_configs_with(&mut Keys::FromEnv(None))
    }

    /// [`Receiver::notifier_configs`], decrypting encrypted secrets with `keys`.
    pub fn notifier_configs_with(
        &self,
        keys: &mut Keys<'_>,
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
        let reveal = |s: &Secret, what: &str, keys: &mut Keys<'_>| {
            s.reveal(keys).map_err(|e| fail(format!("{what} {e}")))
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
                (Some(p), _) => Some(reveal(p, "auth_password", keys)?),
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
                (Some(u), _) => reveal(u, "url", keys)?,
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
                (Some(t), _) => Some(reveal(t, "bearer_token", keys)?),
                (None, Some(f)) => Some(read(f, "bearer_token")?),
                (None, None) => None,
            };
            let basic_password = match &w.http.basic_password {
                Some(p) => reveal(p, "basic_auth password", keys)?,
                None => String::new(),
            };
            c.auth = match (bearer, &w.http.basic_username) {
                (Some(t), _) => Some(notifiers::WebhookAuth::Bearer(notifiers::Secret::new(t))),
                (None, Some(u)) => Some(notifiers::WebhookAuth::Basic {
                    username: u.clone(),
                    password: notifiers::Secret::new(basic_password),
                }),
                (None, None) => None,
            };
            let hmac = match (&w.hmac_secret, &w.hmac_secret_file) {
                (Some(s), _) => Some(reveal(s, "hmac_secret", keys)?),
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
