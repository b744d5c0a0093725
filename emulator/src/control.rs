//! The control API: JSON over HTTP under `/_emulator/` on every listener, for the tests that
//! drive the emulator from any language (apps, companies, users, consumer keys, revocation,
//! expiry, lifetimes, rotation, faults, the virtual clock, the journal, the refresh token
//! record, health and reset), and the seed file, which takes the same shapes.
//!
//! Every request must come from a loopback address (403 otherwise). A body that is not a JSON
//! object, a member of the wrong type or an unknown member is a 400 with a message.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::http::{After, Request, write_response};
use crate::json::{self, Json};
use crate::oauth::query;
use crate::oauth2::{self, documented, subject_of};
use crate::state::{
    ALL_GRANTS, App, Company, ConsumerKey, Fault, FaultKind, RefreshState, Rotation, State, User,
    digest,
};
use crate::{Listener, RecordedRequest, Shared};

/// Form and query fields whose values the journal shows only as a digest.
const SECRETS: &[&str] = &[
    "client_secret",
    "password",
    "refresh_token",
    "access_token",
    "id_token",
    "code",
    "otp",
    "token",
    "secret",
    "request_token",
    "requestToken",
];

/// An answer before it is written: status and JSON body.
type Answer = (u16, String);

fn error(status: u16, message: &str) -> Answer {
    let kind = match status {
        400 => "bad_request",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        _ => "error",
    };
    (
        status,
        json::object(&[
            ("error", json::string(kind)),
            ("message", json::string(message)),
        ]),
    )
}

fn bad(message: impl AsRef<str>) -> Answer {
    error(400, message.as_ref())
}

/// Whether a peer may use the control API: loopback addresses only.
pub(crate) fn allowed(peer: Option<IpAddr>) -> bool {
    peer.is_some_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    })
}

/// Answers a request under `/_emulator/` (never journaled).
pub(crate) fn answer(request: &Request, out: &mut dyn Write, shared: &Shared) -> io::Result<After> {
    let (status, body) = if allowed(request.peer) {
        route(request, shared)
    } else {
        error(403, "the control API answers loopback peers only")
    };
    let headers = [("Content-Type", "application/json".to_string())];
    write_response(out, status, &headers, body.as_bytes())?;
    Ok(After::KeepAlive)
}

