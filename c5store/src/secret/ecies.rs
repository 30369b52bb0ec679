//! C5Store's `ecies_x25519` algorithm and its PEM key files, for values written by C5Store.
//!
//! Byte layout of a payload (base64, standard alphabet, padded), as C5Store's `ecies_25519`
//! dependency writes it:
//!
//! ```text
//! ephemeral X25519 public key (32) || AES-GCM nonce (12) || ciphertext || GCM tag (16)
//! ```
//!
//! The AES-256 key is `HKDF-SHA256(salt = none, ikm = ephemeral_public || shared_secret,
//! info = "ecies_x25519")`, 32 bytes; there is no additional authenticated data.
//! Keys are OpenSSL PKCS#8 PEM files (`openssl genpkey -algorithm X25519`); Ed25519 PEM keys
//! are accepted too and converted to their X25519 form, as C5Store does.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::error::DecryptFailure;

const HKDF_INFO: &[u8] = b"ecies_x25519";
const PUBLIC_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// DER prefix of a PKCS#8 v1 X25519 private key (OID 1.3.101.110).
const PKCS8_X25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of a PKCS#8 v1 Ed25519 private key (OID 1.3.101.112).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn derive_key(ephemeral_public: &[u8; 32], shared: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut master = Zeroizing::new([0u8; 64]);
    master[..32].copy_from_slice(ephemeral_public);
    master[32..].copy_from_slice(shared);
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, master.as_slice());
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = hk.expand(HKDF_INFO, out.as_mut_slice());
    out
}

/// Decrypts a base64 `ecies_x25519` payload with `secret`.
pub(crate) fn decrypt(
    secret: &StaticSecret,
    payload: &str,
) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    let packed = STANDARD
        .decode(strip_whitespace(payload).as_bytes())
        .map_err(|_| DecryptFailure::Corrupt("payload is not valid base64"))?;
    if packed.len() < PUBLIC_KEY_LEN + NONCE_LEN + TAG_LEN {
        return Err(DecryptFailure::Truncated);
    }
    let mut eph = [0u8; 32];
    eph.copy_from_slice(&packed[..PUBLIC_KEY_LEN]);
    let shared = secret.diffie_hellman(&PublicKey::from(eph));
    let key = derive_key(&eph, shared.as_bytes());
    let cipher = Aes256Gcm::new_from_slice(key.as_slice())
        .map_err(|_| DecryptFailure::Corrupt("bad key length"))?;
    let nonce = Nonce::from_slice(&packed[PUBLIC_KEY_LEN..PUBLIC_KEY_LEN + NONCE_LEN]);
    cipher
        .decrypt(nonce, &packed[PUBLIC_KEY_LEN + NONCE_LEN..])
        .map(Zeroizing::new)
        .map_err(|_| {
            DecryptFailure::Corrupt("authentication failed: wrong key or modified payload")
        })
}

/// Encrypts `plaintext` to `recipient` the way C5Store does, returning the base64 payload.
pub fn encrypt<R: RngCore + CryptoRng>(
    recipient: &PublicKey,
    plaintext: &[u8],
    rng: &mut R,
) -> String {
    let ephemeral = StaticSecret::random_from_rng(&mut *rng);
    let eph_public = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(recipient);
    let key = derive_key(eph_public.as_bytes(), shared.as_bytes());
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(key.as_slice()));
    // AES-GCM encryption only fails for inputs beyond 64 GiB.
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .unwrap_or_default();
    let mut packed = Vec::with_capacity(PUBLIC_KEY_LEN + NONCE_LEN + sealed.len());
    packed.extend_from_slice(eph_public.as_bytes());
    packed.extend_from_slice(&nonce);
    packed.extend_from_slice(&sealed);
    STANDARD.encode(packed)
}

fn strip_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether `text` looks like a PEM private key (`-----BEGIN PRIVATE KEY-----`).
pub(crate) fn is_pem_private_key(text: &str) -> bool {
    text.contains("-----BEGIN PRIVATE KEY-----")
}

/// Parses an OpenSSL PKCS#8 PEM X25519 (or Ed25519, converted) private key.
pub(crate) fn parse_pem_private_key(text: &str) -> Result<StaticSecret, &'static str> {
    let begin = "-----BEGIN PRIVATE KEY-----";
    let end = "-----END PRIVATE KEY-----";
    let start = text.find(begin).ok_or("no `BEGIN PRIVATE KEY` block")? + begin.len();
    let stop = text[start..].find(end).ok_or("no `END PRIVATE KEY` line")? + start;
    let der = Zeroizing::new(
        STANDARD
            .decode(strip_whitespace(&text[start..stop]).as_bytes())
            .map_err(|_| "the PEM body is not valid base64")?,
    );
    raw_key_from_pkcs8(&der)
}

