//! SOPS documents (YAML/JSON) whose data key is wrapped for age recipients.
//!
//! What this module implements, following SOPS's own source (`aes/cipher.go`, `sops.go`,
//! `stores/stores.go`):
//!
//! - A value is `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<str|int|float|bool|bytes>]`:
//!   AES-256-GCM with a 32-byte IV, the 16-byte tag split off, and as additional data the key
//!   path joined with `:` plus a trailing `:` (`db:password:`; sequence elements share their
//!   parent's path).
//! - The data key (32 bytes) is age-encrypted (armored) to each recipient in `sops.age[].enc`.
//! - The MAC is SHA-512 over the plaintext bytes of every leaf in document order (strings as
//!   is, integers in decimal, floats in shortest form, booleans `True`/`False`; nulls and
//!   comments skipped; only encrypted leaves when `mac_only_encrypted`, after seeding with
//!   SHA-256("sops")), written as upper-case hex and stored encrypted with the data key and
//!   the `lastmodified` timestamp as additional data. A mismatch is an error.
//! - Which leaves are encrypted follows `unencrypted_suffix` (default `_unencrypted`),
//!   `encrypted_suffix`, `unencrypted_regex` or `encrypted_regex`.

use std::sync::Arc;

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use super::error::{DecryptError, DecryptFailure, EncryptError};
use super::keyring::Keyring;
use super::redacted::{SecretString, constant_time_eq};
use crate::value::{Map, Value};

type SopsCipher = AesGcm<Aes256, U32>;

/// The top-level key holding SOPS metadata.
pub const SOPS_KEY: &str = "sops";
const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// Whether a parsed document is a SOPS document: a top-level `sops` map with a `mac`.
pub fn is_sops_document(root: &Value) -> bool {
    root.as_map()
        .and_then(|m| m.get(SOPS_KEY))
        .and_then(Value::as_map)
        .is_some_and(|s| s.contains_key("mac"))
}

/// Which leaves of the document are encrypted.
#[derive(Debug, Clone)]
enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(regex::Regex),
    EncryptedRegex(regex::Regex),
}

impl Rule {
    fn encrypts(&self, path: &[&str]) -> bool {
        match self {
            Rule::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !path.iter().any(|p| r.is_match(p)),
            Rule::EncryptedRegex(r) => path.iter().any(|p| r.is_match(p)),
        }
    }
}

struct Metadata {
    age: Vec<(String, String)>,
    last_modified: String,
    mac: String,
    mac_only_encrypted: bool,
    rule: Rule,
}

fn meta_err(reason: &'static str) -> DecryptError {
    DecryptError::new(SOPS_KEY, None, DecryptFailure::Malformed(reason))
}

fn parse_metadata(sops: &Value) -> Result<Metadata, DecryptError> {
    let m = sops
        .as_map()
        .ok_or_else(|| meta_err("`sops` metadata must be a map"))?;
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut age = Vec::new();
    let mut collect_age = |list: Option<&Value>| {
        for entry in list.and_then(Value::as_seq).unwrap_or_default() {
            if let (Some(r), Some(e)) = (
                entry.get_path("recipient").and_then(Value::as_str),
                entry.get_path("enc").and_then(Value::as_str),
            ) {
                age.push((r.to_owned(), e.to_owned()));
            }
        }
    };
    collect_age(m.get("age"));
    let groups = m
        .get("key_groups")
        .and_then(Value::as_seq)
        .unwrap_or_default();
    if groups.len() > 1 {
        return Err(meta_err(
            "SOPS files with several key groups (Shamir secret sharing) are not supported",
        ));
    }
    for g in groups {
        collect_age(g.get_path("age"));
    }
    let regex = |k: &str| -> Result<Option<regex::Regex>, DecryptError> {
        s(k).map(|r| {
            regex::Regex::new(&r)
                .map_err(|_| meta_err("an (un)encrypted_regex in `sops` is invalid"))
        })
        .transpose()
    };
    let rule = if let Some(x) = s("encrypted_suffix") {
        Rule::EncryptedSuffix(x)
    } else if let Some(r) = regex("unencrypted_regex")? {
        Rule::UnencryptedRegex(r)
    } else if let Some(r) = regex("encrypted_regex")? {
        Rule::EncryptedRegex(r)
    } else {
        Rule::UnencryptedSuffix(
            s("unencrypted_suffix").unwrap_or_else(|| DEFAULT_UNENCRYPTED_SUFFIX.to_owned()),
        )
    };
    Ok(Metadata {
        age,
        last_modified: go_rfc3339(
            &s("lastmodified").ok_or_else(|| meta_err("`sops.lastmodified` is missing"))?,
        ),
        mac: s("mac").ok_or_else(|| meta_err("`sops.mac` is missing"))?,
        mac_only_encrypted: m
            .get("mac_only_encrypted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        rule,
    })
}

/// SOPS authenticates the MAC with `LastModified.Format(time.RFC3339)`, which drops
/// fractional seconds: do the same with the stored text.
fn go_rfc3339(t: &str) -> String {
    match t.find('.') {
        Some(dot) => {
            let rest = &t[dot + 1..];
            let frac_end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            format!("{}{}", &t[..dot], &rest[frac_end..])
        }
        None => t.to_owned(),
    }
}

/// The plaintext type recorded in an `ENC[...]` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SopsType {
    /// `str`
    Str,
    /// `int` / `int64`
    Int,
    /// `float`
    Float,
    /// `bool`
    Bool,
    /// `bytes`
    Bytes,
    /// `comment`
    Comment,
}

