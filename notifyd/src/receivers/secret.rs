//! Secrets in receiver configs (SMTP passwords, bearer tokens, basic-auth passwords, HMAC keys,
//! webhook URLs): written in plain text, or encrypted as a c5store `.c5encval` value so the config
//! file can be committed:
//!
//! ```yaml
//! webhook_configs:
//!   - url: https://hooks.example.org/c5
//!     hmac_secret: {.c5encval: [age, prod, "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBV..."]}
//! ```
//!
//! (`c5 encrypt` writes such values.) Encrypted values are decrypted when the notifiers are built
//! ([`super::Receiver::notifier_configs`]) with the keys c5store uses everywhere else:
//! `$C5_AGE_KEY`, `$C5_IDENTITY_FILE`, systemd's `$CREDENTIALS_DIRECTORY`, or an explicit
//! [`Keyring`]. A [`Secret`] never shows its value in `Debug`, and errors name the field and
//! `file:line:col`, never the value or the ciphertext.

use std::fmt;

use c5store::secret::{C5ENCVAL_KEY, Envelope, Keyring, decrypt_envelope};

use crate::decode::{Cx, Fields};
use crate::yaml::Kind;

/// A secret string from the config: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Text);

#[derive(Clone, PartialEq, Eq)]
enum Text {
    Plain(String),
    Encrypted {
        algorithm: String,
        key_name: String,
        payload: String,
        /// `file:line:col` of the value.
        at: String,
    },
}

impl Secret {
    /// Wraps a plain-text secret value.
    pub fn new(s: String) -> Self {
        Secret(Text::Plain(s))
    }

    /// A c5store-encrypted value (`[algorithm, key_name, payload]`) found at `at`
    /// (`file:line:col`), decrypted by [`Secret::reveal`].
    pub fn encrypted(algorithm: &str, key_name: &str, payload: &str, at: String) -> Self {
        Secret(Text::Encrypted {
            algorithm: algorithm.to_owned(),
            key_name: key_name.to_owned(),
            payload: payload.to_owned(),
            at,
        })
    }

    /// The value if it was written in plain text (`None` for an encrypted one).
    pub fn plain(&self) -> Option<&str> {
        match &self.0 {
            Text::Plain(s) => Some(s),
            Text::Encrypted { .. } => None,
        }
    }

    /// Whether the value is c5store-encrypted in the config.
    pub fn is_encrypted(&self) -> bool {
        matches!(self.0, Text::Encrypted { .. })
    }

    /// The plaintext, decrypting with `keys` if needed. The error names where the value is and
    /// why it cannot be decrypted, never the value.
    pub fn reveal(&self, keys: &mut Keys<'_>) -> Result<String, String> {
        match &self.0 {
            Text::Plain(s) => Ok(s.clone()),
            Text::Encrypted {
                algorithm,
                key_name,
                payload,
                at,
            } => {
                let keyring = keys.get().map_err(|e| format!("at {at}: {e}"))?;
                let env = Envelope {
                    algorithm,
                    key_name,
                    payload,
                };
                decrypt_envelope(&env, keyring)
                    .map(|s| s.expose_secret().clone())
                    .map_err(|e| format!("at {at}: cannot decrypt: {e}"))
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Where the keys for encrypted secrets come from: a given keyring, or the environment (loaded
/// once, on the first encrypted value).
pub enum Keys<'k> {
    /// This keyring.
    Given(&'k Keyring),
    /// `Keyring::from_env()`, loaded when first needed.
    FromEnv(Option<Keyring>),
}

impl Keys<'_> {
    fn get(&mut self) -> Result<&Keyring, String> {
        match self {
            Keys::Given(k) => Ok(k),
            Keys::FromEnv(slot) => {
                if slot.is_none() {
                    let k = Keyring::from_env()
                        .map_err(|e| format!("cannot load the decryption keys: {e}"))?;
                    *slot = Some(k);
                }
                match slot {
                    Some(k) if !k.is_empty() => Ok(k),
                    _ => Err(format!(
                        "an encrypted value needs a key: set ${} or ${} (or $CREDENTIALS_DIRECTORY)",
                        c5store::secret::ENV_AGE_KEY,
                        c5store::secret::ENV_IDENTITY_FILE
                    )),
                }
            }
        }
    }
}

/// Reads field `name` as a secret: a string, or `{.c5encval: [algorithm, key_name, payload]}`.
pub(crate) fn opt_secret(cx: &mut Cx, f: &Fields<'_>, name: &str, what: &str) -> Option<Secret> {
    let node = f.get(name)?;
    let Kind::Map(entries) = &node.kind else {
        return cx.opt_string(f, name, what).map(Secret::new);
    };
    let scalar = |n: &crate::yaml::Node| match &n.kind {
        Kind::Scalar { value, .. } => Some(value.clone()),
        _ => None,
    };
    if let [(key, value)] = entries.as_slice()
        && key.name == C5ENCVAL_KEY
        && let Kind::Seq(items) = &value.kind
        && let [a, k, p] = items.as_slice()
        && let (Some(a), Some(k), Some(p)) = (scalar(a), scalar(k), scalar(p))
    {
        let at = format!("{}:{}", cx.file, node.pos);
        return Some(Secret::encrypted(&a, &k, &p, at));
    }
    cx.err(
        node.pos,
        format!(
            "{what}: `{name}` must be a string or an encrypted value \
             {{{C5ENCVAL_KEY}: [algorithm, key_name, payload]}}"
        ),
    );
    None
}
