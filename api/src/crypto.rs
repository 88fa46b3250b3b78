//! Protection of personal data at rest: NIK, KK number and registry details are
//! stored encrypted, and found again through a keyed blind index.
//!
//! - [`PiiCipher`]: XChaCha20-Poly1305 with a 192-bit random nonce per value. Each
//!   blob names the key that sealed it, so keys rotate without a migration: new
//!   writes use the current key, older blobs still open with the key they name,
//!   and a background re-encryption can find them with [`PiiCipher::needs_reencryption`].
//! - [`BlindIndex`]: HMAC-SHA256 under a separate key over a domain label and a
//!   normalised value. Equal inputs give equal 32 bytes, so a unique index on the
//!   column enforces "one account per NIK" without storing the NIK in clear; a
//!   database copy alone cannot reverse it (the NIK space is small enough to brute
//!   force an unkeyed hash, not a keyed one).
//! - [`PiiKeys`]: the key material, parsed from configuration with clear errors.
//!
//! Callers pass associated data that names where a blob lives (for example
//! `b"accounts.nik:" + account id`), so a blob copied into another row or column
//! fails to decrypt instead of showing someone else's data.

use std::{collections::HashMap, fmt};

use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use secrecy::{zeroize::Zeroize, ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::identity::{KkNumber, Nik};

/// Length of every key, encryption and blind index alike (256 bits).
pub const KEY_LEN: usize = 32;

/// First byte of every blob; a new layout gets a new number and old blobs keep
/// decrypting under the old one.
const FORMAT_V1: u8 = 1;
/// XChaCha20 nonce length: 192 bits, large enough to draw at random for every
/// value for the life of a key without a birthday collision.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Key ids are short labels written into each blob.
const MAX_KEY_ID_LEN: usize = 32;

/// Sandbox default for `PII_CURRENT_KEY_ID`.
pub const SANDBOX_PII_CURRENT_KEY_ID: &str = "sandbox-1";
/// Sandbox default for `PII_KEYS`: `sandbox-1` = base64 of the 32 ASCII bytes
/// `sandbox-only-pii-key-change-me!!`. Public on purpose, so never for production.
pub const SANDBOX_PII_KEYS: &str = "sandbox-1:c2FuZGJveC1vbmx5LXBpaS1rZXktY2hhbmdlLW1lISE=";
/// Sandbox default for `PII_BLIND_INDEX_KEY`: base64 of the 32 ASCII bytes
/// `sandbox-only-blind-index-key-001`.
pub const SANDBOX_PII_BLIND_INDEX_KEY: &str = "c2FuZGJveC1vbmx5LWJsaW5kLWluZGV4LWtleS0wMDE=";

const SANDBOX_KEY: &[u8; KEY_LEN] = b"sandbox-only-pii-key-change-me!!";
const SANDBOX_BLIND_INDEX_KEY: &[u8; KEY_LEN] = b"sandbox-only-blind-index-key-001";

/// Why a blob could not be opened. None of the messages contain key material or
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Too short or its header is inconsistent: not something [`PiiCipher`] wrote.
    #[error("the encrypted value is malformed")]
    Malformed,
    /// Written by a newer format this build does not know.
    #[error("the encrypted value uses format version {0}, which this build cannot read")]
    UnsupportedVersion(u8),
    /// Sealed with a key that is no longer (or not yet) configured.
    #[error("the encrypted value names key {0:?}, which is not configured")]
    UnknownKey(String),
    /// Tag check failed: wrong key, wrong associated data, or tampered bytes.
    #[error("the encrypted value failed authentication")]
    Authentication,
    /// Opened fine but is not the UTF-8 text [`PiiCipher::decrypt_string`] expects.
    #[error("the decrypted value is not UTF-8 text")]
    NotUtf8,
}

/// A problem in the PII key configuration, naming the variable to fix. Never
/// contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct PiiKeyError {
    /// `PII_KEYS`, `PII_CURRENT_KEY_ID` or `PII_BLIND_INDEX_KEY`.
    pub variable: &'static str,
    /// What is wrong, for the start-up error line.
    pub problem: String,
}

