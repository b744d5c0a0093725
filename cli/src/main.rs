//! `concur-token`: a Concur access token on the command line, for designing and testing.
//!
//! Secrets never come from the command line, where `ps` and shell history would show them:
//! each is read from its environment variable, or from a prompt that does not echo.
//!
//! `concur-token native|refresh|revoke` are the legacy Native Flow and its companions;
//! `concur-token oauth2 …` is Concur's current Authentication API (oauth2/v0).

// The argument docs are clap's --help text, shown verbatim: URLs there stay bare.
#![allow(rustdoc::bare_urls)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use concur_native::manager::{FileStore, Start, TokenManager, TokenStore};
use concur_native::oauth2::{Grant, OtpRequest, oauth2_authorize_url};
use concur_native::{Client, Error, ErrorKind, OAuth2Token, Options, Token};
use zeroize::Zeroizing;

const EXAMPLES: &str = "\
Examples:
  # A token with the Native Flow (the password is prompted for, without echo):
  concur-token native --consumer-key $KEY --login user@example.com

  # The same, non-interactively, with the whole answer as JSON:
  CONCUR_PASSWORD=... concur-token native --consumer-key $KEY --login user@example.com --json

  # Refresh it (at the token's instance URL):
  CONCUR_CLIENT_SECRET=... CONCUR_REFRESH_TOKEN=... \\
    concur-token refresh --client-id $KEY --base-url https://www-us.api.concursolutions.com

  # Revoke every token a user granted the application, as a Web Services Administrator:
  CONCUR_ACCESS_TOKEN=... concur-token revoke --consumer-key $KEY --user user@example.com

  # Concur's current API (oauth2/v0): a user's token, the whole answer as JSON
  # (see `concur-token oauth2 --help` for every grant, with an example each):
  CONCUR_CLIENT_SECRET=... CONCUR_PASSWORD=... \\
    concur-token oauth2 password --client-id $CLIENT_ID --username user@example.com --json

The proxy, which may carry user:password@, is best given as CONCUR_PROXY rather than --proxy.

Exit codes: 0 success, 2 invalid argument, 3 unauthorized, 4 HTTP status, 5 timeout,
6 connection failed, 7 TLS failure, 8 malformed answer, 9 token store failed, 1 anything else
(an internal error included: a bug caught, reported in one line without details).";

/// Obtain, refresh and revoke SAP Concur OAuth 2 access tokens.
#[derive(Parser)]
#[command(name = "concur-token", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Args)]
struct Connection {
    /// Concur's base URL: a regional host, or a token's instance URL (Native Flow; default
    /// `https://www.concursolutions.com`). For `oauth2`, a token's geolocation; by default each
    /// call goes to the host Concur documents for it.
    #[arg(long, global = true, env = "CONCUR_BASE_URL")]
    base_url: Option<String>,
    /// `oauth2`: one more host to trust as a data centre (a name, matched exactly), when
    /// Concur names it in a geolocation. Hosts under concursolutions.com are always trusted.
    #[arg(long = "trusted-host", global = true, value_name = "HOST")]
    trusted_hosts: Vec<String>,
    /// Deadline for the whole exchange, in seconds.
    #[arg(long, global = true, default_value_t = 30.0)]
    timeout: f64,
    /// A PEM file of CA certificates to trust besides Mozilla's roots.
    #[arg(long, global = true, env = "CONCUR_CA_FILE")]
    ca_file: Option<String>,
    /// An HTTP(S) proxy URL. It may carry credentials (user:password@): prefer CONCUR_PROXY.
    #[arg(long, global = true, env = "CONCUR_PROXY", hide_env_values = true)]
    proxy: Option<String>,
    /// Print the whole answer as JSON instead of the token alone.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Get a token with the Native Flow. The password comes from CONCUR_PASSWORD or a prompt.
    Native {
        /// The application's consumer key.
        #[arg(long, env = "CONCUR_CONSUMER_KEY")]
        consumer_key: String,
        /// The user's login ID.
        #[arg(long, env = "CONCUR_LOGIN_ID")]
        login: String,
        /// The account has no password: do not ask for one.
        #[arg(long)]
        no_password: bool,
    },
    /// Refresh a token. The client secret comes from CONCUR_CLIENT_SECRET and the refresh token
    /// from CONCUR_REFRESH_TOKEN, or prompts.
    Refresh {
        /// The application's key (client_id).
        #[arg(long, env = "CONCUR_CONSUMER_KEY")]
        client_id: String,
    },
    /// Revoke one token (read from CONCUR_TOKEN_TO_REVOKE or a prompt), or with --user every
    /// token of a user. The administrator's token comes from CONCUR_ACCESS_TOKEN or a prompt.
    Revoke {
        /// Revoke every token this login ID granted the application.
        #[arg(long, requires = "consumer_key")]
        user: Option<String>,
        /// The application's consumer key (with --user).
        #[arg(long, env = "CONCUR_CONSUMER_KEY")]
        consumer_key: Option<String>,
    },
    /// Concur's current Authentication API (oauth2/v0): grants, one-time passwords, revocation,
    /// the authorize URL. Prints the access token alone, or with --json the whole answer
    /// (rotated refresh token and geolocation included).
    #[command(after_help = OAUTH2_EXAMPLES)]
    Oauth2 {
        #[command(subcommand)]
        command: OAuth2Command,
    },
    /// Panics, so that tests can check that a bug exits 1 with one line, not a trace.
    #[command(name = "__panic-for-tests", hide = true)]
    PanicForTests,
}

