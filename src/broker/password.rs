//! The temporary firefighter password and its SCRAM-SHA-256 verifier.
//!
//! Owns generation (CSPRNG, 40 alphanumerics) and client-side hashing. Neither type has
//! `Display` or `Serialize`; `Debug` is redacted; both are zeroized on drop. The plaintext leaves
//! this module only through [`TempPassword::expose_for_delivery`] (the DM to the requester, whose
//! text and request body are `Zeroizing` buffers too: `slack::render::credentials`,
//! `slack::secret_body`); the database only ever receives the verifier (KNOWN-DEFECTS G8).
//! No I/O here.

use rand::RngExt;
use zeroize::Zeroizing;

/// Length of a temporary password, in characters.
pub const PASSWORD_LEN: usize = 40;

/// Characters a temporary password is drawn from: `A-Za-z0-9`.
///
/// 62 symbols x 40 characters is about 238 bits. No `-`/`_` either: they break double-click
/// selection in Slack and a leading `-` reads as an option on a command line. Nothing here
/// needs quoting in a URL, a shell, a libpq connection string or psql.
pub const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A freshly generated temporary password for a firefighter role.
pub struct TempPassword(Zeroizing<String>);

impl TempPassword {
    /// Draws a new password from the thread-local CSPRNG (`rand::rng()`, ChaCha seeded from the
    /// OS), sampling each character uniformly (no modulo bias).
    pub fn generate() -> TempPassword {
        let mut rng = rand::rng();
        // Capacity reserved up front so the buffer never reallocates and leaves a copy behind.
        let mut s = Zeroizing::new(String::with_capacity(PASSWORD_LEN));
        for _ in 0..PASSWORD_LEN {
            let i = rng.random_range(0..ALPHABET.len());
            s.push(char::from(ALPHABET[i]));
        }
        TempPassword(s)
    }

    /// The plaintext, for the one place that delivers it to the requester. Do not log it, and
    /// copy it only into a `Zeroizing` buffer (see `slack::secret_body::format_exact`).
    pub fn expose_for_delivery(&self) -> &str {
        &self.0
    }

    /// The SCRAM-SHA-256 verifier of this password, with a fresh random salt.
    pub fn scram_verifier(&self) -> ScramVerifier {
        ScramVerifier(Zeroizing::new(postgres_protocol::password::scram_sha_256(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for TempPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TempPassword(<redacted>)")
    }
}

/// `SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>`, what `ALTER ROLE ... PASSWORD` stores.
///
/// Not the password, but still kept out of logs: it allows an offline guessing attack.
pub struct ScramVerifier(Zeroizing<String>);

impl ScramVerifier {
    /// The verifier text, to bind as the `p_password` parameter.
    pub fn expose_for_database(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScramVerifier(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn password_is_forty_characters_from_the_alphabet() {
        for _ in 0..200 {
            let p = TempPassword::generate();
            let s = p.expose_for_delivery();
            assert_eq!(s.len(), PASSWORD_LEN);
            assert!(s.bytes().all(|b| ALPHABET.contains(&b)), "{s}");
        }
    }

    #[test]
    fn thousand_passwords_are_distinct_and_use_the_whole_alphabet() {
        let all: Vec<String> =
            (0..1000).map(|_| TempPassword::generate().expose_for_delivery().to_owned()).collect();
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), 1000);
        // 40 000 draws over 62 symbols: every symbol appears, none wildly over-represented.
        let mut counts = [0usize; 256];
        for s in &all {
            for b in s.bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        let expected = 40_000 / 62; // ~645
        for &b in ALPHABET {
            let c = counts[usize::from(b)];
            assert!(c > expected / 2 && c < expected * 2, "{} seen {c} times", char::from(b));
        }
    }

    #[test]
    fn debug_output_is_redacted() {
        let p = TempPassword::generate();
        let v = p.scram_verifier();
        assert_eq!(format!("{p:?}"), "TempPassword(<redacted>)");
        assert_eq!(format!("{v:?}"), "ScramVerifier(<redacted>)");
        assert!(!format!("{p:?}{v:?}").contains(p.expose_for_delivery()));
    }

    #[test]
    fn verifier_has_the_postgres_scram_format() {
        let p = TempPassword::generate();
        let v = p.scram_verifier();
        let s = v.expose_for_database();
        let rest = s.strip_prefix("SCRAM-SHA-256$4096:").expect("prefix");
        let (salt, keys) = rest.split_once('$').expect("salt$keys");
        let (stored, server) = keys.split_once(':').expect("stored:server");
        let b64 = |x: &str| {
            x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        };
        // 16-byte salt and 32-byte keys, standard base64.
        assert_eq!(salt.len(), 24);
        assert_eq!(stored.len(), 44);
        assert_eq!(server.len(), 44);
        assert!(b64(salt) && b64(stored) && b64(server), "{s}");
        assert!(!s.contains(p.expose_for_delivery()));
        // A fresh salt every time.
        assert_ne!(p.scram_verifier().expose_for_database(), s);
    }
}
