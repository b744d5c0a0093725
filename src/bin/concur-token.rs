//! `concur-token`: a Concur access token on the command line, for designing and testing.
//!
//! Secrets never come from the command line, where `ps` and shell history would show them:
//! each is read from its environment variable, or from a prompt that does not echo.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use concur_native::{Client, Error, ErrorKind, Options, Token};
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

The proxy, which may carry user:password@, is best given as CONCUR_PROXY rather than --proxy.

Exit codes: 0 success, 2 invalid argument, 3 unauthorized, 4 HTTP status, 5 timeout,
6 connection failed, 7 TLS failure, 8 malformed answer, 1 anything else (an internal error
included: a bug caught, reported in one line without details).";

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
    /// Concur's base URL: a regional host, or a token's instance URL.
    #[arg(long, global = true, env = "CONCUR_BASE_URL", default_value = concur_native::DEFAULT_BASE_URL)]
    base_url: String,
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
    /// Panics, so that tests can check that a bug exits 1 with one line, not a trace.
    #[command(name = "__panic-for-tests", hide = true)]
    PanicForTests,
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

fn client(connection: &Connection) -> Result<Client, Error> {
    let timeout = Duration::try_from_secs_f64(connection.timeout)
        .map_err(|_| Error::invalid_argument("--timeout must be a positive number of seconds"))?;
    let mut options = Options::new()
        .base_url(connection.base_url.as_str())
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

fn run(cli: Cli) -> Result<(), Error> {
    let client = client(&cli.connection)?;
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