fn route(request: &Request, shared: &Shared) -> Answer {
    let path = request.target.split('?').next().unwrap_or("");
    let rest = path.strip_prefix(crate::CONTROL_PREFIX).unwrap_or("");
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let method = request.method.as_str();
    let body = || parse_body(&request.body);
    match (method, parts.as_slice()) {
        ("GET", ["health"]) | ("GET", []) => (
            200,
            json::object(&[
                ("status", json::string("ok")),
                ("name", json::string("concur-emulator")),
                ("version", json::string(env!("CARGO_PKG_VERSION"))),
                ("now", shared.now().to_string()),
            ]),
        ),
        ("POST", ["reset"]) => {
            shared.reset();
            (200, json::object(&[("status", json::string("reset"))]))
        }
        ("POST", ["apps"]) => match body().and_then(|b| add_app(&mut shared.state(), &b)) {
            Ok(app) => (201, app_json(&app)),
            Err(e) => e,
        },
        ("GET", ["apps"]) => {
            let state = shared.state();
            (200, array(state.apps.iter().map(app_json)))
        }
        ("GET", ["apps", id]) => match shared.state().app(id) {
            Some(app) => (200, app_json(app)),
            None => error(404, "no such app"),
        },
        ("DELETE", ["apps", id]) => removed(&mut shared.state().apps, |a| a.client_id == *id),
        ("POST", ["companies"]) => {
            let body = match body() {
                Ok(body) => body,
                Err(e) => return e,
            };
            let now = shared.now();
            match add_company_to(&mut shared.state(), &body, now) {
                Ok(company) => (201, company_json(&company, true)),
                Err(e) => e,
            }
        }
        ("GET", ["companies"]) => {
            let state = shared.state();
            (
                200,
                array(state.companies.iter().map(|c| company_json(c, false))),
            )
        }
        ("POST", ["companies", id, "request-tokens"]) => {
            if let Err(e) = body().and_then(|b| only(&b, &[])) {
                return e;
            }
            let expires = shared.now() + shared.state().lifetimes.request_token;
            match new_request_token(shared, id) {
                Some(token) => (
                    201,
                    json::object(&[
                        ("id", json::string(id)),
                        ("request_token", json::string(&token)),
                        ("expires_at", expires.to_string()),
                    ]),
                ),
                None => error(404, "no such company"),
            }
        }
        ("DELETE", ["companies", id]) => removed(&mut shared.state().companies, |c| {
            c.id.eq_ignore_ascii_case(id)
        }),
        ("POST", ["users"]) => match body().and_then(|b| add_user(&mut shared.state(), &b)) {
            Ok(user) => (201, user_json(&user)),
            Err(e) => e,
        },
        ("GET", ["users"]) => {
            let state = shared.state();
            (200, array(state.users.iter().map(user_json)))
        }
        ("DELETE", ["users", login]) => {
            let login = crate::oauth::decode(login);
            removed(&mut shared.state().users, |u| {
                u.login.eq_ignore_ascii_case(&login)
            })
        }
        ("POST", ["consumer-keys"]) => {
            match body().and_then(|b| add_consumer_key(&mut shared.state(), &b)) {
                Ok(key) => (201, json::object(&[("key", json::string(&key.key))])),
                Err(e) => e,
            }
        }
        ("GET", ["consumer-keys"]) => {
            let state = shared.state();
            let keys = state
                .consumer_keys
                .iter()
                .map(|k| json::object(&[("key", json::string(&k.key))]));
            (200, array(keys))
        }
        ("DELETE", ["consumer-keys", key]) => {
            removed(&mut shared.state().consumer_keys, |k| k.key == *key)
        }
        ("POST", ["revoke"]) => revoke(shared, body()),
        ("POST", ["expire"]) => expire(shared, body()),
        ("GET", ["lifetimes"]) => (200, lifetimes_json(shared)),
        ("PUT", ["lifetimes"]) => {
            match body().and_then(|b| set_lifetimes(&mut shared.state(), &b)) {
                Ok(()) => (200, lifetimes_json(shared)),
                Err(e) => e,
            }
        }
        ("GET", ["rotation"]) => (200, rotation_json(shared)),
        ("PUT", ["rotation"]) => match body().and_then(|b| set_rotation(&mut shared.state(), &b)) {
            Ok(()) => (200, rotation_json(shared)),
            Err(e) => e,
        },
        ("POST", ["faults"]) => match body().and_then(|b| fault_of(&b)) {
            Ok(fault) => {
                let answer = fault_json(&fault);
                shared.state().faults.push_back(fault);
                (201, answer)
            }
            Err(e) => e,
        },
        ("GET", ["faults"]) => {
            let state = shared.state();
            (200, array(state.faults.iter().map(fault_json)))
        }
        ("DELETE", ["faults"]) => {
            shared.state().faults.clear();
            (200, "[]".to_string())
        }
        ("GET", ["clock"]) => (200, clock_json(shared)),
        ("POST", ["clock", "advance"]) => {
            let advance = body().and_then(|b| {
                only(&b, &["seconds"])?;
                let seconds = int(&b, "seconds")?.ok_or_else(|| bad("seconds is required"))?;
                if !(0..=100 * 365 * 86_400).contains(&seconds) {
                    return Err(bad("seconds must be between 0 and 100 years"));
                }
                Ok(seconds)
            });
            match advance {
                Ok(seconds) => {
                    shared
                        .clock_offset
                        .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
                    (200, clock_json(shared))
                }
                Err(e) => e,
            }
        }
        ("GET", ["journal"]) => {
            let since = query(&request.target)
                .into_iter()
                .find(|(n, _)| n == "since")
                .map(|(_, v)| v.parse::<usize>());
            match since {
                None => (200, journal(shared)),
                Some(Ok(since)) => (200, journal_since(shared, since)),
                Some(Err(_)) => bad("since must be a journal seq number"),
            }
        }
        ("DELETE", ["journal"]) => {
            shared.log.lock().unwrap_or_else(|p| p.into_inner()).clear();
            (200, "[]".to_string())
        }
        ("GET", ["refresh-tokens"]) => (200, refresh_tokens_json(shared)),
        (
            _,
            [
                "health" | "reset" | "apps" | "companies" | "users" | "consumer-keys" | "revoke"
                | "expire" | "lifetimes" | "rotation" | "faults" | "clock" | "journal"
                | "refresh-tokens",
                ..,
            ],
        ) => error(405, "method not allowed here (see concur-emulator --help)"),
        _ => error(404, "no such control endpoint (see concur-emulator --help)"),
    }
}

