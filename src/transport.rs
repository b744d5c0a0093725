//! The HTTPS exchange: one configured agent, one GET, an answer read under a size cap, and
//! transport failures sorted into the library's error classes.

use std::io;
use std::sync::Arc;

use ureq::http::{HeaderName, HeaderValue, Method};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::error::{Error, ErrorKind};
use crate::options::{BaseUrl, Options};
use crate::resolver::CachingResolver;

/// Token documents are a few hundred bytes; anything past this is not one.
pub const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// What came back: the status, the declared content type, and the body (at most
/// [`MAX_ANSWER_BYTES`], decompressed).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// An HTTP agent configured from [`Options`]: redirects off, deadline on, proxy only when asked.
pub(crate) struct Transport {
    agent: ureq::Agent,
    pub(crate) base: BaseUrl,
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
            .accept("application/xml, text/xml;q=0.9, application/json;q=0.8")
            .max_response_header_size(32 * 1024)
            .tls_config(tls_config(options)?)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            CachingResolver::default(),
        );
        Ok(Transport { agent, base })
    }

    /// Sends a request without a body and reads the answer. The headers (and the URL, which
    /// may carry secrets in its query) are dropped, and the credentials in them wiped, when
    /// this returns.
    pub(crate) fn send(
        &self,
        method: Method,
        url: &str,
        headers: Vec<(HeaderName, HeaderValue)>,
    ) -> Result<Answer, Error> {
        let is_post = method == Method::POST;
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        // A POST without a body says `Content-Length: 0`: with no body at all ureq would send
        // `Transfer-Encoding: chunked` and an empty chunk, which some servers and proxies
        // refuse, and which left a kept-alive connection out of step with our test server.
        let mut response = if is_post {
            let request = request
                .body(&b""[..])
                .map_err(|_| Error::invalid("the request could not be built"))?;
            self.agent.run(request)
        } else {
            let request = request
                .body(())
                .map_err(|_| Error::invalid("the request could not be built"))?;
            self.agent.run(request)
        }
        .map_err(classify)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(classify)
            .map_err(|e| e.with_status(status))?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
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
        // rustls names certificate and protocol faults without quoting any traffic.
        U::Rustls(e) => Error::new(ErrorKind::Tls, e.to_string()),
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
            _ => Error::protocol("the answer could not be read"),
        };
    }
    // A failed handshake surfaces as the TLS stream's io::Error around a rustls::Error.
    if let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return Error::new(ErrorKind::Tls, tls.to_string());
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
