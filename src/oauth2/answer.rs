//! Reading the current API's answers: a JSON token, Concur's JSON error document, or one of
//! the library's error classes.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::Value;
use zeroize::Zeroize;

use crate::error::{Error, ErrorKind};
use crate::oauth2::token::OAuth2Token;
use crate::transport::Answer;

/// Concur's codes that mean "these credentials, this account, this client or this grant are
/// refused" (the Authentication API's error table), and the migration call's word codes that
/// say the same.
const REFUSALS: &[i64] = &[
    5, 10, 11, 12, 13, 14, 19, 20, 21, 64, 103, 104, 105, 108, 136,
];
const WORD_REFUSALS: &[&str] = &["INVALIDTOKEN", "INVALIDAPP", "UNAUTHORIZED"];

/// The longest lifetime taken at face value; a longer `expires_in` is a server bug.
const TEN_YEARS: i64 = 10 * 366 * 86_400;

/// A JSON object's members, names unique without regard to case, every string wiped on drop.
pub(crate) struct Members(Vec<(String, Value)>);

impl Members {
    /// Reads a JSON object; any other JSON, a duplicated member name or invalid UTF-8 is a
    /// protocol error that quotes nothing of the body.
    pub(crate) fn parse(body: &[u8]) -> Result<Members, Error> {
        serde_json::from_slice::<Members>(body).map_err(|_| {
            Error::protocol("the answer is not a JSON object with unique member names")
        })
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A member that is a string.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// A member that is an integer, or a string of one (Concur's documents disagree).
    pub(crate) fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A member that is a list of strings (joined with spaces) or one string.
    pub(crate) fn words(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        }
    }

    fn is_error_document(&self) -> bool {
        self.get("access_token").is_none()
            && (self.get("error").is_some()
                || self.get("code").is_some()
                || self.get("error_description").is_some())
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        for (name, value) in &mut self.0 {
            name.zeroize();
            wipe(value);
        }
    }
}

/// Overwrites every string a JSON value holds.
pub(crate) fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Members, D::Error> {
        struct Unique;
        impl<'de> Visitor<'de> for Unique {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                // Built inside `Members` from the start, so an early error still wipes it.
                let mut members = Members(Vec::new());
                while let Some(name) = map.next_key::<String>()? {
                    if members.get(&name).is_some() {
                        let mut name = name;
                        name.zeroize();
                        return Err(A::Error::custom("duplicate member"));
                    }
                    let value = map.next_value::<Value>()?;
                    members.0.push((name, value));
                }
                Ok(members)
            }
        }
        deserializer.deserialize_map(Unique)
    }
}

/// A token, or the error the answer amounts to. `sent_refresh_token` is kept when a refresh
/// answer carries no new one. The geolocation is returned as the answer named it: the caller
/// checks it before the token goes anywhere.
pub(crate) fn token_from_answer(
    answer: &Answer,
    received_at: i64,
    sent_refresh_token: Option<&str>,
) -> Result<OAuth2Token, Error> {
    let members = Members::parse(&answer.body);
    let correlation = answer.correlation_id.as_deref();
    if !(200..=299).contains(&answer.status) {
        return Err(failure(answer.status, members.ok().as_ref()).with_correlation_id(correlation));
    }
    let members = members.map_err(|e| {
        e.with_status(answer.status)
            .with_correlation_id(correlation)
    })?;
    if members.is_error_document() {
        return Err(failure(answer.status, Some(&members)).with_correlation_id(correlation));
    }
    token_from_members(&members, received_at, sent_refresh_token, correlation).map_err(|e| {
        e.with_status(answer.status)
            .with_correlation_id(correlation)
    })
}

