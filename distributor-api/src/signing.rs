//! Signed donor requests: one definition of what a registered donor signs, for the executor that
//! signs and the server that checks.
//!
//! A donor is an Ed25519 key pair. A signed request carries four headers ([`KEY_HEADER`],
//! [`TIMESTAMP_HEADER`], [`NONCE_HEADER`], [`SIGNATURE_HEADER`]); the signature covers
//! [`message`]: a domain tag, the method, the path with its query, the hash of the body
//! ([`body_hash`], or [`upload_hash`] for the multipart uploads), the timestamp, the nonce and the
//! signing key. So a signature is good for one request only: another method, path, body or key
//! breaks it, the server refuses a timestamp more than [`MAX_CLOCK_SKEW_SECS`] away from its
//! clock, and it remembers every nonce until its timestamp is stale, so a request cannot be
//! replayed.
//!
//! A request without any of the four headers is anonymous (and earns no credit); a request with
//! some of them is refused.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The donor's public key: 64 lower-case hex digits (32 bytes).
pub const KEY_HEADER: &str = "donor-key";
/// Seconds since the Unix epoch when the request was signed.
pub const TIMESTAMP_HEADER: &str = "donor-timestamp";
/// A random value used once: 16 to 64 hex digits.
pub const NONCE_HEADER: &str = "donor-nonce";
/// The Ed25519 signature of [`message`]: 128 hex digits.
pub const SIGNATURE_HEADER: &str = "donor-signature";

/// How far (seconds) a request's timestamp may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// What a signature covers; the tag keeps these signatures from meaning anything elsewhere.
const REQUEST_TAG: &str = "cairo-donor-request-v1";
/// What a new key signs to take over a donor's identity ([`rotation_message`]).
const ROTATION_TAG: &str = "cairo-donor-key-rotation-v1";

/// The SHA-256 of a request body (of nothing for a request without one).
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// The body hash of a proof or execution upload: the SHA-256 of its `data` part and its `file`
/// part, each preceded by its length (8 bytes, little endian). It does not depend on the
/// multipart framing (boundaries, part headers), which client libraries choose freely.
pub fn upload_hash(data: &[u8], file: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [data, file] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The bytes a donor signs for one request. `path` is the path with its query string, exactly as
/// sent (`/program/proof`, `/donors?limit=5`).
pub fn message(
    method: &str,
    path: &str,
    body_hash: &[u8; 32],
    timestamp: i64,
    nonce: &str,
    key: &[u8; 32],
) -> Vec<u8> {
    format!(
        "{REQUEST_TAG}\n{}\n{path}\n{}\n{timestamp}\n{nonce}\n{}",
        method.to_ascii_uppercase(),
        hex(body_hash),
        hex(key)
    )
    .into_bytes()
}

/// What the new key signs in a key rotation: that it takes over the donor `donor_id`.
pub fn rotation_message(donor_id: &uuid::Uuid, new_key: &[u8; 32]) -> Vec<u8> {
    format!("{ROTATION_TAG}\n{donor_id}\n{}", hex(new_key)).into_bytes()
}

/// Why a signature or key does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("the public key is not 64 hex digits")]
    MalformedKey,
    #[error("the public key is not a valid Ed25519 point")]
    InvalidKey,
    #[error("the signature is not 128 hex digits")]
    MalformedSignature,
    #[error("the signature does not match the request and the key")]
    Mismatch,
}

/// A public key from its hex form.
pub fn parse_key(text: &str) -> Result<[u8; 32], SignatureProblem> {
    let bytes = unhex(text.trim()).ok_or(SignatureProblem::MalformedKey)?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| SignatureProblem::MalformedKey)?;
    VerifyingKey::from_bytes(&key).map_err(|_| SignatureProblem::InvalidKey)?;
    Ok(key)
}

/// Checks `signature` (hex) of `message` by `key` (strict Ed25519: no malleable signatures, no
/// weak keys).
pub fn verify(key: &[u8; 32], message: &[u8], signature: &str) -> Result<(), SignatureProblem> {
    let bytes = unhex(signature.trim()).ok_or(SignatureProblem::MalformedSignature)?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| SignatureProblem::MalformedSignature)?;
    let key = VerifyingKey::from_bytes(key).map_err(|_| SignatureProblem::InvalidKey)?;
    key.verify_strict(message, &Signature::from_bytes(&bytes))
        .map_err(|_| SignatureProblem::Mismatch)
}

