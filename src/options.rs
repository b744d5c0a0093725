//! Where and how to ask: base URL, deadline, trusted CAs, proxy, user agent.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::http::Uri;

use crate::error::Error;

/// Concur's default (US) host. Regional hosts are other base URLs.
pub const DEFAULT_BASE_URL: &str = "https://www.concursolutions.com";

/// The default deadline for a whole exchange: connect, TLS, request and answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest deadline accepted; anything longer is a mistake in units.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// How many times a call is sent again, by default, after a 429, 502, 503 or 504 answer that
/// leaves time for it before the deadline.
pub const DEFAULT_RETRIES: u32 = 2;

/// The most retries accepted.
pub const MAX_RETRIES: u32 = 10;

/// Which root certificates a server's certificate may chain to. [`Options::ca_file`] adds its
/// certificates on top of any of them.
///
/// ```
/// use concur_native::{Options, TrustStore};
/// let options = Options::new().trust_store("os".parse::<TrustStore>()?);
/// assert_eq!(options.get_trust_store(), TrustStore::Os);
/// # Ok::<(), concur_native::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TrustStore {
    /// Mozilla's root certificates, built into the library (the default): the same on every
    /// machine, whatever its configuration.
    #[default]
    Mozilla,
    /// The operating system's store, read when the client is built: on Linux the file and
    /// directory OpenSSL uses (`SSL_CERT_FILE` and `SSL_CERT_DIR` when set, else the
    /// distribution's bundle, such as `/etc/ssl/certs`), on macOS the keychain, on Windows the
    /// system store. Choose it behind a TLS-inspecting proxy whose CA your administrators
    /// installed there. A store that cannot be read or holds no certificate is an
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) error when the client is built, never a
    /// silent fallback to Mozilla's roots.
    Os,
    /// Both: Mozilla's roots and the operating system's store (which must hold a certificate,
    /// as for [`TrustStore::Os`]).
    Both,
}

impl TrustStore {
    /// The name of the choice: `"mozilla"`, `"os"` or `"both"` (what [`str::parse`] reads).
    pub fn as_str(self) -> &'static str {
        match self {
            TrustStore::Mozilla => "mozilla",
            TrustStore::Os => "os",
            TrustStore::Both => "both",
        }
    }
}

impl std::str::FromStr for TrustStore {
    type Err = Error;

    /// `"mozilla"`, `"os"` or `"both"`, without regard to case; anything else is an
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) error.
    fn from_str(name: &str) -> Result<TrustStore, Error> {
        match name.to_ascii_lowercase().as_str() {
            "mozilla" => Ok(TrustStore::Mozilla),
            "os" => Ok(TrustStore::Os),
            "both" => Ok(TrustStore::Both),
            _ => Err(Error::invalid(
                "the trust store must be \"mozilla\", \"os\" or \"both\"",
            )),
        }
    }
}

/// How to reach Concur. Every option has a safe default, so `Options::default()` talks to
/// [`DEFAULT_BASE_URL`] over TLS, trusting Mozilla's root certificates, with a
/// [`DEFAULT_TIMEOUT`] deadline, through the proxy the environment names (`HTTPS_PROXY`, …;
/// see [`Options::proxy_from_env`]) or directly.
///
/// ```
/// use std::time::Duration;
/// let options = concur_native::Options::new()
///     .base_url("https://emea.api.concursolutions.com")
///     .timeout(Duration::from_secs(10));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    pub(crate) base_url: String,
    pub(crate) timeout: Duration,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) proxy: Option<String>,
    pub(crate) proxy_from_env: bool,
    pub(crate) trust_store: TrustStore,
    pub(crate) user_agent_suffix: Option<String>,
    /// Whether `base_url` was set: the current API then sends every call there, instead of to
    /// the host Concur documents for each grant.
    pub(crate) base_url_set: bool,
    pub(crate) trusted_hosts: Vec<String>,
    pub(crate) retries: u32,
    pub(crate) correlation_id: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            base_url: DEFAULT_BASE_URL.to_string(),
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            proxy: None,
            proxy_from_env: true,
            trust_store: TrustStore::Mozilla,
            user_agent_suffix: None,
            base_url_set: false,
            trusted_hosts: Vec::new(),
            retries: DEFAULT_RETRIES,
            correlation_id: None,
        }
    }
}

impl Options {
    /// The defaults; the same as `Options::default()`.
    pub fn new() -> Options {
        Options::default()
    }

