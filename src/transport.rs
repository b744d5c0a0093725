//! The HTTPS exchange: one configured agent, requests whose secrets are wiped once sent, one
//! deadline across retries, the answer read under a size cap into memory wiped on drop, and
//! transport failures sorted into the library's error classes.

use std::io::{self, Read};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ureq::http::{HeaderName, HeaderValue, Method, Uri};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};
use crate::options::{BaseUrl, Options, TrustStore};
use crate::proxy::{EnvProxy, ProxyRoute};
use crate::resolver::CachingResolver;
use crate::retry::{Resend, RetryPolicy};
use crate::secret::WipedOnDrop;

/// Token documents are a few hundred bytes; anything past this is not one.
pub const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The header Concur's current API uses to tie a request to its logs, both ways.
pub(crate) const CORRELATION_HEADER: &str = "concur-correlationid";

/// What came back: the status, the declared content type, the body (at most
/// [`MAX_ANSWER_BYTES`], decompressed, wiped on drop), the server's correlation id and its
/// `Retry-After`.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Zeroizing<Vec<u8>>,
    /// The `concur-correlationid` the server answered with, else the one sent.
    pub(crate) correlation_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
}

impl Answer {
    /// An answer received some other way (a document handed to the parser, a fuzz input).
    pub(crate) fn received(status: u16, content_type: Option<String>, body: &[u8]) -> Answer {
        Answer {
            status,
            content_type,
            body: Zeroizing::new(body.to_vec()),
            correlation_id: None,
            retry_after: None,
        }
    }
}

/// One request to send: the URL (whose query may carry secrets) and the body are held in
/// buffers wiped when the last copy is dropped, and shared with the HTTP stack without a copy.
pub(crate) struct Outgoing {
    method: Method,
    url: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Bytes>,
    resend: Resend,
}

impl Outgoing {
    /// A request to `url`, copied into a buffer wiped on drop (the caller's own copy should be
    /// a `Zeroizing` one when it carries secrets).
    pub(crate) fn new(method: Method, url: &str, resend: Resend) -> Outgoing {
        Outgoing {
            method,
            url: WipedOnDrop(url.as_bytes().to_vec()).into_bytes(),
            headers: Vec::new(),
            body: None,
            resend,
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Outgoing {
        self.headers.push((name, value));
        self
    }

    /// A body of this content type, already in a buffer that is wiped on drop.
    pub(crate) fn body(mut self, content_type: &'static str, body: Bytes) -> Outgoing {
        self.headers.push((
            ureq::http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        ));
        self.body = Some(body);
        self
    }
}

/// When the whole call (every attempt, every data centre) must be over.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Instant,
    full: Duration,
}

impl Deadline {
    fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// HTTP agents configured from [`Options`]: redirects off, deadline on, and the proxy of each
/// request's host chosen by the [`ProxyRoute`].
pub(crate) struct Transport {
    /// For requests that go straight to their host.
    direct: ureq::Agent,
    /// For requests through the proxy, when there is one (its own pool of connections).
    proxied: Option<ureq::Agent>,
    route: ProxyRoute,
    pub(crate) base: BaseUrl,
    timeout: Duration,
    policy: RetryPolicy,
    correlation_id: Option<String>,
}

/// What a client takes from its surroundings besides its options: the environment's
/// variables, and (for tests) names that resolve to fixed addresses without asking DNS.
pub(crate) struct Surroundings<'a> {
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) hosts: &'a [(&'a str, IpAddr)],
}

