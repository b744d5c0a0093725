//! Concur's current oauth2/v0 API as the server plays it, with the scenarios that bend it.
//!
//! Endpoints: `POST /oauth2/v0/token` (grants `password` with `credtype` `password` or
//! `authtoken`, `refresh_token`, `client_credentials`, `authorization_code`, `otp`),
//! `POST /oauth2/v0/otp`, `GET /oauth2/v0/authorize`, `DELETE /app-mgmt/v0/connections` and
//! `POST /appmgmt/v0/legacyApps/{key}/exchangeRefreshToken/me`. Errors carry Concur's documented
//! codes (Authentication API, "Response Codes").
//!
//! Tokens describe themselves: an access or refresh token holds its principal, geolocation,
//! scope and refresh family, with a keyed checksum, so that grants keep working without a record
//! of what was handed out (`--no-recording`). What must be remembered stays small: the
//! generation of each refresh family that was refreshed at least once (rotation), a revocation
//! mark per principal, unused authorization codes, addresses with an outstanding one-time
//! password, and the counters of the `retry-` scenarios.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::thread::sleep;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::http::{After, Request, write_response};
use crate::json::{self, Json};
use crate::oauth::{decode, encode, legacy_holder, query};
use crate::scenario::{civil, now};
use crate::{
    ACCOUNTS, COMPANY_ID, CONSUMER_KEY, EU_PASSWORD, EU_USERNAME, LOCKED_USERNAME, Listener,
    OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, OTP_CODE, REQUEST_TOKEN, Shared,
};

/// The scopes a token gets when the request names none.
pub const DEFAULT_SCOPE: &str = "openid USER user.read LIST EXPRPT";

/// How long a refresh token lives: six months (180 days).
pub(crate) const REFRESH_LIFETIME: i64 = 180 * 86_400;
/// Seconds an access token lives unless a test sets lifetimes.
pub(crate) const ACCESS_LIFETIME: i64 = 3600;

/// Form fields Concur refuses to see in a URL.
const SECRET_FIELDS: &[&str] = &["client_secret", "password", "refresh_token", "code", "otp"];

/// What the server must remember between requests.
#[derive(Default)]
pub(crate) struct State {
    /// Refresh family → its current generation; a family never refreshed is at generation 0
    /// and has no entry.
    generations: HashMap<u64, u32>,
    /// Principal → the first family number not revoked for it.
    revoked_below: HashMap<String, u64>,
    /// The last refresh family handed out.
    families: u64,
    /// Unused authorization codes.
    codes: HashMap<String, Code>,
    /// Addresses an OTP was sent to and not yet used.
    otps: HashSet<String>,
    /// `retry-` scenario → the requests it has answered so far.
    retries: HashMap<String, u32>,
}

/// What an authorization code stands for.
struct Code {
    principal: String,
    redirect_uri: String,
    geolocation: String,
    scope: String,
}

/// Who a token is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    User,
    Company,
    App,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Company => "company",
            Kind::App => "app",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        match name {
            "user" => Some(Kind::User),
            "company" => Some(Kind::Company),
            "app" => Some(Kind::App),
            _ => None,
        }
    }
}

/// What a token says about itself.
#[derive(Clone, Debug)]
struct Grant {
    kind: Kind,
    /// The login, e-mail address, company ID, or (for an application) client ID.
    principal: String,
    geolocation: String,
    scope: String,
    /// The refresh family: every token refreshed from one password grant shares it.
    family: u64,
    /// How many times the family was refreshed when this token was issued.
    generation: u32,
}

/// An answer before it is written.
enum Outcome {
    /// A JSON body with this status.
    Json(u16, String),
    /// A documented Concur error code, with the geolocation to name for code 16.
    Code(u32, Option<String>),
    /// 302 to this location.
    Redirect(String),
    /// An empty 200.
    Empty,
}

/// Whether a path (without its leading `/` and scenario prefix) belongs to this API.
pub(crate) fn serves(endpoint: &str) -> bool {
    ["oauth2/v0/", "app-mgmt/v0/", "appmgmt/v0/"]
        .iter()
        .any(|prefix| endpoint.starts_with(prefix))
}

