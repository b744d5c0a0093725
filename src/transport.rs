//! The HTTPS exchange: one configured agent, requests whose secrets are wiped once sent, one
//! deadline across retries, the answer read under a size cap into memory wiped on drop, and
//! transport failures sorted into the library's error classes.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ureq::http::{HeaderName, HeaderValue, Method, Uri};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};
use crate::options::{BaseUrl, Options};
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

/// An HTTP agent configured from [`Options`]: redirects off, deadline on, proxy only when asked.
pub(crate) struct Transport {
    agent: ureq::Agent,
    pub(crate) base: BaseUrl,
    timeout: Duration,
    policy: RetryPolicy,
    correlation_id: Option<String>,
}

impl Transport {
    pub(crate) fn new(options: &Options) -> Result<Transport, Error> {
        let base = options.validate()?;
        let proxy = match &options.proxy {
            Some(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|_| Error::invalid("the proxy is not a valid proxy URL"))?,
            ),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(!base.plain_http)
            .proxy(proxy)
            .user_agent(options.user_agent())
            .accept("application/json, application/xml;q=0.9, text/xml;q=0.9")
            .max_response_header_size(32 * 1024)
            .tls_config(tls_config(options)?)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            CachingResolver::new(base.plain_http),
        );
        Ok(Transport {
            agent,
            base,
            timeout: options.timeout,
            policy: RetryPolicy::new(options.retries),
            correlation_id: options.correlation_id.clone(),
        })
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
                &answer,
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
            self.run(request, deadline, remaining)
        } else {
            let request = request
                .body(())
                .map_err(|_| Failed::Error(Error::invalid("the request could not be built")))?;
            self.run(request, deadline, remaining)
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
        request: ureq::http::Request<B>,
        deadline: Deadline,
        remaining: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        if deadline.full.saturating_sub(remaining) < Duration::from_millis(1) {
            self.agent.run(request)
        } else {
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(Some(remaining))
                .build();
            self.agent.run(request)
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

fn tls_config(options: &Options) -> Result<TlsConfig, Error> {
    let roots = match &options.ca_file {
        None => RootCerts::WebPki,
        Some(path) => {
            let cannot = |why: &str| Error::invalid(format!("the CA file {why}"));
            let pem = std::fs::read(path).map_err(|_| cannot("cannot be read"))?;
            let mut certs: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect();
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
            RootCerts::Specific(Arc::new(certs))
        }
    };
    Ok(TlsConfig::builder().root_certs(roots).build())
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
