//! What each subcommand does: the client it needs, the secrets it reads, the call it makes.

use std::io::Write;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use clap::CommandFactory;
use concur_native::manager::{
    AccessToken, FileStore, RefreshPolicy, Sealer, Start, StoreKey, TokenManager, TokenStore,
};
use concur_native::oauth2::{Grant, OtpRequest, oauth2_authorize_url};
use concur_native::{Client, Error, Options};
use zeroize::Zeroizing;

use crate::args::{Cli, Command, Connection, OAuth2Command, StartGrant};
use crate::output::{print_oauth2_token, print_status, print_token};
use crate::secrets::{Credential, Secrets, sealer};
use crate::vault::run_vault;

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
    let options = options
        .proxy_from_env(!connection.no_proxy_env)
        .trust_store(connection.trust_store.parse()?);
    Client::new(&options)
}

fn run_oauth2(
    command: OAuth2Command,
    connection: &Connection,
    secrets: &Secrets,
) -> Result<(), Error> {
    let json = connection.json;
    let app_secret = || secrets.get(Credential::ClientSecret, "Client secret: ");
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
            let password = secrets.get(
                Credential::Password,
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
            let request_token = secrets.get(Credential::RequestToken, "Request token: ")?;
            let grant = Grant::Company {
                company_id: &company_id,
                request_token: &request_token,
            };
            client()?.oauth2_token(&app.client_id, &client_secret, &grant, None)?
        }
        OAuth2Command::Refresh { app, scope } => {
            let client_secret = app_secret()?;
            let refresh_token = secrets.get(Credential::RefreshToken, "Refresh token: ")?;
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
            let otp = secrets.get(
                Credential::Otp,
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
            floor,
            store_key_file,
            require_sealed,
            status,
            events,
        } => {
            if status && json {
                return Err(Error::invalid_argument(
                    "--status prints the status instead of the token: leave --json off",
                ));
            }
            let policy = refresh_policy(margin, floor)?;
            let sealer = sealer(store_key_file.as_deref(), require_sealed)?;
            let store = token_store(&store, redis_key.as_deref())?;
            let client_secret = app_secret()?;
            let start = match grant {
                Some(StartGrant::ClientCredentials) => Start::ClientCredentials,
                _ => match stored_start(store.as_ref(), &sealer)? {
                    // The store's refresh token wins over any start: no other secret needed.
                    Some(start) => start,
                    None => match grant {
                        Some(StartGrant::Password) => {
                            let username = username.unwrap_or_default();
                            let password = secrets.get(
                                Credential::Password,
                                &format!("Concur password for {username}: "),
                            )?;
                            Start::Password {
                                username,
                                password: password.to_string(),
                            }
                        }
                        Some(StartGrant::Company) => Start::Company {
                            company_id: company_id.unwrap_or_default(),
                            request_token: secrets
                                .get(Credential::RequestToken, "Request token: ")?
                                .to_string(),
                        },
                        _ => Start::RefreshToken {
                            refresh_token: secrets
                                .get(Credential::RefreshToken, "Refresh token: ")?
                                .to_string(),
                            geolocation,
                        },
                    },
                },
            };
            // Each attempt's one-line account (never a secret) when asked for, and a wake-up
            // for a run waiting for its refresh ahead.
            let (landed, attempts) = mpsc::channel::<()>();
            let manager =
                TokenManager::new(Arc::new(client()?), &app.client_id, &client_secret, start)?
                    .with_boxed_store(store)
                    .with_sealer(sealer)
                    .on_event(move |event| {
                        if events {
                            eprintln!("concur-token: {event}");
                        }
                        let _ = landed.send(());
                    });
            let manager = match policy {
                Some(policy) => manager.with_policy(policy),
                None => manager.with_margin(margin_of(margin)?),
            };
            let token = token_for_a_run(&manager, &attempts, events);
            if status {
                print_status(&manager.status());
                token?;
            } else {
                print_oauth2_token(token?.token(), json);
            }
            return Ok(());
        }
        OAuth2Command::Revoke => {
            let access_token = secrets.get(Credential::AccessToken, "The user's access token: ")?;
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

fn redis_store(url: &str, key: &str) -> Result<Box<dyn TokenStore>, Error> {
    Ok(Box::new(concur_native::manager::RedisStore::new(url, key)?))
}

fn margin_of(margin: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(margin)
        .map_err(|_| Error::invalid_argument("--margin must be a non-negative number of seconds"))
}

/// The policy `--margin` and `--floor` ask for; `None` without `--floor`, where the margin
/// alone sets it as before (the floor 30 s, or half a smaller margin).
fn refresh_policy(margin: f64, floor: Option<f64>) -> Result<Option<RefreshPolicy>, Error> {
    let window = margin_of(margin)?;
    let Some(floor) = floor else {
        return Ok(None);
    };
    let floor = Duration::try_from_secs_f64(floor)
        .map_err(|_| Error::invalid_argument("--floor must be a non-negative number of seconds"))?;
    if floor >= window {
        return Err(Error::invalid_argument(format!(
            "--floor ({} s) must be below --margin ({} s)",
            floor.as_secs_f64(),
            window.as_secs_f64()
        )));
    }
    RefreshPolicy::new(window, floor)
        .map(Some)
        .map_err(|e| Error::invalid_argument(format!("--margin, --floor: {}", e.detail())))
}

/// The token for a run that prints it and exits: the manager's, and when that came from the
/// store inside the refresh window (above the floor), the one its refresh ahead gets, waited
/// for here — a thread left running would die with the process. Should the refresh ahead fail,
/// the current token is kept (it is valid for more than the floor), with a warning.
fn token_for_a_run(
    manager: &TokenManager,
    attempts: &mpsc::Receiver<()>,
    events: bool,
) -> Result<AccessToken, Error> {
    let token = manager.access_token()?;
    if manager.status().refresh_count > 0 {
        // Obtained from Concur by this run: printed as it is.
        return Ok(token);
    }
    // Starts the refresh ahead if the token is inside the window; never waits.
    let _ = manager.cached_access_token(|_| ());
    while manager.status().refreshing {
        // Woken by the attempt's event; the timeout is a safety net only.
        let _ = attempts.recv_timeout(Duration::from_millis(200));
    }
    // What the refresh ahead left (or, had it failed, the token still above the floor): read
    // as it is, since a token inside the window would start yet another refresh ahead.
    let token = match manager.current() {
        Some(token) => token,
        None => manager.access_token()?,
    };
    if let Some(error) = manager.status().last_error
        && !events
    {
        eprintln!("concur-token: the refresh ahead failed, the current token is printed: {error}");
    }
    Ok(token)
}

/// A start from the refresh token the store already holds, if it holds one.
fn stored_start(store: &dyn TokenStore, sealer: &Sealer) -> Result<Option<Start>, Error> {
    Ok(sealer.load(store)?.and_then(|stored| {
        Some(Start::RefreshToken {
            refresh_token: stored.refresh_token.clone()?,
            geolocation: stored.geolocation.clone(),
        })
    }))
}

/// Prints the completion script for `shell`. A reader that stops early (`| head`) is no error;
/// any other failure to write exits 1.
fn print_completions(shell: clap_complete::Shell) -> Result<(), Error> {
    let full = Cli::command();
    // The command line as users see it: without the hidden subcommand for tests, which
    // clap_complete's bash script would offer.
    let mut visible = clap::Command::new("concur-token")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut visible, "concur-token", &mut script);
    if shell == clap_complete::Shell::Bash {
        script = bash_hyphen_fix(&script);
    }
    match std::io::stdout().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("concur-token: the completion script could not be written: {e}");
            std::process::exit(1)
        }
        _ => Ok(()),
    }
}

