//! Where each secret comes from: standard input (`--…-stdin`), else its environment variable,
//! else a prompt on the terminal without echo.
//!
//! Standard input is read only for the one secret whose `--…-stdin` flag was given, to its
//! end and before anything is sent: one trailing line break is dropped, and an empty secret,
//! one with a control character or one that is not UTF-8 is refused (exit 2). A terminal on
//! standard input is refused too: typed there, the secret would be echoed, and leaving the
//! flag off gives the prompt that does not echo.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use concur_native::Error;
use concur_native::manager::{Sealer, StoreKey};
use zeroize::Zeroizing;

/// A secret a subcommand reads, named after the environment variable that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A user's password.
    Password,
    /// The application's client secret.
    ClientSecret,
    /// A refresh token.
    RefreshToken,
    /// App Center's company request token.
    RequestToken,
    /// A one-time password.
    Otp,
    /// An access token that authorizes a revocation.
    AccessToken,
    /// The legacy token to revoke.
    TokenToRevoke,
    /// An authorization code of the Web flow's callback.
    Code,
}

impl Credential {
    /// The environment variable that holds it.
    pub(crate) fn variable(self) -> &'static str {
        match self {
            Credential::Password => "CONCUR_PASSWORD",
            Credential::ClientSecret => "CONCUR_CLIENT_SECRET",
            Credential::RefreshToken => "CONCUR_REFRESH_TOKEN",
            Credential::RequestToken => "CONCUR_REQUEST_TOKEN",
            Credential::Otp => "CONCUR_OTP",
            Credential::AccessToken => "CONCUR_ACCESS_TOKEN",
            Credential::TokenToRevoke => "CONCUR_TOKEN_TO_REVOKE",
            Credential::Code => "CONCUR_CODE",
        }
    }

    /// The flag that reads it from standard input instead.
    pub(crate) fn stdin_flag(self) -> &'static str {
        match self {
            Credential::Password => "--password-stdin",
            Credential::ClientSecret => "--client-secret-stdin",
            Credential::RefreshToken => "--refresh-token-stdin",
            Credential::RequestToken => "--request-token-stdin",
            Credential::Otp => "--otp-stdin",
            Credential::AccessToken => "--access-token-stdin",
            Credential::TokenToRevoke => "--token-to-revoke-stdin",
            Credential::Code => "--code-stdin",
        }
    }

    /// What it is, for error messages.
    fn what(self) -> &'static str {
        match self {
            Credential::Password => "password",
            Credential::ClientSecret => "client secret",
            Credential::RefreshToken => "refresh token",
            Credential::RequestToken => "request token",
            Credential::Otp => "one-time password",
            Credential::AccessToken => "access token",
            Credential::TokenToRevoke => "token to revoke",
            Credential::Code => "authorization code",
        }
    }
}

/// The most standard input may hold for a secret: far above any Concur secret or token (an
/// access token is about 2 KB), low enough that a wrong pipe (a log, a file) is refused, not
/// sent.
const MAX_STDIN_BYTES: usize = 64 * 1024;

/// Where this run's secrets come from: at most one from standard input, read at the start.
pub(crate) struct Secrets {
    piped: Option<(Credential, Zeroizing<String>)>,
}

impl Secrets {
    /// Reads the `piped` secret (if a `--…-stdin` flag named one) from standard input now,
    /// before anything is sent. `reads` are the secrets the subcommand may ask for: a flag for
    /// another one is a usage error, not silently ignored.
    pub(crate) fn new(piped: Option<Credential>, reads: &[Credential]) -> Result<Secrets, Error> {
        let Some(secret) = piped else {
            return Ok(Secrets { piped: None });
        };
        if !reads.contains(&secret) {
            let read: Vec<&str> = reads.iter().map(|s| s.variable()).collect();
            let read = if read.is_empty() {
                "no secret".to_string()
            } else {
                read.join(", ")
            };
            return Err(Error::invalid_argument(format!(
                "{}: this command does not read {} (it reads {read})",
                secret.stdin_flag(),
                secret.variable(),
            )));
        }
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Error::invalid_argument(format!(
                "{} reads the {} from a pipe or a file, and standard input is a terminal \
                 (where it would be echoed): pipe it in, or leave the flag off to be asked \
                 without echo",
                secret.stdin_flag(),
                secret.what(),
            )));
        }
        // A descriptor of its own, read without std's buffer: no unwiped copy of the bytes.
        let file = stdin
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|_| unreadable(secret))?;
        let bytes = read_to_end(file, secret)?;
        Ok(Secrets {
            piped: Some((secret, piped_secret(secret, bytes)?)),
        })
    }

    /// The secret: from standard input when its `--…-stdin` flag was given, else from its
    /// environment variable, else from `prompt` on the terminal without echo.
    pub(crate) fn get(&self, secret: Credential, prompt: &str) -> Result<Zeroizing<String>, Error> {
        if let Some((_, value)) = self.piped.as_ref().filter(|(piped, _)| *piped == secret) {
            return Ok(value.clone());
        }
        let variable = secret.variable();
        if let Ok(value) = std::env::var(variable) {
            return Ok(Zeroizing::new(value));
        }
        hidden::prompt(prompt).map_err(|_| {
            Error::invalid_argument(format!(
                "set {variable} (or pipe it in with {}), or run in a terminal to be asked",
                secret.stdin_flag()
            ))
        })
    }
}

