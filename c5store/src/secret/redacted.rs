//! [`Secret<T>`]: a value that never prints, serializes or logs its contents and is zeroized on drop.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// The text every redacted secret shows in `Debug`, `Display` and serialization.
pub const REDACTED: &str = "<redacted>";

/// A secret value: `Debug`, `Display` and `Serialize` show [`REDACTED`], the memory is
/// zeroized when the value is dropped, and reading the plaintext takes an explicit
/// [`Secret::expose_secret`] call that is easy to find in review.
///
/// ```
/// use c5store::secret::Secret;
/// let password = Secret::new(String::from("hunter2"));
/// assert_eq!(format!("{password:?} {password}"), "<redacted> <redacted>");
/// assert_eq!(password.expose_secret(), "hunter2");
/// ```
#[derive(Clone, Default)]
pub struct Secret<T: Zeroize> {
    inner: T,
}

/// A secret string, the form every decrypted config value takes.
pub type SecretString = Secret<String>;

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`; from here on it is only reachable through [`Secret::expose_secret`].
    pub fn new(value: T) -> Self {
        Self { inner: value }
    }

    /// The plaintext. Every call site is a place where the secret can leak: keep it short.
    pub fn expose_secret(&self) -> &T {
        &self.inner
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.inner.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// Reading a `Secret<T>` from config (`get::<Secret<String>>`, or a `Secret<u16>` field in a
/// struct read with `get_into`) reads `T` and wraps it at once, so the plaintext only lives on in
/// the wrapper.
impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret::new)
    }
}

/// Equality compares the plaintexts in constant time for byte-like values, so comparing a
/// secret with a guess does not leak how long the matching prefix is.
impl<T: Zeroize + AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.inner.as_ref(), other.inner.as_ref())
    }
}

impl<T: Zeroize + AsRef<[u8]>> Eq for Secret<T> {}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_serialize_are_redacted() {
        let s = Secret::new(String::from("p@ss-w0rd"));
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:#?}"), REDACTED);
        #[derive(Debug, Serialize)]
        struct Holder {
            password: Secret<String>,
        }
        let h = Holder {
            password: s.clone(),
        };
        assert!(!format!("{h:?}").contains("p@ss"));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"password":"<redacted>"}"#
        );
        assert_eq!(s.expose_secret(), "p@ss-w0rd");
    }

    #[test]
    fn equality_compares_plaintexts() {
        assert_eq!(SecretString::from("a"), SecretString::from("a"));
        assert_ne!(SecretString::from("a"), SecretString::from("b"));
        assert_ne!(SecretString::from("a"), SecretString::from("ab"));
    }

    #[test]
    fn drop_zeroizes_the_value() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        struct Probe(Arc<AtomicBool>);
        impl Zeroize for Probe {
            fn zeroize(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let wiped = Arc::new(AtomicBool::new(false));
        let s = Secret::new(Probe(wiped.clone()));
        assert!(!wiped.load(Ordering::SeqCst));
        drop(s);
        assert!(wiped.load(Ordering::SeqCst), "Drop must call zeroize");
        // and for strings, zeroize clears the bytes
        let mut text = String::from("wipe me");
        text.zeroize();
        assert!(text.is_empty());
    }
}
