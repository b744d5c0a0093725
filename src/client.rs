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
    /// sent until the first call.
    pub fn new(options: &Options) -> Result<Client, Error> {
        Ok(Client {
            transport: Transport::new(options)?,
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