/// clap_complete 4.6's bash script spells the states of a hyphenated program's subcommands two
/// ways (clap-rs/clap#6421, open): its loop reaches `concur__token__subcmd__oauth2`, its case
/// arms say `concur__subcmd__token__subcmd__oauth2`, so nothing after the first word completed.
/// The arms are respelled the loop's way; once clap is fixed this replaces nothing.
fn bash_hyphen_fix(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("concur__subcmd__token__subcmd__", "concur__token__subcmd__")
        .into_bytes()
}

/// The secrets `command` may ask for, whichever source they come from.
fn reads(command: &Command) -> Vec<Credential> {
    use Credential::*;
    match command {
        Command::Native { no_password, .. } => match no_password {
            true => vec![],
            false => vec![Password],
        },
        Command::Refresh { .. } => vec![ClientSecret, RefreshToken],
        Command::Revoke { user: Some(_), .. } => vec![AccessToken],
        Command::Revoke { user: None, .. } => vec![AccessToken, TokenToRevoke],
        Command::Oauth2 { command } => match command {
            OAuth2Command::Password { .. } => vec![ClientSecret, Password],
            OAuth2Command::Company { .. } => vec![ClientSecret, RequestToken],
            OAuth2Command::Refresh { .. } => vec![ClientSecret, RefreshToken],
            OAuth2Command::ClientCredentials { .. } => vec![ClientSecret],
            OAuth2Command::Otp { send: true, .. } => vec![ClientSecret],
            OAuth2Command::Otp { send: false, .. } => vec![ClientSecret, Otp],
            OAuth2Command::Revoke => vec![AccessToken],
            OAuth2Command::AuthorizeUrl { .. } => vec![],
            // The start's secret is read only while the store holds no refresh token.
            OAuth2Command::AccessToken { grant, .. } => match grant {
                Some(StartGrant::Password) => vec![ClientSecret, Password],
                Some(StartGrant::Company) => vec![ClientSecret, RequestToken],
                Some(StartGrant::ClientCredentials) => vec![ClientSecret],
                None => vec![ClientSecret, RefreshToken],
            },
        },
        Command::Vault { command, .. } => crate::vault::reads(command),
        Command::Completions { .. } | Command::StoreKey | Command::PanicForTests => vec![],
    }
}