impl SopsType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "str" => SopsType::Str,
            "int" | "int64" => SopsType::Int,
            "float" => SopsType::Float,
            "bool" => SopsType::Bool,
            "bytes" => SopsType::Bytes,
            "comment" => SopsType::Comment,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            SopsType::Str => "str",
            SopsType::Int => "int",
            SopsType::Float => "float",
            SopsType::Bool => "bool",
            SopsType::Bytes => "bytes",
            SopsType::Comment => "comment",
        }
    }
}

/// Decrypts one `ENC[AES256_GCM,…]` string with the data key and additional data `aad`.
pub fn decrypt_value(
    enc: &str,
    data_key: &[u8; 32],
    aad: &str,
) -> Result<(SopsType, Zeroizing<Vec<u8>>), DecryptFailure> {
    let corrupt = DecryptFailure::Corrupt;
    let body = enc
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|r| r.strip_suffix(']'))
        .ok_or(corrupt("not a SOPS `ENC[AES256_GCM,...]` value"))?;
    let (mut data, mut iv, mut tag, mut typ) = (None, None, None, None);
    for part in body.split(',') {
        match part.split_once(':') {
            Some(("data", v)) => data = Some(v),
            Some(("iv", v)) => iv = Some(v),
            Some(("tag", v)) => tag = Some(v),
            Some(("type", v)) => typ = Some(v),
            _ => return Err(corrupt("unexpected field in a SOPS value")),
        }
    }
    let b64 = |v: Option<&str>| {
        STANDARD
            .decode(v.ok_or(corrupt("a SOPS value lacks data, iv or tag"))?)
            .map_err(|_| corrupt("bad base64 in a SOPS value"))
    };
    let (mut data, iv, tag) = (b64(data)?, b64(iv)?, b64(tag)?);
    let typ = typ
        .and_then(SopsType::parse)
        .ok_or(corrupt("unknown SOPS value type"))?;
    if iv.len() != 32 {
        return Err(corrupt("a SOPS IV must be 32 bytes"));
    }
    if tag.len() != 16 {
        return Err(DecryptFailure::Truncated);
    }
    data.extend_from_slice(&tag);
    let cipher = SopsCipher::new(data_key.into());
    let plain = cipher
        .decrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: &data,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| corrupt("authentication failed: wrong data key, moved or modified value"))?;
    Ok((typ, Zeroizing::new(plain)))
}

/// Encrypts `plaintext` as a SOPS value of type `typ` (empty plaintext stays empty, as in SOPS).
pub fn encrypt_value(plaintext: &[u8], typ: SopsType, data_key: &[u8; 32], aad: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let mut iv = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut iv);
    let cipher = SopsCipher::new(data_key.into());
    // AES-GCM sealing only fails beyond 64 GiB of input.
    let sealed = cipher
        .encrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .unwrap_or_default();
    let (data, tag) = sealed.split_at(sealed.len().saturating_sub(16));
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag),
        typ.name()
    )
}

/// The bytes SOPS feeds to its MAC for a plain leaf, or `None` for leaves it skips (null).
fn mac_bytes(v: &Value) -> Option<Vec<u8>> {
    // leaf-kinds:
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::Float(f) => Some(format!("{f}").into_bytes()),
        Value::Bool(true) => Some(b"True".to_vec()),
        Value::Bool(false) => Some(b"False".to_vec()),
        Value::Secret(s) => Some(s.expose_secret().as_bytes().to_vec()),
        _ => None,
    }
}