    /// The scheme, host and optional path prefix that endpoint paths are appended to, such as
    /// `https://www.concursolutions.com` or the `Instance_Url` of an earlier answer.
    /// `https://` is required; `http://` is accepted only for loopback hosts (tests).
    ///
    /// The current API (oauth2/v0) sends every call to this base URL when it is set, and
    /// otherwise to the host Concur documents for each grant (see [`crate::oauth2`]).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Options {
        self.base_url = base_url.into();
        self.base_url_set = true;
        self
    }

    /// Trusts one more host (a name such as `concur.example.com`, matched exactly, without
    /// regard to case) as a data centre: a geolocation or `Instance_Url` that names it is
    /// followed. Hosts under `concursolutions.com` are always trusted; loopback hosts are
    /// trusted when the call went to loopback. Anything else is refused and nothing is sent
    /// to it.
    pub fn trusted_host(mut self, host: impl Into<String>) -> Options {
        self.trusted_hosts.push(host.into());
        self
    }

    /// How many times a call is sent again after a 429, 502, 503 or 504 answer (default
    /// [`DEFAULT_RETRIES`], at most [`MAX_RETRIES`]; 0 turns retries off). A retry waits for the
    /// answer's `Retry-After` (seconds or an HTTP date; without one, 250 ms doubling each time)
    /// and happens only when that wait and the call fit in what is left of the deadline.
    /// Calls that must never reach Concur twice (a refresh, which rotates the refresh token; a
    /// code exchange, whose code is single-use) are never retried once sent.
    pub fn retries(mut self, retries: u32) -> Options {
        self.retries = retries;
        self
    }

    /// The `concur-correlationid` sent with every request (printable ASCII, at most 128
    /// characters), to find the calls in Concur's logs; by default each request sends a fresh
    /// random UUID.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Options {
        self.correlation_id = Some(id.into());
        self
    }

    /// One deadline for the whole exchange (default 30 s; between 1 ms and 1 hour).
    pub fn timeout(mut self, timeout: Duration) -> Options {
        self.timeout = timeout;
        self
    }

    /// A PEM file of CA certificates to trust in addition to the [`trust_store`](Options::trust_store)
    /// (for a TLS-inspecting corporate proxy, or a test server).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Options {
        self.ca_file = Some(path.into());
        self
    }

    /// An HTTP(S) proxy URL (`http://proxy:3128`, `http://user:pass@proxy:3128`) for every
    /// request, loopback hosts included. TLS to Concur runs through it end to end (CONNECT).
    /// It wins over the environment: with it, no proxy variable is read, `NO_PROXY` included.
    /// SOCKS proxies, and a proxy with a plain-HTTP base URL, are refused.
    pub fn proxy(mut self, proxy_url: impl Into<String>) -> Options {
        self.proxy = Some(proxy_url.into());
        self
    }

    /// Whether the proxy environment variables are honoured when no [`proxy`](Options::proxy)
    /// is set (default `true`), as curl honours them: `https_proxy`, `HTTPS_PROXY`,
    /// `all_proxy`, `ALL_PROXY` (the first one set; set but empty means none) name the proxy,
    /// and `no_proxy`/`NO_PROXY` list the hosts that go direct (`*`; a name, which exempts the
    /// hosts below it too, with or without a leading `.`; `name:port`; an IP address or a CIDR
    /// range). `http_proxy` is never needed: plain HTTP goes only to loopback hosts. Unlike
    /// curl, loopback hosts (`localhost`, 127.0.0.0/8, `::1`) never go through a proxy named by
    /// the environment. Data centres that an answer names (geolocation) follow the same rules
    /// for their own host.
    ///
    /// The variables are read once, when the [`Client`](crate::Client) is built. A variable
    /// that is not an `http://` or `https://` proxy URL (SOCKS included: this library does not
    /// speak it, and going around a proxy the environment asks for could send traffic where
    /// the network's owner does not want it) is an
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) error naming the variable, never its
    /// value, for the client when its base host would use it, else for each call that would;
    /// nothing is sent. `false` ignores every proxy variable.
    pub fn proxy_from_env(mut self, honour: bool) -> Options {
        self.proxy_from_env = honour;
        self
    }

    /// Which root certificates to trust: Mozilla's (the default), the operating system's
    /// store, or both. See [`TrustStore`].
    pub fn trust_store(mut self, store: TrustStore) -> Options {
        self.trust_store = store;
        self
    }
    /// Text appended to the `User-Agent` header (`concur-native/VERSION SUFFIX`), to tell your
    /// application's calls apart in Concur's logs.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Options {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The configured base URL.
    pub fn get_base_url(&self) -> &str {
        &self.base_url
    }

    /// The configured deadline.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The configured extra CA file, if any.
    pub fn get_ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The extra trusted hosts.
    pub fn get_trusted_hosts(&self) -> &[String] {
        &self.trusted_hosts
    }

    /// Whether the proxy environment variables are honoured (when no proxy is set).
    pub fn get_proxy_from_env(&self) -> bool {
        self.proxy_from_env
    }

    /// The configured trust store.
    pub fn get_trust_store(&self) -> TrustStore {
        self.trust_store
    }

    /// The configured number of retries.
    pub fn get_retries(&self) -> u32 {
        self.retries
    }

    pub(crate) fn user_agent(&self) -> String {
        let base = concat!("concur-native/", env!("CARGO_PKG_VERSION"));
        match &self.user_agent_suffix {
            Some(suffix) => format!("{base} {suffix}"),
            None => base.to_string(),
        }
    }

    /// Checks every option before anything is sent. Returns the base URL without a trailing
    /// slash, and whether it is a plain-HTTP loopback URL.
    pub(crate) fn validate(&self) -> Result<BaseUrl, Error> {
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(Error::invalid(
                "the timeout must be between 1 ms and 1 hour",
            ));
        }
        if let Some(suffix) = &self.user_agent_suffix {
            if !suffix.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(Error::invalid(
                    "the user-agent suffix must be printable ASCII",
                ));
            }
        }
        if self.retries > MAX_RETRIES {
            return Err(Error::invalid(format!(
                "retries must be at most {MAX_RETRIES}"
            )));
        }
        if let Some(id) = &self.correlation_id
            && (id.is_empty() || id.len() > 128 || !id.bytes().all(|b| (0x21..0x7f).contains(&b)))
        {
            return Err(Error::invalid(
                "the correlation ID must be 1 to 128 printable ASCII characters without spaces",
            ));
        }
        for host in &self.trusted_hosts {
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(Error::invalid(
                    "a trusted host must be a host name (letters, digits, '-' and '.')",
                ));
            }
        }
        let base = BaseUrl::parse(&self.base_url)?;
        if let Some(proxy) = &self.proxy {
            check_proxy(proxy)?;
            if base.plain_http {
                // Plain HTTP through a proxy would hand the credentials to the proxy in clear
                // (the "loopback" would be the proxy's).
                return Err(Error::invalid(
                    "a proxy cannot be used with a plain-HTTP base URL",
                ));
            }
        }
        Ok(base)
    }
}

