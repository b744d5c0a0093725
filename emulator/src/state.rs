//! What the emulator knows and can be told at run time: applications, companies, users, legacy
//! consumer keys, token lifetimes, the rotation mode, the virtual clock, queued faults, and the
//! record of every refresh token it handed out.
//!
//! The control API (`control.rs`), the seed file and the Rust methods of
//! [`crate::TestServer`] all change this one state; the oauth2/v0 endpoints read it.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::{
    ACCOUNTS, CLIENT_SECRET, COMPANY_ID, CONSUMER_KEY, EU_PASSWORD, EU_USERNAME, LOCKED_USERNAME,
    OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, REQUEST_TOKEN,
};

/// Concur's access token lifetime: one hour.
pub const ACCESS_LIFETIME: i64 = 3600;
/// Concur's refresh token lifetime: six months (180 days).
pub const REFRESH_LIFETIME: i64 = 180 * 86_400;
/// Concur's company request token lifetime: 24 hours.
pub const REQUEST_TOKEN_LIFETIME: i64 = 86_400;

/// Every grant type of `POST /oauth2/v0/token`.
pub const ALL_GRANTS: &[&str] = &[
    "password",
    "refresh_token",
    "client_credentials",
    "authorization_code",
    "otp",
];

/// An oauth2/v0 application (App Management's client).
#[derive(Clone, PartialEq, Eq)]
pub struct App {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`.
    pub client_secret: String,
    /// The grant types it may use ([`ALL_GRANTS`] by default).
    pub grants: Vec<String>,
    /// The scopes it may ask for; empty means any.
    pub scopes: Vec<String>,
}

/// A company (App Center) and its outstanding request tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Company {
    /// The company UUID (the `username` of a `credtype=authtoken` grant).
    pub id: String,
    /// A display name.
    pub name: String,
    /// Request tokens with the virtual time (Unix seconds) each expires at.
    pub request_tokens: Vec<(String, i64)>,
}

/// A user of the oauth2/v0 password, OTP and authorization code grants.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The login ID (the `username` of a password grant).
    pub login: String,
    /// The password.
    pub password: String,
    /// The home data centre: 1 or 2. Data centre 1 answers code 16 for a user of data centre 2.
    pub data_centre: u8,
    /// A locked account: password grants answer code 14.
    pub locked: bool,
    /// A disabled account: password grants answer code 10.
    pub disabled: bool,
}

/// A legacy (Native Flow) consumer key, for the token exchange of the migration guide.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsumerKey {
    /// The consumer key (`X-ConsumerKey`, the `{key}` of the exchange path).
    pub key: String,
    /// The legacy client secret.
    pub secret: String,
}

// Debug without the secrets: a test that prints one of these shows no password or secret.
impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("grants", &self.grants)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl std::fmt::Debug for Company {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Company")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("request_tokens", &self.request_tokens.len())
            .finish()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("data_centre", &self.data_centre)
            .field("locked", &self.locked)
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl std::fmt::Debug for ConsumerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerKey")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Token lifetimes, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens ([`ACCESS_LIFETIME`] by default).
    pub access: i64,
    /// Refresh tokens ([`REFRESH_LIFETIME`] by default).
    pub refresh: i64,
    /// Company request tokens ([`REQUEST_TOKEN_LIFETIME`] by default).
    pub request_token: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            access: ACCESS_LIFETIME,
            refresh: REFRESH_LIFETIME,
            request_token: REQUEST_TOKEN_LIFETIME,
        }
    }
}

/// Whether a refresh grant answers with a new refresh token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rotation {
    /// A new refresh token every time; the old one is spent (the default).
    #[default]
    Always,
    /// The same refresh token every time; it stays live.
    Never,
    /// Deterministically every other refresh of a token's family: the first keeps the token,
    /// the second rotates it, and so on (Concur "may" rotate: clients must handle both).
    Sometimes,
}

impl Rotation {
    /// `always`, `never` or `sometimes`.
    pub fn name(self) -> &'static str {
        match self {
            Rotation::Always => "always",
            Rotation::Never => "never",
            Rotation::Sometimes => "sometimes",
        }
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<Rotation> {
        match name {
            "always" => Some(Rotation::Always),
            "never" => Some(Rotation::Never),
            "sometimes" => Some(Rotation::Sometimes),
            _ => None,
        }
    }
}

/// What a queued fault does to the request it meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer this HTTP status with Concur's body for it; with `code`, the documented JSON
    /// error of that Concur code.
    Status {
        /// The HTTP status.
        status: u16,
        /// A Concur error code (5, 108, …) whose documented body to send.
        code: Option<u32>,
    },
    /// 429 with `Retry-After: retry_after`.
    RateLimit {
        /// Seconds.
        retry_after: u32,
    },
    /// Wait this long, then answer normally.
    Latency {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without answering.
    Drop,
    /// HTTP 200 with a truncated JSON body.
    Malformed,
}

impl FaultKind {
    /// `status`, `rate-limit`, `latency`, `drop` or `malformed`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Status { .. } => "status",
            FaultKind::RateLimit { .. } => "rate-limit",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Drop => "drop",
            FaultKind::Malformed => "malformed",
        }
    }
}

/// A fault for the next `count` requests to `endpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// A path such as `/oauth2/v0/token` (without scenario prefix or query), `token` for
    /// `/oauth2/v0/token`, or `*` for any request outside the control API.
    pub endpoint: String,
    /// How many requests it still applies to.
    pub count: u32,
    /// What it does.
    pub kind: FaultKind,
}

