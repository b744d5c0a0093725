//! Name resolution with a short per-client memory.
//!
//! ureq resolves the host on every request, even one that goes out on a kept-alive pooled
//! connection, and when a deadline is set (we always set one) each lookup runs on a thread of
//! its own. Measured with 500 sequential tokens over one client against the loopback server:
//! a thread spawned per call, and about 30 µs a token of the ~100 µs total. libc keeps no DNS
//! cache either, so against Concur every token also cost a DNS query. Remembering the answer
//! for a short while removes both.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a lookup is reused: short enough to follow DNS changes of Concur's hosts, long
/// enough for a batch of calls.
const REMEMBER_FOR: Duration = Duration::from_secs(30);

/// Delegates to ureq's resolver and remembers each answer for [`REMEMBER_FOR`].
#[derive(Debug, Default)]
pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
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
            return self.inner.resolve(uri, config, timeout);
        };
        self.remembered(key, Instant::now(), || {
            self.inner.resolve(uri, config, timeout)
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
        if let Some((at, addrs)) = self.cache.lock().expect("resolver cache").get(&key) {
            if now.duration_since(*at) < REMEMBER_FOR {
                return Ok(addrs.clone());
            }
        }
        let addrs = lookup()?;
        let mut cache = self.cache.lock().expect("resolver cache");
        cache.retain(|_, (at, _)| now.duration_since(*at) < REMEMBER_FOR);
        cache.insert(key, (now, addrs.clone()));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::net::SocketAddr;

    use super::*;

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