fn unreadable(secret: Credential) -> Error {
    Error::invalid_argument(format!(
        "{}: standard input could not be read",
        secret.stdin_flag()
    ))
}

/// Everything `input` holds, in a buffer allocated once (never grown, so never copied) and
/// wiped when dropped; more than [`MAX_STDIN_BYTES`] is refused.
fn read_to_end(mut input: impl Read, secret: Credential) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut buffer = Zeroizing::new(vec![0u8; MAX_STDIN_BYTES + 1]);
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            return Err(Error::invalid_argument(format!(
                "{}: standard input holds more than {} KiB, which is no {}",
                secret.stdin_flag(),
                MAX_STDIN_BYTES / 1024,
                secret.what(),
            )));
        }
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(unreadable(secret)),
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

/// The secret piped in as `bytes`: one trailing `\n` or `\r\n` dropped, then refused if empty,
/// not UTF-8, or holding a control character. No message quotes it.
fn piped_secret(
    secret: Credential,
    mut bytes: Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<String>, Error> {
    let flag = secret.stdin_flag();
    let what = secret.what();
    let end = if bytes.ends_with(b"\r\n") {
        bytes.len() - 2
    } else if bytes.ends_with(b"\n") {
        bytes.len() - 1
    } else {
        bytes.len()
    };
    bytes.truncate(end);
    if bytes.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{flag}: standard input held no {what} (it was empty)"
        )));
    }
    // The Vec moves into the String (or back into the error): no copy is left unwiped.
    let text = match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Zeroizing::new(text),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            return Err(Error::invalid_argument(format!(
                "{flag}: the {what} on standard input is not UTF-8"
            )));
        }
    };
    if text.chars().any(char::is_control) {
        return Err(Error::invalid_argument(format!(
            "{flag}: the {what} on standard input holds a control character (a NUL, a tab, \
             or a line break other than one at its end)"
        )));
    }
    Ok(text)
}

/// The environment variable holding the store key (or a comma-separated list of keys).
pub(crate) const STORE_KEY_VARIABLE: &str = "CONCUR_STORE_KEY";

/// The store keys, first the one that seals: from `file` (one base64 key per line; blank lines
/// and `#` comments skipped) when given, else from `CONCUR_STORE_KEY` (comma-separated), else
/// none. Never from the command line. A file that its group or others may read is refused, as
/// ssh refuses such a private key. No message quotes a key or the file's content.
pub(crate) fn store_keys(file: Option<&Path>) -> Result<Option<Vec<StoreKey>>, Error> {
    if let Some(path) = file {
        let shown = path.display();
        let opened = File::open(path).map_err(|e| {
            Error::invalid_argument(format!("--store-key-file {shown}: cannot be read ({e})"))
        })?;
        let mode = opened
            .metadata()
            .map_err(|e| {
                Error::invalid_argument(format!("--store-key-file {shown}: cannot be read ({e})"))
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::invalid_argument(format!(
                "--store-key-file {shown}: its mode is {:04o}, so others may read the key:                  `chmod 600` it",
                mode & 0o7777
            )));
        }
        // Allocated once and never grown (the limit stops the read first): no unwiped copy.
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_STDIN_BYTES + 1));
        (&opened)
            .take(MAX_STDIN_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                Error::invalid_argument(format!("--store-key-file {shown}: cannot be read ({e})"))
            })?;
        if bytes.len() > MAX_STDIN_BYTES {
            return Err(Error::invalid_argument(format!(
                "--store-key-file {shown}: holds more than {} KiB, which is no key list",
                MAX_STDIN_BYTES / 1024
            )));
        }
        let text = match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                return Err(Error::invalid_argument(format!(
                    "--store-key-file {shown}: not UTF-8 text"
                )));
            }
        };
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'));
        let keys = parse_keys(lines, &|n| format!("--store-key-file {shown}: key {n}"))?;
        if keys.is_empty() {
            return Err(Error::invalid_argument(format!(
                "--store-key-file {shown}: holds no key"
            )));
        }
        return Ok(Some(keys));
    }
    let Some(value) = std::env::var_os(STORE_KEY_VARIABLE) else {
        return Ok(None);
    };
    let value = Zeroizing::new(value.into_string().map_err(|v| {
        drop(Zeroizing::new(v.into_encoded_bytes()));
        Error::invalid_argument(format!("{STORE_KEY_VARIABLE} is not UTF-8 text"))
    })?);
    if value.trim().is_empty() {
        // Not taken as "no key": a store meant to be sealed would be written in clear.
        return Err(Error::invalid_argument(format!(
            "{STORE_KEY_VARIABLE} is set but empty (unset it to keep the store unsealed)"
        )));
    }
    let keys = parse_keys(value.split(',').map(str::trim), &|n| {
        format!("{STORE_KEY_VARIABLE}: key {n}")
    })?;
    Ok(Some(keys))
}

