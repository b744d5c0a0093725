//! Query strings: built with every value percent-encoded into a buffer that is wiped on drop
//! (they carry client secrets, refresh tokens and codes), and read back from callback URLs.

use std::fmt::Write;

use zeroize::Zeroizing;

use crate::error::Error;

/// Appends `value` to `out`, percent-encoding every byte outside RFC 3986's unreserved set.
pub(crate) fn percent_encode_into(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// `base` followed by `?name=value&…`, every value encoded. The result may hold secrets: it
/// is wiped when dropped.
pub(crate) fn url_with_query(base: &str, params: &[(&str, &str)]) -> Zeroizing<String> {
    let capacity = base.len()
        + params
            .iter()
            .map(|(n, v)| n.len() + 3 * v.len() + 2)
            .sum::<usize>();
    // Sized once: growing would leave an unwiped copy behind.
    let mut url = Zeroizing::new(String::with_capacity(capacity));
    url.push_str(base);
    for (i, (name, value)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(name);
        url.push('=');
        percent_encode_into(&mut url, value);
    }
    url
}

/// Decodes `%XX` escapes (exactly two ASCII hex digits) and `+` (as a space, the form encoding
/// browsers use in queries). The result may be a secret (a code): it is wiped when dropped.
fn percent_decode(text: &str) -> Result<Zeroizing<String>, Error> {
    let bytes = text.as_bytes();
    // Sized once (decoding never lengthens), so no unwiped copy is left by growth.
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let (Some(&high), Some(&low)) = (bytes.get(i + 1), bytes.get(i + 2)) else {
                    return Err(Error::invalid("the callback URL has a malformed % escape"));
                };
                let (Some(high), Some(low)) = (hex_digit(high), hex_digit(low)) else {
                    return Err(Error::invalid("the callback URL has a malformed % escape"));
                };
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if std::str::from_utf8(&out).is_err() {
        return Err(Error::invalid("the callback URL is not valid UTF-8"));
    }
    let mut decoded = Zeroizing::new(String::with_capacity(out.len()));
    decoded.push_str(std::str::from_utf8(&out).unwrap_or_default());
    Ok(decoded)
}

/// The value of one ASCII hex digit; `None` for anything else (a sign included).
fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The decoded parameters of a URL's query (the part after `?`, before any `#`). Values may
/// be secrets (a code): they are wiped when dropped.
pub(crate) fn query_params(url: &str) -> Result<Vec<(String, Zeroizing<String>)>, Error> {
    let without_fragment = url.split('#').next().unwrap_or("");
    let Some((_, query)) = without_fragment.split_once('?') else {
        return Ok(Vec::new());
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name)?.to_string(), percent_decode(value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        let url = url_with_query(
            "https://x/p",
            &[
                ("a", "b c/d?e&f=g+h%"),
                ("scope", "EXPRPT,LIST"),
                ("u", "ü~._-"),
            ],
        );
        assert_eq!(
            url.as_str(),
            "https://x/p?a=b%20c%2Fd%3Fe%26f%3Dg%2Bh%25&scope=EXPRPT%2CLIST&u=%C3%BC~._-"
        );
    }

    #[test]
    fn round_trips_through_the_parser() {
        let value = "b c/d?e&f=g+h%ü";
        let url = url_with_query("https://x/p", &[("code", value), ("state", "s")]);
        let params = query_params(&url).unwrap();
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(params, vec![("code", value), ("state", "s")]);
    }

    #[test]
    fn parses_callbacks() {
        let params =
            query_params("https://app/cb?error=access_denied&error_description=No+way%21#frag")
                .unwrap();
        assert_eq!(params[1].0, "error_description");
        assert_eq!(params[1].1.as_str(), "No way!");
        assert!(query_params("https://app/cb").unwrap().is_empty());
        assert!(query_params("https://app/cb?code=%zz").is_err());
        assert!(query_params("https://app/cb?code=%ff").is_err());
    }

    #[test]
    fn escapes_are_exactly_two_hex_digits() {
        for url in [
            "https://app/cb?code=%+F",
            "https://app/cb?code=%+0",
            "https://app/cb?code=%-1",
            "https://app/cb?code=%F",
            "https://app/cb?code=%",
            "https://app/cb?code=% 1",
        ] {
            assert!(query_params(url).is_err(), "{url}");
        }
        let params = query_params("https://app/cb?code=%4a%4B%7e").unwrap();
        assert_eq!(params[0].1.as_str(), "JK~");
    }
}