/// The body as a JSON object; an empty body counts as `{}`.
fn parse_body(body: &[u8]) -> Result<Json, Answer> {
    let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Json::Object(Vec::new()));
    }
    match Json::parse(text) {
        Some(value @ Json::Object(_)) => Ok(value),
        Some(_) => Err(bad("the body must be a JSON object")),
        None => Err(bad("the body is not valid JSON")),
    }
}

/// Refuses members not in `allowed`.
fn only(value: &Json, allowed: &[&str]) -> Result<(), Answer> {
    let Json::Object(members) = value else {
        return Err(bad("expected a JSON object"));
    };
    for (name, _) in members {
        if !allowed.contains(&name.as_str()) {
            return Err(bad(format!(
                "unknown member {name:?} (allowed: {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn text(value: &Json, name: &str) -> Result<Option<String>, Answer> {
    match value.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{name} must be a string"))),
    }
}

fn int(value: &Json, name: &str) -> Result<Option<i64>, Answer> {
    match value.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("{name} must be an integer"))),
    }
}

fn boolean(value: &Json, name: &str) -> Result<Option<bool>, Answer> {
    match value.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(format!("{name} must be true or false"))),
    }
}

fn strings(value: &Json, name: &str) -> Result<Option<Vec<String>>, Answer> {
    match value.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("{name} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        // Scopes are space separated in OAuth: accept that too.
        Some(Json::String(s)) => Ok(Some(
            s.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        )),
        Some(_) => Err(bad(format!("{name} must be an array of strings"))),
    }
}

fn nonempty(name: &str, value: Option<String>) -> Result<Option<String>, Answer> {
    match value {
        Some(v) if v.is_empty() || v.len() > 1024 || v.chars().any(char::is_control) => Err(bad(
            format!("{name} must be 1 to 1024 characters, no control characters"),
        )),
        other => Ok(other),
    }
}

fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

