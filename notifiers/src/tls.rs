//! One TLS backend for the whole tree: rustls with the ring provider, installed once.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs `rustls::crypto::ring::default_provider()` as the process default, once.
///
/// reqwest's `rustls-no-provider` feature panics when building a client without a process-wide
/// provider; lettre picks ring itself. Installing fails harmlessly when another part of the program
/// (the daemon, another library) installed a provider first, which is fine: either way one exists.
pub fn install_ring_provider() {
    INSTALL.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}
