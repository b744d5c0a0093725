//! Sealing stored documents: AES-256-GCM from the crypto library rustls already links (ring),
//! a random 96-bit nonce per save, the store's identity as associated data (a document copied
//! under another name does not open), and a versioned envelope naming the key by a fingerprint,
//! so that a list of keys rotates (the first seals, every one opens).
//!
//! The envelope is a small JSON object, so that stores and callbacks that keep text keep it:
//! `{"sealed":1,"key":"<16 hex digits>","nonce":"<base64>","data":"<base64 of ciphertext+tag>"}`.

use std::fmt;
use std::mem::MaybeUninit;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::manager::store::{Document, StoredToken, TokenStore};
use crate::oauth2::Members;

/// The envelope's version; a newer one is refused by name.
const ENVELOPE_VERSION: i64 = 1;

/// Bound to every sealed document with the store's identity.
const AAD_PREFIX: &[u8] = b"concur-native sealed document v1\0";

/// A 256-bit key for sealing stored documents; wiped on drop, never shown.
#[derive(Clone)]
pub struct StoreKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreKey").finish_non_exhaustive()
    }
}

impl StoreKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<StoreKey, Error> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("the store key is not 32 bytes"))?;
        let bytes = Zeroizing::new(array);
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"concur-native key id\0".as_slice(), &bytes[..]].concat(),
        );
        let id = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(StoreKey { bytes, id })
    }

    /// A key from base64 text (standard or URL-safe alphabet, padded or not) of 32 bytes.
    pub fn from_base64(text: &str) -> Result<StoreKey, Error> {
        let text = text.trim();
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| Error::invalid("the store key is not base64 text"))?;
        StoreKey::from_bytes(&decoded)
            .map_err(|_| Error::invalid("the store key is not 32 bytes once base64-decoded"))
    }

    /// A fresh random key, as base64 text (what `concur-token store-key` prints).
    pub fn generate_base64() -> Result<Zeroizing<String>, Error> {
        let bytes = Zeroizing::new(crate::random::secret_bytes::<32>()?);
        Ok(Zeroizing::new(STANDARD.encode(&bytes[..])))
    }

    /// The key's public fingerprint (16 hex digits), as sealed documents name it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs `f` with ring's key, whose expanded schedule is wiped afterwards.
    fn with_key<R>(&self, f: impl FnOnce(&LessSafeKey) -> R) -> R {
        let mut slot = MaybeUninit::<LessSafeKey>::uninit();
        // AES_256_GCM takes exactly 32 bytes: this cannot fail.
        let unbound = UnboundKey::new(&AES_256_GCM, &self.bytes[..]);
        let key: &LessSafeKey = match unbound {
            Ok(k) => slot.write(LessSafeKey::new(k)),
            Err(_) => unreachable_key(),
        };
        let result = f(key);
        // LessSafeKey holds plain data and no destructor: its bytes are wiped, not dropped.
        // SAFETY: the slot spans size_of::<LessSafeKey>() bytes owned by this frame; a
        // MaybeUninit may hold any bytes, and the key is never read again.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                slot.as_mut_ptr().cast::<MaybeUninit<u8>>(),
                std::mem::size_of::<LessSafeKey>(),
            )
        };
        bytes.zeroize();
        result
    }
}

#[cold]
fn unreachable_key() -> ! {
    // A 32-byte key is always accepted by AES-256-GCM.
    std::process::abort()
}

/// The keys of a store: the first seals, every one opens. An empty list seals nothing.
#[derive(Clone, Debug, Default)]
pub struct Sealer {
    keys: Vec<StoreKey>,
    required: bool,
}

impl Sealer {
    /// Seals with the first of `keys` and opens with any. An empty list is refused.
    pub fn new(keys: Vec<StoreKey>) -> Result<Sealer, Error> {
        if keys.is_empty() {
            return Err(Error::invalid("the store key list is empty"));
        }
        Ok(Sealer {
            keys,
            required: false,
        })
    }

    /// Refuses plain-text documents instead of reading them (and sealing them at the next
    /// save).
    pub fn require_sealed(mut self, required: bool) -> Sealer {
        self.required = required;
        self
    }

    /// Whether documents are sealed.
    pub fn seals(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The envelope of `plain` for the store named `identity`; `plain` itself when no key is
    /// set.
    pub(crate) fn seal(&self, identity: &str, plain: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let Some(key) = self.keys.first() else {
            return Ok(Zeroizing::new(plain.to_vec()));
        };
        let nonce_bytes = crate::random::secret_bytes::<NONCE_LEN>()?;
        let mut data = Zeroizing::new(Vec::with_capacity(plain.len() + 16));
        data.extend_from_slice(plain);
        let aad = aad(identity);
        key.with_key(|k| {
            k.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(&aad[..]),
                &mut *data,
            )
        })
        .map_err(|_| Error::store("the document could not be sealed"))?;
        // Written in this order (a reader tells a sealed document by its first member); every
        // value is hex or base64, nothing to escape.
        let envelope = format!(
            "{{\"sealed\":{ENVELOPE_VERSION},\"key\":\"{}\",\"nonce\":\"{}\",\"data\":\"{}\"}}",
            key.id(),
            STANDARD.encode(nonce_bytes),
            STANDARD.encode(&data[..]),
        )
        .into_bytes();
        Ok(Zeroizing::new(envelope))
    }

    /// What `store` holds, opened and read: the stored token, or `None` when it holds nothing.
    pub fn load(&self, store: &dyn TokenStore) -> Result<Option<StoredToken>, Error> {
        let Some(document) = store.load()? else {
            return Ok(None);
        };
        let plain = self.open(&store.identity(), &document)?;
        StoredToken::from_document(&plain).map(Some)
    }

