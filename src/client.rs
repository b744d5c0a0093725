//! A reusable client: options checked once, TLS connections kept between calls.

use crate::error::Error;
use crate::options::Options;
use crate::transport::Transport;

/// Holds checked [`Options`] and a pool of kept-alive connections, so that many calls (tokens
/// for many users, say) pay for one TLS handshake rather than one each. Cheap to share between
/// threads: every method takes `&self`.
pub struct Client {
    pub(crate) transport: Transport,
}

impl Client {
    /// Checks the options (base URL, deadline, CA file, proxy) and builds the client. Nothing is
    /// sent until the first call.
    pub fn new(options: &Options) -> Result<Client, Error> {
        Ok(Client {
            transport: Transport::new(options)?,
        })
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.transport.base.url)
            .finish_non_exhaustive()
    }
}
