//! Identities on the command line (`-i/--identity`, `--keys-dir`, `$C5_IDENTITY_FILE`) and
//! `c5 keygen`.

use std::io::Write;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use anyhow::Context;
use c5store::secret::Keyring;

/// Where decryption keys come from; flattened into every command that reads config.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// Identity file to decrypt with: age identity, OpenSSH private key, or C5Store PEM key
    /// (filed under its file name minus the extension). Repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Load every key file in DIR. Repeatable.
    #[arg(long = "keys-dir", value_name = "DIR")]
    pub keys_dir: Vec<PathBuf>,
}

impl KeyArgs {
    /// Builds the keyring: the given identities and directories, or, when neither is given,
    /// `$C5_IDENTITY_FILE`, `$C5_AGE_KEY` and `$CREDENTIALS_DIRECTORY`. Permission warnings
    /// go to stderr.
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let k = if self.identity.is_empty() && self.keys_dir.is_empty() {
            Keyring::from_env()?
        } else {
            let mut k = Keyring::new();
            for f in &self.identity {
                k.load_file(f)?;
            }
            for d in &self.keys_dir {
                k.load_dir(d)?;
            }
            k
        };
        let mut err = std::io::stderr().lock();
        for w in k.warnings() {
            let _ = writeln!(err, "warning: {w}");
        }
        Ok(k)
    }
}

/// `c5 keygen`: create an age X25519 identity.
#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Write the identity to FILE (mode 0600, refused if FILE exists) and print only the
    /// public recipient. Without it the identity goes to stdout and the recipient to stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `c5 keygen`.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let secret = id.to_string();
    let body = format!("# public key: {recipient}\n{}\n", secret.expose_secret());
    match &args.output {
        Some(path) => {
            write_private(path, body.as_bytes(), false)?;
            writeln!(std::io::stdout().lock(), "{recipient}")?;
        }
        None => {
            std::io::stdout().lock().write_all(body.as_bytes())?;
            writeln!(std::io::stderr().lock(), "Public key: {recipient}")?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` with mode 0600 (created fresh; `overwrite` replaces an existing
/// file atomically).
pub fn write_private(path: &Path, bytes: &[u8], overwrite: bool) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if overwrite {
        let tmp = sibling_tmp(path);
        let mut f = opts
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        let mut f = opts
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
        f.write_all(bytes)?;
    }
    Ok(())
}

/// Replaces `path`'s content atomically, keeping its permissions.
pub fn replace_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let perms = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions();
    let tmp = sibling_tmp(path);
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, perms)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

fn sibling_tmp(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("c5");
    path.with_file_name(format!(".{name}.c5tmp.{}", std::process::id()))
}

/// A copy of `v` with every secret replaced by its plaintext (`--reveal`).
pub fn reveal_value(v: &c5store::Value) -> c5store::Value {
    use c5store::Value;
    match v {
        Value::Secret(s) => Value::String(s.expose_secret().as_str().into()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, c)| (k.clone(), reveal_value(c)))
                .collect(),
        ),
        Value::Seq(s) => Value::Seq(s.iter().map(reveal_value).collect()),
        other => other.clone(),
    }
}

/// A copy of `snap` with every secret revealed, keeping provenance (`c5 render --reveal`).
pub fn reveal(snap: &c5store::Snapshot) -> c5store::Snapshot {
    let merged = c5store::Merged {
        tree: reveal_value(snap.root()),
        provenance: snap.provenance_tree().clone(),
    };
    c5store::Snapshot::from_merged(merged, snap.version())
}
