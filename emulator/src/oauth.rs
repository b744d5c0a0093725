//! Concur's OAuth endpoints as the server plays them: which tokens and codes it handed out, to
//! whom, which were revoked, and the answer each request deserves.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use base64::Engine;

use crate::http::Request;
use crate::{ACCOUNTS, IssuedToken, Shared};

/// The endpoints, matched without regard to case as Concur's servers do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Endpoint {
    /// `/net2/oauth2/accesstoken.ashx`: the Native Flow.
    Native,
    /// `/net2/oauth2/getaccesstoken.ashx`: refresh (`refresh_token=`) or code exchange (`code=`).
    Token,
    /// `/net2/oauth2/revoketoken.ashx`.
    Revoke,
    /// `/net2/oauth2/Login.aspx`: the page that sends the user back with a code.
    Login,
}

impl Endpoint {
    pub(crate) fn from_path(path: &str) -> Option<Endpoint> {
        match path.to_ascii_lowercase().as_str() {
            "/net2/oauth2/accesstoken.ashx" => Some(Endpoint::Native),
            "/net2/oauth2/getaccesstoken.ashx" => Some(Endpoint::Token),
            "/net2/oauth2/revoketoken.ashx" => Some(Endpoint::Revoke),
            "/net2/oauth2/login.aspx" => Some(Endpoint::Login),
            _ => None,
        }
    }
}