const OAUTH2_EXAMPLES: &str = "\
Examples (the secrets come from the environment, or a prompt without echo):
  CONCUR_CLIENT_SECRET=... CONCUR_PASSWORD=... \\
    concur-token oauth2 password --client-id $CLIENT_ID --username user@example.com --json
  CONCUR_CLIENT_SECRET=... CONCUR_REQUEST_TOKEN=... \\
    concur-token oauth2 company --client-id $CLIENT_ID --company-id $COMPANY_UUID --json
  CONCUR_CLIENT_SECRET=... CONCUR_REFRESH_TOKEN=... \\
    concur-token oauth2 refresh --client-id $CLIENT_ID --base-url $GEOLOCATION --json
  CONCUR_CLIENT_SECRET=... concur-token oauth2 client-credentials --client-id $CLIENT_ID
  CONCUR_CLIENT_SECRET=... concur-token oauth2 otp --client-id $CLIENT_ID --email user@example.com --send
  CONCUR_CLIENT_SECRET=... CONCUR_OTP=... \\
    concur-token oauth2 otp --client-id $CLIENT_ID --email user@example.com --json
  CONCUR_ACCESS_TOKEN=... concur-token oauth2 revoke --base-url $GEOLOCATION
  concur-token oauth2 authorize-url --client-id $CLIENT_ID \\
    --redirect-uri https://app.example/callback --scope openid --scope user.read --json
  # A valid access token kept in a file (or a redis:// URL), refreshed through it when due:
  CONCUR_CLIENT_SECRET=... CONCUR_REFRESH_TOKEN=... \\
    concur-token oauth2 access-token --client-id $CLIENT_ID --store ~/.concur-token.json
  curl -H \"Authorization: Bearer $(concur-token oauth2 access-token --client-id $CLIENT_ID \\
    --store ~/.concur-token.json)\" \"$GEOLOCATION/...\"

A refresh belongs at the token's geolocation; store the refresh token it prints (Concur may
rotate it). A user who lives in another data centre is followed there once (code 16) when the
host is trusted; otherwise the tool exits 8 and nothing is sent there.";

