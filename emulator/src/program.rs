//! The program (`concur-emulator`, also installed as `concur-test-server`): the emulator on its
//! own, for any language's tests. It reads its flags (and a seed file), prints one JSON line
//! (base URLs of both data centres, CA file, control API URL, the apps, companies and users,
//! the demo values the project's own suites read, the URL of a CONNECT proxy that tunnels
//! `concur.test` to the server) to stdout, then serves until killed, or until its standard
//! input closes with `--exit-on-stdin-eof`. A bad flag, seed file or busy port ends it with
//! exit status 2 and one line on stderr.

use std::io::{Read, Write};

use crate::json::{object, string};
use crate::{
    ACCOUNTS, CLIENT_SECRET, COMPANY_ID, CONSUMER_KEY, ConnectProxy, EU_PASSWORD, EU_USERNAME,
    FAULT_SCENARIOS, LOCKED_USERNAME, Lifetimes, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, OTP_CODE,
    Options, REQUEST_TOKEN, Rotation, SCENARIOS, TestServer,
};

const USAGE: &str = "\
concur-emulator: a local SAP Concur OAuth 2 emulator (oauth2/v0 and the legacy Native Flow)

USAGE
  concur-emulator [FLAGS]

It prints one JSON line on stdout (see FIELDS), then serves HTTPS on 127.0.0.1 until killed.

