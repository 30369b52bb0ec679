//! The one extension point: something that can deliver a [`Notification`].

use std::future::Future;
use std::pin::Pin;

use crate::{DeliveryError, Notification};

/// What a successful delivery returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Transport detail for the log: SMTP reply or HTTP status line.
    pub detail: String,
}

/// A boxed future returned by [`Notifier::deliver`], so notifiers can be used as trait objects.
pub type DeliverFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Receipt, DeliveryError>> + Send + 'a>>;

/// Delivers one notification. Implementations must be cheap to share (`Arc<dyn Notifier>`).
pub trait Notifier: Send + Sync {
    /// Delivers `notification` once; retries are the caller's business.
    fn deliver<'a>(&'a self, notification: &'a Notification) -> DeliverFuture<'a>;
}

/// The closed set of notifier kinds, for selecting one from configuration.
#[derive(Clone, Debug)]
pub enum NotifierConfig {
    /// Email over SMTP.
    Email(crate::EmailConfig),
    /// HTTP POST.
    Webhook(crate::WebhookConfig),
}

impl NotifierConfig {
    /// Builds the notifier this config describes.
    pub fn build(self) -> Result<std::sync::Arc<dyn Notifier>, crate::BuildError> {
        Ok(match self {
            NotifierConfig::Email(c) => std::sync::Arc::new(crate::EmailNotifier::new(c)?),
            NotifierConfig::Webhook(c) => std::sync::Arc::new(crate::WebhookNotifier::new(c)?),
        })
    }
}