/// The subcommands of `concur-token oauth2`.
#[derive(Subcommand)]
enum OAuth2Command {
    /// A user's token for their password (grant_type=password). The client secret comes from
    /// CONCUR_CLIENT_SECRET, the password from CONCUR_PASSWORD, or prompts.
    #[command(
        after_help = "Example:\n  CONCUR_CLIENT_SECRET=... CONCUR_PASSWORD=... \\\n    concur-token oauth2 password --client-id $CLIENT_ID --username user@example.com --json"
    )]
    Password {
        #[command(flatten)]
        app: App,
        /// The user's login name.
        #[arg(long, env = "CONCUR_USERNAME")]
        username: String,
        /// Scopes to ask for, space separated (default: the application's).
        #[arg(long)]
        scope: Option<String>,
    },
    /// A company token for App Center's company ID and request token (credtype=authtoken). The
    /// request token comes from CONCUR_REQUEST_TOKEN or a prompt.
    #[command(
        after_help = "Example:\n  CONCUR_CLIENT_SECRET=... CONCUR_REQUEST_TOKEN=... \\\n    concur-token oauth2 company --client-id $CLIENT_ID --company-id $COMPANY_UUID"
    )]
    Company {
        #[command(flatten)]
        app: App,
        /// The company's UUID (App Center's id).
        #[arg(long, env = "CONCUR_COMPANY_ID")]
        company_id: String,
    },
    /// A new token for a refresh token (from CONCUR_REFRESH_TOKEN or a prompt). Give the
    /// token's geolocation as --base-url, and store the refresh token printed with --json.
    #[command(
        after_help = "Example:\n  CONCUR_CLIENT_SECRET=... CONCUR_REFRESH_TOKEN=... \\\n    concur-token oauth2 refresh --client-id $CLIENT_ID --base-url $GEOLOCATION --json"
    )]
    Refresh {
        #[command(flatten)]
        app: App,
        /// Scopes to narrow the new token to.
        #[arg(long)]
        scope: Option<String>,
    },
    /// The application's own token (grant_type=client_credentials).
    #[command(
        after_help = "Example:\n  CONCUR_CLIENT_SECRET=... concur-token oauth2 client-credentials --client-id $CLIENT_ID"
    )]
    ClientCredentials {
        #[command(flatten)]
        app: App,
    },
    /// With --send, email the user a one-time password; without, trade the one in CONCUR_OTP
    /// (or a prompt) for a token (grant_type=otp).
    #[command(
        after_help = "Examples:\n  CONCUR_CLIENT_SECRET=... concur-token oauth2 otp --client-id $CLIENT_ID --email user@example.com --send\n  CONCUR_CLIENT_SECRET=... CONCUR_OTP=... concur-token oauth2 otp --client-id $CLIENT_ID --email user@example.com"
    )]
    Otp {
        #[command(flatten)]
        app: App,
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// Send the one-time password instead of trading it.
        #[arg(long)]
        send: bool,
        /// With --send: the user's name, for the email's greeting.
        #[arg(long, requires = "send")]
        name: Option<String>,
        /// With --send: the company's name, for the email.
        #[arg(long, requires = "send")]
        company: Option<String>,
        /// With --send: a link to put in the email.
        #[arg(long, requires = "send")]
        link: Option<String>,
        /// Scopes to ask for (without --send).
        #[arg(long, conflicts_with = "send")]
        scope: Option<String>,
    },
    /// Revoke every refresh token the user gave the application, with an access token of that
    /// user (from CONCUR_ACCESS_TOKEN or a prompt). Give the user's geolocation as --base-url.
    #[command(
        after_help = "Example:\n  CONCUR_ACCESS_TOKEN=... concur-token oauth2 revoke --base-url $GEOLOCATION"
    )]
    Revoke,
    /// Print a valid access token kept in a store (a file, or a redis:// URL): the stored one
    /// while it is valid for the margin, else a refreshed one, the rotated refresh token saved
    /// first. When the store holds no refresh token yet, starts from CONCUR_REFRESH_TOKEN (and
    /// --geolocation), or runs --grant; later runs need only the client secret.
    #[command(after_help = ACCESS_TOKEN_EXAMPLES)]
    AccessToken {
        #[command(flatten)]
        app: App,
        /// Where the token is kept: a file (mode 0600, shared safely by the processes of one
        /// machine) or a redis:// URL (workers on many machines).
        #[arg(long, env = "CONCUR_TOKEN_STORE")]
        store: String,
        /// The key the token is kept under, with a redis:// store [default:
        /// concur-native:token].
        #[arg(long)]
        redis_key: Option<String>,
        /// When the store is empty, run this grant instead of refreshing CONCUR_REFRESH_TOKEN.
        #[arg(long, value_enum)]
        grant: Option<StartGrant>,
        /// With --grant password: the user's login name (the password comes from
        /// CONCUR_PASSWORD or a prompt).
        #[arg(long, env = "CONCUR_USERNAME", required_if_eq("grant", "password"))]
        username: Option<String>,
        /// With --grant company: the company's UUID (the request token comes from
        /// CONCUR_REQUEST_TOKEN or a prompt).
        #[arg(long, env = "CONCUR_COMPANY_ID", required_if_eq("grant", "company"))]
        company_id: Option<String>,
        /// The data centre CONCUR_REFRESH_TOKEN belongs to (its geolocation).
        #[arg(long, conflicts_with = "grant")]
        geolocation: Option<String>,
        /// Refresh this many seconds before the access token expires.
        #[arg(long, default_value_t = 300.0)]
        margin: f64,
    },
    /// Print the URL that asks a user to grant the application access (authorization-code
    /// flow), and the state to expect back (on standard error, or in --json).
    #[command(
        after_help = "Example:\n  concur-token oauth2 authorize-url --client-id $CLIENT_ID \\\n    --redirect-uri https://app.example/callback --scope openid --json"
    )]
    AuthorizeUrl {
        /// The application's client ID.
        #[arg(long, env = "CONCUR_CLIENT_ID")]
        client_id: String,
        /// Where Concur sends the user back to.
        #[arg(long)]
        redirect_uri: String,
        /// A scope to ask for (repeat for more).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The state to send (default: 128 random bits).
        #[arg(long)]
        state: Option<String>,
    },
}