fn key_error(variable: &'static str, problem: impl Into<String>) -> PiiKeyError {
    PiiKeyError {
        variable,
        problem: problem.into(),
    }
}

/// Decodes one base64 key and checks its length.
fn decode_key(variable: &'static str, what: &str, encoded: &str) -> Result<Vec<u8>, PiiKeyError> {
    let bytes = STANDARD.decode(encoded.trim()).map_err(|_| {
        key_error(
            variable,
            format!("{what} is not standard base64 (make one with `openssl rand -base64 32`)"),
        )
    })?;
    if bytes.len() != KEY_LEN {
        return Err(key_error(
            variable,
            format!("{what} must decode to {KEY_LEN} bytes, not {}", bytes.len()),
        ));
    }
    Ok(bytes)
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The PII key material: one or more encryption keys by id, which of them seals
/// new values, and the blind index key.
#[derive(Clone)]
pub struct PiiKeys {
    current_key_id: String,
    /// The key named by `current_key_id`, held apart so that sealing never has to
    /// look it up (and so can never miss).
    current_key: SecretSlice<u8>,
    /// Every key, the current one included, for opening.
    keys: Vec<(String, SecretSlice<u8>)>,
    blind_index_key: SecretSlice<u8>,
}

impl PiiKeys {
    /// Parses the three configuration values:
    /// - `current_key_id`: the id whose key encrypts new values;
    /// - `keys`: comma-separated `id:base64key` pairs, every key 32 bytes, ids of
    ///   1–32 characters from `A–Z a–z 0–9 - _ .`; keep retired keys listed until
    ///   nothing is sealed with them any more;
    /// - `blind_index_key`: base64 of 32 bytes, different from every encryption key
    ///   (one key, one purpose). It cannot rotate without recomputing every index.
    pub fn from_env_values(
        current_key_id: &str,
        keys: &str,
        blind_index_key: &str,
    ) -> Result<PiiKeys, PiiKeyError> {
        let mut parsed: Vec<(String, SecretSlice<u8>)> = Vec::new();
        for (position, entry) in keys.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (id, encoded) = entry.split_once(':').ok_or_else(|| {
                key_error(
                    "PII_KEYS",
                    format!("entry {} is not of the form id:base64key", position + 1),
                )
            })?;
            let id = id.trim();
            if !valid_key_id(id) {
                return Err(key_error(
                    "PII_KEYS",
                    format!(
                        "entry {}: a key id has 1 to {MAX_KEY_ID_LEN} characters from A-Z a-z 0-9 - _ .",
                        position + 1
                    ),
                ));
            }
            if parsed.iter().any(|(known, _)| known == id) {
                return Err(key_error(
                    "PII_KEYS",
                    format!("key id {id:?} appears twice"),
                ));
            }
            let bytes = decode_key("PII_KEYS", &format!("the key of {id:?}"), encoded)?;
            parsed.push((id.to_owned(), SecretSlice::from(bytes)));
        }
        if parsed.is_empty() {
            return Err(key_error("PII_KEYS", "must list at least one id:base64key"));
        }
        let current_key_id = current_key_id.trim();
        let current_key = parsed
            .iter()
            .find(|(id, _)| id == current_key_id)
            .map(|(_, key)| key.clone())
            .ok_or_else(|| {
                key_error(
                    "PII_CURRENT_KEY_ID",
                    format!("{current_key_id:?} is not one of the ids in PII_KEYS"),
                )
            })?;
        let blind = decode_key("PII_BLIND_INDEX_KEY", "the key", blind_index_key)?;
        if parsed
            .iter()
            .any(|(_, key)| key.expose_secret() == blind.as_slice())
        {
            return Err(key_error(
                "PII_BLIND_INDEX_KEY",
                "must differ from every key in PII_KEYS",
            ));
        }
        Ok(PiiKeys {
            current_key_id: current_key_id.to_owned(),
            current_key,
            keys: parsed,
            blind_index_key: SecretSlice::from(blind),
        })
    }

    /// The fixed, public sandbox keys (the same as parsing [`SANDBOX_PII_CURRENT_KEY_ID`],
    /// [`SANDBOX_PII_KEYS`] and [`SANDBOX_PII_BLIND_INDEX_KEY`]), for the local run
    /// and tests. Production must refuse them: see [`PiiKeys::uses_sandbox_keys`].
    pub fn sandbox() -> PiiKeys {
        PiiKeys {
            current_key_id: SANDBOX_PII_CURRENT_KEY_ID.to_owned(),
            current_key: SecretSlice::from(SANDBOX_KEY.to_vec()),
            keys: vec![(
                SANDBOX_PII_CURRENT_KEY_ID.to_owned(),
                SecretSlice::from(SANDBOX_KEY.to_vec()),
            )],
            blind_index_key: SecretSlice::from(SANDBOX_BLIND_INDEX_KEY.to_vec()),
        }
    }

    /// Whether any key is one of the published sandbox keys; configuration should
    /// refuse to start in production when this is true.
    pub fn uses_sandbox_keys(&self) -> bool {
        self.blind_index_key.expose_secret() == SANDBOX_BLIND_INDEX_KEY.as_slice()
            || self
                .keys
                .iter()
                .any(|(_, key)| key.expose_secret() == SANDBOX_KEY.as_slice())
    }

    /// The id of the key that encrypts new values.
    pub fn current_key_id(&self) -> &str {
        &self.current_key_id
    }

    /// The encrypter/decrypter for these keys.
    pub fn cipher(&self) -> PiiCipher {
        let all: HashMap<String, XChaCha20Poly1305> = self
            .keys
            .iter()
            .map(|(id, key)| (id.clone(), new_cipher(key.expose_secret())))
            .collect();
        let current = new_cipher(self.current_key.expose_secret());
        PiiCipher {
            current_key_id: self.current_key_id.clone(),
            current,
            all,
        }
    }

    /// The blind index under the blind index key.
    pub fn blind_index(&self) -> BlindIndex {
        BlindIndex::new(self.blind_index_key.expose_secret())
    }
}

