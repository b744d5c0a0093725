//! Concur's Web flow, and the code exchange it shares with the App Center and Auto-Connect
//! flows: build the URL that sends the user to Concur, read the callback Concur sends the user
//! back with, and exchange its code for a token.
//!
//! The App Center flow calls the partner's listener with `?code=…` (no `state`), and the
//! Auto-Connect flow hands out codes through connection requests: both end in
//! [`Client::exchange_code`], the first after [`parse_callback`] with no expected state.

use crate::client::Client;
use crate::credentials::{require_secret, require_visible};
use crate::error::{Error, ErrorKind};
use crate::net2::token::Token;
use crate::options::BaseUrl;
use crate::query::{query_params, url_with_query};

/// The page a user is sent to for the Web flow, relative to the base URL.
pub const AUTHORIZE_PATH: &str = "/net2/oauth2/Login.aspx";

/// The code-exchange endpoint, relative to the base URL.
pub const CODE_EXCHANGE_PATH: &str = "/net2/oauth2/GetAccessToken.ashx";

/// Where to send the user, and the `state` to expect back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// `{base}/net2/oauth2/Login.aspx?client_id=…&scope=…&redirect_uri=…&state=…`.
    pub url: String,
    /// The state sent: the caller's, or 128 random bits (hex) when the caller gave none. Keep
    /// it (in the user's session) and give it to [`parse_callback`].
    pub state: String,
}

/// Builds the URL that starts the Web flow. `scopes` are Concur's API scopes (`EXPRPT`,
/// `LIST`, …), sent comma-separated; `redirect_uri` is the partner's registered callback;
/// without a `state`, one is drawn from the operating system's CSPRNG. Every part is
/// percent-encoded.
pub fn authorization_url(
    base_url: &str,
    client_id: &str,
    scopes: &[&str],
    redirect_uri: &str,
    state: Option<&str>,
) -> Result<AuthorizationRequest, Error> {
    let base = BaseUrl::parse(base_url)?;
    require_visible("the client ID", client_id)?;
    for scope in scopes {
        if scope.is_empty() || scope.contains(',') || !scope.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "each scope must be a non-empty word without commas or spaces",
            ));
        }
    }
    let lower = redirect_uri.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || redirect_uri.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "the redirect URI must be an absolute http(s) URL",
        ));
    }
    let state = match state {
        Some(s) if s.is_empty() || s.contains('\0') => {
            return Err(Error::invalid(
                "the state is empty or contains a NUL character",
            ));
        }
        Some(s) => s.to_string(),
        None => random_state()?,
    };
    let scope = scopes.join(",");
    let mut params = vec![("client_id", client_id)];
    if !scope.is_empty() {
        params.push(("scope", scope.as_str()));
    }
    params.push(("redirect_uri", redirect_uri));
    params.push(("state", state.as_str()));
    let url = url_with_query(&base.endpoint(AUTHORIZE_PATH), &params);
    Ok(AuthorizationRequest {
        url: url.as_str().to_string(),
        state,
    })
}