/// The decoded fields of a form body (`application/x-www-form-urlencoded`, with or without
/// parameters); empty for any other body.
pub(crate) fn form_of(request: &Request) -> Vec<(String, String)> {
    let is_form = request.header("content-type").is_some_and(|v| {
        v.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !is_form {
        return Vec::new();
    }
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(n), decode(v))
        })
        .collect()
}

/// The `sub` of a user: a UUID derived from the user name, the same in every run.
pub fn subject_of(username: &str) -> String {
    if username == COMPANY_ID {
        return COMPANY_ID.to_string();
    }
    let fnv = |seed: u64| {
        username.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (hi, lo) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
    let hi = (hi & !0xf000) | 0x4000; // version 4
    let lo = (lo & !(0xc << 60)) | (0x8 << 60); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Answers a request to this API under `scenario`; `None` when the scenario is not one of
/// this API's, for the caller to try the generic (hostile) ones.
pub(crate) fn answer(
    request: &Request,
    scenario: &str,
    endpoint: &str,
    listener: Listener,
    out: &mut dyn Write,
    shared: &Shared,
) -> Option<io::Result<After>> {
    let correlation = request
        .header("concur-correlationid")
        .map_or_else(|| uuid_v4(shared), str::to_string);
    let mut ctx = Context {
        request,
        endpoint,
        listener,
        shared,
        geolocation: shared.base_of(listener).to_string(),
        expires_number: false,
    };
    let outcome = match scenario {
        "" => ctx.route(),
        "expires-number" => {
            ctx.expires_number = true;
            ctx.route()
        }
        "json-500" => {
            let headers = [
                ("Content-Type", "text/plain".to_string()),
                ("concur-correlationid", correlation),
            ];
            let body = b"Internal Server Error: the token service failed";
            return Some(write_response(out, 500, &headers, body).map(|_| After::KeepAlive));
        }
        _ => {
            if let Some(status) = scenario.strip_prefix("status-") {
                let status = status.parse().unwrap_or(500);
                let body = json::object(&[
                    ("error", json::string("server_error")),
                    (
                        "error_description",
                        json::string(&format!("scenario status-{status}")),
                    ),
                ]);
                Outcome::Json(status, body)
            } else if let Some(code) = scenario.strip_prefix("error-") {
                match code.parse() {
                    Ok(code) => Outcome::Code(code, Some(shared.second_base.clone())),
                    Err(_) => exchange_error(code),
                }
            } else if let Some(rest) = scenario.strip_prefix("retry-") {
                let mut parts = rest.splitn(4, '-');
                let (Some(status), Some(times), Some(after)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return None;
                };
                let (Ok(status), Ok(times)) = (status.parse::<u16>(), times.parse::<u32>()) else {
                    return None;
                };
                let mut state = shared.oauth2.lock().expect("oauth2 state poisoned");
                let count = state.retries.entry(scenario.to_string()).or_insert(0);
                let refuse = *count < times;
                *count = count.saturating_add(1);
                drop(state);
                if refuse {
                    let mut headers = vec![
                        ("Content-Type", "text/plain".to_string()),
                        ("concur-correlationid", correlation),
                    ];
                    match after {
                        "none" => {}
                        "date" => headers.push(("Retry-After", http_date(now() + 1))),
                        seconds => headers.push(("Retry-After", seconds.to_string())),
                    }
                    let body = format!("{status} from scenario {scenario}");
                    return Some(
                        write_response(out, status, &headers, body.as_bytes())
                            .map(|_| After::KeepAlive),
                    );
                }
                ctx.route()
            } else if let Some(geo) = scenario.strip_prefix("geo16-") {
                Outcome::Code(16, Some(geolocation_of(geo)?))
            } else if let Some(geo) = scenario.strip_prefix("geo-token-") {
                ctx.geolocation = geolocation_of(geo)?;
                ctx.route()
            } else if let Some(ms) = scenario.strip_prefix("slow-headers-") {
                sleep(Duration::from_millis(ms.parse().unwrap_or(5000)));
                ctx.route()
            } else if let Some(ms) = scenario.strip_prefix("hang-") {
                // Logged now (an empty write), then silence, then a close: the request is
                // never processed, so a client killed meanwhile changed nothing.
                if let Err(e) = out.write_all(b"") {
                    return Some(Err(e));
                }
                sleep(Duration::from_millis(ms.parse().unwrap_or(5000)));
                return Some(Ok(After::Close));
            } else {
                return None;
            }
        }
    };
    Some(write_outcome(out, outcome, correlation))
}

/// `http-PORT`, `https-PORT` or `name-HOST` as a base URL.
fn geolocation_of(spec: &str) -> Option<String> {
    if let Some(port) = spec.strip_prefix("http-") {
        return Some(format!("http://127.0.0.1:{}", port.parse::<u16>().ok()?));
    }
    if let Some(port) = spec.strip_prefix("https-") {
        return Some(format!("https://127.0.0.1:{}", port.parse::<u16>().ok()?));
    }
    spec.strip_prefix("name-")
        .map(|host| format!("https://{host}"))
}

fn write_outcome(out: &mut dyn Write, outcome: Outcome, correlation: String) -> io::Result<After> {
    let json_type = ("Content-Type", "application/json".to_string());
    let correlation = ("concur-correlationid", correlation);
    match outcome {
        Outcome::Json(status, body) => {
            write_response(out, status, &[json_type, correlation], body.as_bytes())?;
        }
        Outcome::Code(code, geolocation) => {
            let (status, error, description) = documented(code);
            let mut members = vec![
                ("error", json::string(error)),
                ("error_description", json::string(description)),
                ("code", code.to_string()),
            ];
            if let (16, Some(geolocation)) = (code, geolocation) {
                members.push(("geolocation", json::string(&geolocation)));
            }
            let body = json::object(&members);
            write_response(out, status, &[json_type, correlation], body.as_bytes())?;
        }
        Outcome::Redirect(location) => {
            write_response(out, 302, &[("Location", location), correlation], b"")?;
        }
        Outcome::Empty => write_response(out, 200, &[correlation], b"")?,
    }
    Ok(After::KeepAlive)
}

/// A code's HTTP status, `error` and `error_description`, as the Authentication API's
/// "Response Codes" table gives them (136 is not in that table: see [`crate::SCENARIOS`]).
fn documented(code: u32) -> (u16, &'static str, &'static str) {
    let (error, description) = match code {
        5 | 19 => ("invalid_grant", "Incorrect Credentials. Please Retry"),
        10 | 11 => (
            "invalid_grant",
            "Account is disabled. Please contact support",
        ),
        12 | 13 | 20 => ("invalid_grant", "Logon Denied. Please contact support"),
        14 => ("invalid_grant", "Account Locked. Please contact support"),
        16 => ("invalid_request", "user lives elsewhere"),
        51 => ("invalid_request", "username was not supplied"),
        52 => ("invalid_request", "password was not supplied"),
        53 => ("invalid_client", "company is not enabled for this client"),
        54 => ("invalid_scope", "requested scope exceeds granted scope"),
        55 => ("invalid_request", "we don't know this email"),
        56 => ("invalid_request", "otp was not supplied"),
        57 => ("invalid_request", "channel_type missing"),
        58 => ("invalid_request", "channel_handle missing"),
        59 => ("access_denied", "client disabled"),
        60 => (
            "unsupported_grant_type",
            "these are not the grants you are looking for",
        ),
        61 => ("invalid_client", "client not found"),
        62 => ("invalid_request", "client_id was not supplied"),
        63 => ("invalid_request", "client_secret was not supplied"),
        64 => ("invalid_client", "Incorrect Credentials. Please Retry"),
        65 => ("invalid_request", "grant_type was not supplied"),
        80 => ("invalid_request", "invalid channel type"),
        81 => ("invalid_request", "bad channel handle"),
        82 => (
            "invalid_request",
            "the number of open otp requests has been exceeded",
        ),
        83 => ("invalid_request", "otp not found"),
        84 => ("invalid_request", "fact verification failed"),
        85 => ("invalid_request", "otp verification failed"),
        100 => (
            "invalid_request",
            "backend does not know about this username",
        ),
        101 => ("invalid_request", "code was not supplied"),
        102 => ("invalid_request", "redirect_uri was not supplied"),
        103 => ("invalid_request", "code is bad or expired"),
        104 => (
            "invalid_grant",
            "redirect_uri does not match the previous grant",
        ),
        105 => ("invalid_grant", "this grant was not issued to you!"),
        106 => ("invalid_request", "refresh_token was not supplied"),
        107 => ("invalid_request", "refresh disallowed for app"),
        108 => ("invalid_grant", "bad or expired refresh token"),
        109 => ("invalid_request", "loginid was not supplied"),
        115 => (
            "invalid_request",
            "unauthenticated client will not be issued token!",
        ),
        120 => ("invalid_request", "credtype is invalid"),
        121 => ("invalid_request", "login_type is invalid"),
        122 => ("invalid_request", "proxies supplied are invalid"),
        123 => ("invalid_request", "principal is disabled"),
        136 => ("invalid_grant", "auth token was not issued to you"),
        _ => ("invalid_request", "the request could not be completed"),
    };
    let status = match error {
        "invalid_client" => 401,
        "access_denied" => 403,
        _ => 400,
    };
    (status, error, description)
}

/// An error of the legacy token exchange, in the shape of its migration guide.
fn exchange_error(code: &str) -> Outcome {
    let (status, message) = match code {
        "INVALIDSCOPES" => (
            400,
            "One or more scopes requested are not a subset of the allowed scopes.",
        ),
        "INVALIDAPP" => (400, "Application is invalid"),
        "INVALIDTOKEN" => (400, "Bad or expired token"),
        "UNAUTHORIZED" => (401, "Invalid credentials"),
        _ => (400, "Unknown error"),
    };
    let body = json::object(&[
        ("code", json::string(code)),
        ("message", json::string(message)),
    ]);
    Outcome::Json(status, body)
}

/// A JSON error without one of Concur's codes (for refusals the documentation has no code for).
fn refusal(status: u16, error: &str, description: &str) -> Outcome {
    Outcome::Json(
        status,
        json::object(&[
            ("error", json::string(error)),
            ("error_description", json::string(description)),
        ]),
    )
}

struct Context<'a> {
    request: &'a Request,
    endpoint: &'a str,
    listener: Listener,
    shared: &'a Shared,
    /// The geolocation of tokens issued here (the listener's base URL unless a scenario says).
    geolocation: String,
    expires_number: bool,
}

impl Context<'_> {
    fn route(&self) -> Outcome {
        let method = self.request.method.as_str();
        match (method, self.endpoint) {
            ("POST", "oauth2/v0/token") => self.token(),
            ("POST", "oauth2/v0/otp") => self.otp(),
            ("GET", "oauth2/v0/authorize") => self.authorize(),
            ("DELETE", "app-mgmt/v0/connections") => self.revoke(),
            ("POST", path) if exchange_key(path).is_some() => self.exchange(),
            (_, "oauth2/v0/token" | "oauth2/v0/otp" | "oauth2/v0/authorize")
            | (_, "app-mgmt/v0/connections") => {
                refusal(405, "invalid_request", "method not allowed")
            }
            (_, path) if exchange_key(path).is_some() => {
                refusal(405, "invalid_request", "method not allowed")
            }
            _ => refusal(404, "not_found", "no such resource"),
        }
    }

    /// The form, after the checks every form endpoint makes: the exact content type, no
    /// secret in the URL, and the client's credentials.
    fn checked_form(&self) -> Result<Vec<(String, String)>, Outcome> {
        let content_type = self.request.header("content-type").unwrap_or("");
        if !content_type
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        {
            return Err(refusal(
                400,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded, without parameters",
            ));
        }
        let in_url = query(&self.request.target);
        if in_url
            .iter()
            .any(|(name, _)| SECRET_FIELDS.contains(&name.as_str()))
        {
            return Err(refusal(
                400,
                "invalid_request",
                "confidential parameters are not accepted in the URL",
            ));
        }
        let form = form_of(self.request);
        let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        match (field("client_id"), field("client_secret")) {
            (None, _) => Err(Outcome::Code(62, None)),
            (_, None) => Err(Outcome::Code(63, None)),
            (Some(id), Some(secret))
                if id == OAUTH2_CLIENT_ID && secret == OAUTH2_CLIENT_SECRET =>
            {
                Ok(form)
            }
            _ => Err(Outcome::Code(64, None)),
        }
    }

    fn token(&self) -> Outcome {
        let form = match self.checked_form() {
            Ok(form) => form,
            Err(outcome) => return outcome,
        };
        let field = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let scope = field("scope").unwrap_or(DEFAULT_SCOPE).to_string();
        let shared = self.shared;
        let grant = |kind, principal: &str, geolocation: &str, scope: &str| Grant {
            kind,
            principal: principal.to_string(),
            geolocation: geolocation.to_string(),
            scope: scope.to_string(),
            family: new_family(shared),
            generation: 0,
        };
        match field("grant_type") {
            None => Outcome::Code(65, None),
            Some("password") => {
                let (Some(username), Some(password)) = (field("username"), field("password"))
                else {
                    return Outcome::Code(if field("username").is_none() { 51 } else { 52 }, None);
                };
                match field("credtype") {
                    None | Some("password") => {}
                    Some("authtoken") => {
                        return if username == COMPANY_ID && password == REQUEST_TOKEN {
                            self.issue(grant(Kind::Company, COMPANY_ID, &self.geolocation, &scope))
                        } else {
                            Outcome::Code(5, None)
                        };
                    }
                    Some(_) => return Outcome::Code(120, None),
                }
                if username == LOCKED_USERNAME {
                    return Outcome::Code(14, None);
                }
                if username == EU_USERNAME {
                    if password != EU_PASSWORD {
                        return Outcome::Code(5, None);
                    }
                    if self.listener != Listener::DataCentre2 {
                        return Outcome::Code(16, Some(shared.second_base.clone()));
                    }
                    return self.issue(grant(Kind::User, EU_USERNAME, &shared.second_base, &scope));
                }
                if ACCOUNTS
                    .iter()
                    .any(|a| a.login_id == username && a.password == password)
                {
                    self.issue(grant(Kind::User, username, &self.geolocation, &scope))
                } else {
                    Outcome::Code(5, None)
                }
            }
            Some("refresh_token") => {
                let Some(refresh) = field("refresh_token") else {
                    return Outcome::Code(106, None);
                };
                let Some(old) = decode_token(shared, refresh) else {
                    return Outcome::Code(108, None);
                };
                if old.kind == Kind::App {
                    return Outcome::Code(108, None);
                }
                if old.geolocation == shared.second_base && self.listener != Listener::DataCentre2 {
                    return Outcome::Code(16, Some(shared.second_base.clone()));
                }
                let mut state = shared.oauth2.lock().expect("oauth2 state poisoned");
                let current = state.generations.get(&old.family).copied().unwrap_or(0);
                let revoked = state
                    .revoked_below
                    .get(&old.principal)
                    .is_some_and(|below| old.family < *below);
                if old.generation != current || revoked {
                    return Outcome::Code(108, None);
                }
                state.generations.insert(old.family, current + 1);
                drop(state);
                self.issue(Grant {
                    generation: current + 1,
                    scope: field("scope").map_or(old.scope.clone(), str::to_string),
                    ..old
                })
            }
            Some("client_credentials") => self.issue(grant(
                Kind::App,
                OAUTH2_CLIENT_ID,
                &self.geolocation,
                &scope,
            )),
            Some("authorization_code") => {
                let Some(code) = field("code") else {
                    return Outcome::Code(101, None);
                };
                let Some(redirect_uri) = field("redirect_uri") else {
                    return Outcome::Code(102, None);
                };
                let mut state = shared.oauth2.lock().expect("oauth2 state poisoned");
                let Some(known) = state.codes.get(code) else {
                    return Outcome::Code(103, None);
                };
                if known.redirect_uri != redirect_uri {
                    return Outcome::Code(104, None);
                }
                let known = state.codes.remove(code).expect("the code is there");
                drop(state);
                self.issue(grant(
                    Kind::User,
                    &known.principal,
                    &known.geolocation,
                    &known.scope,
                ))
            }
            Some("otp") => {
                let Some(otp) = field("otp") else {
                    return Outcome::Code(56, None);
                };
                let Some(channel_type) = field("channel_type") else {
                    return Outcome::Code(57, None);
                };
                let Some(handle) = field("channel_handle") else {
                    return Outcome::Code(58, None);
                };
                if channel_type != "email" {
                    return Outcome::Code(80, None);
                }
                if handle == EU_USERNAME && self.listener != Listener::DataCentre2 {
                    return Outcome::Code(16, Some(shared.second_base.clone()));
                }
                let mut state = shared.oauth2.lock().expect("oauth2 state poisoned");
                if !state.otps.contains(handle) {
                    return Outcome::Code(83, None);
                }
                if otp != OTP_CODE {
                    return Outcome::Code(85, None);
                }
                state.otps.remove(handle);
                drop(state);
                let geolocation = if handle == EU_USERNAME {
                    &shared.second_base
                } else {
                    &self.geolocation
                };
                self.issue(grant(Kind::User, handle, geolocation, &scope))
            }
            Some(_) => Outcome::Code(60, None),
        }
    }

    /// A token answer for `grant`.
    fn issue(&self, grant: Grant) -> Outcome {
        let shared = self.shared;
        let now = now();
        let access = access_token(shared, &grant, now);
        let lifetime = shared.access_lifetime.load(Ordering::SeqCst).to_string();
        let expires_in = if self.expires_number {
            lifetime
        } else {
            json::string(&lifetime)
        };
        let mut members = vec![
            ("access_token", json::string(&access)),
            ("token_type", json::string("Bearer")),
            ("expires_in", expires_in),
            ("scope", json::string(&grant.scope)),
        ];
        if grant.kind != Kind::App {
            members.push((
                "refresh_token",
                json::string(&refresh_token(shared, &grant)),
            ));
            let refresh_lifetime = shared.refresh_lifetime.load(Ordering::SeqCst);
            members.push(("refresh_expires_in", (now + refresh_lifetime).to_string()));
            members.push(("id_token", json::string(&id_token(shared, &grant, now))));
        }
        members.push(("geolocation", json::string(&grant.geolocation)));
        Outcome::Json(200, json::object(&members))
    }

    fn otp(&self) -> Outcome {
        let form = match self.checked_form() {
            Ok(form) => form,
            Err(outcome) => return outcome,
        };
        let field = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(channel_type) = field("channel_type") else {
            return Outcome::Code(57, None);
        };
        let Some(handle) = field("channel_handle") else {
            return Outcome::Code(58, None);
        };
        if channel_type != "email" {
            return Outcome::Code(80, None);
        }
        if !handle.contains('@') {
            return Outcome::Code(81, None);
        }
        if handle == EU_USERNAME && self.listener != Listener::DataCentre2 {
            return Outcome::Code(16, Some(self.shared.second_base.clone()));
        }
        self.shared
            .oauth2
            .lock()
            .expect("oauth2 state poisoned")
            .otps
            .insert(handle.to_string());
        Outcome::Json(200, json::object(&[("message", json::string("otp sent"))]))
    }

    fn authorize(&self) -> Outcome {
        let params = query(&self.request.target);
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(redirect) = param("redirect_uri") else {
            return Outcome::Code(102, None);
        };
        let mut location = redirect.to_string();
        location.push(if redirect.contains('?') { '&' } else { '?' });
        let username = param("username").unwrap_or(ACCOUNTS[0].login_id);
        let refused = if param("client_id") != Some(OAUTH2_CLIENT_ID) {
            Some(61)
        } else if param("response_type") != Some("code") {
            Some(60)
        } else if username == LOCKED_USERNAME {
            Some(14)
        } else if username != EU_USERNAME && !ACCOUNTS.iter().any(|a| a.login_id == username) {
            Some(5)
        } else {
            None
        };
        if let Some(code) = refused {
            let (_, _, description) = documented(code);
            location.push_str(&format!(
                "error_code={code}&error_description={}",
                encode(description)
            ));
        } else {
            let geolocation = if username == EU_USERNAME || self.listener == Listener::DataCentre2 {
                self.shared.second_base.clone()
            } else {
                self.shared.https_base.clone()
            };
            let code = uuid_v4(self.shared);
            location.push_str(&format!("code={code}&geolocation={}", encode(&geolocation)));
            self.shared
                .oauth2
                .lock()
                .expect("oauth2 state poisoned")
                .codes
                .insert(
                    code,
                    Code {
                        principal: username.to_string(),
                        redirect_uri: redirect.to_string(),
                        geolocation,
                        scope: param("scope").unwrap_or(DEFAULT_SCOPE).to_string(),
                    },
                );
        }
        if let Some(state) = param("state") {
            location.push_str("&state=");
            location.push_str(&encode(state));
        }
        Outcome::Redirect(location)
    }

    /// The grant of the access token in the `Authorization: Bearer` header.
    fn bearer(&self) -> Option<Grant> {
        let value = self.request.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        decode_access(self.shared, token.trim())
    }

    fn revoke(&self) -> Outcome {
        let Some(grant) = self.bearer().filter(|g| g.kind != Kind::App) else {
            return refusal(
                401,
                "invalid_token",
                "a user's or company's access token is required",
            );
        };
        let mut state = self.shared.oauth2.lock().expect("oauth2 state poisoned");
        let below = state.families + 1;
        state.revoked_below.insert(grant.principal, below);
        Outcome::Empty
    }

    fn exchange(&self) -> Outcome {
        if self.bearer().is_none_or(|g| g.kind != Kind::App) {
            return exchange_error("UNAUTHORIZED");
        }
        if exchange_key(self.endpoint) != Some(CONSUMER_KEY) {
            return exchange_error("INVALIDAPP");
        }
        let body = Json::parse(&String::from_utf8_lossy(&self.request.body));
        let field = |name: &str| body.as_ref().and_then(|b| b.str_of(name));
        if field("secret") != Some(OAUTH2_CLIENT_SECRET) {
            return exchange_error("UNAUTHORIZED");
        }
        let Some(login) = field("token").and_then(|t| legacy_holder(self.shared, t)) else {
            return exchange_error("INVALIDTOKEN");
        };
        let company = query(&self.request.target)
            .iter()
            .any(|(n, v)| n == "returnType" && v == "companyToken");
        let (kind, principal) = if company {
            if !ACCOUNTS.iter().any(|a| a.login_id == login && a.admin) {
                return exchange_error("INVALIDTOKEN");
            }
            (Kind::Company, COMPANY_ID.to_string())
        } else {
            (Kind::User, login)
        };
        let grant = Grant {
            kind,
            principal,
            geolocation: self.geolocation.clone(),
            scope: DEFAULT_SCOPE.to_string(),
            family: new_family(self.shared),
            generation: 0,
        };
        let created = now() * 1000;
        let sub = subject_of(&grant.principal);
        let context = json::object(&[
            ("userid", json::string(&sub)),
            ("cid", json::string(OAUTH2_CLIENT_ID)),
            ("ptype", json::string(kind.name())),
            (
                "userURI",
                json::string(&format!(
                    "{}/profile-service/v1/users/{sub}",
                    grant.geolocation
                )),
            ),
            ("scope", json::string(&grant.scope)),
        ]);
        let scopes: Vec<String> = grant.scope.split(' ').map(json::string).collect();
        let body = json::object(&[
            ("token", json::string(&refresh_token(self.shared, &grant))),
            ("created", created.to_string()),
            ("expired", (created + REFRESH_LIFETIME * 1000).to_string()),
            ("scopes", format!("[{}]", scopes.join(","))),
            ("context", json::string(&context)),
        ]);
        Outcome::Json(200, body)
    }
}

