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

/// Decodes `%XX` escapes and `+` (as a space, the form encoding browsers use in queries).
fn percent_decode(text: &str) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Error::invalid("the callback URL has a malformed % escape"))?;
                out.push(hex);
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
    String::from_utf8(out).map_err(|_| Error::invalid("the callback URL is not valid UTF-8"))
}

/// The decoded parameters of a URL's query (the part after `?`, before any `#`).
pub(crate) fn query_params(url: &str) -> Result<Vec<(String, String)>, Error> {
    let without_fragment = url.split('#').next().unwrap_or("");
    let Some((_, query)) = without_fragment.split_once('?') else {
        return Ok(Vec::new());
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name)?, percent_decode(value)?))
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
        assert_eq!(
            params,
            vec![("code".into(), value.into()), ("state".into(), "s".into())]
        );
    }

    #[test]
    fn parses_callbacks() {
        let params =
            query_params("https://app/cb?error=access_denied&error_description=No+way%21#frag")
                .unwrap();
        assert_eq!(params[1], ("error_description".into(), "No way!".into()));
        assert!(query_params("https://app/cb").unwrap().is_empty());
        assert!(query_params("https://app/cb?code=%zz").is_err());
        assert!(query_params("https://app/cb?code=%ff").is_err());
    }
}
