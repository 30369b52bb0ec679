//! Errors of the secret layer: why a value did not decrypt, and why a key did not load.
//!
//! No message here ever contains key material, a payload or a plaintext: only key paths,
//! file locations, algorithm and key names, and fixed reasons.

use std::path::PathBuf;

/// Why one encrypted value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptFailure {
    /// No identity in the keyring opens the value.
    #[error(
        "no identity in the keyring can decrypt it (algorithm `{algorithm}`, key name `{key_name}`)"
    )]
    NoMatchingIdentity {
        /// The algorithm named by the value.
        algorithm: String,
        /// The key name the value refers to.
        key_name: String,
    },
    /// The payload ends before the ciphertext does.
    #[error("the encrypted payload is truncated")]
    Truncated,
    /// The payload does not authenticate or cannot be parsed: corrupted or tampered with.
    #[error("corrupt or tampered payload: {0}")]
    Corrupt(&'static str),
    /// The `.c5encval` names an algorithm c5store does not know.
    #[error("unknown algorithm `{0}` (known: age, ecies_x25519)")]
    UnknownAlgorithm(String),
    /// The `.c5encval` value is not `[algorithm, key_name, payload]`.
    #[error("malformed `.c5encval`: {0}")]
    Malformed(&'static str),
    /// A SOPS file's MAC does not match its content.
    #[error("SOPS MAC mismatch: the file was changed after it was encrypted")]
    MacMismatch,
    /// The plaintext is not UTF-8 text.
    #[error("the decrypted value is not UTF-8 text")]
    NotUtf8,
}

/// A value that failed to decrypt, with the key path and `file:line:col` where it sits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}`{key_path}`: cannot decrypt: {reason}", location_prefix(.location))]
pub struct DecryptError {
    /// Dotted key path of the value (`db.password`).
    pub key_path: String,
    /// `file:line:col` of the value, when it came from a file.
    pub location: Option<String>,
    /// Why it failed.
    pub reason: DecryptFailure,
}

fn location_prefix(location: &Option<String>) -> String {
    match location {
        Some(l) => format!("{l}: "),
        None => String::new(),
    }
}

impl DecryptError {
    /// Builds an error for the value at `key_path`.
    pub fn new(
        key_path: impl Into<String>,
        location: Option<String>,
        reason: DecryptFailure,
    ) -> Self {
        Self {
            key_path: key_path.into(),
            location,
            reason,
        }
    }
}

/// A key file, directory or variable that could not be loaded into a [`Keyring`](super::Keyring).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The file or directory could not be read.
    #[error("cannot read key source {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not a key c5store understands.
    #[error("{origin}: {reason}")]
    Invalid {
        /// The file path or environment variable name.
        origin: String,
        /// What is wrong, never the content itself.
        reason: String,
    },
}

/// Why encrypting a value failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// A recipient string could not be parsed.
    #[error(
        "invalid recipient `{0}`: expected an age1… X25519 recipient or an ssh-ed25519/ssh-rsa public key"
    )]
    InvalidRecipient(String),
    /// No recipient was given.
    #[error("no recipients given")]
    NoRecipients,
    /// The age library refused the recipient set (for example mixed passphrase and keys).
    #[error("age encryption failed: {0}")]
    Age(String),
}