impl Transport {
    pub(crate) fn new(options: &Options, around: &Surroundings<'_>) -> Result<Transport, Error> {
        let base = options.validate()?;
        let route = match &options.proxy {
            Some(url) => ProxyRoute::Explicit(
                ureq::Proxy::new(url)
                    .map_err(|_| Error::invalid("the proxy is not a valid proxy URL"))?,
            ),
            None if options.proxy_from_env => match EnvProxy::read(around.env) {
                Some(env) => ProxyRoute::Environment(env),
                None => ProxyRoute::Direct,
            },
            None => ProxyRoute::Direct,
        };
        // An environment proxy the base host would need and cannot have fails here, before
        // any call; other hosts (a geolocation) meet the same error when a call goes there.
        route.proxy_for(&base.host, base.port)?;
        let tls = tls_config(options, load_os_store)?;
        let agent = |proxy: Option<ureq::Proxy>| {
            let config = ureq::Agent::config_builder()
                .timeout_global(Some(options.timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .https_only(!base.plain_http)
                .proxy(proxy)
                .user_agent(options.user_agent())
                .accept("application/json, application/xml;q=0.9, text/xml;q=0.9")
                .max_response_header_size(32 * 1024)
                // Keep the connections of concurrent calls (ureq keeps 3 a host): beyond 3
                // at once, each call would otherwise pay a TLS handshake, which on a small
                // machine is most of the CPU 100 concurrent calls take (bench row 4c).
                .max_idle_connections(64)
                .max_idle_connections_per_host(32)
                .tls_config(tls.clone())
                .build();
            ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                CachingResolver::new(base.plain_http, around.hosts),
            )
        };
        Ok(Transport {
            direct: agent(None),
            proxied: route.proxy().map(|proxy| agent(Some(proxy.clone()))),
            route,
            base,
            timeout: options.timeout,
            policy: RetryPolicy::new(options.retries),
            correlation_id: options.correlation_id.clone(),
        })
    }

    /// The agent for a request to `uri`: through the proxy or direct, by its host and port.
    fn agent_for(&self, uri: &Uri) -> Result<&ureq::Agent, Error> {
        let host = uri.host().unwrap_or("");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        });
        match (self.route.proxy_for(host, port)?, &self.proxied) {
            (None, _) => Ok(&self.direct),
            (Some(_), Some(proxied)) => Ok(proxied),
            // Never happens: a route with a proxy always has its agent. Sending direct instead
            // would go around the proxy, so refuse.
            (Some(_), None) => Err(Error::protocol("no agent for the proxy")),
        }
    }

    /// The deadline of a call starting now.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline {
            at: Instant::now() + self.timeout,
            full: self.timeout,
        }
    }

    /// The `concur-correlationid` for a call: the configured one, else a fresh random UUID.
    pub(crate) fn correlation_id(&self) -> String {
        match &self.correlation_id {
            Some(id) => id.clone(),
            None => crate::random::uuid_v4(),
        }
    }

    /// Sends a request with a fresh deadline and correlation id; see [`Transport::exchange`].
    pub(crate) fn send(&self, outgoing: &Outgoing) -> Result<Answer, Error> {
        self.exchange(outgoing, self.deadline(), &self.correlation_id())
    }

    /// Sends a request and reads the answer, sending it again after a 429/502/503/504 when
    /// the request may be resent and the wait fits in the deadline. The request's secrets are
    /// wiped when the caller drops `outgoing`.
    pub(crate) fn exchange(
        &self,
        outgoing: &Outgoing,
        deadline: Deadline,
        correlation_id: &str,
    ) -> Result<Answer, Error> {
        let mut attempt = 0;
        let mut repeated_on_fresh_connection = false;
        loop {
            let answer = match self.send_once(outgoing, deadline, correlation_id) {
                Ok(answer) => answer,
                // A kept-alive connection the server closed just as the request arrived (load
                // balancers close idle ones): a GET that may be resent goes out once more, on a
                // fresh connection; anything else may have reached the server, and says so.
                Err(Failed::ClosedBeforeAnswer)
                    if outgoing.method == Method::GET
                        && outgoing.resend == Resend::Allowed
                        && !repeated_on_fresh_connection =>
                {
                    repeated_on_fresh_connection = true;
                    continue;
                }
                Err(Failed::ClosedBeforeAnswer) => {
                    return Err(Error::protocol(
                        "the connection closed before any answer; the request may have reached the server",
                    )
                    .with_correlation_id(Some(correlation_id)));
                }
                Err(Failed::Error(e)) => return Err(e.with_correlation_id(Some(correlation_id))),
            };
            match self.policy.wait_before_retry(
                outgoing.resend,
                attempt,
                answer.status,
                answer.retry_after,
                deadline.remaining(),
            ) {
                Some(wait) => {
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                None => return Ok(answer),
            }
        }
    }

    fn send_once(
        &self,
        outgoing: &Outgoing,
        deadline: Deadline,
        correlation_id: &str,
    ) -> Result<Answer, Failed> {
        let remaining = deadline.remaining();
        if remaining.is_zero() {
            return Err(Failed::Error(Error::new(
                ErrorKind::Timeout,
                "no complete answer within the deadline",
            )));
        }
        // The URI shares the wiped buffer: no unwiped copy of a query secret is left behind.
        let uri = Uri::from_maybe_shared(outgoing.url.clone())
            .map_err(|_| Failed::Error(Error::invalid("the request URL is malformed")))?;
        let agent = self.agent_for(&uri).map_err(Failed::Error)?;
        let mut request = ureq::http::Request::builder()
            .method(outgoing.method.clone())
            .uri(uri);
        for (name, value) in &outgoing.headers {
            request = request.header(name, value);
        }
        if let Ok(value) = HeaderValue::from_str(correlation_id) {
            request = request.header(CORRELATION_HEADER, value);
        }
        // A POST or DELETE without a body says `Content-Length: 0`: with no body at all ureq
        // would send `Transfer-Encoding: chunked` and an empty chunk, which some servers and
        // proxies refuse, and which left a kept-alive connection out of step with our test
        // server.
        let body: &[u8] = outgoing.body.as_deref().unwrap_or(b"");
        let with_body = outgoing.body.is_some() || outgoing.method != Method::GET;
        let sent = if with_body {
            let request = request
                .body(body)
                .map_err(|_| Failed::Error(Error::invalid("the request could not be built")))?;
            self.run(agent, request, deadline, remaining)
        } else {
            let request = request
                .body(())
                .map_err(|_| Failed::Error(Error::invalid("the request could not be built")))?;
            self.run(agent, request, deadline, remaining)
        };
        let mut response = match sent {
            Ok(response) => response,
            Err(e) if closed_before_any_answer(&e) => return Err(Failed::ClosedBeforeAnswer),
            Err(e) => return Err(Failed::Error(classify(e))),
        };
        let status = response.status().as_u16();
        let headers = response.headers();
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = text("content-type");
        let correlation_id = text(CORRELATION_HEADER).or_else(|| Some(correlation_id.to_string()));
        let retry_after = text("retry-after").and_then(|v| crate::retry::parse_retry_after(&v));
        let declared_len = match headers.get("content-encoding") {
            None => text("content-length").and_then(|v| v.trim().parse::<u64>().ok()),
            Some(_) => None,
        };
        let body = read_body(response.body_mut(), declared_len).map_err(|e| {
            Failed::Error(
                e.with_status(status)
                    .with_correlation_id(correlation_id.as_deref()),
            )
        })?;
        Ok(Answer {
            status,
            content_type,
            body,
            correlation_id,
            retry_after,
        })
    }

    /// Runs one request; every attempt but a call's first gets what is left of the deadline.
    fn run<B: ureq::AsSendBody>(
        &self,
        agent: &ureq::Agent,
        request: ureq::http::Request<B>,
        deadline: Deadline,
        remaining: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        if deadline.full.saturating_sub(remaining) < Duration::from_millis(1) {
            agent.run(request)
        } else {
            let request = agent
                .configure_request(request)
                .timeout_global(Some(remaining))
                .build();
            agent.run(request)
        }
    }
}

