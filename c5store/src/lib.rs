//! c5store: layered, typed, live configuration with per-leaf provenance and age-encrypted secrets.