    /// The document to store for `token` in the store named `identity` (sealed with the first
    /// key, plain without keys): for seeding a store by hand, or migrating one.
    pub fn seal_document(&self, identity: &str, token: &StoredToken) -> Result<Document, Error> {
        self.seal(identity, &token.to_document())
    }

    /// The plain document a store gave for `identity`. A plain-text document is read as it is
    /// (and sealed at the next save) unless sealing is required; one sealed under an old key
    /// is resealed under the first at the next save.
    pub(crate) fn open(&self, identity: &str, document: &[u8]) -> Result<Document, Error> {
        if !looks_sealed(document) {
            if self.required {
                return Err(Error::store(
                    "the store holds an unsealed document and sealed documents are required",
                ));
            }
            return Ok(Zeroizing::new(document.to_vec()));
        }
        let unopened = || {
            Error::store(
                "the stored document does not open with the keys given \
                 (another key, or a document copied from another store)",
            )
        };
        let members = Members::parse(document).map_err(|_| unopened())?;
        match members.integer("sealed") {
            Some(ENVELOPE_VERSION) => {}
            Some(_) => {
                return Err(Error::store(
                    "the stored document is sealed by a newer version of the library",
                ));
            }
            None => return Err(unopened()),
        }
        if self.keys.is_empty() {
            return Err(Error::store(
                "the stored document is sealed and no store key was given",
            ));
        }
        let id = members.text("key").ok_or_else(unopened)?;
        let nonce: [u8; NONCE_LEN] = members
            .text("nonce")
            .and_then(|n| STANDARD.decode(n).ok())
            .and_then(|n| n.try_into().ok())
            .ok_or_else(unopened)?;
        let data = members
            .text("data")
            .and_then(|d| STANDARD.decode(d).ok())
            .map(Zeroizing::new)
            .ok_or_else(unopened)?;
        let aad = aad(identity);
        for key in &self.keys {
            if key.id() != id {
                continue;
            }
            let mut buffer = data.clone();
            let opened = key.with_key(|k| {
                k.open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(&aad[..]),
                    &mut buffer[..],
                )
                .map(|plain| plain.len())
            });
            if let Ok(len) = opened {
                buffer.truncate(len);
                return Ok(buffer);
            }
        }
        Err(unopened())
    }
}

/// A sealed envelope starts with `{"sealed"` (this module writes it so); a plain document
/// never does.
fn looks_sealed(document: &[u8]) -> bool {
    document.trim_ascii_start().starts_with(b"{\"sealed\"")
}

fn aad(identity: &str) -> Vec<u8> {
    [AAD_PREFIX, identity.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> StoreKey {
        StoreKey::from_bytes(&[n; 32]).unwrap()
    }

    #[test]
    fn sealed_documents_open_only_under_their_name_and_keys() {
        let sealer = Sealer::new(vec![key(1)]).unwrap();
        let plain = br#"{"version":1,"refresh_token":"secret-rt"}"#;
        let sealed = sealer.seal("/var/lib/a.json", plain).unwrap();
        let text = String::from_utf8(sealed.to_vec()).unwrap();
        assert!(!text.contains("secret-rt"), "{text}");
        assert!(text.starts_with("{\"sealed\":1"), "{text}");
        let opened = sealer.open("/var/lib/a.json", &sealed).unwrap();
        assert_eq!(&opened[..], plain);
        // Another name, another key, a flipped byte: a Store error, naming nothing.
        let e = sealer.open("/var/lib/b.json", &sealed).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Store);
        let other = Sealer::new(vec![key(2)]).unwrap();
        assert!(other.open("/var/lib/a.json", &sealed).is_err());
        let mut flipped = sealed.to_vec();
        let at = text.find("\"data\":\"").unwrap() + 9;
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        assert!(sealer.open("/var/lib/a.json", &flipped).is_err());
        // Two saves of one document differ (a fresh nonce each).
        assert_ne!(
            sealer.seal("x", plain).unwrap(),
            sealer.seal("x", plain).unwrap()
        );
    }

    #[test]
    fn a_key_list_rotates_and_plain_text_migrates_unless_required() {
        let old = Sealer::new(vec![key(1)]).unwrap();
        let sealed = old.seal("k", b"{\"version\":1}").unwrap();
        let rotated = Sealer::new(vec![key(2), key(1)]).unwrap();
        assert_eq!(&rotated.open("k", &sealed).unwrap()[..], b"{\"version\":1}");
        let plain = rotated.open("k", b"{\"version\":1}").unwrap();
        assert_eq!(&plain[..], b"{\"version\":1}");
        let strict = Sealer::new(vec![key(2)]).unwrap().require_sealed(true);
        assert!(strict.open("k", b"{\"version\":1}").is_err());
        assert!(Sealer::default().open("k", &sealed).is_err());
        assert!(Sealer::new(Vec::new()).is_err());
    }

    #[test]
    fn keys_are_32_bytes_raw_or_base64_and_never_shown() {
        assert!(StoreKey::from_bytes(&[0; 31]).is_err());
        let text = StoreKey::generate_base64().unwrap();
        let k = StoreKey::from_base64(&text).unwrap();
        assert_eq!(k.id().len(), 16);
        assert_eq!(format!("{k:?}"), "StoreKey { .. }");
        for bad in ["", "not base64!", "AAAA"] {
            let e = StoreKey::from_base64(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        }
    }
}