const ACCESS_TOKEN_EXAMPLES: &str = "\
Examples (the secrets come from the environment, or a prompt without echo):
  # The first run starts from a refresh token; later ones need only the client secret:
  CONCUR_CLIENT_SECRET=... CONCUR_REFRESH_TOKEN=... concur-token oauth2 access-token \\
    --client-id $CLIENT_ID --store ~/.concur-token.json --geolocation $GEOLOCATION
  curl -H \"Authorization: Bearer $(concur-token oauth2 access-token --client-id $CLIENT_ID \\
    --store ~/.concur-token.json)\" \"$GEOLOCATION/profile/identity/v4.1/Users\"
  # The application's own token, shared by the workers of many machines:
  CONCUR_CLIENT_SECRET=... concur-token oauth2 access-token --client-id $CLIENT_ID \\
    --grant client-credentials --store redis://cache.internal:6379/0 --redis-key app:concur

Concur may rotate the refresh token on every refresh: the store always holds the newest, saved
before the access token is printed, so keep using the store rather than the first refresh
token. Runs sharing a store refresh once between them. Exit code 9: the store could not be
read or written (nothing in it was lost).";

/// The grants `oauth2 access-token --grant` can start from.
#[derive(Clone, Copy, ValueEnum)]
enum StartGrant {
    /// A user's password (grant_type=password).
    Password,
    /// App Center's company request token (credtype=authtoken).
    Company,
    /// The application's own token, asked again whenever it expires.
    ClientCredentials,
}

/// The application's identity; its secret comes from CONCUR_CLIENT_SECRET or a prompt.
#[derive(Args)]
struct App {
    /// The application's client ID.
    #[arg(long, env = "CONCUR_CLIENT_ID")]
    client_id: String,
}

/// A secret from its environment variable, else from a prompt on the terminal without echo.
fn secret(variable: &str, prompt: &str) -> Result<Zeroizing<String>, Error> {
    if let Ok(value) = std::env::var(variable) {
        return Ok(Zeroizing::new(value));
    }
    hidden::prompt(prompt).map_err(|_| {
        Error::invalid_argument(format!("set {variable}, or run in a terminal to be asked"))
    })
}

/// A prompt on the terminal that never echoes: echo is turned off *before* the prompt is
/// shown, so that nothing typed ahead of it appears either (rpassword showed the prompt first,
/// and a fast typist's first characters were echoed).
mod hidden {
    use std::fs::File;
    use std::io::{self, BufRead, BufReader, Write};
    use std::os::fd::AsRawFd;

    use zeroize::Zeroizing;

