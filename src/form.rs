//! Request bodies that carry secrets: form fields and JSON objects encoded once into a buffer
//! that is wiped when the request is dropped.

use bytes::Bytes;

use crate::query::percent_encode_into;
use crate::secret::WipedOnDrop;

/// `name=value&…` (`application/x-www-form-urlencoded`), every value percent-encoded outside
/// RFC 3986's unreserved set. Sized once: growing would leave an unwiped copy behind.
pub(crate) fn form_body(fields: &[(&str, &str)]) -> Bytes {
    let capacity = fields
        .iter()
        .map(|(n, v)| n.len() + 3 * v.len() + 2)
        .sum::<usize>();
    let mut body = String::with_capacity(capacity);
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            body.push('&');
        }
        body.push_str(name);
        body.push('=');
        percent_encode_into(&mut body, value);
    }
    debug_assert!(body.len() <= capacity);
    WipedOnDrop(body.into_bytes()).into_bytes()
}

/// A flat JSON object of string members, `{"name":"value",…}`, each value escaped. Sized once
/// for the worst case (`\u00XX` for every byte), so it never reallocates.
pub(crate) fn json_body(fields: &[(&str, &str)]) -> Bytes {
    let capacity = 2 + fields
        .iter()
        .map(|(n, v)| n.len() + 6 * v.len() + 6)
        .sum::<usize>();
    let mut body = String::with_capacity(capacity);
    body.push('{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push('"');
        body.push_str(name);
        body.push_str("\":\"");
        for c in value.chars() {
            match c {
                '"' => body.push_str("\\\""),
                '\\' => body.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    use std::fmt::Write;
                    let _ = write!(body, "\\u{:04x}", c as u32);
                }
                c => body.push(c),
            }
        }
        body.push('"');
    }
    body.push('}');
    debug_assert!(body.len() <= capacity);
    WipedOnDrop(body.into_bytes()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_encoded() {
        let body = form_body(&[("grant_type", "password"), ("password", "p&s=s +/é")]);
        assert_eq!(
            &body[..],
            b"grant_type=password&password=p%26s%3Ds%20%2B%2F%C3%A9"
        );
    }

    #[test]
    fn json_values_are_escaped() {
        let body = json_body(&[("token", "a\"b\\c\u{1}"), ("secret", "é")]);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "{\"token\":\"a\\\"b\\\\c\\u0001\",\"secret\":\"é\"}"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["token"], "a\"b\\c\u{1}");
    }
}