impl fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("PiiKeys")
            .field("current_key_id", &self.current_key_id)
            .field("key_ids", &ids)
            .field("blind_index_key", &"[redacted]")
            .finish()
    }
}

/// Keys come from `PiiKeys`, which checked their length; copying into a fixed
/// array keeps this total (no `from_slice` panic path) whatever it is given.
fn new_cipher(key: &[u8]) -> XChaCha20Poly1305 {
    let mut exact = [0u8; KEY_LEN];
    let n = key.len().min(KEY_LEN);
    exact[..n].copy_from_slice(&key[..n]);
    let cipher = XChaCha20Poly1305::new(&exact.into());
    // Do not leave a stray copy of the key on the stack.
    exact.zeroize();
    cipher
}

/// Encrypts and decrypts personal data with authenticated encryption.
///
/// Blob layout (format 1), all of it authenticated:
/// `0x01 ‖ len(key id) ‖ key id ‖ nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
/// The header (version and key id) is bound into the associated data, so it
/// cannot be altered to point at another key or format.
#[derive(Clone)]
pub struct PiiCipher {
    current_key_id: String,
    current: XChaCha20Poly1305,
    all: HashMap<String, XChaCha20Poly1305>,
}

impl PiiCipher {
    /// Seals `plaintext` under the current key with a fresh random nonce, bound to
    /// `aad` (where the value lives); the same `aad` is needed to open it.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let header = header(&self.current_key_id);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let bound = [header.as_slice(), aad].concat();
        let sealed = self
            .current
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &bound,
                },
            )
            // XChaCha20-Poly1305 refuses only messages beyond 256 GiB; personal
            // data fields are a few hundred bytes.
            .expect("XChaCha20-Poly1305 encrypts any message under 256 GiB");
        let mut blob = Vec::with_capacity(header.len() + NONCE_LEN + sealed.len());
        blob.extend_from_slice(&header);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        blob
    }

    /// Opens a blob sealed by [`PiiCipher::encrypt`] with any configured key, given
    /// the same `aad`.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let parsed = ParsedBlob::read(blob)?;
        let cipher = self
            .all
            .get(parsed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(parsed.key_id.to_owned()))?;
        let bound = [parsed.header, aad].concat();
        cipher
            .decrypt(
                XNonce::from_slice(parsed.nonce),
                Payload {
                    msg: parsed.sealed,
                    aad: &bound,
                },
            )
            .map_err(|_| CryptoError::Authentication)
    }

    /// [`PiiCipher::encrypt`] for text.
    pub fn encrypt_str(&self, plaintext: &str, aad: &[u8]) -> Vec<u8> {
        self.encrypt(plaintext.as_bytes(), aad)
    }

    /// [`PiiCipher::decrypt`] for text sealed with [`PiiCipher::encrypt_str`].
    pub fn decrypt_string(&self, blob: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(blob, aad)?).map_err(|_| CryptoError::NotUtf8)
    }

    /// The id of the key a blob was sealed with, read from its header.
    pub fn key_id_of(blob: &[u8]) -> Result<&str, CryptoError> {
        ParsedBlob::read(blob).map(|parsed| parsed.key_id)
    }

    /// Whether a blob was sealed with a key other than the current one (so a
    /// re-encryption job should rewrite it before the old key is retired).
    pub fn needs_reencryption(&self, blob: &[u8]) -> bool {
        Self::key_id_of(blob).map_or(true, |id| id != self.current_key_id)
    }

    /// The id of the key that seals new values.
    pub fn current_key_id(&self) -> &str {
        &self.current_key_id
    }
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&str> = self.all.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("PiiCipher")
            .field("current_key_id", &self.current_key_id)
            .field("key_ids", &ids)
            .finish()
    }
}