    /// Restores the terminal's settings when dropped, whatever happened meanwhile.
    struct EchoOff<'a> {
        tty: &'a File,
        saved: libc::termios,
    }

    impl<'a> EchoOff<'a> {
        fn new(tty: &'a File) -> io::Result<EchoOff<'a>> {
            // SAFETY: termios is plain data; tcgetattr fills it for a descriptor we own.
            let mut saved: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut saved) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut quiet = saved;
            quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
            quiet.c_lflag |= libc::ICANON;
            // SAFETY: as above; TCSANOW keeps what was typed ahead, now unechoed.
            if unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &quiet) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(EchoOff { tty, saved })
        }
    }

    impl Drop for EchoOff<'_> {
        fn drop(&mut self) {
            // SAFETY: restores the settings read in `new` on the same descriptor.
            unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved) };
        }
    }

    pub(super) fn prompt(prompt: &str) -> io::Result<Zeroizing<String>> {
        let tty = File::options().read(true).write(true).open("/dev/tty")?;
        let echo_off = EchoOff::new(&tty)?;
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut line = Zeroizing::new(String::new());
        BufReader::new(&tty).read_line(&mut line)?;
        drop(echo_off);
        (&tty).write_all(b"\n")?;
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        Ok(line)
    }
}