fn raw_key_from_pkcs8(der: &[u8]) -> Result<StaticSecret, &'static str> {
    if der.len() < 48 {
        return Err("the PEM key is too short to be an X25519 or Ed25519 PKCS#8 key");
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&der[16..48]);
    if der[..16] == PKCS8_X25519_PREFIX {
        Ok(StaticSecret::from(*key))
    } else if der[..16] == PKCS8_ED25519_PREFIX {
        // The X25519 scalar of an Ed25519 seed is the clamped first half of SHA-512(seed).
        use sha2::Digest;
        let mut hash = sha2::Sha512::digest(key.as_slice());
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(&hash.as_slice()[..32]);
        zeroize::Zeroize::zeroize(hash.as_mut_slice());
        Ok(StaticSecret::from(*scalar))
    } else {
        Err("the PEM key is not an X25519 or Ed25519 PKCS#8 v1 key")
    }
}

/// Builds a C5Store key from raw key bytes (C5Store takes non-PEM key files as raw bytes).
pub(crate) fn raw_key(bytes: &[u8]) -> Result<StaticSecret, &'static str> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "a raw C5Store key must be exactly 32 bytes")?;
    Ok(StaticSecret::from(arr))
}

/// Formats `secret` as an OpenSSL-compatible PKCS#8 PEM private key.
pub fn private_key_pem(secret: &StaticSecret) -> Zeroizing<String> {
    let mut der = Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&PKCS8_X25519_PREFIX);
    der.extend_from_slice(secret.as_bytes());
    Zeroizing::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der.as_slice())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vector from the `ecies_25519` crate C5Store uses (its own unit test).
    #[test]
    fn decrypts_the_upstream_known_answer_vector() {
        let key = StaticSecret::from([
            216, 165, 49, 19, 235, 206, 111, 153, 78, 96, 85, 233, 182, 163, 21, 167, 137, 130, 23,
            76, 112, 242, 181, 238, 63, 18, 113, 21, 239, 179, 250, 78,
        ]);
        let payload = "l1nwORTMVjzABXw2Ng+arfOEKhSiwAi7Z98bhTCnHgISwzes9gudq2ni9CgdfKM71wk2EfBFPaMJWHT1pBDArI7I35TQvK4=";
        assert_eq!(decrypt(&key, payload).unwrap().as_slice(), b"Hello World");
    }

    #[test]
    fn round_trip_wrong_key_truncated_tampered() {
        let mut rng = rand::thread_rng();
        let key = StaticSecret::random_from_rng(&mut rng);
        let other = StaticSecret::random_from_rng(&mut rng);
        let payload = encrypt(&PublicKey::from(&key), b"s3cret", &mut rng);
        assert_eq!(decrypt(&key, &payload).unwrap().as_slice(), b"s3cret");
        assert!(matches!(
            decrypt(&other, &payload),
            Err(DecryptFailure::Corrupt(_))
        ));
        let raw = STANDARD.decode(&payload).unwrap();
        let truncated = STANDARD.encode(&raw[..40]);
        assert_eq!(decrypt(&key, &truncated), Err(DecryptFailure::Truncated));
        let mut tampered = raw.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            decrypt(&key, &STANDARD.encode(tampered)),
            Err(DecryptFailure::Corrupt(_))
        ));
        assert!(matches!(
            decrypt(&key, "not base64!"),
            Err(DecryptFailure::Corrupt(_))
        ));
    }

    #[test]
    fn pem_round_trip_and_openssl_layout() {
        let key = StaticSecret::random_from_rng(rand::thread_rng());
        let pem = private_key_pem(&key);
        let parsed = parse_pem_private_key(&pem).unwrap();
        assert_eq!(parsed.as_bytes(), key.as_bytes());
        // A key produced by `openssl genpkey -algorithm X25519`.
        let openssl = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIIBro1/i+3MFH+1Pn+ebgoZCvdV6Rqe1BcgnH+w96spx\n-----END PRIVATE KEY-----\n";
        let k = parse_pem_private_key(openssl).unwrap();
        assert_eq!(k.as_bytes()[0], 0x80);
        assert!(
            parse_pem_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
