//! The `notifyd` binary: a thin shell over the `notifyd` library.

fn main() {}
