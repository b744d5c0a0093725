//! The command line itself: every subcommand and option, with the help texts `--help` shows.

// The argument docs are clap's --help text, shown verbatim: URLs there stay bare.
#![allow(rustdoc::bare_urls)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use concur_native::Error;

use crate::secrets::Credential;

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

  # A secret from a pipe or a file instead (one per run; one trailing line break is dropped):
  concur-token native --consumer-key $KEY --login user@example.com --password-stdin < password.txt

Secrets are never arguments. Each comes from standard input when its --…-stdin flag is given
(at most one per run; a terminal there is refused, as it would echo), else from its environment
variable, else from a prompt without echo.

The proxy, which may carry user:password@, is best given as CONCUR_PROXY rather than --proxy.
Without either, HTTPS_PROXY, ALL_PROXY and NO_PROXY are honoured as curl honours them
(--no-proxy-env turns that off); loopback hosts never go through them.

Exit codes: 0 success, 2 invalid argument, 3 unauthorized, 4 HTTP status, 5 timeout,
6 connection failed, 7 TLS failure, 8 malformed answer, 9 token store failed,
10 not built in (a Cargo feature left out of the build), 11 unknown connection (a vault holds
no such ID), 1 anything else (an internal error included: a bug caught, reported in one line
without details).";

/// Obtain, refresh and revoke SAP Concur OAuth 2 access tokens.
#[derive(Parser)]
#[command(name = "concur-token", version, after_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) connection: Connection,
    #[command(flatten)]
    pub(crate) stdin: StdinSecret,
}

#[derive(Args)]
pub(crate) struct Connection {
    /// Concur's base URL: a regional host, or a token's instance URL (Native Flow; default
    /// `https://www.concursolutions.com`). For `oauth2`, a token's geolocation; by default each
    /// call goes to the host Concur documents for it.
    #[arg(long, global = true, env = "CONCUR_BASE_URL")]
    pub(crate) base_url: Option<String>,
    /// `oauth2`: one more host to trust as a data centre (a name, matched exactly), when
    /// Concur names it in a geolocation. Hosts under concursolutions.com are always trusted.
    #[arg(long = "trusted-host", global = true, value_name = "HOST")]
    pub(crate) trusted_hosts: Vec<String>,
    /// Deadline for the whole exchange, in seconds.
    #[arg(long, global = true, default_value_t = 30.0)]
    pub(crate) timeout: f64,
    /// A PEM file of CA certificates to trust besides the trust store's roots.
    #[arg(long, global = true, env = "CONCUR_CA_FILE")]
    pub(crate) ca_file: Option<String>,
    /// Which roots to trust: Mozilla's, built in (`mozilla`), the operating system's (`os`; on
    /// Linux SSL_CERT_FILE and SSL_CERT_DIR are honoured), or `both`.
    #[arg(long, global = true, env = "CONCUR_TRUST_STORE", value_name = "STORE",
          value_parser = ["mozilla", "os", "both"], default_value = "mozilla")]
    pub(crate) trust_store: String,
    /// An HTTP(S) proxy URL. It may carry credentials (user:password@): prefer CONCUR_PROXY.
    /// Without it, HTTPS_PROXY / ALL_PROXY / NO_PROXY are read as curl reads them (loopback
    /// never goes through them).
    #[arg(long, global = true, env = "CONCUR_PROXY", hide_env_values = true)]
    pub(crate) proxy: Option<String>,
    /// Ignore HTTPS_PROXY, ALL_PROXY and NO_PROXY (and their lower-case forms): go direct
    /// unless --proxy is given.
    #[arg(long, global = true)]
    pub(crate) no_proxy_env: bool,
    /// Print the whole answer as JSON instead of the token alone.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// The `--…-stdin` flags: at most one per run, for the secret its subcommand reads that
/// `docker login --password-stdin` style scripts pipe in. Each wins over its environment
/// variable, which wins over the prompt.
#[derive(Args)]
pub(crate) struct StdinSecret {
    /// Read the password from standard input (instead of CONCUR_PASSWORD or a prompt).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    password_stdin: bool,
    /// Read the client secret from standard input (instead of CONCUR_CLIENT_SECRET).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    client_secret_stdin: bool,
    /// Read the refresh token from standard input (instead of CONCUR_REFRESH_TOKEN).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    refresh_token_stdin: bool,
    /// Read the company request token from standard input (instead of CONCUR_REQUEST_TOKEN).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    request_token_stdin: bool,
    /// Read the one-time password from standard input (instead of CONCUR_OTP).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    otp_stdin: bool,
    /// Read the access token that authorizes a revocation from standard input (instead of
    /// CONCUR_ACCESS_TOKEN).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    access_token_stdin: bool,
    /// Read the token to revoke from standard input (instead of CONCUR_TOKEN_TO_REVOKE).
    #[arg(long, global = true, help_heading = STDIN_HEADING)]
    token_to_revoke_stdin: bool,
}

