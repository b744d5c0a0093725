//! Random values from the operating system's CSPRNG: OAuth `state`s, correlation ids, nonces
//! and keys for sealed documents, and the jitter of retries.

use std::fmt::Write;

use crate::error::Error;

/// 128 random bits as 32 hex digits: an OAuth `state` nobody can guess.
pub(crate) fn random_state() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|_| Error::protocol("the operating system's random source failed"))?;
    let mut state = String::with_capacity(32);
    for b in bytes {
        let _ = write!(state, "{b:02x}");
    }
    Ok(state)
}

/// A random (version 4) UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. A correlation id needs
/// no secrecy, so a failing random source falls back to the clock rather than failing a call.
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = nanos.to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        let _ = write!(id, "{byte:02x}");
    }
    id
}

/// A uniform number in [0, 1) for jitter (no secrecy needed: the clock stands in if the
/// random source fails).
pub(crate) fn unit_interval() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b[..4].copy_from_slice(&nanos.to_le_bytes());
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// `N` bytes from the operating system's CSPRNG (a nonce, a key).
pub(crate) fn secret_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|_| Error::store("the operating system's random source failed"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (uuid_v4(), uuid_v4());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn states_are_32_hex_digits() {
        let s = random_state().unwrap();
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
