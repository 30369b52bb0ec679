//! `c5 encrypt`, `c5 decrypt` and `c5 rekey`: encrypted values in config files, edited in place.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use c5store::secret::c5encval::{self, ALG_AGE, Recipient};
use c5store::secret::{Envelope, Keyring, decrypt_envelope};

use crate::edit::{self, Leaf, Replacement, is_under};
use crate::keys::{KeyArgs, replace_file, write_private};

/// Recipients to encrypt to.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RecipientArgs {
    /// Recipient: an age1… X25519 public key or an ssh-ed25519/ssh-rsa public key. Repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipient: Vec<String>,
    /// File of recipients, one per line (`#` comments allowed). Repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_file: Vec<PathBuf>,
    /// Key name written into new values (informational for age).
    #[arg(long = "key-name", default_value = "default")]
    pub key_name: String,
}

impl RecipientArgs {
    fn parse(&self) -> anyhow::Result<Vec<Recipient>> {
        let mut out = Vec::new();
        for r in &self.recipient {
            out.push(c5encval::parse_recipient(r)?);
        }
        for f in &self.recipients_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            out.extend(
                c5encval::parse_recipients_file(&text).with_context(|| f.display().to_string())?,
            );
        }
        if out.is_empty() {
            bail!("no recipients: give -r RECIPIENT or -R FILE");
        }
        Ok(out)
    }
}

/// `c5 encrypt`: encrypt values of a config file in place.
#[derive(clap::Args, Debug)]
pub struct EncryptArgs {
    #[command(flatten)]
    recipients: RecipientArgs,
    /// Encrypt every value under PREFIX (repeatable; "" means the whole file).
    #[arg(long = "all-under", value_name = "PREFIX")]
    all_under: Vec<String>,
    /// Re-encrypt values that are already encrypted (needs an identity that opens them).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    keys: KeyArgs,
    /// The YAML, TOML or JSON file to edit.
    file: PathBuf,
    /// Key paths to encrypt (`db.password`, `servers[0].token`).
    key: Vec<String>,
}

/// `c5 decrypt`: print decrypted values or the decrypted document.
#[derive(clap::Args, Debug)]
pub struct DecryptArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Write the decrypted document to FILE (mode 0600) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// The file to decrypt.
    file: PathBuf,
    /// Print only these values, one per line.
    key: Vec<String>,
}