/// A client for the legacy flows, whose base URL defaults to Concur's US host, or (`oauth2`)
/// for the current API, which chooses a host per call unless `--base-url` was given.
fn client(connection: &Connection, oauth2: bool) -> Result<Client, Error> {
    let timeout = Duration::try_from_secs_f64(connection.timeout)
        .map_err(|_| Error::invalid_argument("--timeout must be a positive number of seconds"))?;
    let mut options = Options::new();
    match (&connection.base_url, oauth2) {
        (Some(url), _) => options = options.base_url(url.as_str()),
        (None, false) => options = options.base_url(concur_native::DEFAULT_BASE_URL),
        (None, true) => {}
    }
    for host in &connection.trusted_hosts {
        options = options.trusted_host(host.as_str());
    }
    let mut options = options
        .timeout(timeout)
        .user_agent_suffix(concat!("concur-token/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &connection.ca_file {
        options = options.ca_file(path);
    }
    if let Some(proxy) = &connection.proxy {
        options = options.proxy(proxy.as_str());
    }
    Client::new(&options)
}

fn print_token(token: &Token, json: bool) {
    if json {
        let document = serde_json::json!({
            "token": token.token(),
            "refresh_token": token.refresh_token(),
            "expiration_date": token.expiration_date(),
            "expires_at": token.expires_at(),
            "instance_url": token.instance_url(),
        });
        println!("{document}");
    } else {
        println!("{}", token.token());
    }
}

fn print_oauth2_token(token: &OAuth2Token, json: bool) {
    if json {
        let document = serde_json::json!({
            "access_token": token.access_token(),
            "token_type": token.token_type(),
            "expires_at": token.expires_at(),
            "refresh_token": token.refresh_token(),
            "refresh_expires_at": token.refresh_expires_at(),
            "scope": token.scope(),
            "geolocation": token.geolocation(),
            "id_token": token.id_token(),
            "subject": token.subject(),
            "principal_type": token.principal_type(),
            "correlation_id": token.correlation_id(),
        });
        println!("{document}");
    } else {
        println!("{}", token.access_token());
    }
}

fn run_oauth2(command: OAuth2Command, connection: &Connection) -> Result<(), Error> {
    let json = connection.json;
    let app_secret = || secret("CONCUR_CLIENT_SECRET", "Client secret: ");
    let client = || client(connection, true);
    let token = match command {
        OAuth2Command::AuthorizeUrl {
            client_id,
            redirect_uri,
            scopes,
            state,
        } => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let request = oauth2_authorize_url(
                &client_id,
                &redirect_uri,
                &scopes,
                state.as_deref(),
                connection.base_url.as_deref(),
            )?;
            if json {
                let document = serde_json::json!({ "url": request.url, "state": request.state });
                println!("{document}");
            } else {
                println!("{}", request.url);
                eprintln!("state: {}", request.state);
            }
            return Ok(());
        }
        OAuth2Command::Password {
            app,
            username,
            scope,
        } => {
            let client_secret = app_secret()?;
            let password = secret(
                "CONCUR_PASSWORD",
                &format!("Concur password for {username}: "),
            )?;
            let grant = Grant::Password {
                username: &username,
                password: &password,
                scope: scope.as_deref(),
            };
            client()?.oauth2_token(&app.client_id, &client_secret, &grant, None)?
        }
        OAuth2Command::Company { app, company_id } => {
            let client_secret = app_secret()?;
            let request_token = secret("CONCUR_REQUEST_TOKEN", "Request token: ")?;
            let grant = Grant::Company {
                company_id: &company_id,
                request_token: &request_token,
            };
            client()?.oauth2_token(&app.client_id, &client_secret, &grant, None)?
        }
        OAuth2Command::Refresh { app, scope } => {
            let client_secret = app_secret()?;
            let refresh_token = secret("CONCUR_REFRESH_TOKEN", "Refresh token: ")?;
            let grant = Grant::RefreshToken {
                refresh_token: &refresh_token,
                scope: scope.as_deref(),
            };
            client()?.oauth2_token(&app.client_id, &client_secret, &grant, None)?
        }
        OAuth2Command::ClientCredentials { app } => {
            let client_secret = app_secret()?;
            client()?.oauth2_token(
                &app.client_id,
                &client_secret,
                &Grant::ClientCredentials,
                None,
            )?
        }
        OAuth2Command::Otp {
            app,
            email,
            send: true,
            name,
            company,
            link,
            ..
        } => {
            let client_secret = app_secret()?;
            let request = OtpRequest {
                email: &email,
                name: name.as_deref(),
                company: company.as_deref(),
                link: link.as_deref(),
            };
            client()?.send_otp(&app.client_id, &client_secret, &request, None)?;
            if json {
                println!("{}", serde_json::json!({ "sent": true }));
            }
            return Ok(());
        }
        OAuth2Command::Otp {
            app, email, scope, ..
        } => {
            let client_secret = app_secret()?;
            let otp = secret(
                "CONCUR_OTP",
                &format!("One-time password sent to {email}: "),
            )?;
            let grant = Grant::Otp {
                email: &email,
                otp: &otp,
                scope: scope.as_deref(),
            };
            client()?.oauth2_token(&app.client_id, &client_secret, &grant, None)?
        }
        OAuth2Command::AccessToken {
            app,
            store,
            redis_key,
            grant,
            username,
            company_id,
            geolocation,
            margin,
        } => {
            let margin = Duration::try_from_secs_f64(margin).map_err(|_| {
                Error::invalid_argument("--margin must be a non-negative number of seconds")
            })?;
            let store = token_store(&store, redis_key.as_deref())?;
            let client_secret = app_secret()?;
            let start = match grant {
                Some(StartGrant::ClientCredentials) => Start::ClientCredentials,
                _ => match stored_start(store.as_ref())? {
                    // The store's refresh token wins over any start: no other secret needed.
                    Some(start) => start,
                    None => match grant {
                        Some(StartGrant::Password) => {
                            let username = username.unwrap_or_default();
                            let password = secret(
                                "CONCUR_PASSWORD",
                                &format!("Concur password for {username}: "),
                            )?;
                            Start::Password {
                                username,
                                password: password.to_string(),
                            }
                        }
                        Some(StartGrant::Company) => Start::Company {
                            company_id: company_id.unwrap_or_default(),
                            request_token: secret("CONCUR_REQUEST_TOKEN", "Request token: ")?
                                .to_string(),
                        },
                        _ => Start::RefreshToken {
                            refresh_token: secret("CONCUR_REFRESH_TOKEN", "Refresh token: ")?
                                .to_string(),
                            geolocation,
                        },
                    },
                },
            };
            let manager =
                TokenManager::new(Arc::new(client()?), &app.client_id, &client_secret, start)?
                    .with_boxed_store(store)
                    .with_margin(margin);
            let token = manager.access_token()?;
            print_oauth2_token(token.token(), json);
            return Ok(());
        }
        OAuth2Command::Revoke => {
            let access_token = secret("CONCUR_ACCESS_TOKEN", "The user's access token: ")?;
            client()?.revoke_connections(&access_token, None)?;
            if json {
                println!("{}", serde_json::json!({ "revoked": true }));
            }
            return Ok(());
        }
    };
    print_oauth2_token(&token, json);
    Ok(())
}

