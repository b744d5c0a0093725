//! The one secret-buffer type: bytes handed to the HTTP stack without a copy, wiped on drop.

use bytes::Bytes;
use zeroize::Zeroize;

/// Bytes that overwrite themselves when the last reference to them goes away. Header values,
/// URLs and request bodies handed to the HTTP stack share this buffer (no copy), so the
/// credentials in them are wiped as soon as the request that carried them is dropped.
pub(crate) struct WipedOnDrop(pub(crate) Vec<u8>);

impl WipedOnDrop {
    /// Shares the buffer as `Bytes` without copying it; the bytes are wiped when the last
    /// `Bytes` pointing into them is dropped.
    pub(crate) fn into_bytes(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for WipedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for WipedOnDrop {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}