/// `version ‖ len(key id) ‖ key id`. Key ids are at most 32 bytes (checked when
/// parsed), so the length fits in one byte.
fn header(key_id: &str) -> Vec<u8> {
    let id = key_id.as_bytes();
    let mut header = Vec::with_capacity(2 + id.len());
    header.push(FORMAT_V1);
    header.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    header.extend_from_slice(id);
    header
}

/// A blob split into its parts, borrowed.
struct ParsedBlob<'a> {
    header: &'a [u8],
    key_id: &'a str,
    nonce: &'a [u8],
    sealed: &'a [u8],
}

impl<'a> ParsedBlob<'a> {
    fn read(blob: &'a [u8]) -> Result<ParsedBlob<'a>, CryptoError> {
        let (&version, rest) = blob.split_first().ok_or(CryptoError::Malformed)?;
        if version != FORMAT_V1 {
            return Err(CryptoError::UnsupportedVersion(version));
        }
        let (&id_len, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
        let id_len = usize::from(id_len);
        if id_len == 0 || rest.len() < id_len + NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (id, rest) = rest.split_at(id_len);
        let key_id = std::str::from_utf8(id).map_err(|_| CryptoError::Malformed)?;
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        Ok(ParsedBlob {
            header: &blob[..2 + id_len],
            key_id,
            nonce,
            sealed,
        })
    }
}

/// Keyed, deterministic fingerprints of personal data for equality lookups and
/// unique indexes (HMAC-SHA256 under the blind index key).
#[derive(Clone)]
pub struct BlindIndex {
    mac: Hmac<Sha256>,
}

/// Prefix of every blind index input, so these MACs can never equal a MAC made
/// elsewhere with the same key by mistake.
const BLIND_INDEX_LABEL: &[u8] = b"prakerja/blind-index/v1";

impl BlindIndex {
    /// A blind index under `key` (32 bytes from [`PiiKeys`]).
    pub fn new(key: &[u8]) -> BlindIndex {
        BlindIndex {
            mac: <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// HMAC-SHA256(key, label ‖ 0x00 ‖ len(domain) ‖ domain ‖ normalised value).
    ///
    /// `domain` names what is indexed (`"nik"`, `"kk_number"`, `"email"`), so equal
    /// strings of different kinds never collide. The value is normalised by
    /// trimming surrounding whitespace and lowercasing ASCII letters, so the index
    /// matches however a participant typed an identifier; pass values whose case
    /// does not matter (identifiers, not names).
    pub fn compute(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(BLIND_INDEX_LABEL);
        mac.update(&[0]);
        // Length-prefixed so ("ab", "c") and ("a", "bc") are different inputs.
        mac.update(
            &u32::try_from(domain.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        mac.update(domain.as_bytes());
        mac.update(value.trim().to_ascii_lowercase().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The index of a NIK (domain `nik`): the unique column that keeps one account
    /// per NIK.
    pub fn nik(&self, nik: &Nik) -> [u8; 32] {
        self.compute("nik", nik.expose())
    }

    /// The index of a KK number (domain `kk_number`): counts beneficiaries per
    /// family card.
    pub fn kk_number(&self, kk: &KkNumber) -> [u8; 32] {
        self.compute("kk_number", kk.expose())
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    fn keys(current: &str, pairs: &[(&str, [u8; 32])], blind: [u8; 32]) -> PiiKeys {
        let list = pairs
            .iter()
            .map(|(id, key)| format!("{id}:{}", b64(key)))
            .collect::<Vec<_>>()
            .join(",");
        PiiKeys::from_env_values(current, &list, &b64(&blind)).unwrap()
    }

    #[test]
    fn roundtrip_bytes_and_text() {
        let cipher = PiiKeys::sandbox().cipher();
        for plaintext in [&b""[..], b"3174011704950001", &[0u8, 255, 1, 2][..]] {
            let blob = cipher.encrypt(plaintext, b"accounts.nik:1");
            assert_eq!(cipher.decrypt(&blob, b"accounts.nik:1").unwrap(), plaintext);
        }
        let blob = cipher.encrypt_str("JL. MAWAR NO. 5", b"ctx");
        assert_eq!(
            cipher.decrypt_string(&blob, b"ctx").unwrap(),
            "JL. MAWAR NO. 5"
        );
    }

    #[test]
    fn blob_is_self_describing() {
        let cipher = PiiKeys::sandbox().cipher();
        let blob = cipher.encrypt(b"x", b"");
        assert_eq!(blob[0], FORMAT_V1);
        assert_eq!(usize::from(blob[1]), "sandbox-1".len());
        assert_eq!(PiiCipher::key_id_of(&blob).unwrap(), "sandbox-1");
        assert_eq!(blob.len(), 2 + 9 + NONCE_LEN + 1 + TAG_LEN);
        assert!(!cipher.needs_reencryption(&blob));
    }

    #[test]
    fn same_plaintext_encrypts_differently() {
        let cipher = PiiKeys::sandbox().cipher();
        let a = cipher.encrypt(b"3174011704950001", b"ctx");
        let b = cipher.encrypt(b"3174011704950001", b"ctx");
        assert_ne!(a, b);
        assert_ne!(a[11..11 + NONCE_LEN], b[11..11 + NONCE_LEN]);
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let cipher = PiiKeys::sandbox().cipher();
        let blob = cipher.encrypt(b"3174011704950001", b"ctx");
        // Every byte after the header: nonce, ciphertext and tag.
        for i in 11..blob.len() {
            let mut tampered = blob.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                cipher.decrypt(&tampered, b"ctx"),
                Err(CryptoError::Authentication),
                "byte {i}"
            );
        }
        let mut truncated = blob.clone();
        truncated.pop();
        assert_eq!(
            cipher.decrypt(&truncated, b"ctx"),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn header_tampering_is_refused() {
        let two = keys("a", &[("a", [1; 32]), ("b", [2; 32])], [9; 32]).cipher();
        let blob = two.encrypt(b"secret", b"ctx");
        // Point the blob at the other key: the header is authenticated.
        let mut renamed = blob.clone();
        renamed[2] = b'b';
        assert_eq!(
            two.decrypt(&renamed, b"ctx"),
            Err(CryptoError::Authentication)
        );
        let mut version = blob.clone();
        version[0] = 2;
        assert_eq!(
            two.decrypt(&version, b"ctx"),
            Err(CryptoError::UnsupportedVersion(2))
        );
        let mut unknown = blob.clone();
        unknown[2] = b'z';
        assert_eq!(
            two.decrypt(&unknown, b"ctx"),
            Err(CryptoError::UnknownKey("z".into()))
        );
        for short in [&[][..], &[1][..], &[1, 0][..], &blob[..20]] {
            assert_eq!(
                two.decrypt(short, b"ctx"),
                Err(CryptoError::Malformed),
                "{short:?}"
            );
        }
    }

    #[test]
    fn wrong_associated_data_is_refused() {
        let cipher = PiiKeys::sandbox().cipher();
        let blob = cipher.encrypt(b"3174011704950001", b"accounts.nik:1");
        assert_eq!(
            cipher.decrypt(&blob, b"accounts.nik:2"),
            Err(CryptoError::Authentication)
        );
        assert_eq!(cipher.decrypt(&blob, b""), Err(CryptoError::Authentication));
    }

    #[test]
    fn wrong_key_is_refused() {
        let one = keys("k", &[("k", [1; 32])], [9; 32]).cipher();
        let other = keys("k", &[("k", [2; 32])], [9; 32]).cipher();
        let blob = one.encrypt(b"secret", b"ctx");
        assert_eq!(
            other.decrypt(&blob, b"ctx"),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn rotation_keeps_old_blobs_readable() {
        let before = keys("2025", &[("2025", [1; 32])], [9; 32]).cipher();
        let old_blob = before.encrypt(b"3174011704950001", b"ctx");

        let after = keys("2026", &[("2025", [1; 32]), ("2026", [2; 32])], [9; 32]).cipher();
        assert_eq!(
            after.decrypt(&old_blob, b"ctx").unwrap(),
            b"3174011704950001"
        );
        assert!(after.needs_reencryption(&old_blob));

        let new_blob = after.encrypt(b"3174011704950001", b"ctx");
        assert_eq!(PiiCipher::key_id_of(&new_blob).unwrap(), "2026");
        assert!(!after.needs_reencryption(&new_blob));
        // The old key alone cannot open what the new key sealed.
        assert_eq!(
            before.decrypt(&new_blob, b"ctx"),
            Err(CryptoError::UnknownKey("2026".into()))
        );
        // Once the old key is dropped from the list, its blobs are reported, not garbled.
        let retired = keys("2026", &[("2026", [2; 32])], [9; 32]).cipher();
        assert_eq!(
            retired.decrypt(&old_blob, b"ctx"),
            Err(CryptoError::UnknownKey("2025".into()))
        );
    }

    #[test]
    fn non_utf8_plaintext_is_reported() {
        let cipher = PiiKeys::sandbox().cipher();
        let blob = cipher.encrypt(&[0xff, 0xfe], b"");
        assert_eq!(cipher.decrypt_string(&blob, b""), Err(CryptoError::NotUtf8));
    }

    #[test]
    fn blind_index_is_deterministic_and_separated() {
        let index = PiiKeys::sandbox().blind_index();
        let nik = index.compute("nik", "3174011704950001");
        assert_eq!(nik, index.compute("nik", "3174011704950001"));
        assert_eq!(nik, index.compute("nik", " 3174011704950001\n"));
        assert_ne!(nik, index.compute("nik", "3174011704950002"));
        // Same digits, other domain.
        assert_ne!(nik, index.compute("kk_number", "3174011704950001"));
        // Length-prefixed domain: no ambiguity between domain and value.
        assert_ne!(index.compute("ni", "k3174"), index.compute("nik", "3174"));
        // Other key.
        let other = keys("k", &[("k", [1; 32])], [7; 32]).blind_index();
        assert_ne!(nik, other.compute("nik", "3174011704950001"));
        // Case-insensitive for identifiers such as emails.
        assert_eq!(
            index.compute("email", "A@Example.com"),
            index.compute("email", "a@example.com")
        );
        // Typed helpers use the documented domains.
        let parsed = Nik::parse("3174011704950001").unwrap();
        assert_eq!(index.nik(&parsed), nik);
        let kk = KkNumber::parse("3174011704950001").unwrap();
        assert_eq!(
            index.kk_number(&kk),
            index.compute("kk_number", "3174011704950001")
        );
    }

    #[test]
    fn blind_index_is_hmac_sha256_of_the_documented_input() {
        let key = [5u8; 32];
        let index = BlindIndex::new(&key);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(b"prakerja/blind-index/v1\x00\x00\x00\x00\x03nik3174011704950001");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(index.compute("nik", "3174011704950001"), expected);
    }

    #[test]
    fn sandbox_constants_parse_to_the_sandbox_keys() {
        let parsed = PiiKeys::from_env_values(
            SANDBOX_PII_CURRENT_KEY_ID,
            SANDBOX_PII_KEYS,
            SANDBOX_PII_BLIND_INDEX_KEY,
        )
        .unwrap();
        assert!(parsed.uses_sandbox_keys());
        let sandbox = PiiKeys::sandbox();
        let blob = parsed.cipher().encrypt(b"x", b"");
        assert_eq!(sandbox.cipher().decrypt(&blob, b"").unwrap(), b"x");
        assert_eq!(
            parsed.blind_index().compute("nik", "1"),
            sandbox.blind_index().compute("nik", "1")
        );
        assert!(!keys("k", &[("k", [1; 32])], [7; 32]).uses_sandbox_keys());
    }

    #[test]
    fn key_configuration_errors_name_the_variable() {
        let good = b64(&[1; 32]);
        let blind = b64(&[9; 32]);
        let cases: Vec<(String, String, String, &str, &str)> = vec![
            (
                "k".into(),
                String::new(),
                blind.clone(),
                "PII_KEYS",
                "at least one",
            ),
            (
                "k".into(),
                " , ".into(),
                blind.clone(),
                "PII_KEYS",
                "at least one",
            ),
            (
                "k".into(),
                good.clone(),
                blind.clone(),
                "PII_KEYS",
                "id:base64key",
            ),
            (
                "k".into(),
                format!(":{good}"),
                blind.clone(),
                "PII_KEYS",
                "key id",
            ),
            (
                "k".into(),
                format!("k k:{good}"),
                blind.clone(),
                "PII_KEYS",
                "key id",
            ),
            (
                "k".into(),
                format!("{}:{good}", "x".repeat(33)),
                blind.clone(),
                "PII_KEYS",
                "key id",
            ),
            (
                "k".into(),
                "k:not base64!".into(),
                blind.clone(),
                "PII_KEYS",
                "base64",
            ),
            (
                "k".into(),
                format!("k:{}", b64(&[1; 16])),
                blind.clone(),
                "PII_KEYS",
                "32 bytes, not 16",
            ),
            (
                "k".into(),
                format!("k:{good},k:{good}"),
                blind.clone(),
                "PII_KEYS",
                "twice",
            ),
            (
                "j".into(),
                format!("k:{good}"),
                blind.clone(),
                "PII_CURRENT_KEY_ID",
                "not one of",
            ),
            (
                "k".into(),
                format!("k:{good}"),
                String::new(),
                "PII_BLIND_INDEX_KEY",
                "32 bytes, not 0",
            ),
            (
                "k".into(),
                format!("k:{good}"),
                "%%%".into(),
                "PII_BLIND_INDEX_KEY",
                "base64",
            ),
            (
                "k".into(),
                format!("k:{good}"),
                good.clone(),
                "PII_BLIND_INDEX_KEY",
                "differ",
            ),
        ];
        for (current, list, blind_key, variable, fragment) in cases {
            let err = PiiKeys::from_env_values(&current, &list, &blind_key).unwrap_err();
            assert_eq!(err.variable, variable, "{list:?}");
            assert!(err.problem.contains(fragment), "{list:?}: {}", err.problem);
            // Key material never appears in the message.
            assert!(!err.to_string().contains(&good), "{err}");
        }
    }

    #[test]
    fn several_keys_with_spaces_parse() {
        let list = format!(" old : {} , new:{} ", b64(&[1; 32]), b64(&[2; 32]));
        let parsed = PiiKeys::from_env_values(" new ", &list, &b64(&[3; 32])).unwrap();
        assert_eq!(parsed.current_key_id(), "new");
        assert_eq!(parsed.cipher().current_key_id(), "new");
        let debug = format!("{parsed:?} {:?}", parsed.cipher());
        assert!(debug.contains("old") && debug.contains("new"), "{debug}");
        assert!(!debug.contains(&b64(&[1; 32])), "{debug}");
    }
}