/// The store `--store` names: a redis:// or rediss:// URL, else a file path.
fn token_store(store: &str, redis_key: Option<&str>) -> Result<Box<dyn TokenStore>, Error> {
    if store.starts_with("redis://") || store.starts_with("rediss://") {
        return redis_store(store, redis_key.unwrap_or("concur-native:token"));
    }
    if redis_key.is_some() {
        return Err(Error::invalid_argument(
            "--redis-key goes with a redis:// store only",
        ));
    }
    if store.is_empty() {
        return Err(Error::invalid_argument("--store is empty"));
    }
    Ok(Box::new(FileStore::new(store)))
}

#[cfg(feature = "redis")]
fn redis_store(url: &str, key: &str) -> Result<Box<dyn TokenStore>, Error> {
    Ok(Box::new(concur_native::manager::RedisStore::new(url, key)?))
}

#[cfg(not(feature = "redis"))]
fn redis_store(_: &str, _: &str) -> Result<Box<dyn TokenStore>, Error> {
    Err(Error::invalid_argument(
        "this concur-token was built without Redis support (cargo feature redis)",
    ))
}

/// A start from the refresh token the store already holds, if it holds one.
fn stored_start(store: &dyn TokenStore) -> Result<Option<Start>, Error> {
    Ok(store.load()?.and_then(|stored| {
        Some(Start::RefreshToken {
            refresh_token: stored.refresh_token.clone()?,
            geolocation: stored.geolocation.clone(),
        })
    }))
}

fn run(cli: Cli) -> Result<(), Error> {
    if let Command::Oauth2 { command } = cli.command {
        return run_oauth2(command, &cli.connection);
    }
    let client = client(&cli.connection, false)?;
    let json = cli.connection.json;
    match cli.command {
        Command::Native {
            consumer_key,
            login,
            no_password,
        } => {
            let password = if no_password {
                Zeroizing::new(String::new())
            } else {
                secret("CONCUR_PASSWORD", &format!("Concur password for {login}: "))?
            };
            print_token(
                &client.native_token(&consumer_key, &login, &password)?,
                json,
            );
        }
        Command::Refresh { client_id } => {
            let client_secret = secret("CONCUR_CLIENT_SECRET", "Client secret: ")?;
            let refresh_token = secret("CONCUR_REFRESH_TOKEN", "Refresh token: ")?;
            let token = client.refresh_token(&client_id, &client_secret, &refresh_token)?;
            print_token(&token, json);
        }
        Command::Revoke { user, consumer_key } => {
            let admin = secret("CONCUR_ACCESS_TOKEN", "Administrator's access token: ")?;
            match (user, consumer_key) {
                (Some(user), Some(key)) => client.revoke_user_tokens(&admin, &key, &user)?,
                _ => {
                    let token = secret("CONCUR_TOKEN_TO_REVOKE", "Token to revoke: ")?;
                    client.revoke_token(&admin, &token)?;
                }
            }
            if json {
                println!("{}", serde_json::json!({ "revoked": true }));
            }
        }
        Command::Oauth2 { .. } => unreachable!("handled above"),
        Command::PanicForTests => panic!("the panic concur-token's tests ask for"),
    }
    Ok(())
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidArgument => 2,
        ErrorKind::Unauthorized => 3,
        ErrorKind::HttpStatus => 4,
        ErrorKind::Timeout => 5,
        ErrorKind::Connect => 6,
        ErrorKind::Tls => 7,
        ErrorKind::Protocol => 8,
        ErrorKind::Store => 9,
        _ => 1,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A bug must not end in Rust's exit status 101 with a panic message (which could quote
    // what it was working on): one fixed line, and the documented "anything else" status.
    std::panic::set_hook(Box::new(|_| {
        eprintln!(
            "concur-token: internal error: a bug in concur-native was caught; please report it"
        );
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("concur-token: {e}");
            ExitCode::from(exit_code(e.kind()))
        }
        Err(_) => ExitCode::from(1),
    }
}