fn token_from_members(
    m: &Members,
    received_at: i64,
    sent_refresh_token: Option<&str>,
    correlation_id: Option<&str>,
) -> Result<OAuth2Token, Error> {
    let access_token = m
        .text("access_token")
        .filter(|t| is_token(t))
        .ok_or_else(|| Error::protocol("the answer has no usable access_token"))?;
    let refresh_token = match m.get("refresh_token") {
        None | Some(Value::Null) => sent_refresh_token.map(str::to_string),
        Some(Value::String(t)) if is_token(t) => Some(t.clone()),
        Some(_) => return Err(Error::protocol("the answer's refresh_token is malformed")),
    };
    let id_token = match m.get("id_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if is_token(t) => Some(t.clone()),
        Some(_) => return Err(Error::protocol("the answer's id_token is malformed")),
    };
    let claims = id_token.as_deref().and_then(unverified_claims);
    let claim = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| c.text(name))
            .filter(|v| is_plain(v))
            .map(str::to_string)
    };
    let expires_at = m
        .integer("expires_in")
        .filter(|s| (0..=TEN_YEARS).contains(s))
        .map(|s| received_at + s);
    // Concur sends refresh_expires_in as a point in time (epoch seconds); a small value can
    // only be a duration, so it is read as one.
    let refresh_expires_at = m
        .integer("refresh_expires_in")
        .filter(|s| *s >= 0)
        .map(|s| {
            if s < 1_000_000_000 {
                received_at + s
            } else {
                s
            }
        });
    Ok(OAuth2Token {
        access_token: access_token.to_string(),
        token_type: m
            .text("token_type")
            .filter(|t| is_plain(t))
            .unwrap_or("Bearer")
            .to_string(),
        expires_at,
        refresh_token,
        refresh_expires_at,
        scope: m.text("scope").filter(|s| is_plain(s)).map(str::to_string),
        geolocation: m.text("geolocation").map(str::to_string),
        subject: claim("sub"),
        principal_type: claim("concur.type"),
        id_token,
        correlation_id: correlation_id.map(str::to_string),
    })
}

/// The id_token's payload claims, decoded but not verified; `None` when it is not a JWT.
fn unverified_claims(id_token: &str) -> Option<Members> {
    let payload = id_token.split('.').nth(1)?;
    let mut bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims = Members::parse(&bytes).ok();
    bytes.zeroize();
    claims
}

/// Tokens go into headers: non-empty printable ASCII without spaces.
fn is_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Values shown to people and copied into C buffers: no control characters, bounded.
fn is_plain(value: &str) -> bool {
    value.len() <= 4096 && !value.chars().any(char::is_control)
}

/// Turns an answer that carries nothing needed on success (OTP sent, revocation) into `()` or
/// the error it amounts to: a non-success status, or a success whose body is an error document.
pub(crate) fn nothing_from_answer(answer: &Answer) -> Result<(), Error> {
    let members = Members::parse(&answer.body).ok();
    let correlation = answer.correlation_id.as_deref();
    match &members {
        _ if !(200..=299).contains(&answer.status) => {
            Err(failure(answer.status, members.as_ref()).with_correlation_id(correlation))
        }
        Some(m) if m.is_error_document() => {
            Err(failure(answer.status, Some(m)).with_correlation_id(correlation))
        }
        _ => Ok(()),
    }
}

