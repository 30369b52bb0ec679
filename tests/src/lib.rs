//! c5-e2e: cross-crate end-to-end tests live in `tests/tests/` (e.g. `alerting/`: rule file →
//! rules-engine → notifyd policy, outbox and dispatcher → real webhook and SMTP servers); this
//! library holds nothing.