struct Walk<'a> {
    meta: &'a Metadata,
    key: &'a [u8; 32],
    mac: Sha512,
    path: Vec<String>,
    locate: &'a dyn Fn(&str) -> Option<String>,
    dotted: Vec<String>,
}

impl Walk<'_> {
    fn fail(&self, reason: DecryptFailure) -> DecryptError {
        let dotted = self.dotted.last().cloned().unwrap_or_default();
        DecryptError::new(dotted.clone(), (self.locate)(&dotted), reason)
    }

    fn node(&mut self, v: &mut Value) -> Result<(), DecryptError> {
        match v {
            Value::Map(m) => {
                for (k, child) in m.iter_mut() {
                    self.path.push(k.to_string());
                    let parent = self.dotted.last().cloned().unwrap_or_default();
                    let mut d = parent;
                    crate::value::push_segment(&mut d, crate::value::Segment::Key(k));
                    self.dotted.push(d);
                    let r = self.node(child);
                    self.dotted.pop();
                    self.path.pop();
                    r?;
                }
                Ok(())
            }
            Value::Seq(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    let mut d = self.dotted.last().cloned().unwrap_or_default();
                    crate::value::push_segment(&mut d, crate::value::Segment::Index(i));
                    self.dotted.push(d);
                    let r = self.node(child);
                    self.dotted.pop();
                    r?;
                }
                Ok(())
            }
            leaf => self.leaf(leaf),
        }
    }

    fn leaf(&mut self, v: &mut Value) -> Result<(), DecryptError> {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        let encrypted = self.meta.rule.encrypts(&path);
        if encrypted {
            let aad = format!("{}:", path.join(":"));
            let decrypted = match v {
                Value::String(s) if s.is_empty() => Value::String(crate::value::Str::default()),
                Value::String(s) => {
                    let (typ, plain) =
                        decrypt_value(s, self.key, &aad).map_err(|r| self.fail(r))?;
                    let text = String::from_utf8(plain.to_vec())
                        .map_err(|_| self.fail(DecryptFailure::NotUtf8))?;
                    let _ = typ; // every decrypted SOPS leaf is kept as secret text
                    Value::Secret(Arc::new(SecretString::new(text)))
                }
                Value::Null => return Ok(()),
                _ => {
                    return Err(self.fail(DecryptFailure::Malformed(
                        "an encrypted SOPS leaf must be an ENC[...] string",
                    )));
                }
            };
            *v = decrypted;
        }
        if (!self.meta.mac_only_encrypted || encrypted)
            && let Some(b) = mac_bytes(v)
        {
            self.mac.update(Zeroizing::new(b));
        }
        Ok(())
    }
}

/// Decrypts a SOPS document in place: removes the `sops` metadata, recovers the data key
/// with `keyring`, replaces every encrypted leaf with a [`Value::Secret`], and verifies the
/// MAC. `locate` maps a dotted key path to `file:line:col` for error messages.
pub fn decrypt_document(
    root: &mut Value,
    keyring: &Keyring,
    locate: &dyn Fn(&str) -> Option<String>,
) -> Result<(), DecryptError> {
    let Some(map) = root.as_map_mut() else {
        return Err(meta_err("a SOPS document must be a map"));
    };
    let sops = map
        .shift_remove(SOPS_KEY)
        .ok_or_else(|| meta_err("no `sops` metadata"))?;
    let meta = parse_metadata(&sops).map_err(|mut e| {
        e.location = locate(SOPS_KEY);
        e
    })?;
    let key =
        data_key(&meta, keyring).map_err(|r| DecryptError::new(SOPS_KEY, locate(SOPS_KEY), r))?;
    let mut walk = Walk {
        meta: &meta,
        key: &key,
        mac: Sha512::new(),
        path: Vec::new(),
        locate,
        dotted: Vec::new(),
    };
    if meta.mac_only_encrypted {
        walk.mac.update(Sha256::digest(b"sops"));
    }
    walk.node(root)?;
    let computed = hex_upper(&walk.mac.finalize());
    let mac_loc = || locate("sops.mac");
    let stored = decrypt_value(&meta.mac, &key, &meta.last_modified)
        .map_err(|_| DecryptError::new("sops.mac", mac_loc(), DecryptFailure::MacMismatch))?;
    if !constant_time_eq(stored.1.as_slice(), computed.as_bytes()) {
        return Err(DecryptError::new(
            "sops.mac",
            mac_loc(),
            DecryptFailure::MacMismatch,
        ));
    }
    Ok(())
}