/// A donor's key pair.
#[derive(Clone)]
pub struct DonorKey(SigningKey);

impl std::fmt::Debug for DonorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DonorKey({})", self.public_hex())
    }
}

impl DonorKey {
    /// A new random key pair (from the operating system's generator).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)?;
        Ok(Self::from_secret(&secret))
    }

    /// The key pair of a stored 32-byte secret.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        DonorKey(SigningKey::from_bytes(secret))
    }

    /// The secret, to store (0600).
    pub fn secret(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The public key as it travels in [`KEY_HEADER`].
    pub fn public_hex(&self) -> String {
        hex(&self.public())
    }

    /// The hex signature of `message`.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        hex(&self.0.sign(message).to_bytes())
    }

    /// The four headers of a request, signed now with a fresh nonce.
    pub fn headers(
        &self,
        method: &str,
        path: &str,
        body_hash: &[u8; 32],
    ) -> Result<[(&'static str, String); 4], getrandom::Error> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)?;
        let nonce = hex(&nonce);
        let timestamp = chrono::Utc::now().timestamp();
        Ok(self.headers_at(method, path, body_hash, timestamp, &nonce))
    }

    /// The four headers of a request signed at `timestamp` with `nonce` (tests use it to make
    /// stale or replayed requests).
    pub fn headers_at(
        &self,
        method: &str,
        path: &str,
        body_hash: &[u8; 32],
        timestamp: i64,
        nonce: &str,
    ) -> [(&'static str, String); 4] {
        let key = self.public();
        let signed = message(method, path, body_hash, timestamp, nonce, &key);
        [
            (KEY_HEADER, hex(&key)),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (NONCE_HEADER, nonce.to_string()),
            (SIGNATURE_HEADER, self.sign_hex(&signed)),
        ]
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Bytes from hex (either case); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

fn digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DonorKey {
        DonorKey::from_secret(&[7u8; 32])
    }

    #[test]
    fn a_signature_checks_for_its_request_only() {
        let key = key();
        let hash = body_hash(b"{}");
        let [(_, public), (_, ts), (_, nonce), (_, sig)] =
            key.headers_at("post", "/donor", &hash, 1000, "00ff00ff00ff00ff");
        let public = parse_key(&public).unwrap();
        let ts: i64 = ts.parse().unwrap();
        let signed = message("POST", "/donor", &hash, ts, &nonce, &public);
        assert_eq!(verify(&public, &signed, &sig), Ok(()));
        for other in [
            message("GET", "/donor", &hash, ts, &nonce, &public),
            message("POST", "/donors", &hash, ts, &nonce, &public),
            message("POST", "/donor", &body_hash(b"{ }"), ts, &nonce, &public),
            message("POST", "/donor", &hash, ts + 1, &nonce, &public),
            message("POST", "/donor", &hash, ts, "00ff00ff00ff00fe", &public),
        ] {
            assert_eq!(
                verify(&public, &other, &sig),
                Err(SignatureProblem::Mismatch)
            );
        }
        let stranger = DonorKey::from_secret(&[8u8; 32]).public();
        assert!(verify(&stranger, &signed, &sig).is_err());
    }

    #[test]
    fn malformed_keys_and_signatures_are_named() {
        assert_eq!(parse_key("xyz"), Err(SignatureProblem::MalformedKey));
        assert_eq!(
            parse_key(&"ab".repeat(31)),
            Err(SignatureProblem::MalformedKey)
        );
        let public = key().public();
        assert_eq!(parse_key(&hex(&public).to_uppercase()), Ok(public));
        assert_eq!(
            verify(&public, b"m", "zz"),
            Err(SignatureProblem::MalformedSignature)
        );
    }

    #[test]
    fn the_upload_hash_does_not_let_bytes_move_between_parts() {
        assert_ne!(upload_hash(b"ab", b"c"), upload_hash(b"a", b"bc"));
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("é0"), None);
    }
}
