//! notifiers: deliver one notification by email (SMTP, lettre) or webhook (reqwest).
