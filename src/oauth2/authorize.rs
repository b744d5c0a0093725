//! The current API's authorization-code flow, both local steps: the URL to send the user to,
//! and the reading of the callback Concur sends the user back with.

use crate::error::{Error, ErrorKind};
use crate::oauth2::grant::require_text;
use crate::options::BaseUrl;
use crate::query::{query_params, url_with_query};
use crate::random::random_state;

/// The authorize endpoint, relative to a browser-facing (`www-`) host.
pub const OAUTH2_AUTHORIZE_PATH: &str = "/oauth2/v0/authorize";

/// Concur's browser-facing host for the authorize page, when no base URL is given.
pub const AUTHORIZE_HOST: &str = "https://www-us2.api.concursolutions.com";

/// Where to send the user, and the `state` to expect back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2AuthorizationRequest {
    /// `{base}/oauth2/v0/authorize?client_id=…&redirect_uri=…&scope=…&response_type=code&state=…`.
    pub url: String,
    /// The state sent: the caller's, or 128 random bits (hex) from the operating system's
    /// CSPRNG. Keep it (in the user's session) and hand it to [`parse_oauth2_callback`].
    pub state: String,
}

/// What the callback carried on success.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2Callback {
    /// The authorization code: trade it with
    /// [`Grant::AuthorizationCode`](crate::oauth2::Grant::AuthorizationCode). A secret.
    pub code: String,
    /// The user's data centre, when the callback named one. Returned as sent: the code
    /// exchange goes to Concur's GLZ host unless you pass this as its host, and a host you
    /// pass is one you trust.
    pub geolocation: Option<String>,
}

impl std::fmt::Debug for OAuth2Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Callback")
            .field("code", &"***")
            .field("geolocation", &self.geolocation)
            .finish()
    }
}

impl Drop for OAuth2Callback {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.code);
    }
}

/// Builds the URL that asks a user to grant the application access, every part
/// percent-encoded: `{base}/oauth2/v0/authorize?client_id&redirect_uri&scope&response_type=code&state`.
/// `scopes` are joined with spaces (none: the parameter is left out, and Concur grants the
/// application's scopes). Without a `state`, one is drawn from the operating system's CSPRNG.
/// `base_url` defaults to [`AUTHORIZE_HOST`].
pub fn oauth2_authorize_url(
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: Option<&str>,
    base_url: Option<&str>,
) -> Result<OAuth2AuthorizationRequest, Error> {
    crate::credentials::require_visible("the client ID", client_id)?;
    crate::credentials::require_visible("the redirect URI", redirect_uri)?;
    for scope in scopes {
        crate::credentials::require_visible("each scope", scope)?;
    }
    let state = match state {
        Some(state) => {
            require_text("the state", state)?;
            state.to_string()
        }
        None => random_state()?,
    };
    let base = BaseUrl::parse(base_url.unwrap_or(AUTHORIZE_HOST))?;
    let scope = scopes.join(" ");
    let mut params = vec![("client_id", client_id), ("redirect_uri", redirect_uri)];
    if !scope.is_empty() {
        params.push(("scope", scope.as_str()));
    }
    params.push(("response_type", "code"));
    params.push(("state", state.as_str()));
    let url = url_with_query(&base.endpoint(OAUTH2_AUTHORIZE_PATH), &params);
    Ok(OAuth2AuthorizationRequest {
        url: url.to_string(),
        state,
    })
}

/// Reads the URL Concur sent the user back to: `{redirect_uri}?code=…&geolocation=…&state=…`,
/// or `?error_code=…&error_description=…` when access was refused.
///
/// With `expected_state`, the `state` is checked **first**: a mismatch (a forged or replayed
/// callback) is an invalid-argument error, whatever else the URL says. A refusal is an
/// unauthorized error with `error_code` as [`Error::concur_code`] (when numeric) and the
/// description as Concur's message.
pub fn parse_oauth2_callback(
    callback_url: &str,
    expected_state: Option<&str>,
) -> Result<OAuth2Callback, Error> {
    let params = query_params(callback_url)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(expected) = expected_state
        && get("state") != Some(expected)
    {
        return Err(Error::invalid(
            "the callback's state does not match the one sent (a forged or stale callback)",
        ));
    }
    if let Some(code) = get("error_code").or(get("error")) {
        let numeric = code.trim().parse::<i64>().ok();
        let word = numeric.is_none().then_some(code);
        return Err(
            Error::new(ErrorKind::Unauthorized, "access was not granted").with_oauth2_error(
                numeric,
                word,
                get("error_description"),
                None,
            ),
        );
    }
    let code = match get("code") {
        Some(code) if !code.is_empty() && code.bytes().all(|b| b.is_ascii_graphic()) => code,
        Some(_) => return Err(Error::invalid("the callback's code is malformed")),
        None => return Err(Error::invalid("the callback URL has no code")),
    };
    let geolocation = match get("geolocation") {
        Some(g) => Some(BaseUrl::parse(g).map(|b| b.url).map_err(|_| {
            Error::invalid("the callback's geolocation is not a usable https:// URL")
        })?),
        None => None,
    };
    Ok(OAuth2Callback {
        code: code.to_string(),
        geolocation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_encodes_every_part() {
        let r = oauth2_authorize_url(
            "cid",
            "https://app.example/cb?x=1",
            &["openid", "expense.report.read"],
            Some("s t"),
            Some("https://www-us2.api.concursolutions.com/"),
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://www-us2.api.concursolutions.com/oauth2/v0/authorize?client_id=cid\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&scope=openid%20expense.report.read\
             &response_type=code&state=s%20t"
        );
        let r = oauth2_authorize_url("cid", "https://a/cb", &[], None, None).unwrap();
        assert_eq!(r.state.len(), 32);
        assert!(r.url.starts_with(AUTHORIZE_HOST));
        assert!(!r.url.contains("scope="));
        assert!(oauth2_authorize_url("c id", "https://a/cb", &[], None, None).is_err());
        assert!(oauth2_authorize_url("cid", "https://a/cb", &[], Some(""), None).is_err());
    }

    #[test]
    fn callbacks() {
        let c = parse_oauth2_callback(
            "https://app/cb?code=abc&geolocation=https%3A%2F%2Fus2.api.concursolutions.com&state=s",
            Some("s"),
        )
        .unwrap();
        assert_eq!(c.code, "abc");
        assert_eq!(
            c.geolocation.as_deref(),
            Some("https://us2.api.concursolutions.com")
        );

        let e = parse_oauth2_callback(
            "https://app/cb?error_code=5&error_description=No+way&state=s",
            Some("s"),
        )
        .unwrap_err();
        assert_eq!(
            (e.kind(), e.concur_code()),
            (ErrorKind::Unauthorized, Some(5))
        );
        assert_eq!(e.concur_message(), Some("No way"));

        // The state first: a forged refusal is a state mismatch, not Concur's word.
        let e = parse_oauth2_callback(
            "https://app/cb?error_code=5&error_description=Call+evil.example",
            Some("s"),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(!e.to_string().contains("evil"), "{e}");

        for bad in [
            "https://app/cb?state=s",
            "https://app/cb?code=&state=s",
            "https://app/cb?code=a%00b&state=s",
            "https://app/cb?code=a&geolocation=http%3A%2F%2Fevil.example&state=s",
        ] {
            let e = parse_oauth2_callback(bad, Some("s")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        assert!(
            !format!(
                "{:?}",
                parse_oauth2_callback("https://a/?code=sekrit", None).unwrap()
            )
            .contains("sekrit")
        );
    }
}