/// `c5 rekey`: re-encrypt every encrypted value to a new set of recipients.
#[derive(clap::Args, Debug)]
pub struct RekeyArgs {
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    recipients: RecipientArgs,
    /// Files to re-encrypt in place.
    #[arg(required = true)]
    file: Vec<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Adds `:line:col` (where the value starts) to a decryption error raised while editing.
fn locate(err: anyhow::Error, doc: &dyn edit::Document, file: &Path) -> anyhow::Error {
    match err.downcast::<c5store::secret::DecryptError>() {
        Ok(mut e) => {
            if let Some((line, col)) = doc.position(&e.key_path) {
                e.location = Some(format!("{}:{line}:{col}", file.display()));
            }
            e.into()
        }
        Err(other) => other,
    }
}

fn open_envelope(
    keyring: &Keyring,
    path: &str,
    file: &Path,
    e: &Leaf,
) -> anyhow::Result<Option<String>> {
    let Leaf::Envelope {
        algorithm,
        key_name,
        payload,
    } = e
    else {
        return Ok(None);
    };
    let env = Envelope {
        algorithm,
        key_name,
        payload,
    };
    let s = decrypt_envelope(&env, keyring).map_err(|reason| {
        c5store::secret::DecryptError::new(path, Some(file.display().to_string()), reason)
    })?;
    Ok(Some(s.expose_secret().clone()))
}

fn seal(recipients: &[Recipient], key_name: &str, plaintext: &str) -> anyhow::Result<Replacement> {
    Ok(Replacement::Envelope {
        algorithm: ALG_AGE.to_owned(),
        key_name: key_name.to_owned(),
        payload: c5encval::encrypt_age(recipients, plaintext.as_bytes())?,
    })
}

/// Runs `c5 encrypt`; returns how many values were encrypted.
pub fn encrypt(args: &EncryptArgs) -> anyhow::Result<usize> {
    if args.key.is_empty() && args.all_under.is_empty() {
        bail!("name the values to encrypt: KEY... or --all-under PREFIX");
    }
    let recipients = args.recipients.parse()?;
    let keyring = if args.force {
        Some(args.keys.keyring()?)
    } else {
        None
    };
    let text = read(&args.file)?;
    let mut doc = edit::parse(&args.file, &text)?;
    let mut found: BTreeMap<&str, bool> = args.key.iter().map(|k| (k.as_str(), false)).collect();
    let mut count = 0;
    let file = args.file.clone();
    doc.edit(&mut |path, leaf| {
        let exact = found.get_mut(path).map(|f| *f = true).is_some();
        if let Some(k) = args
            .key
            .iter()
            .find(|k| path != k.as_str() && is_under(path, k))
        {
            bail!("`{k}` is a map or list; use --all-under {k} to encrypt every value below it");
        }
        let selected = exact || args.all_under.iter().any(|p| is_under(path, p));
        if !selected {
            return Ok(None);
        }
        let plaintext = match leaf {
            Leaf::Plain { text } => text.clone(),
            Leaf::Envelope { .. } if !args.force => {
                bail!(
                    "{}: `{path}` is already encrypted (use --force to re-encrypt it)",
                    file.display()
                )
            }
            env => match &keyring {
                Some(k) => open_envelope(k, path, &file, env)?.unwrap_or_default(),
                None => bail!("`{path}` is encrypted"),
            },
        };
        count += 1;
        seal(&recipients, &args.recipients.key_name, &plaintext).map(Some)
    })
    .map_err(|e| locate(e, doc.as_ref(), &args.file))?;
    if let Some((missing, _)) = found.iter().find(|(_, f)| !**f) {
        bail!("{}: no value at `{missing}`", args.file.display());
    }
    replace_file(&args.file, &doc.render()?)?;
    writeln!(
        std::io::stderr().lock(),
        "{}: encrypted {count} value(s)",
        args.file.display()
    )?;
    Ok(count)
}

/// Runs `c5 decrypt`.
pub fn decrypt(args: &DecryptArgs) -> anyhow::Result<()> {
    let keyring = args.keys.keyring()?;
    let text = read(&args.file)?;
    let mut doc = edit::parse(&args.file, &text)?;
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let file = args.file.clone();
    doc.edit(&mut |path, leaf| {
        let wanted = args.key.is_empty() || args.key.iter().any(|k| k == path);
        if !wanted {
            return Ok(None);
        }
        let plain = match open_envelope(&keyring, path, &file, leaf)? {
            Some(p) => p,
            None => match leaf {
                Leaf::Plain { text } => {
                    values.insert(path.to_owned(), text.clone());
                    return Ok(None);
                }
                Leaf::Envelope { .. } => return Ok(None),
            },
        };
        values.insert(path.to_owned(), plain.clone());
        Ok(Some(Replacement::Plain(plain)))
    })
    .map_err(|e| locate(e, doc.as_ref(), &args.file))?;
    let out = if args.key.is_empty() {
        doc.render()?
    } else {
        let mut s = String::new();
        for k in &args.key {
            let v = values
                .get(k)
                .with_context(|| format!("{}: no value at `{k}`", args.file.display()))?;
            s.push_str(v);
            s.push('\n');
        }
        s
    };
    match &args.output {
        Some(path) => write_private(path, out.as_bytes(), false)?,
        None => std::io::stdout().lock().write_all(out.as_bytes())?,
    }
    Ok(())
}

/// Runs `c5 rekey`; returns the number of values re-encrypted per file.
pub fn rekey(args: &RekeyArgs) -> anyhow::Result<Vec<(PathBuf, usize)>> {
    let keyring = args.keys.keyring()?;
    let recipients = args.recipients.parse()?;
    let bar = if args.file.len() > 3 {
        let pb = indicatif::ProgressBar::new(args.file.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let mut report = Vec::new();
    for file in &args.file {
        let text = read(file)?;
        let mut doc = edit::parse(file, &text)?;
        let mut n = 0;
        doc.edit(&mut |path, leaf| {
            let Some(plain) = open_envelope(&keyring, path, file, leaf)? else {
                return Ok(None);
            };
            let key_name = match leaf {
                Leaf::Envelope {
                    key_name,
                    algorithm,
                    ..
                } if algorithm == ALG_AGE => key_name.clone(),
                _ => args.recipients.key_name.clone(),
            };
            n += 1;
            seal(&recipients, &key_name, &plain).map(Some)
        })
        .map_err(|e| locate(e, doc.as_ref(), file))?;
        if n > 0 {
            replace_file(file, &doc.render()?)?;
        }
        let line = format!("{}: {n} value(s) re-encrypted", file.display());
        match &bar {
            Some(pb) => {
                pb.suspend(|| writeln!(std::io::stdout().lock(), "{line}"))?;
                pb.inc(1);
            }
            None => writeln!(std::io::stdout().lock(), "{line}")?,
        }
        report.push((file.clone(), n));
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    Ok(report)
}
