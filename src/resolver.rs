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
        let now = Instant::now();
        if let Some((at, addrs)) = self.cache.lock().expect("resolver cache").get(&key) {
            if now.duration_since(*at) < REMEMBER_FOR {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let mut cache = self.cache.lock().expect("resolver cache");
        cache.retain(|_, (at, _)| now.duration_since(*at) < REMEMBER_FOR);
        cache.insert(key, (now, addrs.clone()));
        Ok(addrs)
    }
}