/// What an endpoint decided.
pub(crate) enum Reply {
    /// A token document.
    Token(IssuedToken),
    /// 200 with an empty body.
    Empty,
    /// 302 to this location.
    Redirect(String),
    /// An error document with this status and message.
    Refuse(u16, &'static str),
}

/// Who holds what.
#[derive(Default)]
pub(crate) struct Grants {
    /// Access token → (login ID, refresh token, revoked?).
    tokens: HashMap<String, (String, String, bool)>,
    /// Unused request tokens (codes) → login ID.
    codes: HashMap<String, String>,
}

pub(crate) fn handle(endpoint: Endpoint, request: &Request, shared: &Shared) -> Reply {
    let query = query(&request.target);
    let param = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match endpoint {
        Endpoint::Native => match authenticate(request, shared) {
            Ok(login) => Reply::Token(issue(shared, &login, None)),
            Err((status, message)) => Reply::Refuse(status, message),
        },
        Endpoint::Token => {
            if request.method != "GET" {
                return Reply::Refuse(405, "Only GET is supported.");
            }
            let known = shared.state().consumer_keys.iter().any(|k| {
                param("client_id") == Some(k.key.as_str())
                    && param("client_secret") == Some(k.secret.as_str())
            });
            if !known {
                return Reply::Refuse(401, "Invalid client ID or client secret.");
            }
            if let Some(refresh) = param("refresh_token") {
                let grants = shared.grants.lock().expect("grants poisoned");
                let holder = grants
                    .tokens
                    .values()
                    .find(|(_, r, revoked)| r == refresh && !revoked)
                    .map(|(login, _, _)| login.clone());
                drop(grants);
                return match holder {
                    // Concur's refresh answer carries no Refresh_Token: the old one stays valid.
                    Some(login) => Reply::Token(issue(shared, &login, Some(refresh))),
                    None => Reply::Refuse(401, "Invalid or revoked refresh token."),
                };
            }
            if let Some(code) = param("code") {
                let login = shared
                    .grants
                    .lock()
                    .expect("grants poisoned")
                    .codes
                    .remove(code);
                return match login {
                    Some(login) => Reply::Token(issue(shared, &login, None)),
                    None => Reply::Refuse(401, "Invalid or used request token."),
                };
            }
            Reply::Refuse(400, "Either refresh_token or code is required.")
        }
        Endpoint::Revoke => {
            if request.method != "POST" {
                return Reply::Refuse(405, "Only POST is supported.");
            }
            let caller = request
                .header("authorization")
                .and_then(|v| v.strip_prefix("OAuth "));
            let mut grants = shared.grants.lock().expect("grants poisoned");
            let caller_login = caller
                .and_then(|t| grants.tokens.get(t.trim()))
                .filter(|(_, _, revoked)| !revoked)
                .map(|(login, _, _)| login.clone());
            let Some(caller_login) = caller_login else {
                return Reply::Refuse(401, "Invalid or revoked access token.");
            };
            if !ACCOUNTS
                .iter()
                .any(|a| a.login_id == caller_login && a.admin)
            {
                return Reply::Refuse(403, "The caller is not a Web Services Administrator.");
            }
            if let Some(token) = param("token") {
                // Revoking a token revokes its refresh token, and so every token refreshed
                // from it.
                let Some(refresh) = grants.tokens.get(token).map(|g| g.1.clone()) else {
                    return Reply::Refuse(404, "The token does not exist.");
                };
                for grant in grants.tokens.values_mut().filter(|g| g.1 == refresh) {
                    grant.2 = true;
                }
                return Reply::Empty;
            }
            match (param("consumerKey"), param("user")) {
                (Some(key), Some(user)) if known_key(shared, key) => {
                    for grant in grants.tokens.values_mut().filter(|g| g.0 == user) {
                        grant.2 = true;
                    }
                    Reply::Empty
                }
                (Some(_), Some(_)) => Reply::Refuse(403, "Invalid consumer key."),
                _ => Reply::Refuse(400, "Either token or consumerKey and user are required."),
            }
        }
        Endpoint::Login => {
            let (Some(client_id), Some(redirect)) = (param("client_id"), param("redirect_uri"))
            else {
                return Reply::Refuse(400, "client_id and redirect_uri are required.");
            };
            if !known_key(shared, client_id) {
                return Reply::Refuse(403, "Invalid consumer key.");
            }
            let mut location = redirect.to_string();
            location.push(if redirect.contains('?') { '&' } else { '?' });
            if param("deny").is_some() {
                location.push_str("error=access_denied&error_description=The+user+denied+access.");
            } else {
                let code = format!("C_{:016x}", next_mix(shared));
                let login = ACCOUNTS[0].login_id.to_string();
                shared
                    .grants
                    .lock()
                    .expect("grants poisoned")
                    .codes
                    .insert(code.clone(), login);
                location.push_str(&format!("code={code}"));
            }
            if let Some(state) = param("state") {
                location.push_str("&state=");
                location.push_str(&encode(state));
            }
            Reply::Redirect(location)
        }
    }
}

/// Whether `key` is one of the legacy consumer keys the emulator knows.
fn known_key(shared: &Shared, key: &str) -> bool {
    shared.state().consumer_keys.iter().any(|k| k.key == key)
}

/// The login ID when the consumer key and the Basic credentials name a known account.
fn authenticate(request: &Request, shared: &Shared) -> Result<String, (u16, &'static str)> {
    if request.method != "GET" {
        return Err((405, "Only GET is supported."));
    }
    if !request
        .header("x-consumerkey")
        .is_some_and(|key| known_key(shared, key))
    {
        return Err((403, "Invalid consumer key."));
    }
    let bad_login = (401, "Invalid login ID or password.");
    let decoded = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or(bad_login)?;
    let (login, password) = decoded.split_once(':').ok_or(bad_login)?;
    ACCOUNTS
        .iter()
        .find(|a| a.login_id == login && a.password == password)
        .map(|a| a.login_id.to_string())
        .ok_or(bad_login)
}

fn next_mix(shared: &Shared) -> u64 {
    let n = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
    shared.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A fresh token for `login`, valid for a year as Concur's are. A refresh keeps the old
/// refresh token (and the answer omits it: `refresh_token` is empty in what is returned).
pub(crate) fn issue(shared: &Shared, login: &str, refreshed_with: Option<&str>) -> IssuedToken {
    let mix = next_mix(shared);
    let n = shared.counter.load(Ordering::SeqCst);
    let token = format!("0_{mix:016x}{n:06}");
    let refresh = match refreshed_with {
        Some(r) => r.to_string(),
        None => format!("R_{:016x}{n:06}", mix.rotate_left(29)),
    };
    if shared.recording.load(Ordering::SeqCst) {
        shared
            .grants
            .lock()
            .expect("grants poisoned")
            .tokens
            .insert(token.clone(), (login.to_string(), refresh.clone(), false));
    }
    let expires_at = shared.now() + 365 * 86_400;
    IssuedToken {
        token,
        refresh_token: if refreshed_with.is_some() {
            String::new()
        } else {
            refresh
        },
        expiration_date: crate::scenario::concur_date(expires_at),
        expires_at,
        instance_url: format!("{}/", shared.https_base),
    }
}

/// The decoded query parameters of a request target.
pub(crate) fn query(target: &str) -> Vec<(String, String)> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(n), decode(v))
        })
        .collect()
}

pub(crate) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The login ID holding this legacy access or refresh token, if it was issued and not revoked.
pub(crate) fn legacy_holder(shared: &Shared, token: &str) -> Option<String> {
    let grants = shared.grants.lock().expect("grants poisoned");
    if let Some((login, _, false)) = grants.tokens.get(token) {
        return Some(login.clone());
    }
    grants
        .tokens
        .values()
        .find(|(_, refresh, revoked)| refresh == token && !revoked)
        .map(|(login, _, _)| login.clone())
}