/// Only HTTP(S) proxies are supported: ureq is built without SOCKS, and would fail on first use.
fn check_proxy(proxy: &str) -> Result<(), Error> {
    let scheme = proxy.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http") | Some("https") | None => Ok(()),
        Some(_) => Err(Error::invalid(
            "the proxy must be an http:// or https:// URL (SOCKS is not supported)",
        )),
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A proxy URL may hold the proxy's own password.
        f.debug_struct("Options")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .field("proxy", &self.proxy.as_ref().map(|_| "<set>"))
            .field("proxy_from_env", &self.proxy_from_env)
            .field("trust_store", &self.trust_store)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("trusted_hosts", &self.trusted_hosts)
            .field("retries", &self.retries)
            .field("correlation_id", &self.correlation_id)
            .finish()
    }
}

/// A checked base URL.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    pub(crate) url: String,
    pub(crate) plain_http: bool,
    /// The host, lower-cased, IPv6 brackets removed.
    pub(crate) host: String,
    /// Whether the host is a loopback name or address.
    pub(crate) loopback: bool,
    /// Whether the URL has a path after its host (a prefix such as a test scenario).
    pub(crate) has_path: bool,
    /// The port, given or the scheme's.
    pub(crate) port: u16,
}

impl BaseUrl {
    pub(crate) fn parse(text: &str) -> Result<BaseUrl, Error> {
        let bad = |why: &str| Error::invalid(format!("the base URL {why}"));
        let text = text.trim_end_matches('/');
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("contains spaces or control characters"));
        }
        let uri: Uri = text.parse().map_err(|_| bad("is not a valid URL"))?;
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not hold a user name or password"));
        }
        if uri.query().is_some() || text.contains('#') {
            return Err(bad("must not have a query or fragment"));
        }
        let plain_http = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => false,
            Some(s) if s.eq_ignore_ascii_case("http") && is_loopback(authority.host()) => true,
            Some(s) if s.eq_ignore_ascii_case("http") => {
                return Err(bad(
                    "must use https:// (http:// is accepted for loopback hosts only)",
                ));
            }
            _ => return Err(bad("must start with https://")),
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        Ok(BaseUrl {
            url: text.to_string(),
            plain_http,
            loopback: is_loopback(&host),
            host,
            has_path: !matches!(uri.path(), "" | "/"),
            port: authority
                .port_u16()
                .unwrap_or(if plain_http { 80 } else { 443 }),
        })
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// Whether `host` (a name, or an IP address with or without brackets) is `localhost` or a
/// loopback address.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn accepted_base_urls() {
        for (url, plain, expect) in [
            (
                "https://www.concursolutions.com",
                false,
                "https://www.concursolutions.com",
            ),
            (
                "https://www.concursolutions.com/",
                false,
                "https://www.concursolutions.com",
            ),
            (
                "HTTPS://x.example:8443/prefix/",
                false,
                "HTTPS://x.example:8443/prefix",
            ),
            ("http://127.0.0.1:8080", true, "http://127.0.0.1:8080"),
            ("http://127.8.9.10", true, "http://127.8.9.10"),
            ("http://localhost:1", true, "http://localhost:1"),
            ("http://[::1]:1/s/x", true, "http://[::1]:1/s/x"),
        ] {
            let b = BaseUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((b.url.as_str(), b.plain_http), (expect, plain));
        }
    }

    #[test]
    fn refused_base_urls() {
        for url in [
            "http://www.concursolutions.com",
            "http://10.0.0.1",
            "http://localhost.evil.example",
            "http://128.0.0.1",
            "ftp://x",
            "www.concursolutions.com",
            "",
            "https://",
            "https://user:pw@x.example",
            "https://x.example/?a=b",
            "https://x.example/#frag",
            "https://x.example/a b",
            "https://x.example\r\n",
        ] {
            let e = BaseUrl::parse(url).expect_err(url);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url}");
            if url.contains("pw") {
                assert!(!e.to_string().contains("pw"));
            }
        }
    }

    #[test]
    fn timeouts_are_bounded() {
        assert!(Options::new().timeout(Duration::ZERO).validate().is_err());
        assert!(
            Options::new()
                .timeout(Duration::from_secs(7200))
                .validate()
                .is_err()
        );
        assert!(
            Options::new()
                .timeout(Duration::from_millis(1))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn socks_proxies_and_proxied_plain_http_are_refused() {
        for proxy in ["socks5://127.0.0.1:1080", "socks4://p:1", "SOCKS://p:1"] {
            let e = Options::new().proxy(proxy).validate().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{proxy}");
            assert!(e.to_string().contains("SOCKS"), "{e}");
        }
        assert!(Options::new().proxy("http://p:3128").validate().is_ok());
        let e = Options::new()
            .base_url("http://127.0.0.1:8080")
            .proxy("http://127.0.0.1:3128")
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("plain-HTTP"), "{e}");
    }

    #[test]
    fn retries_correlation_ids_and_trusted_hosts_are_checked() {
        assert!(Options::new().retries(11).validate().is_err());
        assert!(Options::new().retries(0).validate().is_ok());
        for id in ["", "a b", "x\n", &"x".repeat(129)] {
            assert!(
                Options::new().correlation_id(id).validate().is_err(),
                "{id:?}"
            );
        }
        assert!(
            Options::new()
                .correlation_id("my-batch-42")
                .validate()
                .is_ok()
        );
        for host in ["", "a/b", "x.example:443", "a b"] {
            assert!(
                Options::new().trusted_host(host).validate().is_err(),
                "{host:?}"
            );
        }
        assert!(
            Options::new()
                .trusted_host("concur.example.com")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn debug_hides_proxy_credentials() {
        let o = Options::new().proxy("http://me:hunter2@proxy:3128");
        assert!(!format!("{o:?}").contains("hunter2"));
    }

    #[test]
    fn user_agent() {
        let o = Options::new().user_agent_suffix("expense-sync/2.1");
        assert_eq!(
            o.user_agent(),
            format!(
                "concur-native/{} expense-sync/2.1",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(Options::new().user_agent_suffix("a\nb").validate().is_err());
    }
}