fn random_state() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|_| Error::protocol("the operating system's random source failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads the callback URL Concur redirected the user to (or the URL App Center called the
/// listener with) and returns its `code`, the request token to exchange. The code is a secret.
///
/// With `expected_state`, the callback's `state` must match it (a mismatch is a forged or
/// replayed callback: an invalid-argument error); this is checked before anything else. When
/// the user or Concur refused, the callback carries `error` and `error_description`: that is
/// an unauthorized error carrying the description as Concur's message and the error name as
/// its Id. A code with control characters (`%00`, …) is an invalid-argument error.
pub fn parse_callback(callback_url: &str, expected_state: Option<&str>) -> Result<String, Error> {
    let params = query_params(callback_url)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    // The state first: a forged callback (no state, or another) must not get its own
    // `error_description` shown to anyone as Concur's words.
    if let Some(expected) = expected_state {
        if get("state") != Some(expected) {
            return Err(Error::invalid(
                "the callback's state does not match the one sent (a forged or stale callback)",
            ));
        }
    }
    if let Some(error) = get("error") {
        return Err(
            Error::new(ErrorKind::Unauthorized, "access was not granted")
                .with_concur_error(get("error_description").or(Some(error)), Some(error)),
        );
    }
    match get("code") {
        // A NUL would cut it short in C, and no code Concur issues holds a control character.
        Some(code) if code.chars().any(char::is_control) => Err(Error::invalid(
            "the callback's code contains control characters",
        )),
        Some(code) if !code.is_empty() => Ok(code.to_string()),
        _ => Err(Error::invalid("the callback URL has no code")),
    }
}

impl Client {
    /// Exchanges a request token (`code`) for an access token: `GET {base}/net2/oauth2/
    /// GetAccessToken.ashx?code=…&client_id=…&client_secret=…`. Serves the Web, App Center and
    /// Auto-Connect flows alike. The secret and the code travel in the query string, so no
    /// error ever quotes the request URL, and the URL is wiped from memory once sent.
    pub fn exchange_code(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
    ) -> Result<Token, Error> {
        require_visible("the client ID", client_id)?;
        require_secret("the client secret", client_secret)?;
        require_secret("the code", code)?;
        self.token_by_query(
            CODE_EXCHANGE_PATH,
            &[
                ("code", code),
                ("client_id", client_id),
                ("client_secret", client_secret),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_login_url() {
        let r = authorization_url(
            "https://www.concursolutions.com/",
            "key-1",
            &["EXPRPT", "LIST"],
            "https://app.example/cb?x=1",
            Some("s t"),
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://www.concursolutions.com/net2/oauth2/Login.aspx?client_id=key-1\
             &scope=EXPRPT%2CLIST&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&state=s%20t"
        );
        assert_eq!(r.state, "s t");
    }

    #[test]
    fn generates_a_fresh_state() {
        let a = authorization_url("https://x", "k", &[], "https://a/cb", None).unwrap();
        let b = authorization_url("https://x", "k", &[], "https://a/cb", None).unwrap();
        assert_eq!(a.state.len(), 32);
        assert!(a.state.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.state, b.state);
        assert!(!a.url.contains("scope="));
        assert!(a.url.ends_with(&format!("state={}", a.state)));
    }

    #[test]
    fn refuses_bad_parts() {
        for (base, key, scopes, redirect, state) in [
            ("http://x.example", "k", &["A"][..], "https://a/cb", None),
            ("https://x", "", &["A"][..], "https://a/cb", None),
            ("https://x", "k", &["A,B"][..], "https://a/cb", None),
            ("https://x", "k", &[""][..], "https://a/cb", None),
            ("https://x", "k", &["A"][..], "/relative", None),
            ("https://x", "k", &["A"][..], "https://a/cb", Some("")),
        ] {
            let e = authorization_url(base, key, scopes, redirect, state).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn reads_callbacks() {
        assert_eq!(
            parse_callback("https://a/cb?code=c%2B1&state=s", Some("s")).unwrap(),
            "c+1"
        );
        assert_eq!(
            parse_callback("https://a/listen?code=xyz", None).unwrap(),
            "xyz"
        );
        let forged = parse_callback("https://a/cb?code=c&state=evil", Some("s")).unwrap_err();
        assert_eq!(forged.kind(), ErrorKind::InvalidArgument);
        let missing = parse_callback("https://a/cb?state=s", Some("s")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::InvalidArgument);
        let denied = parse_callback(
            "https://a/cb?error=access_denied&error_description=User+said+no",
            None,
        )
        .unwrap_err();
        assert_eq!(denied.kind(), ErrorKind::Unauthorized);
        assert_eq!(denied.concur_message(), Some("User said no"));
        assert_eq!(denied.error_id(), Some("access_denied"));
    }

    // The bound the C header states for `concur_authorization_url`'s `url`.
    #[test]
    fn the_url_length_is_bounded_by_the_inputs() {
        let redirect = format!("https://a/{}", "/".repeat(3000));
        let (base, id, scope, state) = ("https://x.example/", "k/k", "A,B", "s t");
        let bound = |state_len: usize| {
            base.len() + 70 + 3 * (id.len() + scope.len() + redirect.len() + state_len)
        };
        let r = authorization_url(base, id, &["A", "B"], &redirect, Some(state)).unwrap();
        assert!(r.url.len() <= bound(state.len()), "{}", r.url.len());
        assert!(r.url.len() > 3 * redirect.len());
        let r = authorization_url(base, id, &["A", "B"], &redirect, None).unwrap();
        assert!(r.url.len() <= bound(32), "{}", r.url.len());
    }

    #[test]
    fn the_state_is_checked_before_the_error() {
        for forged in [
            "https://a/cb?error=access_denied&error_description=Call+support+at+evil.example",
            "https://a/cb?error=access_denied&error_description=Call+evil&state=other",
        ] {
            let e = parse_callback(forged, Some("expected-state")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{forged}");
            assert_eq!(e.concur_message(), None);
            assert!(!e.to_string().contains("evil"), "{e}");
        }
        let denied = parse_callback("https://a/cb?error=access_denied&state=s", Some("s"));
        assert_eq!(denied.unwrap_err().kind(), ErrorKind::Unauthorized);
    }

    #[test]
    fn codes_with_control_characters_are_refused() {
        for url in [
            "https://a/cb?code=a%00b",
            "https://a/cb?code=a%1Bb",
            "https://a/cb?code=a%0Ab",
            "https://a/cb?code=a%7Fb",
            "https://a/cb?code=a%C2%85b",
        ] {
            let e = parse_callback(url, None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url}");
            assert!(e.to_string().contains("control"), "{e}");
        }
        assert_eq!(
            parse_callback("https://a/cb?code=a+b%C3%BC", None).unwrap(),
            "a bü"
        );
    }
}
