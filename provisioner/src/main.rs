//! The `c5` command: render, get and explain configuration; keys, encryption and publishing.

fn main() {}