/// Why one attempt failed.
enum Failed {
    /// The connection closed (or was reset) before any byte of an answer: on a kept-alive
    /// connection, the server closed it just as the request arrived.
    ClosedBeforeAnswer,
    Error(Error),
}

fn closed_before_any_answer(error: &ureq::Error) -> bool {
    use io::ErrorKind as K;
    matches!(error, ureq::Error::Io(e) if matches!(e.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe))
}

/// Reads the body into one buffer sized up front (the declared length, else the cap), so that
/// no reallocation leaves an unwiped copy of a token behind; the buffer is wiped on drop.
fn read_body(
    body: &mut ureq::Body,
    declared_len: Option<u64>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let size = declared_len
        .unwrap_or(MAX_ANSWER_BYTES)
        .min(MAX_ANSWER_BYTES) as usize;
    let mut buffer = Zeroizing::new(vec![0u8; size]);
    let mut reader = body.with_config().limit(MAX_ANSWER_BYTES).reader();
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            // Full: the answer must end here, or it is longer than it said (or than the cap).
            let mut probe = [0u8; 1];
            match reader.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(Error::protocol(format!(
                        "the answer is larger than {} KiB, read no further",
                        MAX_ANSWER_BYTES / 1024
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify_io(&e)),
            }
        }
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(classify_io(&e)),
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

/// The TLS configuration: the trust store's roots, and the CA file's certificates on top.
/// `os_store` reads the operating system's store (a test's own in unit tests).
fn tls_config(
    options: &Options,
    os_store: impl FnOnce() -> Result<Vec<Certificate<'static>>, Error>,
) -> Result<TlsConfig, Error> {
    let mozilla = || {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
    };
    let mut certs: Vec<Certificate<'static>> = match options.trust_store {
        // Mozilla's roots alone are ureq's own set: no copy needed.
        TrustStore::Mozilla if options.ca_file.is_none() => {
            return Ok(TlsConfig::builder().root_certs(RootCerts::WebPki).build());
        }
        TrustStore::Mozilla => mozilla().collect(),
        TrustStore::Os => os_store()?,
        TrustStore::Both => mozilla().chain(os_store()?).collect(),
    };
    if let Some(path) = &options.ca_file {
        let cannot = |why: &str| Error::invalid(format!("the CA file {why}"));
        let pem = std::fs::read(path).map_err(|_| cannot("cannot be read"))?;
        let mut extra = 0;
        for item in ureq::tls::parse_pem(&pem) {
            match item.map_err(|_| cannot("is not valid PEM"))? {
                ureq::tls::PemItem::Certificate(cert) => {
                    certs.push(cert);
                    extra += 1;
                }
                _ => continue,
            }
        }
        if extra == 0 {
            return Err(cannot("holds no certificate"));
        }
    }
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(certs)))
        .build())
}

