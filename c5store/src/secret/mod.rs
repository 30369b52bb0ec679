//! Encrypted configuration values: formats, the [`Keyring`], decryption at load, and
//! [`Secret<T>`] for the decrypted plaintexts.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use c5store::C5Store;
//! use c5store::secret::Keyring;
//! // $C5_AGE_KEY, $C5_IDENTITY_FILE and $CREDENTIALS_DIRECTORY, plus one key file
//! let mut keys = Keyring::from_env()?;
//! keys.load_file("/etc/app/key.txt".as_ref())?;
//! let snap = C5Store::builder().dir("config").secrets(keys).load()?;
//! let password: &str = snap.get("db.password")?; // the plaintext, when asked for
//! println!("{}", snap.root()); // secrets print as <redacted>
//! # let _ = password;
//! # Ok(()) }
//! ```
//!
//! # Formats
//!
//! **`.c5encval` (native and C5Store-compatible).** In any YAML, TOML or JSON layer an
//! encrypted value is a map with the single key `.c5encval` holding
//! `[algorithm, key_name, payload]`:
//!
//! ```yaml
//! db:
//!   password:
//!     .c5encval: [age, prod, "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBV..."]
//! ```
//! ```toml
//! [db]
//! password = { ".c5encval" = ["age", "prod", "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+..."] }
//! ```
//!
//! - `age`: the payload is an [age](https://age-encryption.org/v1) file encrypted to one or
//!   more recipients, either ASCII-armored (`-----BEGIN AGE ENCRYPTED FILE-----`) or the
//!   base64 of the binary file (what `c5 encrypt` writes: one line). `key_name` is
//!   informational; age finds the matching identity itself. X25519 (`age1…`), SSH ed25519/RSA
//!   (`ssh-ed25519 …`) and scrypt passphrase recipients are supported.
//! - `ecies_x25519`: C5Store's own scheme (see [`ecies`]): base64 of
//!   `ephemeral_pub(32) || nonce(12) || AES-256-GCM ciphertext || tag(16)`, key from
//!   HKDF-SHA256 over `ephemeral_pub || X25519 shared secret` with info `ecies_x25519`.
//!   `key_name` selects a C5Store key: a PEM file (`openssl genpkey -algorithm X25519`) or
//!   32 raw bytes, named by its file name minus the last extension.
//!
//! **SOPS.** A YAML or JSON file with a top-level `sops` map whose data key is wrapped for
//! age recipients loads as an ordinary layer once decrypted; see [`sops`] for the exact
//! construction (AES-256-GCM per value with the key path as additional data, SHA-512 MAC).
//!
//! # Where keys come from
//!
//! A [`Keyring`] loads identity files (age, OpenSSH or C5Store PEM), whole directories,
//! `$C5_AGE_KEY` (the key text itself), `$C5_IDENTITY_FILE` (a key file path) and
//! systemd's `$CREDENTIALS_DIRECTORY`. Key files readable by group or others produce a
//! warning ([`Keyring::warnings`], also logged).
//!
//! # Decryption is a pure step
//!
//! [`resolve_secrets`] walks a merged tree, replaces every `.c5encval` map with a
//! `Value::Secret` leaf and reports every value that fails — no matching identity, truncated
//! or tampered payload, unknown algorithm, malformed envelope — as a [`DecryptError`] naming
//! the key path and `file:line:col`. A failed value is never silently turned into `null`.
//! Messages never contain key material, payloads or plaintexts.

pub mod c5encval;
pub mod ecies;
mod error;
mod keyring;
mod load;
mod redacted;
pub mod sops;

use std::sync::Arc;

pub use c5encval::{
    C5ENCVAL_KEY, Envelope, decrypt_envelope, envelope_value, is_envelope, parse_envelope,
};
pub use error::{DecryptError, DecryptFailure, EncryptError, KeyringError};
pub use keyring::{
    ENV_AGE_KEY, ENV_CREDENTIALS_DIRECTORY, ENV_IDENTITY_FILE, Keyring, key_name_of,
};
pub use load::{SecretResolver, SopsSource, decrypt_sops_layer};
pub use redacted::{REDACTED, Secret, SecretString};

use crate::value::{Segment, Value, push_segment};

/// The payload of a `Value::Secret` leaf: shared, redacted, zeroized when the last copy drops.
pub type SecretValue = Arc<SecretString>;

/// Replaces every `.c5encval` envelope in `tree` with its decrypted `Value::Secret`.
///
/// Pure: no I/O, no clock. `locate` maps a canonical key path (`db.password`) to
/// `file:line:col` for messages. All failures are collected; the tree is left with the
/// envelopes that failed untouched.
pub fn resolve_secrets(
    tree: &mut Value,
    keyring: &Keyring,
    locate: &dyn Fn(&str) -> Option<String>,
) -> Result<usize, Vec<DecryptError>> {
    let mut errors = Vec::new();
    let mut path = String::new();
    let n = resolve_node(tree, keyring, locate, &mut path, &mut errors);
    if errors.is_empty() {
        Ok(n)
    } else {
        Err(errors)
    }
}

fn resolve_node(
    node: &mut Value,
    keyring: &Keyring,
    locate: &dyn Fn(&str) -> Option<String>,
    path: &mut String,
    errors: &mut Vec<DecryptError>,
) -> usize {
    if is_envelope(node) {
        let result = parse_envelope(node).and_then(|env| decrypt_envelope(&env, keyring));
        return match result {
            Ok(secret) => {
                tracing::trace!(key_path = %path, "decrypted secret value");
                *node = Value::Secret(Arc::new(secret));
                1
            }
            Err(reason) => {
                errors.push(DecryptError::new(
                    path.clone(),
                    locate_envelope(locate, path),
                    reason,
                ));
                0
            }
        };
    }
    let len = path.len();
    let mut n = 0;
    match node {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                push_segment(path, Segment::Key(k));
                n += resolve_node(child, keyring, locate, path, errors);
                path.truncate(len);
            }
        }
        Value::Seq(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                push_segment(path, Segment::Index(i));
                n += resolve_node(child, keyring, locate, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
    n
}

/// Provenance tables key leaves by canonical path; an envelope's leaves sit below the
/// `.c5encval` key, so try the value itself, then its payload and algorithm elements.
fn locate_envelope(locate: &dyn Fn(&str) -> Option<String>, path: &str) -> Option<String> {
    let mut inner = path.to_owned();
    push_segment(&mut inner, Segment::Key(C5ENCVAL_KEY));
    let candidates = [
        path.to_owned(),
        format!("{inner}[2]"),
        format!("{inner}[0]"),
        inner,
    ];
    candidates.iter().find_map(|c| locate(c))
}

#[cfg(test)]
mod tests;