/// Runs the subcommand the command line names.
pub(crate) fn run(cli: Cli) -> Result<(), Error> {
    let secrets = Secrets::new(cli.stdin.chosen()?, &reads(&cli.command))?;
    match cli.command {
        Command::Oauth2 { command } => return run_oauth2(command, &cli.connection, &secrets),
        Command::Vault { options, command } => {
            let connection = &cli.connection;
            return run_vault(
                options,
                command,
                connection,
                || client(connection, true),
                &secrets,
            );
        }
        // Before any client: the connection's options (CONCUR_CA_FILE…) play no part.
        Command::Completions { shell } => return print_completions(shell),
        Command::StoreKey => {
            println!("{}", StoreKey::generate_base64()?.as_str());
            return Ok(());
        }
        _ => {}
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
                secrets.get(
                    Credential::Password,
                    &format!("Concur password for {login}: "),
                )?
            };
            print_token(
                &client.native_token(&consumer_key, &login, &password)?,
                json,
            );
        }
        Command::Refresh { client_id } => {
            let client_secret = secrets.get(Credential::ClientSecret, "Client secret: ")?;
            let refresh_token = secrets.get(Credential::RefreshToken, "Refresh token: ")?;
            let token = client.refresh_token(&client_id, &client_secret, &refresh_token)?;
            print_token(&token, json);
        }
        Command::Revoke { user, consumer_key } => {
            let admin = secrets.get(Credential::AccessToken, "Administrator's access token: ")?;
            match (user, consumer_key) {
                (Some(user), Some(key)) => client.revoke_user_tokens(&admin, &key, &user)?,
                _ => {
                    let token = secrets.get(Credential::TokenToRevoke, "Token to revoke: ")?;
                    client.revoke_token(&admin, &token)?;
                }
            }
            if json {
                println!("{}", serde_json::json!({ "revoked": true }));
            }
        }
        Command::Oauth2 { .. }
        | Command::Vault { .. }
        | Command::Completions { .. }
        | Command::StoreKey => {
            unreachable!("handled above")
        }
        Command::PanicForTests => panic!("the panic concur-token's tests ask for"),
    }
    Ok(())
}
