//! The login ID and password: checked, encoded once into the `Authorization` header, and wiped.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ureq::http::HeaderValue;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secret::WipedOnDrop;

/// Checks the login ID and password and returns `Basic base64(login ":" password)` as a
/// sensitive header value whose bytes are wiped when dropped. Every intermediate copy made here
/// is wiped before returning.
pub(crate) fn basic_authorization(login_id: &str, password: &str) -> Result<HeaderValue, Error> {
    if login_id.is_empty() {
        return Err(Error::invalid("the login ID is empty"));
    }
    if login_id.contains(':') {
        // Basic authentication cannot carry a ':' in the user part.
        return Err(Error::invalid("the login ID contains ':'"));
    }
    if login_id.contains('\0') || password.contains('\0') {
        return Err(Error::invalid(
            "the login ID or password contains a NUL character",
        ));
    }

    let mut plain = Zeroizing::new(Vec::with_capacity(login_id.len() + 1 + password.len()));
    plain.extend_from_slice(login_id.as_bytes());
    plain.push(b':');
    plain.extend_from_slice(password.as_bytes());

    const PREFIX: &[u8] = b"Basic ";
    let encoded_len = base64::encoded_len(plain.len(), true)
        .ok_or_else(|| Error::invalid("the login ID and password are too long"))?;
    // Sized once, so no reallocation leaves an unwiped copy behind.
    let mut header = WipedOnDrop(vec![0; PREFIX.len() + encoded_len]);
    header.0[..PREFIX.len()].copy_from_slice(PREFIX);
    STANDARD
        .encode_slice(&*plain, &mut header.0[PREFIX.len()..])
        .map_err(|_| Error::invalid("the login ID and password could not be encoded"))?;

    let mut value = HeaderValue::from_maybe_shared(header.into_bytes())
        .map_err(|_| Error::invalid("the login ID and password could not be encoded"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `OAuth {access_token}` (the legacy scheme), as a sensitive header value whose bytes are
/// wiped when dropped.
pub(crate) fn oauth_authorization(access_token: &str) -> Result<HeaderValue, Error> {
    token_authorization("OAuth ", access_token)
}

/// `Bearer {access_token}` (the current API's scheme), as a sensitive header value whose bytes
/// are wiped when dropped.
pub(crate) fn bearer_authorization(access_token: &str) -> Result<HeaderValue, Error> {
    token_authorization("Bearer ", access_token)
}

fn token_authorization(prefix: &str, access_token: &str) -> Result<HeaderValue, Error> {
    require_visible("the access token", access_token)?;
    let mut header = WipedOnDrop(Vec::with_capacity(prefix.len() + access_token.len()));
    header.0.extend_from_slice(prefix.as_bytes());
    header.0.extend_from_slice(access_token.as_bytes());
    let mut value = HeaderValue::from_maybe_shared(header.into_bytes())
        .map_err(|_| Error::invalid("the access token is malformed"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Keys, tokens and codes: non-empty, printable ASCII, no spaces. The message names the
/// argument, never its value.
pub(crate) fn require_visible(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(format!(
            "{what} must be printable ASCII without spaces"
        )));
    }
    Ok(())
}

/// Secrets that travel percent-encoded in a query: non-empty, no NUL.
pub(crate) fn require_secret(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if value.contains('\0') {
        return Err(Error::invalid(format!("{what} contains a NUL character")));
    }
    Ok(())
}

/// Checks the consumer key: it is sent verbatim in a header, so it must be one visible line.
pub(crate) fn consumer_key_header(consumer_key: &str) -> Result<HeaderValue, Error> {
    require_visible("the consumer key", consumer_key)?;
    HeaderValue::from_str(consumer_key).map_err(|_| Error::invalid("the consumer key is malformed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn encodes_login_and_password() {
        let v = basic_authorization("Aladdin", "open sesame").unwrap();
        assert_eq!(v.as_bytes(), b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(v.is_sensitive());
    }

    #[test]
    fn empty_password_still_ends_with_colon() {
        let v = basic_authorization("user", "").unwrap();
        assert_eq!(v.as_bytes(), b"Basic dXNlcjo=");
    }

    #[test]
    fn utf8_is_sent_as_utf8() {
        let v = basic_authorization("jürgen", "pä").unwrap();
        let encoded = &v.as_bytes()[6..];
        assert_eq!(STANDARD.decode(encoded).unwrap(), "jürgen:pä".as_bytes());
    }

    #[test]
    fn bad_logins_are_refused_without_echo() {
        for (login, password) in [("", "pw"), ("a:b", "pw"), ("a\0", "pw"), ("a", "p\0w")] {
            let e = basic_authorization(login, password).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(!e.to_string().contains("pw"), "{e}");
        }
    }

    #[test]
    fn oauth_header() {
        let v = oauth_authorization("tok-123").unwrap();
        assert_eq!(v.as_bytes(), b"OAuth tok-123");
        assert!(v.is_sensitive());
        assert!(oauth_authorization("").is_err());
        assert!(oauth_authorization("a\r\nb").is_err());
    }

    #[test]
    fn consumer_keys() {
        assert!(consumer_key_header("abc-123_XYZ").is_ok());
        for key in ["", "a b", "a\r\nX-Evil: 1", "ключ"] {
            let e = consumer_key_header(key).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        }
    }
}
