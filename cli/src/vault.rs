//! `concur-token vault …`: the token vault on the command line — add, list, show, print a
//! connection's access token, the keep-alive sweep for cron, remove.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use concur_native::manager::{Outcome, Trigger};
use concur_native::vault::{
    ConnectionInfo, KeepAliveReport, KeyedStore, TokenVault, VaultStart, open_store,
};
use concur_native::{Client, Error};

use crate::args::{Connection, VaultCommand, VaultOptions};
use crate::output::print_oauth2_token;
use crate::secrets::{Credential, Secrets};

/// The secrets `command` may ask for.
pub(crate) fn reads(command: &VaultCommand) -> Vec<Credential> {
    use Credential::*;
    match command {
        VaultCommand::Add {
            company_id,
            username,
            redirect_uri,
            client_credentials,
            ..
        } => {
            if company_id.is_some() {
                vec![ClientSecret, RequestToken]
            } else if username.is_some() {
                vec![ClientSecret, Password]
            } else if redirect_uri.is_some() {
                vec![ClientSecret, Code]
            } else if *client_credentials {
                vec![ClientSecret]
            } else {
                vec![ClientSecret, RefreshToken]
            }
        }
        VaultCommand::List | VaultCommand::Show { .. } => vec![],
        VaultCommand::AccessToken { .. }
        | VaultCommand::KeepAlive { .. }
        | VaultCommand::Remove { .. } => vec![ClientSecret],
    }
}

