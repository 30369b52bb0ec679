//! [`Keyring`]: the identities that decrypt values, and where they are loaded from.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString as AgeSecretString;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::ecies;
use super::error::{DecryptFailure, KeyringError};

/// Environment variable holding age identities (`AGE-SECRET-KEY-1…` lines) directly.
pub const ENV_AGE_KEY: &str = "C5_AGE_KEY";
/// Environment variable naming an identity file (age, SSH or C5Store PEM).
pub const ENV_IDENTITY_FILE: &str = "C5_IDENTITY_FILE";
/// Set by systemd for units with `LoadCredential=`: a directory of key files.
pub const ENV_CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

struct AgeEntry {
    identity: Box<dyn age::Identity + Send + Sync>,
    origin: String,
}

struct NamedKey {
    secret: StaticSecret,
    origin: String,
}

/// A set of decryption identities: age X25519 identities, SSH ed25519/RSA keys, scrypt
/// passphrases, and C5Store `ecies_x25519` keys filed under their key name.
///
/// Building a keyring is the only I/O of the secret layer; decrypting with one is pure.
/// `Debug` lists where keys came from and how many, never key material.
#[derive(Default)]
pub struct Keyring {
    age: Vec<AgeEntry>,
    passphrases: Vec<AgeEntry>,
    named: BTreeMap<String, NamedKey>,
    warnings: Vec<String>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "age_identities",
                &self.age.iter().map(|e| &e.origin).collect::<Vec<_>>(),
            )
            .field("passphrases", &self.passphrases.len())
            .field(
                "c5store_keys",
                &self
                    .named
                    .iter()
                    .map(|(n, k)| (n, &k.origin))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What kind of key a file holds, decided from its content.
enum KeyFileKind {
    Age,
    Ssh,
    Pem,
    Raw,
}

impl Keyring {
    /// An empty keyring: every encrypted value fails with "no matching identity".
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the keyring holds no identity at all.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.passphrases.is_empty() && self.named.is_empty()
    }

    /// Number of identities of every kind.
    pub fn len(&self) -> usize {
        self.age.len() + self.passphrases.len() + self.named.len()
    }

    /// Warnings gathered while loading (key files readable by group or others).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Adds one age X25519 identity.
    pub fn add_x25519(&mut self, identity: age::x25519::Identity, origin: impl Into<String>) {
        self.age.push(AgeEntry {
            identity: Box::new(identity),
            origin: origin.into(),
        });
    }

    /// Adds a passphrase for values encrypted with age's scrypt recipient.
    pub fn add_passphrase(&mut self, passphrase: &str, origin: impl Into<String>) {
        let mut id = age::scrypt::Identity::new(AgeSecretString::from(passphrase.to_owned()));
        id.set_max_work_factor(22);
        self.passphrases.push(AgeEntry {
            identity: Box::new(id),
            origin: origin.into(),
        });
    }

    /// Files a C5Store `ecies_x25519` key under `key_name`.
    pub fn add_c5store_key(
        &mut self,
        key_name: impl Into<String>,
        secret: StaticSecret,
        origin: impl Into<String>,
    ) {
        self.named.insert(
            key_name.into(),
            NamedKey {
                secret,
                origin: origin.into(),
            },
        );
    }

    /// Parses age identity text (one `AGE-SECRET-KEY-1…` per line, `#` comments allowed) and
    /// adds every identity. Returns how many were added. `origin` names the source in messages.
    pub fn add_age_identities(&mut self, text: &str, origin: &str) -> Result<usize, KeyringError> {
        let invalid = |reason: String| KeyringError::Invalid {
            origin: origin.to_owned(),
            reason,
        };
        let file = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|_| invalid("not a valid age identity file".into()))?;
        let ids = file
            .into_identities()
            .map_err(|_| invalid("an identity in it cannot be used without a plugin".into()))?;
        let n = ids.len();
        if n == 0 {
            return Err(invalid("contains no age identity".into()));
        }
        self.age.extend(ids.into_iter().map(|identity| AgeEntry {
            identity,
            origin: origin.to_owned(),
        }));
        Ok(n)
    }

    /// Loads one key file, recognising its kind by content: an age identity file, an OpenSSH
    /// private key (ed25519 or RSA, unencrypted), a C5Store PEM key (filed under the file
    /// name minus its last extension, as C5Store does), or 32 raw key bytes (C5Store's raw
    /// form, same naming). Warns when the file is readable by group or others.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, KeyringError> {
        let name = key_name_of(path);
        self.load_file_as(path, &name)
    }

    /// Like [`Keyring::load_file`], filing a C5Store key under `key_name`.
    pub fn load_file_as(&mut self, path: &Path, key_name: &str) -> Result<usize, KeyringError> {
        let io = |source| KeyringError::Io {
            path: path.to_owned(),
            source,
        };
        let mut bytes = Zeroizing::new(Vec::new());
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io)?;
        self.check_permissions(path);
        let origin = path.display().to_string();
        self.add_key_bytes(&bytes, key_name, &origin)
    }

    fn add_key_bytes(
        &mut self,
        bytes: &[u8],
        key_name: &str,
        origin: &str,
    ) -> Result<usize, KeyringError> {
        let invalid = |reason: &str| KeyringError::Invalid {
            origin: origin.to_owned(),
            reason: reason.to_owned(),
        };
        let text = std::str::from_utf8(bytes).ok();
        let kind = match text {
            Some(t) if t.contains("AGE-SECRET-KEY-") => KeyFileKind::Age,
            Some(t)
                if t.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
                    || t.contains("-----BEGIN RSA PRIVATE KEY-----") =>
            {
                KeyFileKind::Ssh
            }
            Some(t) if ecies::is_pem_private_key(t) => KeyFileKind::Pem,
            Some(t) if t.contains("-----BEGIN AGE ENCRYPTED FILE-----") => {
                return Err(invalid(
                    "passphrase-protected identity files are not supported; decrypt it first",
                ));
            }
            _ if bytes.len() == 32 => KeyFileKind::Raw,
            _ => {
                return Err(invalid(
                    "not an age identity, OpenSSH private key, PEM X25519 key or 32-byte raw key",
                ));
            }
        };
        match kind {
            KeyFileKind::Age => self.add_age_identities(text.unwrap_or_default(), origin),
            KeyFileKind::Ssh => {
                let id = age::ssh::Identity::from_buffer(bytes, Some(origin.to_owned()))
                    .map_err(|_| invalid("not a valid OpenSSH private key"))?;
                match id {
                    age::ssh::Identity::Unencrypted(_) => {
                        self.age.push(AgeEntry {
                            identity: Box::new(id),
                            origin: origin.to_owned(),
                        });
                        Ok(1)
                    }
                    age::ssh::Identity::Encrypted(_) => Err(invalid(
                        "passphrase-protected SSH keys are not supported; remove the passphrase (ssh-keygen -p) or use an age key",
                    )),
                    _ => Err(invalid(
                        "unsupported SSH key type (ed25519 and RSA are supported)",
                    )),
                }
            }
            KeyFileKind::Pem => {
                let secret =
                    ecies::parse_pem_private_key(text.unwrap_or_default()).map_err(invalid)?;
                self.add_c5store_key(key_name, secret, origin);
                Ok(1)
            }
            KeyFileKind::Raw => {
                let secret = ecies::raw_key(bytes).map_err(invalid)?;
                self.add_c5store_key(key_name, secret, origin);
                Ok(1)
            }
        }
    }

    /// Loads every regular, non-hidden file of `dir` (sorted by name) with
    /// [`Keyring::load_file`], skipping `*.pub` public keys. Any file that is not a key is an
    /// error naming it.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, KeyringError> {
        self.load_dir_inner(dir, true)
    }

    fn load_dir_inner(&mut self, dir: &Path, strict: bool) -> Result<usize, KeyringError> {
        let io = |source| KeyringError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.starts_with('.') && !name.ends_with(".pub")
            })
            .collect();
        files.sort();
        let mut n = 0;
        for f in files {
            match self.load_file(&f) {
                Ok(k) => n += k,
                Err(KeyringError::Invalid { .. }) if !strict => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Adds the identities held in the environment variable `var` (age identity text, or a
    /// C5Store PEM key filed under the variable name lowercased without a `C5_SECRETKEY_`
    /// prefix). Returns 0 when the variable is unset.
    pub fn load_env_key(&mut self, var: &str) -> Result<usize, KeyringError> {
        let Some(value) = std::env::var_os(var) else {
            return Ok(0);
        };
        let value = Zeroizing::new(value.to_string_lossy().into_owned());
        let name = var
            .strip_prefix("C5_SECRETKEY_")
            .unwrap_or(var)
            .to_lowercase();
        self.add_key_bytes(value.as_bytes(), &name, &format!("${var}"))
    }

    /// Loads the key file named by the environment variable `var`. Returns 0 when unset.
    pub fn load_env_key_file(&mut self, var: &str) -> Result<usize, KeyringError> {
        match std::env::var_os(var) {
            Some(path) if !path.is_empty() => self.load_file(Path::new(&path)),
            _ => Ok(0),
        }
    }

    /// Loads systemd credentials: every key file in `$CREDENTIALS_DIRECTORY` (files that are
    /// not keys, such as other credentials, are skipped). Returns 0 when the variable is unset.
    pub fn load_credentials_directory(&mut self) -> Result<usize, KeyringError> {
        match std::env::var_os(ENV_CREDENTIALS_DIRECTORY) {
            Some(dir) if !dir.is_empty() => self.load_dir_inner(Path::new(&dir), false),
            _ => Ok(0),
        }
    }

    /// The default environment: `$C5_AGE_KEY`, `$C5_IDENTITY_FILE` and `$CREDENTIALS_DIRECTORY`.
    pub fn from_env() -> Result<Self, KeyringError> {
        let mut k = Keyring::new();
        k.load_env_key(ENV_AGE_KEY)?;
        k.load_env_key_file(ENV_IDENTITY_FILE)?;
        k.load_credentials_directory()?;
        Ok(k)
    }

    fn check_permissions(&mut self, path: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    let msg = format!(
                        "key file {} is accessible by group or others (mode {mode:04o}); run `chmod 600` on it",
                        path.display()
                    );
                    tracing::warn!("{msg}");
                    self.warnings.push(msg);
                }
            }
        }
    }

    /// The C5Store key filed under `key_name`.
    pub(crate) fn c5store_key(&self, key_name: &str) -> Option<&StaticSecret> {
        self.named.get(key_name).map(|k| &k.secret)
    }

    /// Decrypts a binary age file with the keyring's identities.
    pub(crate) fn decrypt_age(
        &self,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
        self.decrypt_age_reader(ciphertext)
    }

    /// Decrypts an ASCII-armored age file.
    pub(crate) fn decrypt_age_armored(
        &self,
        armored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
        self.decrypt_age_reader(age::armor::ArmoredReader::new(armored))
    }

    fn decrypt_age_reader<R: Read>(&self, input: R) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
        let decryptor = age::Decryptor::new(input).map_err(map_age_error)?;
        let entries = if decryptor.is_scrypt() {
            &self.passphrases
        } else {
            &self.age
        };
        let mut reader = decryptor
            .decrypt(
                entries
                    .iter()
                    .map(|e| e.identity.as_ref() as &dyn age::Identity),
            )
            .map_err(map_age_error)?;
        let mut out = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut out)
            .map_err(|e| map_age_error(age::DecryptError::Io(e)))?;
        Ok(out)
    }
}

fn map_age_error(e: age::DecryptError) -> DecryptFailure {
    use age::DecryptError as E;
    match e {
        E::NoMatchingKeys => DecryptFailure::NoMatchingIdentity {
            algorithm: "age".into(),
            key_name: String::new(),
        },
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => DecryptFailure::Truncated,
        E::Io(_) => DecryptFailure::Corrupt(
            "the age payload does not authenticate: it was cut short or modified",
        ),
        E::InvalidHeader | E::UnknownFormat => DecryptFailure::Corrupt("not a valid age header"),
        E::InvalidMac => DecryptFailure::Corrupt("the age header MAC does not match"),
        E::DecryptionFailed => DecryptFailure::Corrupt("the age payload does not authenticate"),
        E::KeyDecryptionFailed => {
            DecryptFailure::Corrupt("an identity failed to unwrap the file key")
        }
        E::ExcessiveWork { .. } => {
            DecryptFailure::Corrupt("the passphrase work factor is too high")
        }
        _ => DecryptFailure::Corrupt("age decryption failed"),
    }
}

/// The key name of a key file: the file name minus its last extension (C5Store's rule).
pub fn key_name_of(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned()
}