/// The old consumer key of `appmgmt/v0/legacyApps/{key}/exchangeRefreshToken/me`.
fn exchange_key(path: &str) -> Option<&str> {
    path.strip_prefix("appmgmt/v0/legacyApps/")?
        .strip_suffix("/exchangeRefreshToken/me")
        .filter(|key| !key.is_empty() && !key.contains('/'))
}

fn new_family(shared: &Shared) -> u64 {
    let mut state = shared.oauth2.lock().expect("oauth2 state poisoned");
    state.families += 1;
    state.families
}

/// A keyed checksum of `text` (SipHash keyed by the server's seed: not cryptographic, but
/// no test can forge or alter a token by accident).
fn checksum(shared: &Shared, text: &str) -> String {
    let part = |salt: u64| {
        let mut h = DefaultHasher::new();
        h.write_u64(shared.seed);
        h.write_u64(salt);
        h.write(text.as_bytes());
        h.finish()
    };
    format!("{:016x}{:016x}", part(1), part(2))
}

fn grant_json(grant: &Grant) -> Vec<(&'static str, String)> {
    vec![
        ("k", json::string(grant.kind.name())),
        ("p", json::string(&grant.principal)),
        ("g", json::string(&grant.geolocation)),
        ("s", json::string(&grant.scope)),
        ("f", grant.family.to_string()),
        ("n", grant.generation.to_string()),
    ]
}

