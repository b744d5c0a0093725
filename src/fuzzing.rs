//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not part of the API).
//! Each runs one reader of untrusted bytes and checks the promises it makes about its result.

use crate::net2::document::{self, Document};
use crate::transport::Answer;

/// Parses a token or error document and checks what a token may hold.
pub fn document(body: &[u8], content_type: Option<&str>) {
    if let Ok(Document::Token(token)) = document::parse(body, content_type) {
        assert!(!token.token().is_empty());
        assert!(token.token().bytes().all(|b| b.is_ascii_graphic()));
        if let Some(refresh) = token.refresh_token() {
            assert!(refresh.bytes().all(|b| b.is_ascii_graphic()));
        }
    }
}

/// Parses a Concur date; a date it accepts must be a real calendar date.
pub fn date(text: &str) {
    if let Some(seconds) = crate::net2::date::parse_concur_date(text) {
        // Years 1970–9999 only: four digits, none before the epoch.
        assert!((0..=253_402_300_799).contains(&seconds), "{seconds}");
    }
}

/// Interprets a whole answer of a token endpoint, as the client does after reading it.
pub fn answer(status: u16, content_type: Option<&str>, body: &[u8]) {
    let answer = Answer::received(status, content_type.map(str::to_string), body);
    match crate::net2::answer::token_from_answer(answer) {
        Ok(_) => assert!((200..=299).contains(&status)),
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.contains('\n') && !text.contains('\r'),
                "one line: {text:?}"
            );
        }
    }
}

/// Reads a callback URL; a code it returns is what the URL said.
pub fn callback(url: &str, expected_state: Option<&str>) {
    if let Ok(code) = crate::parse_callback(url, expected_state) {
        assert!(!code.is_empty());
    }
}

/// Interprets a whole answer of the current API's token endpoint: a token only on success,
/// with header-safe tokens; every error one line.
pub fn oauth2_answer(status: u16, body: &[u8]) {
    let answer = Answer::received(status, Some("application/json".into()), body);
    match crate::oauth2::token_from_answer(&answer, 1_700_000_000, None) {
        Ok(token) => {
            assert!((200..=299).contains(&status));
            assert!(token.access_token().bytes().all(|b| b.is_ascii_graphic()));
            assert!(!token.access_token().is_empty());
            if let Some(refresh) = token.refresh_token() {
                assert!(refresh.bytes().all(|b| b.is_ascii_graphic()));
            }
            for claim in [token.subject(), token.principal_type(), token.scope()] {
                assert!(!claim.unwrap_or("").chars().any(char::is_control));
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.chars().any(char::is_control), "one line: {text:?}");
        }
    }
}

/// Reads a current-API callback URL; a code it returns is header-safe, a geolocation a URL.
pub fn oauth2_callback(url: &str, expected_state: Option<&str>) {
    match crate::oauth2::parse_oauth2_callback(url, expected_state) {
        Ok(callback) => {
            assert!(!callback.code.is_empty());
            assert!(callback.code.bytes().all(|b| b.is_ascii_graphic()));
            if let Some(g) = &callback.geolocation {
                let scheme = g.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
                assert!(matches!(scheme.as_deref(), Some("https" | "http")), "{g}");
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.chars().any(char::is_control), "one line: {text:?}");
        }
    }
}