fn removed<T>(items: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> Answer {
    let before = items.len();
    items.retain(|i| !matches(i));
    if items.len() == before {
        error(404, "no such item")
    } else {
        (200, json::object(&[("deleted", "true".to_string())]))
    }
}

/// A random UUID (version 4).
fn uuid() -> String {
    let (a, b) = (
        crate::certs::random_u64(),
        crate::certs::random_u64().rotate_left(17),
    );
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

fn add_app(state: &mut State, body: &Json) -> Result<App, Answer> {
    only(body, &["client_id", "client_secret", "grants", "scopes"])?;
    let grants = match strings(body, "grants")? {
        Some(grants) => {
            if let Some(g) = grants.iter().find(|g| !ALL_GRANTS.contains(&g.as_str())) {
                return Err(bad(format!(
                    "unknown grant {g:?} (known: {})",
                    ALL_GRANTS.join(", ")
                )));
            }
            grants
        }
        None => ALL_GRANTS.iter().map(|g| g.to_string()).collect(),
    };
    let app = App {
        client_id: nonempty("client_id", text(body, "client_id")?)?.unwrap_or_else(uuid),
        client_secret: nonempty("client_secret", text(body, "client_secret")?)?
            .unwrap_or_else(|| format!("{}{}", uuid(), uuid()).replace('-', "")),
        grants,
        scopes: strings(body, "scopes")?.unwrap_or_default(),
    };
    state.apps.retain(|a| a.client_id != app.client_id);
    state.apps.push(app.clone());
    Ok(app)
}

fn app_json(app: &App) -> String {
    let list = |items: &[String]| array(items.iter().map(|i| json::string(i)));
    json::object(&[
        ("client_id", json::string(&app.client_id)),
        ("client_secret", json::string(&app.client_secret)),
        ("grants", list(&app.grants)),
        ("scopes", list(&app.scopes)),
    ])
}

fn add_company_to(state: &mut State, body: &Json, now: i64) -> Result<Company, Answer> {
    only(body, &["id", "name", "request_tokens"])?;
    let id = match text(body, "id")? {
        Some(id) if oauth2::is_uuid(&id) => id.to_ascii_lowercase(),
        Some(_) => return Err(bad("id must be a UUID (Concur's company IDs are)")),
        None => uuid(),
    };
    if state.companies.iter().any(|c| c.id == id) {
        return Err(error(409, "a company with this id exists"));
    }
    let expires = now + state.lifetimes.request_token;
    let tokens = strings(body, "request_tokens")?.unwrap_or_else(|| vec![uuid()]);
    for token in &tokens {
        nonempty("request_tokens", Some(token.clone()))?;
    }
    let company = Company {
        name: nonempty("name", text(body, "name")?)?.unwrap_or_else(|| format!("Company {id}")),
        id,
        request_tokens: tokens.into_iter().map(|t| (t, expires)).collect(),
    };
    state.companies.push(company.clone());
    Ok(company)
}

/// Adds a company (a fresh UUID unless `id` is given); `Err` names what is wrong.
pub(crate) fn add_company(
    shared: &Shared,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<Company, String> {
    let mut members = Vec::new();
    if let Some(id) = id {
        members.push(("id".to_string(), Json::String(id.to_string())));
    }
    if let Some(name) = name {
        members.push(("name".to_string(), Json::String(name.to_string())));
    }
    let now = shared.now();
    add_company_to(&mut shared.state(), &Json::Object(members), now).map_err(|(_, body)| body)
}

/// A new request token for company `id`.
pub(crate) fn new_request_token(shared: &Shared, id: &str) -> Option<String> {
    let now = shared.now();
    let mut state = shared.state();
    let expires = now + state.lifetimes.request_token;
    let company = state
        .companies
        .iter_mut()
        .find(|c| c.id.eq_ignore_ascii_case(id))?;
    let token = uuid();
    company.request_tokens.push((token.clone(), expires));
    Some(token)
}

fn company_json(company: &Company, with_token: bool) -> String {
    let mut members = vec![
        ("id", json::string(&company.id)),
        ("name", json::string(&company.name)),
    ];
    if with_token && let Some((token, expires)) = company.request_tokens.last() {
        members.push(("request_token", json::string(token)));
        members.push(("request_token_expires_at", expires.to_string()));
    }
    members.push(("request_tokens", company.request_tokens.len().to_string()));
    json::object(&members)
}

fn add_user(state: &mut State, body: &Json) -> Result<User, Answer> {
    only(
        body,
        &["login", "password", "data_centre", "locked", "disabled"],
    )?;
    let login = nonempty("login", text(body, "login")?)?.ok_or_else(|| bad("login is required"))?;
    let data_centre = match int(body, "data_centre")? {
        None | Some(1) => 1,
        Some(2) => 2,
        Some(_) => return Err(bad("data_centre must be 1 or 2")),
    };
    let user = User {
        password: text(body, "password")?.ok_or_else(|| bad("password is required"))?,
        login,
        data_centre,
        locked: boolean(body, "locked")?.unwrap_or(false),
        disabled: boolean(body, "disabled")?.unwrap_or(false),
    };
    state
        .users
        .retain(|u| !u.login.eq_ignore_ascii_case(&user.login));
    state.users.push(user.clone());
    Ok(user)
}

fn user_json(user: &User) -> String {
    json::object(&[
        ("login", json::string(&user.login)),
        ("sub", json::string(&subject_of(&user.login))),
        ("data_centre", user.data_centre.to_string()),
        ("locked", user.locked.to_string()),
        ("disabled", user.disabled.to_string()),
    ])
}

fn add_consumer_key(state: &mut State, body: &Json) -> Result<ConsumerKey, Answer> {
    only(body, &["key", "secret"])?;
    let key = ConsumerKey {
        key: nonempty("key", text(body, "key")?)?.ok_or_else(|| bad("key is required"))?,
        secret: text(body, "secret")?.unwrap_or_default(),
    };
    if key.key.contains('/') {
        return Err(bad("key must not contain '/'"));
    }
    state.consumer_keys.retain(|k| k.key != key.key);
    state.consumer_keys.push(key.clone());
    Ok(key)
}

fn set_lifetimes(state: &mut State, body: &Json) -> Result<(), Answer> {
    only(body, &["access", "refresh", "request_token"])?;
    let mut lifetimes = state.lifetimes;
    for (name, slot) in [
        ("access", &mut lifetimes.access),
        ("refresh", &mut lifetimes.refresh),
        ("request_token", &mut lifetimes.request_token),
    ] {
        if let Some(seconds) = int(body, name)? {
            if !(1..=100 * 365 * 86_400).contains(&seconds) {
                return Err(bad(format!("{name} must be 1 s to 100 years")));
            }
            *slot = seconds;
        }
    }
    state.lifetimes = lifetimes;
    Ok(())
}

fn lifetimes_json(shared: &Shared) -> String {
    let l = shared.state().lifetimes;
    json::object(&[
        ("access", l.access.to_string()),
        ("refresh", l.refresh.to_string()),
        ("request_token", l.request_token.to_string()),
    ])
}

fn set_rotation(state: &mut State, body: &Json) -> Result<(), Answer> {
    only(body, &["mode"])?;
    let mode = text(body, "mode")?.ok_or_else(|| bad("mode is required"))?;
    state.rotation =
        Rotation::from_name(&mode).ok_or_else(|| bad("mode must be always, never or sometimes"))?;
    Ok(())
}

fn rotation_json(shared: &Shared) -> String {
    json::object(&[("mode", json::string(shared.state().rotation.name()))])
}

fn fault_of(body: &Json) -> Result<Fault, Answer> {
    only(
        body,
        &[
            "endpoint",
            "count",
            "kind",
            "status",
            "code",
            "retry_after",
            "ms",
        ],
    )?;
    let endpoint = text(body, "endpoint")?.ok_or_else(|| bad("endpoint is required"))?;
    if !(endpoint == "token" || endpoint == "*" || endpoint.starts_with('/'))
        || endpoint.starts_with(crate::CONTROL_PREFIX)
    {
        return Err(bad(
            "endpoint must be a path (/oauth2/v0/token), \"token\" or \"*\" (not the control API)",
        ));
    }
    let count = int(body, "count")?.unwrap_or(1);
    if !(1..=1_000_000).contains(&count) {
        return Err(bad("count must be 1 to 1000000"));
    }
    let kind = text(body, "kind")?.ok_or_else(|| bad("kind is required"))?;
    let kind = match kind.as_str() {
        "status" => {
            let code = match int(body, "code")? {
                Some(c) if (0..=100_000).contains(&c) => Some(c as u32),
                Some(_) => return Err(bad("code must be a Concur error code")),
                None => None,
            };
            let status = match int(body, "status")? {
                Some(s) if (200..=599).contains(&s) => s as u16,
                Some(_) => return Err(bad("status must be 200 to 599")),
                None => match code {
                    Some(code) => documented(code).0,
                    None => return Err(bad("status (or code) is required for kind status")),
                },
            };
            FaultKind::Status { status, code }
        }
        "rate-limit" => {
            let after = int(body, "retry_after")?.unwrap_or(1);
            if !(0..=86_400).contains(&after) {
                return Err(bad("retry_after must be 0 to 86400"));
            }
            FaultKind::RateLimit {
                retry_after: after as u32,
            }
        }
        "latency" => {
            let ms = int(body, "ms")?.ok_or_else(|| bad("ms is required for kind latency"))?;
            if !(0..=600_000).contains(&ms) {
                return Err(bad("ms must be 0 to 600000"));
            }
            FaultKind::Latency { ms: ms as u64 }
        }
        "drop" => FaultKind::Drop,
        "malformed" => FaultKind::Malformed,
        _ => {
            return Err(bad(
                "kind must be status, rate-limit, latency, drop or malformed",
            ));
        }
    };
    Ok(Fault {
        endpoint,
        count: count as u32,
        kind,
    })
}

fn fault_json(fault: &Fault) -> String {
    let mut members = vec![
        ("endpoint", json::string(&fault.endpoint)),
        ("count", fault.count.to_string()),
        ("kind", json::string(fault.kind.name())),
    ];
    match &fault.kind {
        FaultKind::Status { status, code } => {
            members.push(("status", status.to_string()));
            if let Some(code) = code {
                members.push(("code", code.to_string()));
            }
        }
        FaultKind::RateLimit { retry_after } => {
            members.push(("retry_after", retry_after.to_string()))
        }
        FaultKind::Latency { ms } => members.push(("ms", ms.to_string())),
        FaultKind::Drop | FaultKind::Malformed => {}
    }
    json::object(&members)
}

/// Plays a queued fault (latency is played by the caller, which then answers normally).
pub(crate) fn play_fault(
    fault: &FaultKind,
    endpoint: &str,
    out: &mut dyn Write,
) -> io::Result<After> {
    let json_type = ("Content-Type", "application/json".to_string());
    let plain = ("Content-Type", "text/plain".to_string());
    match fault {
        FaultKind::Status {
            status,
            code: Some(code),
        } => {
            let (_, error, description) = documented(*code);
            let body = json::object(&[
                ("error", json::string(error)),
                ("error_description", json::string(description)),
                ("code", code.to_string()),
            ]);
            write_response(out, *status, &[json_type], body.as_bytes())?;
        }
        FaultKind::Status { status, code: None } => {
            let (headers, body) = if endpoint.to_ascii_lowercase().starts_with("net2/") {
                let xml = format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Message>{}</Message></Error>",
                    crate::http::status_line(*status)
                        .trim()
                        .trim_start_matches("HTTP/1.1 ")
                );
                (
                    vec![("Content-Type", "text/xml; charset=utf-8".to_string())],
                    xml,
                )
            } else if *status >= 500 {
                let message = match status {
                    503 => "Service Unavailable: the service is in maintenance, try again later",
                    _ => "Internal Server Error: the token service failed",
                };
                (vec![plain], message.to_string())
            } else {
                let body = json::object(&[
                    ("error", json::string("invalid_request")),
                    (
                        "error_description",
                        json::string(&format!("injected status {status}")),
                    ),
                ]);
                (vec![json_type], body)
            };
            write_response(out, *status, &headers, body.as_bytes())?;
        }
        FaultKind::RateLimit { retry_after } => {
            let headers = [plain, ("Retry-After", retry_after.to_string())];
            write_response(
                out,
                429,
                &headers,
                b"Too Many Requests: slow the rate of requests",
            )?;
        }
        FaultKind::Malformed => {
            write_response(out, 200, &[json_type], b"{\"access_token\":\"eyJ0eXAi")?;
        }
        FaultKind::Drop => return Ok(After::Close),
        FaultKind::Latency { .. } => {
            write_response(out, 500, &[plain], b"latency is played before routing")?
        }
    }
    Ok(After::KeepAlive)
}

fn revoke(shared: &Shared, body: Result<Json, Answer>) -> Answer {
    let body = match body {
        Ok(body) => body,
        Err(e) => return e,
    };
    if let Err(e) = only(&body, &["refresh_token", "connection"]) {
        return e;
    }
    let (token, connection) = match (text(&body, "refresh_token"), text(&body, "connection")) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let done = match (token, connection) {
        (Some(token), None) => revoke_refresh_token(shared, &token),
        (None, Some(subject)) => oauth2::revoke_subject(shared, &subject),
        _ => return bad("give exactly one of refresh_token and connection"),
    };
    if done {
        (200, json::object(&[("revoked", "true".to_string())]))
    } else {
        error(404, "the emulator never handed out this token or subject")
    }
}

/// Revokes one refresh token.
pub(crate) fn revoke_refresh_token(shared: &Shared, token: &str) -> bool {
    match shared.state().refresh.get_mut(token) {
        Some(record) => {
            if record.state == RefreshState::Live {
                record.state = RefreshState::Revoked;
            }
            true
        }
        None => false,
    }
}

fn expire(shared: &Shared, body: Result<Json, Answer>) -> Answer {
    let body = match body {
        Ok(body) => body,
        Err(e) => return e,
    };
    if let Err(e) = only(&body, &["access_token", "refresh_token", "all"]) {
        return e;
    }
    let parsed = (
        text(&body, "access_token"),
        text(&body, "refresh_token"),
        boolean(&body, "all"),
    );
    let done = match parsed {
        (Ok(Some(token)), Ok(None), Ok(None | Some(false))) => expire_access_token(shared, &token),
        (Ok(None), Ok(Some(token)), Ok(None | Some(false))) => expire_refresh_token(shared, &token),
        (Ok(None), Ok(None), Ok(Some(true))) => {
            expire_all(shared);
            true
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
        _ => return bad("give exactly one of access_token, refresh_token and all: true"),
    };
    if done {
        (200, json::object(&[("expired", "true".to_string())]))
    } else {
        error(404, "the emulator never handed out this token")
    }
}

/// Expires one access token now.
pub(crate) fn expire_access_token(shared: &Shared, token: &str) -> bool {
    match oauth2::jti_of(shared, token) {
        Some(jti) => {
            shared.state().expired_jti.insert(jti);
            true
        }
        None => false,
    }
}

/// Expires one refresh token now.
pub(crate) fn expire_refresh_token(shared: &Shared, token: &str) -> bool {
    match shared.state().refresh.get_mut(token) {
        Some(record) => {
            if record.state == RefreshState::Live {
                record.state = RefreshState::Expired;
            }
            true
        }
        None => false,
    }
}

/// Expires every access and refresh token handed out so far.
pub(crate) fn expire_all(shared: &Shared) {
    let mut state = shared.state();
    state.expired_below = state.access_serial + 1;
    for record in state.refresh.values_mut() {
        if record.state == RefreshState::Live {
            record.state = RefreshState::Expired;
        }
    }
}

fn clock_json(shared: &Shared) -> String {
    let now = shared.now();
    let (y, m, d, hh, mm, ss) = crate::scenario::civil(now);
    json::object(&[
        ("now", now.to_string()),
        (
            "iso",
            json::string(&format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")),
        ),
        (
            "offset",
            shared
                .clock_offset
                .load(std::sync::atomic::Ordering::SeqCst)
                .to_string(),
        ),
    ])
}

fn refresh_tokens_json(shared: &Shared) -> String {
    let now = shared.now();
    let state = shared.state();
    let items = state
        .refresh_order
        .iter()
        .filter_map(|t| state.refresh.get(t))
        .map(|r| {
            // A live token past its horizon shows as expired even before anyone presents it.
            let shown = match r.state {
                RefreshState::Live if r.expires_at <= now => RefreshState::Expired,
                other => other,
            };
            json::object(&[
                ("digest", json::string(&r.digest)),
                ("family", r.family.to_string()),
                ("subject", json::string(&r.subject)),
                ("uses", r.uses.to_string()),
                ("state", json::string(shown.name())),
                ("issued_at", r.issued_at.to_string()),
                ("expires_at", r.expires_at.to_string()),
            ])
        });
    array(items)
}

fn listener_name(listener: Listener) -> &'static str {
    match listener {
        Listener::DataCentre1 => "dc1",
        Listener::Plain => "plain",
        Listener::WrongHost => "wrong-host",
        Listener::DataCentre2 => "dc2",
        Listener::Evil => "evil",
    }
}

/// `value`, or its digest when `name` is a secret's.
fn shown(name: &str, value: &str) -> String {
    if SECRETS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        json::string(&digest(value))
    } else {
        json::string(value)
    }
}

fn pairs(pairs: &[(String, String)]) -> String {
    let members: Vec<(&str, String)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), shown(n, v)))
        .collect();
    json::object(&members)
}