/// The operating system's trust store (on Linux: `SSL_CERT_FILE` and `SSL_CERT_DIR` when set,
/// else OpenSSL's usual places). Files that cannot be read are passed over as long as some
/// certificate is found; none at all is an error, never a silent fallback.
fn load_os_store() -> Result<Vec<Certificate<'static>>, Error> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        return Err(Error::invalid(
            "the OS trust store holds no certificate that could be read (on Linux: the files \
             SSL_CERT_FILE and SSL_CERT_DIR name, else the system's CA bundle)",
        ));
    }
    Ok(found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect())
}

/// Sorts a transport failure into an error class. The words are ours: ureq's own messages
/// can quote the request URL, which for some Concur endpoints carries secrets.
fn classify(error: ureq::Error) -> Error {
    use ureq::Error as U;
    match error {
        U::Timeout(_) => Error::new(ErrorKind::Timeout, "no complete answer within the deadline"),
        U::HostNotFound => Error::new(ErrorKind::Connect, "the host name could not be resolved"),
        U::ConnectionFailed => Error::new(ErrorKind::Connect, "no connection could be made"),
        U::ConnectProxyFailed(_) => Error::new(ErrorKind::Connect, "the proxy refused the tunnel"),
        U::InvalidProxyUrl => Error::invalid("the proxy is not a valid proxy URL"),
        U::Io(e) => classify_io(&e),
        U::Tls(what) => Error::new(ErrorKind::Tls, what),
        U::Rustls(e) => tls_error(&e),
        U::Pem(_) => Error::invalid("the CA file is not valid PEM"),
        U::BodyExceedsLimit(_) => Error::protocol(format!(
            "the answer is larger than {} KiB, read no further",
            MAX_ANSWER_BYTES / 1024
        )),
        U::LargeResponseHeader(_, _) => Error::protocol("the answer's headers are too large"),
        U::Decompress(_, _) => Error::protocol("the answer's compressed body is corrupt"),
        U::Protocol(_) => Error::protocol("the answer is not valid HTTP/1.1"),
        U::BadUri(_) | U::Http(_) => Error::invalid("the request URL is malformed"),
        U::RequireHttpsOnly(_) | U::TlsRequired => {
            Error::invalid("plain HTTP is accepted for loopback hosts only")
        }
        U::TooManyRedirects | U::RedirectFailed => Error::protocol("a redirect was refused"),
        _ => Error::protocol("the exchange failed"),
    }
}