const STDIN_HEADING: &str = "Secrets from standard input (at most one)";

impl StdinSecret {
    /// The secret to read from standard input, if a flag names one; two flags are a usage
    /// error (standard input holds one secret). Checked here rather than by a clap group,
    /// which does not see global flags given after the subcommand.
    pub(crate) fn chosen(&self) -> Result<Option<Credential>, Error> {
        let given: Vec<Credential> = [
            (self.password_stdin, Credential::Password),
            (self.client_secret_stdin, Credential::ClientSecret),
            (self.refresh_token_stdin, Credential::RefreshToken),
            (self.request_token_stdin, Credential::RequestToken),
            (self.otp_stdin, Credential::Otp),
            (self.access_token_stdin, Credential::AccessToken),
            (self.token_to_revoke_stdin, Credential::TokenToRevoke),
        ]
        .into_iter()
        .filter_map(|(given, secret)| given.then_some(secret))
        .collect();
        match given[..] {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            [first, second, ..] => Err(Error::invalid_argument(format!(
                "{} and {}: at most one --…-stdin flag per run (standard input holds one secret)",
                first.stdin_flag(),
                second.stdin_flag()
            ))),
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Print a fresh random key for sealing a token store (256 bits, base64, one line), for
    /// `oauth2 access-token`. Keep it secret, and out of the command line.
    #[command(after_help = STORE_KEY_HELP)]
    StoreKey,
    /// Print a completion script for a shell on standard output, e.g.
    /// `concur-token completions bash > ~/.local/share/bash-completion/completions/concur-token`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Panics, so that tests can check that a bug exits 1 with one line, not a trace.
    #[command(name = "__panic-for-tests", hide = true)]
    PanicForTests,
}

const STORE_KEY_HELP: &str = "\
With a store key, `oauth2 access-token` seals what its store holds (AES-256-GCM): the file or
Redis key then holds neither token in clear. Give the key in the environment, or in a file only
you can read (never as an argument, where ps and shell history would show it):
  export CONCUR_STORE_KEY=$(concur-token store-key)
  (umask 077; concur-token store-key > ~/.concur-store.key)
  concur-token oauth2 access-token ... --store-key-file ~/.concur-store.key
To rotate: put a new key first (CONCUR_STORE_KEY=new,old, or a new first line in the file); every
key listed opens the store, the first seals it at the next save. A store sealed under a key no
longer listed cannot be opened (exit 9): it is left as it is.";

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
pub(crate) enum OAuth2Command {
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
        /// Refresh this many seconds before the access token expires (the run waits for that
        /// refresh; should it fail, the current token is printed, with a warning, while it is
        /// valid for more than the floor).
        #[arg(long, default_value_t = 300.0)]
        margin: f64,
        /// Never print a token valid for less than this many seconds: below it the run must
        /// refresh, or fail. Below --margin. [default: 30, or half the margin when less]
        #[arg(long, value_name = "SECONDS")]
        floor: Option<f64>,
        /// A file holding the store key (one base64 key per line, the first seals, every one
        /// opens; mode 0600: a file others can read is refused). Wins over CONCUR_STORE_KEY,
        /// which holds one key, or a comma-separated list that rotates the same way. See
        /// `concur-token store-key`.
        #[arg(long, value_name = "PATH")]
        store_key_file: Option<PathBuf>,
        /// Refuse a store holding an unsealed token instead of sealing it at the next save
        /// (needs a store key).
        #[arg(long)]
        require_sealed: bool,
        /// Print the manager's status as JSON instead of the token (state, expiries, last
        /// refresh, failures, last error; never a secret), also when getting the token failed.
        #[arg(long)]
        status: bool,
        /// Print each refresh attempt (outcome, trigger, duration, expiry, error) on standard
        /// error, one line each.
        #[arg(long, short = 'v')]
        events: bool,
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
read or written, or opened with the store key (nothing in it was lost).

Sealed (see `concur-token store-key`), with a health check for monitoring:
  CONCUR_STORE_KEY=... CONCUR_CLIENT_SECRET=... concur-token oauth2 access-token \\
    --client-id $CLIENT_ID --store ~/.concur-token.json --require-sealed --status";

/// The grants `oauth2 access-token --grant` can start from.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StartGrant {
    /// A user's password (grant_type=password).
    Password,
    /// App Center's company request token (credtype=authtoken).
    Company,
    /// The application's own token, asked again whenever it expires.
    ClientCredentials,
}

/// The application's identity; its secret comes from CONCUR_CLIENT_SECRET or a prompt.
#[derive(Args)]
pub(crate) struct App {
    /// The application's client ID.
    #[arg(long, env = "CONCUR_CLIENT_ID")]
    pub(crate) client_id: String,
}