fn grant_from(value: &Json) -> Option<Grant> {
    Some(Grant {
        kind: Kind::from_name(value.str_of("k")?)?,
        principal: value.str_of("p")?.to_string(),
        geolocation: value.str_of("g")?.to_string(),
        scope: value.str_of("s")?.to_string(),
        family: value.get("f")?.as_i64()?.try_into().ok()?,
        generation: value.get("n")?.as_i64()?.try_into().ok()?,
    })
}

/// `rt.{b64url(grant)}.{checksum}`: a refresh token that says what it is for.
fn refresh_token(shared: &Shared, grant: &Grant) -> String {
    let payload = URL_SAFE_NO_PAD.encode(json::object(&grant_json(grant)));
    let sum = checksum(shared, &payload);
    format!("rt.{payload}.{sum}")
}

fn decode_token(shared: &Shared, token: &str) -> Option<Grant> {
    let (payload, sum) = token.strip_prefix("rt.")?.split_once('.')?;
    if checksum(shared, payload) != sum {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    grant_from(&Json::parse(&text)?)
}

fn jwt(shared: &Shared, header: &str, payload: &str) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = URL_SAFE_NO_PAD.encode(checksum(shared, &signed));
    format!("{signed}.{signature}")
}

/// A JWT-shaped access token, fresh each time, carrying its grant.
fn access_token(shared: &Shared, grant: &Grant, now: i64) -> String {
    let mut claims = grant_json(grant);
    claims.push(("jti", json::string(&uuid_v4(shared))));
    claims.push(("iat", now.to_string()));
    let lifetime = shared.access_lifetime.load(Ordering::SeqCst);
    claims.push(("exp", (now + lifetime).to_string()));
    jwt(
        shared,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json::object(&claims),
    )
}