fn journal_entry(seq: usize, r: &RecordedRequest) -> String {
    let path = r.target.split('?').next().unwrap_or("");
    let nullable = |v: Option<String>| v.map_or("null".to_string(), |v| json::string(&v));
    json::object(&[
        ("seq", seq.to_string()),
        ("time", r.time.to_string()),
        ("method", json::string(&r.method)),
        ("path", json::string(path)),
        ("query", pairs(&query(&r.target))),
        ("endpoint", json::string(r.endpoint())),
        ("scenario", json::string(&r.scenario)),
        ("listener", json::string(listener_name(r.listener))),
        ("grant", nullable(r.grant_type().map(str::to_string))),
        ("status", r.status.to_string()),
        ("form", pairs(&r.form)),
        (
            "authorization",
            nullable(r.header("authorization").map(digest)),
        ),
        (
            "correlation_id",
            nullable(r.header("concur-correlationid").map(str::to_string)),
        ),
    ])
}

/// The journal: every request (outside the control API) oldest first, secrets digested.
pub(crate) fn journal(shared: &Shared) -> String {
    journal_since(shared, 0)
}

/// The journal's entries after `seq` (seq numbers count from 1 since the last clear).
fn journal_since(shared: &Shared, since: usize) -> String {
    let log = shared.log.lock().unwrap_or_else(|p| p.into_inner());
    let entries = log.iter().enumerate().skip(since);
    array(entries.map(|(i, r)| journal_entry(i + 1, r)))
}