FLAGS
  --port N                 data centre 1's HTTPS port (default: a free one); a port in use is
                           an error (exit status 2)
  --ca-out PATH            also write the generated CA certificate (PEM) to PATH; ca_file then
                           names PATH
  --cert PATH --key PATH   serve this certificate chain (PEM, leaf first) and PKCS#8 key
                           instead of generated ones; ca_file then holds the chain's last
                           certificate
  --plain-http             accepted for clarity: the plain-HTTP listener (plain_base_url) is
                           always on, on loopback only
  --seed FILE              apply a seed file (JSON only; TOML is not supported): {\"apps\":[..],
                           \"companies\":[..], \"users\":[..], \"consumer_keys\":[..],
                           \"lifetimes\":{..}, \"rotation\":\"never\"}, each item in the shape of
                           the control API's POST body; added to the demo values
  --access-lifetime SECS   access token lifetime (default 3600: one hour)
  --refresh-lifetime SECS  refresh token lifetime (default 15552000: six months)
  --rotate MODE            always (default) | never | sometimes (every other refresh)
  --exit-on-stdin-eof      stop when standard input closes (for a parent test process)
  --no-recording           keep no journal and no refresh token record (for benchmarks);
                           refresh tokens are then checked by their own generation and
                           expiry only, and rotation sometimes acts as always
  --help                   this text

FIELDS OF THE JSON LINE
  base_url, second_base_url  data centres 1 and 2 (HTTPS); data_centres: both, by number
  plain_base_url, localhost_url, evil_base_url, port, proxy_url
  ca_file                    the PEM file to trust
  admin_url                  the control API's base ({base_url}/_emulator)
  apps, companies, users     what the emulator knows (secrets included: they are test values)
  oauth2_client_id, oauth2_client_secret, company_id, request_token, otp, eu_username,
  eu_password, locked_username, consumer_key, client_secret, login_id, password, accounts
                             the demo values
  lifetimes, rotation, version

CONCUR ENDPOINTS (on every listener)
  POST   /oauth2/v0/token            grants password (credtype password|authtoken),
                                     refresh_token, client_credentials, authorization_code, otp
  POST   /oauth2/v0/otp              send a one-time password (always the otp value)
  GET    /oauth2/v0/authorize        the authorize page: redirects with code and geolocation
  DELETE /app-mgmt/v0/connections    revoke the bearer's connection (all its refresh tokens)
  POST   /appmgmt/v0/legacyApps/{key}/exchangeRefreshToken/me   the legacy token exchange
  GET    /profile/identity/v4.1/Users[/{id}]   a protected API: 200 for a live access token,
                                     401 for a missing, expired or revoked one
  GET    /net2/oauth2/accesstoken.ashx  (Native Flow), getaccesstoken.ashx (refresh, code),
  POST   /net2/oauth2/revoketoken.ashx, GET /net2/oauth2/Login.aspx (Web flow)

CONTROL API (JSON in and out, loopback peers only; bad input is a 400 with a message)
  GET    /_emulator/health                       {status, version, now}
  POST   /_emulator/reset                        back to the start state
  POST   /_emulator/apps                         {client_id?, client_secret?, grants?, scopes?}
  GET    /_emulator/apps[/{client_id}]   DELETE /_emulator/apps/{client_id}
  POST   /_emulator/companies                    {id?, name?} -> {id, name, request_token, ..}
  POST   /_emulator/companies/{id}/request-tokens   -> {id, request_token, expires_at}
  GET    /_emulator/companies            DELETE /_emulator/companies/{id}
  POST   /_emulator/users                        {login, password, data_centre?, locked?,
                                                 disabled?} (replaces the same login)
  GET    /_emulator/users                DELETE /_emulator/users/{login}
  POST   /_emulator/consumer-keys                {key, secret}   GET, DELETE /{key}
  POST   /_emulator/revoke                       {refresh_token} | {connection: sub or login}
  POST   /_emulator/expire                       {access_token} | {refresh_token} | {all: true}
  GET|PUT /_emulator/lifetimes                   {access?, refresh?, request_token?} seconds
  GET|PUT /_emulator/rotation                    {mode: always|never|sometimes}
  POST   /_emulator/faults                       {endpoint: path|\"token\"|\"*\", count?, kind:
                                                 status {status?, code?} | rate-limit
                                                 {retry_after?} | latency {ms} | drop |
                                                 malformed}: the next count requests
  GET    /_emulator/faults               DELETE /_emulator/faults
  GET    /_emulator/clock                        {now, iso, offset}
  POST   /_emulator/clock/advance                {seconds}
  GET    /_emulator/journal[?since=SEQ]          every request (after SEQ), secrets as
                                                 sha256:digest; DELETE clears it
  GET    /_emulator/refresh-tokens               {digest, family, subject, uses, state, ..}

SCENARIOS (a base URL {base}/s/NAME selects one; NNN, MS, PORT are numbers)
";

/// What the flags ask for.
#[derive(Default)]
struct Flags {
    options: Options,
    ca_out: Option<String>,
    seed: Option<String>,
    access: Option<i64>,
    refresh: Option<i64>,
    rotation: Option<Rotation>,
    exit_on_stdin_eof: bool,
    no_recording: bool,
}

fn parse(args: &[String]) -> Result<Option<Flags>, String> {
    let mut flags = Flags::default();
    let mut cert = None;
    let mut key = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        let seconds = |text: String| {
            text.parse::<i64>()
                .ok()
                .filter(|s| (1..=100 * 365 * 86_400).contains(s))
                .ok_or_else(|| {
                    format!("{name}: {text:?} is not a number of seconds (1 s to 100 years)")
                })
        };
        match name {
            "--help" | "-h" => return Ok(None),
            "--port" => {
                let text = value("a port number")?;
                flags.options.port = text
                    .parse()
                    .map_err(|_| format!("--port: {text:?} is not a port number"))?;
            }
            "--ca-out" => flags.ca_out = Some(value("a path")?),
            "--cert" => cert = Some(value("a path")?),
            "--key" => key = Some(value("a path")?),
            "--plain-http" => {}
            "--seed" => flags.seed = Some(value("a path")?),
            "--access-lifetime" => flags.access = Some(seconds(value("seconds")?)?),
            "--refresh-lifetime" => flags.refresh = Some(seconds(value("seconds")?)?),
            "--rotate" => {
                let mode = value("always, never or sometimes")?;
                flags.rotation = Some(Rotation::from_name(&mode).ok_or_else(|| {
                    format!("--rotate: {mode:?} is not always, never or sometimes")
                })?);
            }
            "--exit-on-stdin-eof" => flags.exit_on_stdin_eof = true,
            "--no-recording" => flags.no_recording = true,
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    match (cert, key) {
        (None, None) => {}
        (Some(cert), Some(key)) => {
            let read = |path: &str| {
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
            };
            flags.options.cert_and_key = Some((read(&cert)?, read(&key)?));
        }
        _ => return Err("--cert and --key go together".to_string()),
    }
    Ok(Some(flags))
}

fn fail(message: &str) -> ! {
    eprintln!("concur-emulator: {message}");
    std::process::exit(2);
}

/// Runs the program with the process's arguments; never returns while serving.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags = match parse(&args) {
        Ok(Some(flags)) => flags,
        Ok(None) => {
            // Written whole, its errors ignored: `--help | head -1` closes the pipe early,
            // which must not be a panic.
            let mut usage = String::from(USAGE);
            for (name, what) in SCENARIOS.iter().chain(FAULT_SCENARIOS) {
                usage.push_str(&format!("  {name:<24} {what}\n"));
            }
            let _ = std::io::stdout().write_all(usage.as_bytes());
            return;
        }
        Err(message) => fail(&message),
    };
    let server = match TestServer::start_with_options(&flags.options) {
        Ok(server) => server,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => fail(&format!(
            "port {} is in use: choose another --port, or none for a free one",
            flags.options.port
        )),
        Err(e) => fail(&format!("cannot start: {e}")),
    };
    if let Some(path) = &flags.seed {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| fail(&format!("cannot read the seed file {path}: {e}")));
        if let Err(message) = server.seed(&text) {
            fail(&format!("the seed file {path}: {message}"));
        }
    }
    let lifetimes = server.lifetimes();
    server.set_lifetimes(Lifetimes {
        access: flags.access.unwrap_or(lifetimes.access),
        refresh: flags.refresh.unwrap_or(lifetimes.refresh),
        ..lifetimes
    });
    if let Some(rotation) = flags.rotation {
        server.set_rotation(rotation);
    }
    let ca_file = match &flags.ca_out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, server.ca_pem()) {
                fail(&format!("cannot write the CA to {path}: {e}"));
            }
            path.clone()
        }
        None => server.ca_file().to_string_lossy().into_owned(),
    };
    let proxy = match ConnectProxy::start() {
        Ok(proxy) => proxy,
        Err(e) => fail(&format!("cannot start the proxy: {e}")),
    };
    if flags.no_recording {
        server.set_recording(false);
    }
    // One write of the whole line, newline included, so that a reader polling a file sees it
    // whole or not at all (stdout's line buffer would cut a long line into pieces); a reader
    // gone already (its pipe closed) is no reason to panic: the server serves on.
    let line = format!("{}\n", json_line(&server, &ca_file, &proxy.url()));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
    drop(stdout);
    if flags.exit_on_stdin_eof {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    } else {
        loop {
            std::thread::park();
        }
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

/// The JSON line: every field the project's scripts have always read, and the emulator's.
fn json_line(server: &TestServer, ca_file: &str, proxy_url: &str) -> String {
    let demo = &ACCOUNTS[0];
    let accounts = list(ACCOUNTS.iter().map(|a| {
        object(&[
            ("login_id", string(a.login_id)),
            ("password", string(a.password)),
        ])
    }));
    let strings = |items: &[String]| list(items.iter().map(|i| string(i)));
    let apps = list(server.apps().iter().map(|a| {
        object(&[
            ("client_id", string(&a.client_id)),
            ("client_secret", string(&a.client_secret)),
            ("grants", strings(&a.grants)),
            ("scopes", strings(&a.scopes)),
        ])
    }));
    let companies = list(server.companies().iter().map(|c| {
        let token = c.request_tokens.last().map(|(t, _)| t.as_str());
        object(&[
            ("id", string(&c.id)),
            ("name", string(&c.name)),
            ("request_token", token.map_or("null".to_string(), string)),
        ])
    }));
    let users = list(server.users().iter().map(|u| {
        object(&[
            ("login", string(&u.login)),
            ("password", string(&u.password)),
            ("sub", string(&crate::oauth2_subject(&u.login))),
            ("data_centre", u.data_centre.to_string()),
            ("locked", u.locked.to_string()),
            ("disabled", u.disabled.to_string()),
        ])
    }));
    let lifetimes = server.lifetimes();
    object(&[
        ("base_url", string(&server.base_url())),
        ("plain_base_url", string(&server.plain_base_url())),
        ("localhost_url", string(&server.localhost_url())),
        ("port", server.port().to_string()),
        ("ca_file", string(ca_file)),
        ("consumer_key", string(CONSUMER_KEY)),
        ("client_secret", string(CLIENT_SECRET)),
        ("login_id", string(demo.login_id)),
        ("password", string(demo.password)),
        ("accounts", accounts),
        ("second_base_url", string(&server.second_base_url())),
        ("evil_base_url", string(&server.evil_base_url())),
        ("oauth2_client_id", string(OAUTH2_CLIENT_ID)),
        ("oauth2_client_secret", string(OAUTH2_CLIENT_SECRET)),
        ("company_id", string(COMPANY_ID)),
        ("request_token", string(REQUEST_TOKEN)),
        ("otp", string(OTP_CODE)),
        ("eu_username", string(EU_USERNAME)),
        ("eu_password", string(EU_PASSWORD)),
        ("locked_username", string(LOCKED_USERNAME)),
        ("proxy_url", string(proxy_url)),
        ("admin_url", string(&server.admin_url())),
        (
            "data_centres",
            object(&[
                ("1", string(&server.base_url())),
                ("2", string(&server.second_base_url())),
            ]),
        ),
        ("apps", apps),
        ("companies", companies),
        ("users", users),
        (
            "lifetimes",
            object(&[
                ("access", lifetimes.access.to_string()),
                ("refresh", lifetimes.refresh.to_string()),
                ("request_token", lifetimes.request_token.to_string()),
            ]),
        ),
        ("rotation", string(server.rotation().name())),
        ("version", string(env!("CARGO_PKG_VERSION"))),
    ])
}
