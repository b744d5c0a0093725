//! Name resolution with a short per-client memory.
//!
//! ureq resolves the host on every request, even one that goes out on a kept-alive pooled
//! connection, and when a deadline is set (we always set one) each lookup runs on a thread of
//! its own. Measured with 500 sequential tokens over one client against the loopback server:
//! a thread spawned per call, and about 30 µs a token of the ~100 µs total. libc keeps no DNS
//! cache either, so against Concur every token also cost a DNS query. Remembering the answer
//! for a short while removes both.
//!
//! For a plain-HTTP base (allowed only for a loopback host, decided by its name), the resolver
//! also refuses any answer that is not a loopback address: a hostile or misconfigured resolver
//! must not turn `http://localhost` into cleartext to a remote host.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a lookup is reused: short enough to follow DNS changes of Concur's hosts, long
/// enough for a batch of calls.
const REMEMBER_FOR: Duration = Duration::from_secs(30);

/// Delegates to ureq's resolver and remembers each answer for [`REMEMBER_FOR`].
/// `Default` is a resolver without the loopback check, as for an `https://` base.
#[derive(Debug, Default)]
pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
    loopback_only: bool,
}

impl CachingResolver {
    /// A resolver; with `loopback_only` (for a plain-HTTP base), an answer holding any address
    /// that is not a loopback address is refused as a connection error.
    #[allow(dead_code)] // Until transport.rs passes `base.plain_http` here (the lead's file).
    pub(crate) fn new(loopback_only: bool) -> CachingResolver {
        CachingResolver {
            loopback_only,
            ..CachingResolver::default()
        }
    }

    /// The answer, or a connection error when it must be loopback and is not.
    fn checked(&self, addrs: ResolvedSocketAddrs) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if self.loopback_only && !addrs.iter().all(|a| a.ip().is_loopback()) {
            return Err(ureq::Error::ConnectionFailed);
        }
        Ok(addrs)
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority),
            _ => None,
        };
        let Some(key) = key else {
            return self.checked(self.inner.resolve(uri, config, timeout)?);
        };
        let now = Instant::now();
        // No code holding the lock can panic but for allocation; should one ever, the map is
        // still a valid map, so a poisoned lock is used as it is rather than failing every call.
        let lock = || self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, addrs)) = lock().get(&key) {
            if now.duration_since(*at) < REMEMBER_FOR {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.checked(self.inner.resolve(uri, config, timeout)?)?;
        let mut cache = lock();
        cache.retain(|_, (at, _)| now.duration_since(*at) < REMEMBER_FOR);
        cache.insert(key, (now, addrs.clone()));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(resolver: &CachingResolver, url: &str) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let uri: Uri = url.parse().expect("a URI");
        resolver.resolve(&uri, &Config::default(), NextTimeout::default())
    }

    // IP literals: resolved without asking any name server, and nothing is sent anywhere.
    #[test]
    fn loopback_only_refuses_other_addresses() {
        let strict = CachingResolver::new(true);
        for url in [
            "http://192.0.2.1:8080/",
            "http://[2001:db8::1]:80/",
            "http://0.0.0.0:1/",
        ] {
            assert!(
                matches!(resolve(&strict, url), Err(ureq::Error::ConnectionFailed)),
                "{url}"
            );
        }
        for url in [
            "http://127.0.0.1:8080/",
            "http://127.5.6.7:1/",
            "http://[::1]:80/",
        ] {
            assert!(resolve(&strict, url).is_ok(), "{url}");
        }
        let lax = CachingResolver::default();
        assert!(resolve(&lax, "https://192.0.2.1:443/").is_ok());
        assert!(!CachingResolver::new(false).loopback_only);
    }

    #[test]
    fn a_poisoned_cache_is_still_used() {
        let resolver = CachingResolver::default();
        let _ = std::panic::catch_unwind(|| {
            let _guard = resolver.cache.lock().unwrap();
            panic!("poison the lock");
        });
        assert!(resolver.cache.is_poisoned());
        assert!(resolve(&resolver, "http://127.0.0.1:8080/").is_ok());
        assert!(resolve(&resolver, "http://127.0.0.1:8080/").is_ok());
    }
}
