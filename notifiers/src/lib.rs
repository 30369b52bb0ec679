//! notifiers: deliver one notification by email (SMTP, lettre) or webhook (reqwest).
//!
//! This crate is transport only: it knows nothing of rules, routing or grouping. The daemon hands it a
//! [`Notification`] (an Alertmanager-style group of alerts plus an idempotency key) and gets back a
//! [`Receipt`] or a [`DeliveryError`] whose predicates ([`DeliveryError::is_transient`] and friends)
//! drive every retry decision.

mod error;
mod notification;
mod notifier;
mod recording;

pub use error::DeliveryError;
pub use notification::{Alert, AlertStatus, Notification};
pub use notifier::{Notifier, Receipt};
pub use recording::RecordingNotifier;