/// Runs `concur-token vault COMMAND`.
pub(crate) fn run_vault(
    options: VaultOptions,
    command: VaultCommand,
    connection: &Connection,
    client: impl FnOnce() -> Result<Client, Error>,
    secrets: &Secrets,
) -> Result<(), Error> {
    let json = connection.json;
    let Some(url) = options.store.as_deref() else {
        return Err(Error::invalid_argument(
            "--store (or CONCUR_VAULT_STORE) is required: sqlite:///path, redis://…, \
             postgres://… or memory:",
        ));
    };
    if url.is_empty() {
        return Err(Error::invalid_argument("--store is empty"));
    }
    // Checked before the store is opened (it may be created) or a secret read.
    let sweep = match &command {
        VaultCommand::KeepAlive {
            within,
            concurrency,
        } => {
            if !(1..=64).contains(concurrency) {
                return Err(Error::invalid_argument(
                    "--concurrency must be between 1 and 64",
                ));
            }
            Some((parse_duration(within)?, *concurrency))
        }
        _ => None,
    };
    let sealer = crate::secrets::sealer(options.store_key_file.as_deref(), options.require_sealed)?;
    let reads_secret = !matches!(command, VaultCommand::List | VaultCommand::Show { .. });
    let client_id = match (&options.client_id, reads_secret) {
        (Some(id), _) => id.clone(),
        (None, true) => {
            return Err(Error::invalid_argument(
                "--client-id (or CONCUR_CLIENT_ID) is required",
            ));
        }
        // Listing reads records only: no token is refreshed, nothing is sent.
        (None, false) => "concur-token".to_string(),
    };
    let store = open_store(url)?;
    let client_secret = if reads_secret {
        secrets.get(Credential::ClientSecret, "Client secret: ")?
    } else {
        // `list` and `show` never use the application's secret (they send nothing).
        zeroize::Zeroizing::new("unused by list and show".to_string())
    };
    let progress = Arc::new(Progress::default());
    let observer = Arc::clone(&progress);
    let vault = TokenVault::new(Arc::new(client()?), &client_id, &client_secret, store)?
        .with_sealer(sealer)
        .on_event(move |event| {
            if event.trigger == Trigger::KeepAlive && event.outcome != Outcome::Expiring {
                observer.step();
            }
        });
    match command {
        VaultCommand::Add {
            id,
            company_id,
            username,
            redirect_uri,
            client_credentials,
            geolocation,
            replace,
        } => {
            let start = if let Some(company_id) = company_id {
                VaultStart::Company {
                    company_id,
                    request_token: secrets
                        .get(Credential::RequestToken, "Request token: ")?
                        .to_string(),
                }
            } else if let Some(username) = username {
                let password = secrets.get(
                    Credential::Password,
                    &format!("Concur password for {username}: "),
                )?;
                VaultStart::Password {
                    username,
                    password: password.to_string(),
                }
            } else if let Some(redirect_uri) = redirect_uri {
                VaultStart::AuthorizationCode {
                    code: secrets
                        .get(Credential::Code, "Authorization code: ")?
                        .to_string(),
                    redirect_uri,
                }
            } else if client_credentials {
                VaultStart::ClientCredentials
            } else {
                VaultStart::RefreshToken {
                    refresh_token: secrets
                        .get(Credential::RefreshToken, "Refresh token: ")?
                        .to_string(),
                    geolocation,
                }
            };
            let token = vault.add(&id, start, replace)?;
            print_oauth2_token(token.token(), json);
        }
        VaultCommand::AccessToken { id } => {
            let token = vault.access_token(&id)?;
            print_oauth2_token(token.token(), json);
        }
        VaultCommand::Show { id } => {
            let info = vault.connection(&id)?;
            if json {
                println!("{}", info_json(&info));
            } else {
                print_show(&info);
            }
        }
        VaultCommand::List => list(&vault, json)?,
        VaultCommand::Remove { id, revoke } => {
            vault.remove(&id, revoke)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "removed": id, "revoked": revoke })
                );
            }
        }
        VaultCommand::KeepAlive { .. } => {
            let (within, concurrency) = sweep.expect("parsed above");
            let bar = std::io::stderr().is_terminal();
            if bar {
                progress.start(vault.store().as_ref(), within);
            }
            let report = vault.keep_alive(within, concurrency);
            if bar {
                progress.finish();
            }
            let report = report?;
            print_report(&report, json);
            if !report.dead.is_empty() || !report.failed.is_empty() {
                // Not an error of the run: the report says what happened; cron mails it.
                std::io::stdout().flush().ok();
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// `--within`: seconds, or a number with s, m, h or d.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, Error> {
    let bad = || {
        Error::invalid_argument(format!(
            "--within {text:?} is not a duration: seconds, or a number with s, m, h or d (30d)"
        ))
    };
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        Some(_) => (text, 's'),
        None => return Err(bad()),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    n.checked_mul(scale)
        .filter(|&s| s > 0 && s <= 3650 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

/// A Unix time as `2026-12-04T07:10:00Z`; `-` when unknown.
fn time(at: Option<i64>) -> String {
    let Some(at) = at else {
        return "-".to_string();
    };
    let (days, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A connection as one JSON object (no secret): times in Unix seconds, `null` when unknown.
fn info_json(info: &ConnectionInfo) -> serde_json::Value {
    serde_json::json!({
        "id": info.id,
        "kind": info.kind.as_str(),
        "state": info.state_name(),
        "subject": info.subject,
        "geolocation": info.geolocation,
        "expires_at": info.expires_at,
        "refresh_expires_at": info.refresh_expires_at,
        "last_refresh": info.last_refresh,
        "concur_code": info.concur_code,
        "failures": info.failures,
        "added_at": info.added_at,
        "horizon_seconds": info.horizon.map(|h| h.as_secs()),
    })
}

fn print_show(info: &ConnectionInfo) {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    println!("id:                 {}", info.id);
    println!("kind:               {}", info.kind.as_str());
    println!("state:              {}", info.state_name());
    println!("subject:            {}", or_dash(&info.subject));
    println!("geolocation:        {}", or_dash(&info.geolocation));
    println!("expires at:         {}", time(info.expires_at));
    println!("refresh expires at: {}", time(info.refresh_expires_at));
    println!("last refresh:       {}", time(info.last_refresh));
    println!("added at:           {}", time(Some(info.added_at)));
    println!("failures:           {}", info.failures);
    if let Some(code) = info.concur_code {
        println!("concur code:        {code}");
    }
    if let Some(horizon) = info.horizon {
        println!(
            "within:             {} days of the refresh token's expiry",
            horizon.as_secs() / 86_400
        );
    }
}

/// Streams the connections: a JSON array written element by element, or a table whose
/// columns are as wide as the ID column needs (IDs are the only long field).
fn list(vault: &TokenVault, json: bool) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = write!(out, "[");
        let mut first = true;
        for info in vault.connections() {
            let info = info?;
            let _ = write!(out, "{}{}", if first { "" } else { "," }, info_json(&info));
            first = false;
        }
        let _ = writeln!(out, "]");
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{:<36}  {:<7}  {:<8}  {:<20}  {:<20}  {:<20}  NOTE",
        "ID", "KIND", "STATE", "REFRESH EXPIRES", "LAST REFRESH", "EXPIRES"
    );
    for info in vault.connections() {
        let info = info?;
        let note = match (info.concur_code, info.failures) {
            (Some(code), _) => format!("concur code {code}"),
            (None, 0) => String::new(),
            (None, n) => format!("{n} failure(s) in a row"),
        };
        let row = format!(
            "{:<36}  {:<7}  {:<8}  {:<20}  {:<20}  {:<20}  {}",
            info.id,
            info.kind.as_str(),
            info.state_name(),
            time(info.refresh_expires_at),
            time(info.last_refresh),
            time(info.expires_at),
            note
        );
        let _ = writeln!(out, "{}", row.trim_end());
    }
    Ok(())
}

fn print_report(report: &KeepAliveReport, json: bool) {
    if json {
        let dead: Vec<_> = report
            .dead
            .iter()
            .map(|(id, code)| serde_json::json!({ "id": id, "concur_code": code }))
            .collect();
        let failed: Vec<_> = report
            .failed
            .iter()
            .map(|f| {
                serde_json::json!({
                    "id": f.id,
                    "kind": f.kind().code(),
                    "concur_code": f.error.concur_code(),
                    "status": f.error.status(),
                    "correlation_id": f.correlation_id(),
                    "message": f.error.to_string(),
                })
            })
            .collect();
        let document = serde_json::json!({
            "checked": report.checked,
            "refreshed": report.refreshed,
            "fresh": report.fresh,
            "dead": dead,
            "failed": failed,
        });
        println!("{document}");
        return;
    }
    println!(
        "checked {}, refreshed {}, fresh {}, dead {}, failed {}",
        report.checked,
        report.refreshed,
        report.fresh,
        report.dead.len(),
        report.failed.len()
    );
    if report.dead.is_empty() && report.failed.is_empty() {
        return;
    }
    println!();
    println!("{:<36}  {:<6}  {:<18}  DETAIL", "ID", "RESULT", "ERROR");
    for (id, code) in &report.dead {
        let detail = code.map_or_else(String::new, |c| format!("concur code {c}"));
        println!("{id:<36}  {:<6}  {:<18}  {detail}", "dead", "UNAUTHORIZED");
    }
    for f in &report.failed {
        let detail = match f.correlation_id() {
            Some(c) => format!("{} (correlation id {c})", f.error),
            None => f.error.to_string(),
        };
        println!(
            "{:<36}  {:<6}  {:<18}  {detail}",
            f.id,
            "failed",
            f.kind().code()
        );
    }
}

/// The keep-alive's progress bar on a terminal: the due connections counted first, each
/// attempt (an event of the sweep) a step.
#[derive(Default)]
struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    drawn: Mutex<bool>,
}

impl Progress {
    fn start(&self, store: &dyn KeyedStore, within: Duration) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        let mut total = 0u64;
        let mut after: Option<(i64, String)> = None;
        // A store failure ends the count: the sweep will report it; the bar only runs short.
        while let Ok(page) = store.due(
            now,
            within,
            after.as_ref().map(|(k, id)| (*k, id.as_str())),
            1000,
        ) {
            total += page.len() as u64;
            match page.last() {
                Some(last) if page.len() == 1000 => {
                    after = Some((last.sweep_key(within), last.id.clone()));
                }
                _ => break,
            }
        }
        self.total.store(total, Ordering::SeqCst);
        *self.drawn.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.draw();
    }

    fn step(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
        self.draw();
    }

    fn draw(&self) {
        let drawn = self.drawn.lock().unwrap_or_else(|e| e.into_inner());
        if !*drawn {
            return;
        }
        let total = self.total.load(Ordering::SeqCst).max(1);
        let done = self.done.load(Ordering::SeqCst).min(total);
        let width = 30u64;
        let filled = (done * width / total) as usize;
        eprint!(
            "\rkeep-alive [{}{}] {done}/{total}",
            "#".repeat(filled),
            "-".repeat(width as usize - filled)
        );
    }

    fn finish(&self) {
        let mut drawn = self.drawn.lock().unwrap_or_else(|e| e.into_inner());
        if *drawn {
            eprint!("\r\x1b[2K");
            *drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(2_592_000)
        );
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_duration("45s").unwrap(), Duration::from_secs(45));
        for bad in ["", "d", "0", "-1d", "3w", "1.5d", "99999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(time(None), "-");
        assert_eq!(time(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(time(Some(1_796_368_200)), "2026-12-04T07:10:00Z");
        assert_eq!(time(Some(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
