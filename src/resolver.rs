//! Name resolution with a short per-client memory.
//!
//! ureq resolves the host on every request, even one that goes out on a kept-alive pooled
//! connection, and when a deadline is set (we always set one) each lookup runs on a thread of
//! its own. Measured with 500 sequential tokens over one client against the loopback server:
//! a thread spawned per call, and about 30 µs a token of the ~100 µs total. libc keeps no DNS
//! cache either, so against Concur every token also cost a DNS query. Remembering the answer
//! for a short while removes both.
//!
//! Tests can give names that resolve to fixed addresses without asking any name server (as
//! curl's `--resolve`), so that a request to a name reaches a loopback server directly.
//!
//! For a plain-HTTP base (allowed only for a loopback host, decided by its name), the resolver
//! also refuses any answer that is not a loopback address: a hostile or misconfigured resolver
//! must not turn `http://localhost` into cleartext to a remote host.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
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
    /// Names (lower case) answered with a fixed address, before any lookup.
    fixed: Vec<(String, IpAddr)>,
}

impl CachingResolver {
    /// A resolver; with `loopback_only` (for a plain-HTTP base), an answer holding any address
    /// that is not a loopback address is refused as a connection error.
    /// `fixed` names resolve to their address without a lookup (tests).
    pub(crate) fn new(loopback_only: bool, fixed: &[(&str, IpAddr)]) -> CachingResolver {
        CachingResolver {
            loopback_only,
            fixed: fixed
                .iter()
                .map(|(name, ip)| (name.to_ascii_lowercase(), *ip))
                .collect(),
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
        let fixed = uri.host().and_then(|host| {
            self.fixed
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(host))
        });
        if let Some((_, ip)) = fixed {
            let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                Some("http") => 80,
                _ => 443,
            });
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(*ip, port));
            return self.checked(addrs);
        }
        let key = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority),
            _ => None,
        };
        let Some(key) = key else {
            return self.checked(self.inner.resolve(uri, config, timeout)?);
        };
        self.remembered(key, Instant::now(), || {
            self.checked(self.inner.resolve(uri, config, timeout)?)
        })
    }
}

impl CachingResolver {
    /// The answer for `key` remembered less than [`REMEMBER_FOR`] before `now`, or else a
    /// fresh `lookup`, remembered when it succeeds (a failure is returned, never hidden by an
    /// older answer, and not remembered).
    fn remembered(
        &self,
        key: String,
        now: Instant,
        lookup: impl FnOnce() -> Result<ResolvedSocketAddrs, ureq::Error>,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // No code holding the lock can panic but for allocation; should one ever, the map is
        // still a valid map, so a poisoned lock is used as it is rather than failing every call.
        let lock = || self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, addrs)) = lock().get(&key) {
            if now.duration_since(*at) < REMEMBER_FOR {
                return Ok(addrs.clone());
            }
        }
        let addrs = lookup()?;
        let mut cache = lock();
        cache.retain(|_, (at, _)| now.duration_since(*at) < REMEMBER_FOR);
        cache.insert(key, (now, addrs.clone()));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn resolve(resolver: &CachingResolver, url: &str) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let uri: Uri = url.parse().expect("a URI");
        resolver.resolve(&uri, &Config::default(), NextTimeout::default())
    }

    // IP literals: resolved without asking any name server, and nothing is sent anywhere.
    #[test]
    fn loopback_only_refuses_other_addresses() {
        let strict = CachingResolver::new(true, &[]);
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
        assert!(!CachingResolver::new(false, &[]).loopback_only);
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

    /// A batch against `localhost` whose name stops resolving half-way: the remembered answer
    /// serves the calls within 30 s, and once it is older a lookup runs again and its failure
    /// reaches the caller (ureq's `HostNotFound`, which the transport reports as a `Connect`
    /// error) instead of the stale addresses. A failure is not remembered, so the name is
    /// looked up again on the next call, and a success then is remembered afresh.
    #[test]
    fn an_expired_entry_is_looked_up_again_and_a_failure_is_not_hidden() {
        let resolver = CachingResolver::default();
        let loopback: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let answer = || {
            let mut addrs = resolver.empty();
            addrs.push(loopback);
            Ok(addrs)
        };
        let lookups = Cell::new(0);
        let (lookups_ref, answer_ref) = (&lookups, &answer);
        let resolves = |ok: bool| {
            move || {
                let (lookups, answer) = (lookups_ref, answer_ref);
                lookups.set(lookups.get() + 1);
                if ok {
                    answer()
                } else {
                    Err(ureq::Error::HostNotFound)
                }
            }
        };
        let key = || "localhost:443".to_string();
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);

        let first = resolver.remembered(key(), at(0), resolves(true)).unwrap();
        assert_eq!(&first[..], &[loopback]);
        // Within 30 s the name is not looked up, even though it no longer resolves.
        let cached = resolver.remembered(key(), at(29), resolves(false)).unwrap();
        assert_eq!(&cached[..], &[loopback]);
        assert_eq!(lookups.get(), 1);
        // Past 30 s it is, and the failure comes back.
        let failed = resolver.remembered(key(), at(30), resolves(false));
        assert!(
            matches!(failed, Err(ureq::Error::HostNotFound)),
            "{failed:?}"
        );
        assert_eq!(lookups.get(), 2);
        // Not remembered: the next call looks up again, and fails again.
        let again = resolver.remembered(key(), at(31), resolves(false));
        assert!(matches!(again, Err(ureq::Error::HostNotFound)), "{again:?}");
        assert_eq!(lookups.get(), 3);
        // The name resolves again: remembered from now on.
        assert!(resolver.remembered(key(), at(32), resolves(true)).is_ok());
        assert!(resolver.remembered(key(), at(61), resolves(false)).is_ok());
        assert_eq!(lookups.get(), 4);
    }
}