/// A failed handshake in fixed words: rustls's own text can quote every name a certificate
/// holds, which a hostile peer chooses.
fn tls_error(error: &rustls::Error) -> Error {
    use rustls::CertificateError as C;
    use rustls::Error as R;
    let words = match error {
        R::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not trusted (UnknownIssuer): no trusted root issued it"
        }
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate is not valid for name of the host asked for"
        }
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired"
        }
        R::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the server's certificate is not valid yet"
        }
        R::InvalidCertificate(C::Revoked) => "the server's certificate has been revoked",
        R::InvalidCertificate(C::BadSignature | C::BadEncoding) => {
            "the server's certificate is malformed or badly signed"
        }
        R::InvalidCertificate(_) => "the server's certificate was refused",
        R::PeerIncompatible(_) => {
            "the server offers no TLS version or cipher suite this library accepts (TLS 1.2 or newer)"
        }
        R::AlertReceived(rustls::AlertDescription::ProtocolVersion) => {
            "the server offers no TLS version this library accepts (TLS 1.2 or newer)"
        }
        R::AlertReceived(alert) => {
            // The alert is one of rustls's named values (or a number), never the peer's text.
            return Error::new(
                ErrorKind::Tls,
                format!("the server ended the TLS handshake with an alert ({alert:?})"),
            );
        }
        R::NoCertificatesPresented => "the server presented no certificate",
        R::PeerMisbehaved(_)
        | R::InappropriateMessage { .. }
        | R::InappropriateHandshakeMessage { .. } => "the server broke the TLS protocol",
        R::DecryptError | R::InvalidMessage(_) => "the TLS stream was corrupt",
        _ => "the TLS handshake failed",
    };
    Error::new(ErrorKind::Tls, words)
}