/// The error for a failed answer, with what Concur's JSON error document said.
pub(crate) fn failure(status: u16, members: Option<&Members>) -> Error {
    let code_value = members.and_then(|m| m.get("code"));
    let code = members.and_then(|m| m.integer("code"));
    let word_code = match code_value {
        Some(Value::String(s)) if code.is_none() => Some(s.as_str()),
        _ => None,
    };
    let oauth_error = members.and_then(|m| m.text("error")).or(word_code);
    let description = members.and_then(|m| {
        m.text("error_description")
            .or_else(|| m.text("message"))
            .or_else(|| m.text("Message"))
    });
    let geolocation = members.and_then(|m| m.text("geolocation"));
    let refused = matches!(status, 401 | 403)
        || code.is_some_and(|c| REFUSALS.contains(&c))
        || word_code.is_some_and(|w| WORD_REFUSALS.iter().any(|r| r.eq_ignore_ascii_case(w)));
    let error = if refused {
        Error::new(ErrorKind::Unauthorized, "Concur refused the credentials")
    } else if (300..=399).contains(&status) {
        Error::new(ErrorKind::HttpStatus, "redirects are not followed")
    } else if (200..=299).contains(&status) {
        Error::protocol("Concur answered with an error document")
    } else {
        Error::new(ErrorKind::HttpStatus, "")
    };
    error
        .with_status(status)
        .with_oauth2_error(code, oauth_error, description, geolocation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        let mut a = Answer::received(status, Some("application/json".into()), body.as_bytes());
        a.correlation_id = Some("corr-1".into());
        a
    }

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn a_full_token() {
        let id = jwt(r#"{"sub":"u-42","concur.type":"user","iss":"x"}"#);
        let body = format!(
            r#"{{"access_token":"at","token_type":"Bearer","expires_in":"3600","scope":"openid expense.report.read","refresh_token":"rt","refresh_expires_in":1917039403,"id_token":"{id}","geolocation":"https://us2.api.concursolutions.com"}}"#
        );
        let t = token_from_answer(&answer(200, &body), 1_000, None).unwrap();
        assert_eq!(t.access_token(), "at");
        assert_eq!(t.expires_at(), Some(4_600));
        assert_eq!(t.refresh_token(), Some("rt"));
        assert_eq!(t.refresh_expires_at(), Some(1_917_039_403));
        assert_eq!(t.scope(), Some("openid expense.report.read"));
        assert_eq!(t.subject(), Some("u-42"));
        assert_eq!(t.principal_type(), Some("user"));
        assert_eq!(t.geolocation(), Some("https://us2.api.concursolutions.com"));
        assert_eq!(t.correlation_id(), Some("corr-1"));
    }

    #[test]
    fn expires_in_as_number_and_missing_refresh_token_kept() {
        let t = token_from_answer(
            &answer(200, r#"{"access_token":"at","expires_in":3600}"#),
            10,
            Some("old"),
        )
        .unwrap();
        assert_eq!(t.expires_at(), Some(3_610));
        assert_eq!(t.refresh_token(), Some("old"));
        assert_eq!(t.token_type(), "Bearer");
        assert_eq!(t.subject(), None);
    }

    #[test]
    fn codes_map_to_classes_and_fields() {
        for (status, code, kind) in [
            (400, 5, ErrorKind::Unauthorized),
            (400, 14, ErrorKind::Unauthorized),
            (400, 108, ErrorKind::Unauthorized),
            (401, 64, ErrorKind::Unauthorized),
            (400, 103, ErrorKind::Unauthorized),
            (400, 136, ErrorKind::Unauthorized),
            (400, 120, ErrorKind::HttpStatus),
            (400, 52, ErrorKind::HttpStatus),
            (400, 16, ErrorKind::HttpStatus),
            (200, 120, ErrorKind::Protocol),
            (200, 5, ErrorKind::Unauthorized),
        ] {
            let body = format!(
                r#"{{"code":{code},"error":"invalid_grant","error_description":"words","geolocation":"https://eu2.api.concursolutions.com"}}"#
            );
            let e = token_from_answer(&answer(status, &body), 0, None).unwrap_err();
            assert_eq!(e.kind(), kind, "{status} {code}");
            assert_eq!(e.concur_code(), Some(code));
            assert_eq!(e.oauth_error(), Some("invalid_grant"));
            assert_eq!(e.concur_message(), Some("words"));
            assert_eq!(e.geolocation(), Some("https://eu2.api.concursolutions.com"));
            assert_eq!(e.correlation_id(), Some("corr-1"));
            assert_eq!(e.status(), Some(status));
        }
        let e = token_from_answer(&answer(503, "down for maintenance"), 0, None).unwrap_err();
        assert_eq!((e.kind(), e.concur_code()), (ErrorKind::HttpStatus, None));
        let e = token_from_answer(&answer(403, ""), 0, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        let e = nothing_from_answer(&answer(400, r#"{"code":"INVALIDTOKEN","message":"bad"}"#))
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.oauth_error()),
            (ErrorKind::Unauthorized, Some("INVALIDTOKEN"))
        );
    }

    #[test]
    fn malformed_answers_are_protocol_errors_quoting_nothing() {
        for body in [
            "",
            "[]",
            "{\"access_token\":\"a b\"}",
            "{\"access_token\":\"at\",\"access_token\":\"at2\"}",
            "{\"access_token\":\"at\",\"ACCESS_TOKEN\":\"at2\"}",
            "{\"token_type\":\"Bearer\"}",
            "{\"access_token\":\"at\",\"refresh_token\":7}",
            "{\"access_token\":\"secretish\"",
        ] {
            let e = token_from_answer(&answer(200, body), 0, None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{body}");
            assert!(!e.to_string().contains("secretish"), "{e}");
        }
    }

    #[test]
    fn a_broken_id_token_leaves_the_claims_absent() {
        for id in ["x", "a.b.c", &jwt("[1]"), &jwt(r#"{"sub":"a\u0000b"}"#)] {
            let body = format!(r#"{{"access_token":"at","id_token":"{id}"}}"#);
            let t = token_from_answer(&answer(200, &body), 0, None).unwrap();
            assert_eq!(t.subject(), None, "{id}");
        }
    }
}
