//! notifyd: the alerting daemon as a library (ingest, evaluate, route, group, silence, outbox, dispatch).

// Routing and policy (Alertmanager-compatible config, route tree, grouping, inhibition, silences).
pub mod config;
pub mod decode;
pub mod group;
pub mod inhibit;
pub mod matcher;
pub mod policy;
pub mod policy_outbox;
pub mod receivers;
pub mod render;
pub mod route;
pub mod route_cli;
pub mod silence;
pub mod silence_file;
pub mod timeinterval;
pub mod tmpl;
pub mod yaml;

// Delivery: durable outbox, dispatcher, clock.
pub mod clock;
pub mod dispatch;
pub mod outbox;