impl Fault {
    /// Whether this fault applies to a request for `path`.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match self.endpoint.as_str() {
            "*" => true,
            "token" => path.eq_ignore_ascii_case("/oauth2/v0/token"),
            endpoint => endpoint.eq_ignore_ascii_case(path),
        }
    }
}

/// The state of one refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshState {
    /// It may be used.
    Live,
    /// It was used and replaced by a new one.
    Rotated,
    /// Its connection (or the token itself) was revoked.
    Revoked,
    /// It passed its lifetime, or was expired on purpose.
    Expired,
}

impl RefreshState {
    /// `live`, `rotated`, `revoked` or `expired`.
    pub fn name(self) -> &'static str {
        match self {
            RefreshState::Live => "live",
            RefreshState::Rotated => "rotated",
            RefreshState::Revoked => "revoked",
            RefreshState::Expired => "expired",
        }
    }
}

/// What the emulator remembers of a refresh token it handed out (never the token itself in
/// anything it shows: [`RefreshRecord::digest`] names it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    /// `sha256:` and the first 12 hex digits of the token's SHA-256.
    pub digest: String,
    /// The refresh family: every token refreshed from one grant shares it.
    pub family: u64,
    /// The `sub` of the user or company it is for.
    pub subject: String,
    /// How many refresh grants presented it (a second use of a rotated token is refused and
    /// not counted).
    pub uses: u32,
    /// Its state now.
    pub state: RefreshState,
    /// Virtual Unix seconds it was issued at.
    pub issued_at: i64,
    /// Virtual Unix seconds it expires at.
    pub expires_at: i64,
}

/// The mutable part of an emulator (behind one lock in `Shared`).
#[derive(Clone)]
pub(crate) struct State {
    pub(crate) apps: Vec<App>,
    pub(crate) companies: Vec<Company>,
    pub(crate) users: Vec<User>,
    pub(crate) consumer_keys: Vec<ConsumerKey>,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) rotation: Rotation,
    pub(crate) faults: VecDeque<Fault>,
    /// Refresh token → its record (only while recording).
    pub(crate) refresh: HashMap<String, RefreshRecord>,
    /// The order refresh tokens were issued in, for listing.
    pub(crate) refresh_order: Vec<String>,
    /// Access tokens (by `jti`) expired on purpose.
    pub(crate) expired_jti: HashSet<String>,
    /// Access tokens with a serial below this are expired (`expire {all}`).
    pub(crate) expired_below: u64,
    /// The serial of the last access token issued.
    pub(crate) access_serial: u64,
}

impl State {
    /// The state a fresh emulator starts in: the demo app, company and users, at virtual time
    /// `now`.
    pub(crate) fn initial(now: i64) -> State {
        let mut users: Vec<User> = ACCOUNTS
            .iter()
            .map(|a| User {
                login: a.login_id.to_string(),
                password: a.password.to_string(),
                data_centre: 1,
                locked: false,
                disabled: false,
            })
            .collect();
        users.push(User {
            login: EU_USERNAME.to_string(),
            password: EU_PASSWORD.to_string(),
            data_centre: 2,
            locked: false,
            disabled: false,
        });
        users.push(User {
            login: LOCKED_USERNAME.to_string(),
            password: String::new(),
            data_centre: 1,
            locked: true,
            disabled: false,
        });
        let lifetimes = Lifetimes::default();
        State {
            apps: vec![App {
                client_id: OAUTH2_CLIENT_ID.to_string(),
                client_secret: OAUTH2_CLIENT_SECRET.to_string(),
                grants: ALL_GRANTS.iter().map(|g| g.to_string()).collect(),
                scopes: Vec::new(),
            }],
            companies: vec![Company {
                id: COMPANY_ID.to_string(),
                name: "Demo Company".to_string(),
                request_tokens: vec![(REQUEST_TOKEN.to_string(), now + lifetimes.request_token)],
            }],
            users,
            consumer_keys: vec![ConsumerKey {
                key: CONSUMER_KEY.to_string(),
                secret: CLIENT_SECRET.to_string(),
            }],
            lifetimes,
            rotation: Rotation::Always,
            faults: VecDeque::new(),
            refresh: HashMap::new(),
            refresh_order: Vec::new(),
            expired_jti: HashSet::new(),
            expired_below: 0,
            access_serial: 0,
        }
    }

    /// The application with this client ID.
    pub(crate) fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// The user with this login (case-insensitive, as Concur's logins are).
    pub(crate) fn user(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    /// The first queued fault for `path`, counted down (and dropped at zero).
    pub(crate) fn take_fault(&mut self, path: &str) -> Option<FaultKind> {
        let at = self.faults.iter().position(|f| f.matches(path))?;
        let fault = &mut self.faults[at];
        let kind = fault.kind.clone();
        fault.count -= 1;
        if fault.count == 0 {
            self.faults.remove(at);
        }
        Some(kind)
    }

    /// Records a refresh token just issued.
    pub(crate) fn remember_refresh(&mut self, token: &str, record: RefreshRecord) {
        if self.refresh.insert(token.to_string(), record).is_none() {
            self.refresh_order.push(token.to_string());
        }
    }
}

/// `sha256:` and the first 12 hex digits of the SHA-256 of `secret`: how the journal and the
/// refresh token list name a secret without showing it.
pub fn digest(secret: &str) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let hex: String = hash.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}