fn decode_access(shared: &Shared, token: &str) -> Option<Grant> {
    let (signed, signature) = token.rsplit_once('.')?;
    if URL_SAFE_NO_PAD.decode(signature).ok()? != checksum(shared, signed).into_bytes() {
        return None;
    }
    let (_, payload) = signed.split_once('.')?;
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    grant_from(&Json::parse(&text)?)
}

/// The OpenID `id_token` of a user's or company's grant.
fn id_token(shared: &Shared, grant: &Grant, now: i64) -> String {
    let sub = subject_of(&grant.principal);
    let claims = json::object(&[
        ("aud", json::string(OAUTH2_CLIENT_ID)),
        (
            "concur.profile",
            json::string(&format!(
                "{}/profile/v1/principals/{sub}",
                grant.geolocation
            )),
        ),
        ("concur.version", "2".to_string()),
        ("concur.type", json::string(grant.kind.name())),
        ("sub", json::string(&sub)),
        ("iss", json::string(&grant.geolocation)),
        ("exp", (now + 3600).to_string()),
        ("nbf", now.to_string()),
        ("iat", now.to_string()),
        ("geolocation", json::string(&grant.geolocation)),
    ]);
    jwt(
        shared,
        r#"{"alg":"RS256","typ":"JWT","kid":"test"}"#,
        &claims,
    )
}

/// A fresh random UUID (version 4).
fn uuid_v4(shared: &Shared) -> String {
    let a = crate::certs::random_u64() ^ shared.seed;
    let b = crate::certs::random_u64().rotate_left(17);
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0xc << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// An HTTP-date (IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, ss) = civil(unix);
    let weekday = DAYS[unix.div_euclid(86_400).rem_euclid(7) as usize];
    format!(
        "{weekday}, {d:02} {} {y:04} {hh:02}:{mm:02}:{ss:02} GMT",
        MONTHS[m as usize - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::{http_date, subject_of};

    #[test]
    fn http_dates_are_imf_fixdates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn subjects_are_stable_uuids() {
        let sub = subject_of("demo.user@example.com");
        assert_eq!(sub, subject_of("demo.user@example.com"));
        assert_ne!(sub, subject_of("eu.user@example.com"));
        assert_eq!(sub.len(), 36);
        assert_eq!(&sub[14..15], "4");
        assert!(matches!(&sub[19..20], "8" | "9" | "a" | "b"), "{sub}");
    }
}