fn data_key(meta: &Metadata, keyring: &Keyring) -> Result<Zeroizing<[u8; 32]>, DecryptFailure> {
    let mut last = None;
    for (_recipient, enc) in &meta.age {
        match keyring.decrypt_age_armored(enc.as_bytes()) {
            Ok(k) if k.len() == 32 => {
                let mut key = Zeroizing::new([0u8; 32]);
                key.copy_from_slice(&k);
                return Ok(key);
            }
            Ok(_) => last = Some(DecryptFailure::Corrupt("the SOPS data key is not 32 bytes")),
            Err(DecryptFailure::NoMatchingIdentity { .. }) => {}
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| DecryptFailure::NoMatchingIdentity {
        algorithm: "sops+age".into(),
        key_name: meta
            .age
            .iter()
            .map(|(r, _)| r.as_str())
            .collect::<Vec<_>>()
            .join(","),
    }))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Encrypts a plain document the way `sops --encrypt --age RECIPIENTS` does (default
/// `_unencrypted` suffix rule, one key group) and returns it with its `sops` metadata.
/// `last_modified` is the RFC 3339 UTC timestamp to record. Used by tests and fixtures.
pub fn encrypt_document(
    plain: &Value,
    recipients: &[(String, super::c5encval::Recipient)],
    last_modified: &str,
) -> Result<Value, EncryptError> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::thread_rng().fill_bytes(key.as_mut_slice());
    let mut mac = Sha512::new();
    let mut out = plain.clone();
    encrypt_node(&mut out, &mut Vec::new(), &key, &mut mac);
    let mac_hex = hex_upper(&mac.finalize());
    let mut age_entries = Vec::new();
    for (text, r) in recipients {
        let mut buf = Vec::new();
        {
            let enc =
                age::Encryptor::with_recipients(std::iter::once(r.as_ref() as &dyn age::Recipient))
                    .map_err(|e| EncryptError::Age(e.to_string()))?;
            let armor =
                age::armor::ArmoredWriter::wrap_output(&mut buf, age::armor::Format::AsciiArmor)
                    .map_err(|e| EncryptError::Age(e.to_string()))?;
            let mut w = enc
                .wrap_output(armor)
                .map_err(|e| EncryptError::Age(e.to_string()))?;
            std::io::Write::write_all(&mut w, key.as_slice())
                .map_err(|e| EncryptError::Age(e.to_string()))?;
            w.finish()
                .and_then(|a| a.finish())
                .map_err(|e| EncryptError::Age(e.to_string()))?;
        }
        let mut entry = Map::default();
        entry.insert("recipient".into(), Value::from(text.as_str()));
        entry.insert(
            "enc".into(),
            Value::from(String::from_utf8_lossy(&buf).into_owned()),
        );
        age_entries.push(Value::Map(entry));
    }
    let mut sops = Map::default();
    sops.insert("age".into(), Value::Seq(age_entries));
    sops.insert("lastmodified".into(), Value::from(last_modified));
    sops.insert(
        "mac".into(),
        Value::from(encrypt_value(
            mac_hex.as_bytes(),
            SopsType::Str,
            &key,
            last_modified,
        )),
    );
    sops.insert(
        "unencrypted_suffix".into(),
        Value::from(DEFAULT_UNENCRYPTED_SUFFIX),
    );
    sops.insert("version".into(), Value::from("3.9.0"));
    if let Some(m) = out.as_map_mut() {
        m.insert(SOPS_KEY.into(), Value::Map(sops));
    }
    Ok(out)
}

fn encrypt_node(v: &mut Value, path: &mut Vec<String>, key: &[u8; 32], mac: &mut Sha512) {
    match v {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                path.push(k.to_string());
                encrypt_node(child, path, key, mac);
                path.pop();
            }
        }
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|c| encrypt_node(c, path, key, mac)),
        leaf => {
            let Some(bytes) = mac_bytes(leaf) else { return };
            mac.update(&bytes);
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            if Rule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.into()).encrypts(&parts) {
                // leaf-kinds:
                let typ = match leaf {
                    Value::Int(_) => SopsType::Int,
                    Value::Float(_) => SopsType::Float,
                    Value::Bool(_) => SopsType::Bool,
                    _ => SopsType::Str,
                };
                *leaf = Value::from(encrypt_value(
                    &bytes,
                    typ,
                    key,
                    &format!("{}:", parts.join(":")),
                ));
            }
        }
    }
}