/// Each of `texts` as a key; `name(n)` names the n-th (from 1) in errors, never quoting it.
fn parse_keys<'a>(
    texts: impl Iterator<Item = &'a str>,
    name: &dyn Fn(usize) -> String,
) -> Result<Vec<StoreKey>, Error> {
    texts
        .enumerate()
        .map(|(i, text)| {
            if text.is_empty() {
                return Err(Error::invalid_argument(format!("{} is empty", name(i + 1))));
            }
            StoreKey::from_base64(text).map_err(|_| {
                Error::invalid_argument(format!(
                    "{} is not the base64 text of 32 bytes (`concur-token store-key` prints one)",
                    name(i + 1)
                ))
            })
        })
        .collect()
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

/// The sealer of the store: the keys of `--store-key-file` or `CONCUR_STORE_KEY`, or none.
pub(crate) fn sealer(
    key_file: Option<&std::path::Path>,
    require_sealed: bool,
) -> Result<Sealer, Error> {
    match store_keys(key_file)? {
        Some(keys) => Ok(Sealer::new(keys)?.require_sealed(require_sealed)),
        None if require_sealed => Err(Error::invalid_argument(
            "--require-sealed needs a store key: CONCUR_STORE_KEY or --store-key-file \
             (see `concur-token store-key`)",
        )),
        None => Ok(Sealer::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piped(bytes: &[u8]) -> Result<String, String> {
        piped_secret(Credential::Password, Zeroizing::new(bytes.to_vec()))
            .map(|s| s.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn one_trailing_line_break_is_dropped() {
        assert_eq!(piped(b"pa ss"), Ok("pa ss".to_string()));
        assert_eq!(piped(b"pa ss\n"), Ok("pa ss".to_string()));
        assert_eq!(piped(b"pa ss\r\n"), Ok("pa ss".to_string()));
        assert_eq!(piped("pässwörd\n".as_bytes()), Ok("pässwörd".to_string()));
    }

    #[test]
    fn empty_control_characters_and_non_utf8_are_refused_unquoted() {
        for bytes in [
            &b""[..],
            b"\n",
            b"\r\n",
            b"hunter2\n\n",
            b"hunter2\r",
            b"hun\0ter2",
            b"hun\tter2",
            b"hunter2\x1b",
            b"hunter2\x7f",
            "hunter2\u{85}".as_bytes(),
            b"hunter2\xff",
        ] {
            let error = piped(bytes).expect_err(&format!("{bytes:?}"));
            assert!(error.starts_with("invalid argument"), "{error}");
            assert!(error.contains("--password-stdin"), "{error}");
            assert!(!error.contains("hunter"), "{error}");
        }
    }

    #[test]
    fn more_than_the_limit_is_refused() {
        let at_limit = vec![b'a'; MAX_STDIN_BYTES];
        assert_eq!(
            read_to_end(&at_limit[..], Credential::Password)
                .map(|b| b.len())
                .ok(),
            Some(MAX_STDIN_BYTES)
        );
        let over = vec![b'a'; MAX_STDIN_BYTES + 1];
        let error = read_to_end(&over[..], Credential::Password).expect_err("too long");
        assert!(error.to_string().contains("more than 64 KiB"), "{error}");
    }
}
