//! c5store vs config-rs vs figment on the same generated config (filled in below).

fn main() {}
