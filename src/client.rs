//! A reusable client: options checked once, TLS connections kept between calls.

use ureq::http::Method;

use crate::answer::token_from_answer;
use crate::error::Error;
use crate::options::Options;
use crate::query::url_with_query;
use crate::token::Token;
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

impl Client {
    /// `GET {base}{path}?{params}` answered by a token document: refresh and code exchange,
    /// whose secrets travel in the query (built into a buffer wiped once sent).
    pub(crate) fn token_by_query(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Token, Error> {
        let url = url_with_query(&self.transport.base.endpoint(path), params);
        let answer = self.transport.send(Method::GET, &url, Vec::new())?;
        token_from_answer(answer)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.transport.base.url)
            .finish_non_exhaustive()
    }
}