/// Applies a seed document to a copy of the state, and keeps the copy only if all of it was
/// valid.
pub(crate) fn seed(shared: &Shared, text: &str) -> Result<(), String> {
    let message = |(_, body): Answer| {
        Json::parse(&body)
            .and_then(|b| b.str_of("message").map(str::to_string))
            .unwrap_or(body)
    };
    let doc = match Json::parse(text) {
        Some(doc @ Json::Object(_)) => doc,
        _ => return Err("the seed is not a JSON object".to_string()),
    };
    only(
        &doc,
        &[
            "apps",
            "companies",
            "users",
            "consumer_keys",
            "lifetimes",
            "rotation",
        ],
    )
    .map_err(message)?;
    let now = shared.now();
    let mut state = shared.state().clone();
    if let Some(lifetimes) = doc.get("lifetimes") {
        set_lifetimes(&mut state, lifetimes).map_err(|e| format!("lifetimes: {}", message(e)))?;
    }
    if let Some(rotation) = doc.get("rotation") {
        let mode = Json::Object(vec![("mode".to_string(), rotation.clone())]);
        set_rotation(&mut state, &mode).map_err(|e| format!("rotation: {}", message(e)))?;
    }
    let list = |name: &str| -> Result<Vec<Json>, String> {
        match doc.get(name) {
            None => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items.clone()),
            Some(_) => Err(format!("{name} must be an array")),
        }
    };
    for (i, item) in list("apps")?.iter().enumerate() {
        add_app(&mut state, item).map_err(|e| format!("apps[{i}]: {}", message(e)))?;
    }
    for (i, item) in list("companies")?.iter().enumerate() {
        add_company_to(&mut state, item, now)
            .map_err(|e| format!("companies[{i}]: {}", message(e)))?;
    }
    for (i, item) in list("users")?.iter().enumerate() {
        add_user(&mut state, item).map_err(|e| format!("users[{i}]: {}", message(e)))?;
    }
    for (i, item) in list("consumer_keys")?.iter().enumerate() {
        add_consumer_key(&mut state, item)
            .map_err(|e| format!("consumer_keys[{i}]: {}", message(e)))?;
    }
    *shared.state() = state;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn only_loopback_peers_may_drive_the_emulator() {
        for ok in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(allowed(Some(ok.parse().unwrap())), "{ok}");
        }
        for refused in ["10.0.0.1", "192.168.1.2", "::2", "::ffff:10.0.0.1"] {
            assert!(!allowed(Some(refused.parse().unwrap())), "{refused}");
        }
        assert!(!allowed(None));
    }
}
