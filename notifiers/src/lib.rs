//! notifiers: deliver one notification by email (SMTP, lettre) or webhook (reqwest).
//!
//! This crate is transport only: it knows nothing of rules, routing or grouping. The daemon hands it a
//! [`Notification`] (an Alertmanager-style group of alerts plus an idempotency key) and gets back a
//! [`Receipt`] or a [`DeliveryError`] whose predicates ([`DeliveryError::is_transient`] and friends)
//! drive every retry decision.
//!
//! - [`EmailNotifier`]: SMTP with STARTTLS, implicit TLS or loopback-only plain text, AUTH
//!   PLAIN/LOGIN, pooled connections; the idempotency key goes into `Message-ID`.
//! - [`WebhookNotifier`]: POST of Alertmanager's webhook JSON (version "4") or a rendered body, with
//!   an `Idempotency-Key` header and an optional HMAC signature (see [`webhook`]).
//! - [`RecordingNotifier`]: a test double that records what it was asked to deliver.
//!
//! TLS is rustls with the ring provider only; [`install_ring_provider`] is called by the
//! constructors, so there is nothing to set up.

mod email;
mod error;
mod notification;
mod notifier;
pub mod payload;
mod recording;
mod secret;
mod tls;
pub mod webhook;

pub use email::{
    AuthMechanism, EmailConfig, EmailNotifier, IDEMPOTENCY_HEADER as EMAIL_IDEMPOTENCY_HEADER,
    SmtpSecurity, message_id,
};
pub use error::{BuildError, DeliveryError};
pub use notification::{Alert, AlertStatus, Notification};
pub use notifier::{DeliverFuture, Notifier, NotifierConfig, Receipt};
pub use recording::RecordingNotifier;
pub use secret::Secret;
pub use tls::install_ring_provider;
pub use webhook::{WebhookAuth, WebhookBody, WebhookConfig, WebhookNotifier};
