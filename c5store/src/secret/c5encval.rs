//! The `.c5encval` envelope: `{".c5encval": [algorithm, key_name, payload]}`, its decryption
//! for `age` and `ecies_x25519`, and age encryption for writing new values.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::error::{DecryptFailure, EncryptError};
use super::keyring::Keyring;
use super::redacted::SecretString;
use crate::value::Value;

/// The map key that marks an encrypted value.
pub const C5ENCVAL_KEY: &str = ".c5encval";
/// The native algorithm: an age file encrypted to one or more recipients.
pub const ALG_AGE: &str = "age";
/// C5Store's ECIES over X25519 + HKDF-SHA256 + AES-256-GCM.
pub const ALG_ECIES_X25519: &str = "ecies_x25519";

/// A borrowed `[algorithm, key_name, payload]` triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `age` or `ecies_x25519`.
    pub algorithm: &'a str,
    /// The key name (informational for age; selects the key for `ecies_x25519`).
    pub key_name: &'a str,
    /// The ciphertext: armored age, base64 of binary age, or base64 ECIES.
    pub payload: &'a str,
}

/// Whether `value` is a map holding the `.c5encval` marker (well-formed or not).
pub fn is_envelope(value: &Value) -> bool {
    value.as_map().is_some_and(|m| m.contains_key(C5ENCVAL_KEY))
}

/// Reads the envelope out of a `{".c5encval": [...]}` map.
pub fn parse_envelope(value: &Value) -> Result<Envelope<'_>, DecryptFailure> {
    let map = value
        .as_map()
        .ok_or(DecryptFailure::Malformed("expected a map"))?;
    if map.len() != 1 {
        return Err(DecryptFailure::Malformed(
            "the `.c5encval` map must have no other keys",
        ));
    }
    let seq = map
        .get(C5ENCVAL_KEY)
        .and_then(Value::as_seq)
        .ok_or(DecryptFailure::Malformed(
            "expected a list [algorithm, key_name, payload]",
        ))?;
    match seq {
        [Value::String(a), Value::String(k), Value::String(p)] => Ok(Envelope {
            algorithm: a,
            key_name: k,
            payload: p,
        }),
        _ => Err(DecryptFailure::Malformed(
            "expected three strings [algorithm, key_name, payload]",
        )),
    }
}

/// Builds the `{".c5encval": [algorithm, key_name, payload]}` value.
pub fn envelope_value(algorithm: &str, key_name: &str, payload: &str) -> Value {
    let mut m = crate::value::Map::default();
    m.insert(
        C5ENCVAL_KEY.into(),
        Value::from(vec![algorithm, key_name, payload]),
    );
    Value::Map(m)
}

/// Decrypts one envelope with `keyring`. The plaintext must be UTF-8.
pub fn decrypt_envelope(
    env: &Envelope<'_>,
    keyring: &Keyring,
) -> Result<SecretString, DecryptFailure> {
    let bytes = decrypt_envelope_bytes(env, keyring)?;
    match String::from_utf8(bytes.to_vec()) {
        Ok(s) => Ok(SecretString::new(s)),
        Err(e) => {
            let mut v = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut v);
            Err(DecryptFailure::NotUtf8)
        }
    }
}

/// Decrypts one envelope to bytes.
pub fn decrypt_envelope_bytes(
    env: &Envelope<'_>,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    let no_match = || DecryptFailure::NoMatchingIdentity {
        algorithm: env.algorithm.to_owned(),
        key_name: env.key_name.to_owned(),
    };
    match env.algorithm {
        ALG_AGE => {
            let payload = env.payload.trim();
            let result = if payload.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
                keyring.decrypt_age_armored(payload.as_bytes())
            } else {
                let compact: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
                let binary = STANDARD.decode(compact.as_bytes()).map_err(|_| {
                    DecryptFailure::Corrupt("payload is neither armored age nor base64")
                })?;
                keyring.decrypt_age(&binary)
            };
            result.map_err(|e| match e {
                DecryptFailure::NoMatchingIdentity { .. } => no_match(),
                other => other,
            })
        }
        ALG_ECIES_X25519 => {
            let key = keyring.c5store_key(env.key_name).ok_or_else(no_match)?;
            super::ecies::decrypt(key, env.payload)
        }
        other => Err(DecryptFailure::UnknownAlgorithm(other.to_owned())),
    }
}

/// A parsed age recipient.
pub type Recipient = Box<dyn age::Recipient + Send>;

/// Parses one recipient: `age1…` (X25519) or an `ssh-ed25519`/`ssh-rsa` public key line.
pub fn parse_recipient(text: &str) -> Result<Recipient, EncryptError> {
    let t = text.trim();
    if t.starts_with("age1") {
        t.parse::<age::x25519::Recipient>()
            .map(|r| Box::new(r) as Recipient)
            .map_err(|_| EncryptError::InvalidRecipient(t.to_owned()))
    } else if t.starts_with("ssh-") {
        t.parse::<age::ssh::Recipient>()
            .map(|r| Box::new(r) as Recipient)
            .map_err(|_| EncryptError::InvalidRecipient(t.to_owned()))
    } else {
        Err(EncryptError::InvalidRecipient(t.to_owned()))
    }
}

/// Parses a recipients file: one recipient per line, `#` comments and blank lines ignored.
pub fn parse_recipients_file(text: &str) -> Result<Vec<Recipient>, EncryptError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_recipient)
        .collect()
}

/// Encrypts `plaintext` to every recipient as a binary age file, returned base64-encoded
/// (one line, so it fits inline in any config format).
pub fn encrypt_age(recipients: &[Recipient], plaintext: &[u8]) -> Result<String, EncryptError> {
    if recipients.is_empty() {
        return Err(EncryptError::NoRecipients);
    }
    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| EncryptError::Age(e.to_string()))?;
    seal(encryptor, plaintext)
}

/// Encrypts `plaintext` with an age passphrase (scrypt) at work factor `log_n`.
pub fn encrypt_age_passphrase(
    passphrase: &str,
    log_n: u8,
    plaintext: &[u8],
) -> Result<String, EncryptError> {
    let mut r =
        age::scrypt::Recipient::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    r.set_work_factor(log_n);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| EncryptError::Age(e.to_string()))?;
    seal(encryptor, plaintext)
}

fn seal(encryptor: age::Encryptor, plaintext: &[u8]) -> Result<String, EncryptError> {
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| EncryptError::Age(e.to_string()))?;
    w.write_all(plaintext)
        .map_err(|e| EncryptError::Age(e.to_string()))?;
    w.finish().map_err(|e| EncryptError::Age(e.to_string()))?;
    Ok(STANDARD.encode(out))
}
