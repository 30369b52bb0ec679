//! notifyd: the alerting daemon as a library (ingest, evaluate, route, group, silence, outbox, dispatch).
