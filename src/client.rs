//! A reusable client: options checked once, TLS connections kept between calls.

use crate::error::Error;
use crate::options::Options;
use crate::transport::Transport;

/// Holds checked [`Options`] and a pool of kept-alive connections, so that many calls (tokens
/// for many users, say) pay for one TLS handshake rather than one each. Cheap to share between
/// threads: every method takes `&self`.
pub struct Client {
    pub(crate) transport: Transport,
    /// Whether the options set a base URL: current-API calls then all go there.
    pub(crate) base_is_set: bool,
    trusted_hosts: Vec<String>,
}

impl Client {
    /// Checks the options (base URL, deadline, CA file, proxy) and builds the client. Nothing is
    /// sent until the first call. This is when the environment is read: the proxy variables
    /// (unless [`Options::proxy`] is set or [`Options::proxy_from_env`] is off) and, with
    /// [`TrustStore::Os`](crate::TrustStore::Os) or `Both`, the operating system's trust store.
    pub fn new(options: &Options) -> Result<Client, Error> {
        let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        Client::with_surroundings(options, &env, &[])
    }

    /// [`Client::new`], with the environment's variables read through `env` instead of the
    /// process's, and `hosts` resolved to fixed addresses without any lookup: for tests, which
    /// must not change their own process's environment while other tests run. Not part of the
    /// API.
    #[doc(hidden)]
    pub fn with_surroundings(
        options: &Options,
        env: &dyn Fn(&str) -> Option<String>,
        hosts: &[(&str, std::net::IpAddr)],
    ) -> Result<Client, Error> {
        let around = crate::transport::Surroundings { env, hosts };
        Ok(Client {
            transport: Transport::new(options, &around)?,
            base_is_set: options.base_url_set,
            trusted_hosts: options.trusted_hosts.clone(),
        })
    }

    /// The hosts the options added to Concur's own as trusted data centres.
    pub(crate) fn trusted_hosts(&self) -> &[String] {
        &self.trusted_hosts
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.transport.base.url)
            .finish_non_exhaustive()
    }
}
