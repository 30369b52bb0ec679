//! rules-engine: Prometheus-compatible alert rules over metric and log streams (parse, compile, evaluate).