fn classify_io(error: &io::Error) -> Error {
    use io::ErrorKind as K;
    // ureq wraps its own errors in io::Error when they cross a reader.
    if let Some(inner) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<ureq::Error>())
    {
        return match inner {
            ureq::Error::Timeout(_) => classify(ureq::Error::Timeout(ureq::Timeout::Global)),
            ureq::Error::BodyExceedsLimit(n) => classify(ureq::Error::BodyExceedsLimit(*n)),
            ureq::Error::Decompress(..) => {
                Error::protocol("the answer's compressed body is corrupt")
            }
            ureq::Error::Protocol(_) => Error::protocol("the answer is not valid HTTP/1.1"),
            ureq::Error::Io(e) => classify_io(e),
            _ => Error::protocol("the answer could not be read"),
        };
    }
    // A failed handshake surfaces as the TLS stream's io::Error around a rustls::Error.
    if let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return tls_error(tls);
    }
    match error.kind() {
        K::TimedOut | K::WouldBlock => {
            Error::new(ErrorKind::Timeout, "no complete answer within the deadline")
        }
        K::UnexpectedEof => Error::protocol("the connection closed before the answer was complete"),
        K::InvalidData => Error::protocol("the answer could not be read"),
        K::ConnectionRefused => Error::new(ErrorKind::Connect, "the connection was refused"),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            Error::new(ErrorKind::Connect, "the connection was closed by the peer")
        }
        _ => Error::new(ErrorKind::Connect, "the connection failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(options: &Options, os: Result<usize, ()>) -> Result<usize, Error> {
        let os_store = || match os {
            // The first Mozilla roots stand in for an OS store of `n` certificates.
            Ok(n) => Ok(webpki_root_certs::TLS_SERVER_ROOT_CERTS[..n]
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect()),
            Err(()) => Err(Error::invalid("the OS trust store holds no certificate")),
        };
        match tls_config(options, os_store)?.root_certs() {
            RootCerts::WebPki => Ok(0),
            RootCerts::Specific(certs) => Ok(certs.len()),
            _ => panic!("unexpected root kind"),
        }
    }

    #[test]
    fn trust_stores_combine_as_documented() {
        let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        let o = |store| Options::new().trust_store(store);
        // Mozilla alone: ureq's built-in set, and the OS store is not read.
        assert_eq!(roots(&o(TrustStore::Mozilla), Err(())).unwrap(), 0);
        assert_eq!(roots(&o(TrustStore::Os), Ok(3)).unwrap(), 3);
        assert_eq!(roots(&o(TrustStore::Both), Ok(3)).unwrap(), mozilla + 3);
        for store in [TrustStore::Os, TrustStore::Both] {
            let e = roots(&o(store), Err(())).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{store:?}");
        }
        // The CA file adds to each.
        let dir = std::env::temp_dir().join(format!("concur-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("one.pem");
        let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
        std::fs::write(
            &pem,
            format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"),
        )
        .unwrap();
        let with = |store| o(store).ca_file(&pem);
        assert_eq!(
            roots(&with(TrustStore::Mozilla), Err(())).unwrap(),
            mozilla + 1
        );
        assert_eq!(roots(&with(TrustStore::Os), Ok(2)).unwrap(), 3);
        assert_eq!(roots(&with(TrustStore::Both), Ok(2)).unwrap(), mozilla + 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Each request's host picks its route: a geolocation named by an answer follows the same
    /// rules as the base host.
    #[test]
    fn every_request_host_picks_its_own_route() {
        let env = |name: &str| match name {
            "HTTPS_PROXY" => Some("http://proxy.example:3128".to_string()),
            "NO_PROXY" => Some("direct.example".to_string()),
            _ => None,
        };
        let around = Surroundings {
            env: &env,
            hosts: &[],
        };
        let options = Options::new().base_url("https://127.0.0.1:9");
        let t = Transport::new(&options, &around).expect("transport");
        let is_direct = |url: &str| {
            let agent = t.agent_for(&url.parse().unwrap()).unwrap();
            std::ptr::eq(agent, &t.direct)
        };
        assert!(is_direct("https://127.0.0.1:9/x"));
        assert!(is_direct("https://direct.example/oauth2/v0/token"));
        assert!(is_direct("https://a.direct.example:8443/"));
        assert!(!is_direct(
            "https://us2.api.concursolutions.com/oauth2/v0/token"
        ));
        assert!(!is_direct("https://[2001:db8::1]/"));
        let proxied = t.proxied.as_ref().expect("a proxied agent");
        assert_eq!(proxied.config().proxy().map(|p| p.port()), Some(3128));
        assert!(t.direct.config().proxy().is_none());

        let off = Transport::new(&options.clone().proxy_from_env(false), &around).unwrap();
        assert!(off.proxied.is_none());
        let a = off
            .agent_for(&"https://us2.api.concursolutions.com/".parse().unwrap())
            .unwrap();
        assert!(std::ptr::eq(a, &off.direct));
    }
}
