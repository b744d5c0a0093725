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

/// How to reach Concur. Every option has a safe default, so `Options::default()` talks to
/// [`DEFAULT_BASE_URL`] over TLS, trusting Mozilla's root certificates, with a
/// [`DEFAULT_TIMEOUT`] deadline and no proxy.
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
    pub(crate) user_agent_suffix: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            base_url: DEFAULT_BASE_URL.to_string(),
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            proxy: None,
            user_agent_suffix: None,
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
    pub fn base_url(mut self, base_url: impl Into<String>) -> Options {
        self.base_url = base_url.into();
        self
    }

    /// One deadline for the whole exchange (default 30 s; between 1 ms and 1 hour).
    pub fn timeout(mut self, timeout: Duration) -> Options {
        self.timeout = timeout;
        self
    }

    /// A PEM file of CA certificates to trust in addition to Mozilla's roots (for a TLS-inspecting
    /// corporate proxy, or a test server).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Options {
        self.ca_file = Some(path.into());
        self
    }

    /// An HTTP(S) proxy URL (`http://proxy:3128`, `http://user:pass@proxy:3128`). TLS to Concur
    /// runs through it end to end (CONNECT). Environment variables are never read for this.
    pub fn proxy(mut self, proxy_url: impl Into<String>) -> Options {
        self.proxy = Some(proxy_url.into());
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
        BaseUrl::parse(&self.base_url)
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
            .field("user_agent_suffix", &self.user_agent_suffix)
            .finish()
    }
}

/// A checked base URL.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    pub(crate) url: String,
    pub(crate) plain_http: bool,
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
        Ok(BaseUrl {
            url: text.to_string(),
            plain_http,
        })
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

fn is_loopback(host: &str) -> bool {
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
