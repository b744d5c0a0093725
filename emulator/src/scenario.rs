//! The answers: Concur's own behaviour, and the hostile ones a client must survive.

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::http::{After, Request, status_line, write_response};
use crate::oauth::{self, Endpoint, Reply, issue};
use crate::{IssuedToken, Listener, RecordedRequest, Shared, oauth2};

/// Every scenario a base URL `{base}/s/{name}` can select, with what it does. `NNN`, `MS` and
/// `PORT` stand for numbers chosen by the test.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "(none)",
        "behave like Concur: check key and credentials, answer an XML token document",
    ),
    (
        "json",
        "as (none), in JSON with Content-Type application/json",
    ),
    (
        "casing",
        "as (none), with other letter cases, padded values and XML escapes",
    ),
    (
        "legacy",
        "as (none), without Instance_Url and Refresh_Token",
    ),
    (
        "evil-instance",
        "as (none), with an Instance_Url on a host that is not Concur's",
    ),
    (
        "bad-date",
        "as (none), with an Expiration_date that is not a date",
    ),
    ("gzip", "as (none), gzip-encoded"),
    ("chunked", "as (none), in chunked transfer encoding"),
    (
        "error-200",
        "HTTP 200 with an Error document saying the credentials are wrong",
    ),
    (
        "error-200-other",
        "HTTP 200 with an Error document about something else",
    ),
    ("status-NNN", "HTTP NNN with an Error document"),
    ("json-error-NNN", "HTTP NNN with a JSON Error document"),
    (
        "redirect-PORT",
        "HTTP 302 to https://localhost:PORT/net2/oauth2/accesstoken.ashx",
    ),
    ("slow-headers-MS", "wait MS ms before answering"),
    (
        "hang-MS",
        "oauth2/v0: log the request, then wait MS ms and close without processing it",
    ),
    ("trickle-MS", "the token document one byte every MS ms"),
    ("huge", "a 64 MiB body with Content-Length"),
    ("huge-chunked", "a 64 MiB chunked body"),
    ("entity-bomb", "a DTD of nested entities"),
    ("deep", "10,000 nested elements"),
    ("html", "HTTP 200 with an HTML sign-in page"),
    ("garbage", "HTTP 200 with random bytes"),
    ("empty", "HTTP 200 with an empty body"),
    ("no-token", "a token document without Token"),
    ("empty-token", "a token document whose Token is empty"),
    ("bad-utf8", "a token document with invalid UTF-8"),
    (
        "unknown-document",
        "HTTP 200 with an XML document of another kind",
    ),
    (
        "short-body",
        "a Content-Length longer than the body, then close",
    ),
    ("close", "close the connection without answering"),
    (
        "expires-number",
        "oauth2/v0: as (none), with expires_in as the JSON number 3600, not the string \"3600\"",
    ),
    (
        "retry-STATUS-K-AFTER-TAG",
        "oauth2/v0: the first K requests with exactly this scenario answer STATUS (429, 502, \
         503, 504) with Retry-After: AFTER seconds (`date`: an HTTP-date 1 s ahead; `none`: no \
         header); later ones behave as (none). TAG: free text, one counter per whole name",
    ),
    (
        "geo16-http-PORT",
        "oauth2/v0: code 16 (user lives elsewhere) naming http://127.0.0.1:PORT",
    ),
    (
        "geo16-https-PORT",
        "oauth2/v0: code 16 naming https://127.0.0.1:PORT",
    ),
    ("geo16-name-HOST", "oauth2/v0: code 16 naming https://HOST"),
    (
        "geo-token-http-PORT",
        "oauth2/v0: as (none), tokens' geolocation http://127.0.0.1:PORT (also geo-token-https-PORT)",
    ),
    (
        "geo-token-name-HOST",
        "oauth2/v0: as (none), tokens' geolocation https://HOST",
    ),
    (
        "error-CODE",
        "oauth2/v0: Concur's documented JSON error for numeric CODE (status, error, \
         error_description; 16 names the second data centre; 136, undocumented, is invalid_grant), \
         or the exchange endpoint's error for INVALIDTOKEN, INVALIDAPP, INVALIDSCOPES, UNAUTHORIZED",
    ),
    (
        "json-500",
        "oauth2/v0: HTTP 500 with a plain-text message (status-NNN answers JSON on oauth2 paths)",
    ),
];

const NATIVE_PATH: &str = "/net2/oauth2/accesstoken.ashx";
const HOSTILE_SIZE: usize = 64 * 1024 * 1024;

/// How a token document is written.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Xml,
    Json,
    Casing,
    Legacy,
    BadDate,
    /// An `Instance_Url` on a host no client may trust.
    EvilInstance,
}

pub(crate) fn respond(
    request: &Request,
    out: &mut dyn Write,
    listener: Listener,
    shared: &Shared,
) -> io::Result<After> {
    let (path, _query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    // Not on the hostile listener, which plays a stranger's server.
    if listener != Listener::Evil
        && (path == crate::CONTROL_PREFIX || path.starts_with("/_emulator/"))
    {
        return crate::control::answer(request, out, shared);
    }
    let (scenario, endpoint) = match path.strip_prefix("/s/") {
        Some(rest) => rest.split_once('/').map_or((rest, ""), |(s, e)| (s, e)),
        None => ("", path.trim_start_matches('/')),
    };
    let record = RecordedRequest {
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
        scenario: scenario.to_string(),
        tls: listener.tls(),
        listener,
        body: String::from_utf8_lossy(&request.body).into_owned(),
        form: oauth2::form_of(request),
        issued: None,
        status: 0,
        time: shared.now(),
    };
    let mut recorder = Recorder {
        out,
        shared,
        record: Some(record),
    };
    let fault = match listener {
        Listener::Evil => None,
        _ => shared.state().take_fault(&format!("/{endpoint}")),
    };
    let fault = match fault {
        Some(crate::FaultKind::Latency { ms }) => {
            sleep(Duration::from_millis(ms));
            None
        }
        other => other,
    };
    let result = match listener {
        _ if fault.is_some() => {
            let fault = fault.expect("matched just above");
            crate::control::play_fault(&fault, endpoint, &mut recorder)
        }
        Listener::Evil => write_response(&mut recorder, 404, &[], b"").map(|_| After::KeepAlive),
        _ if crate::identity::serves(endpoint) => {
            crate::identity::answer(request, endpoint, listener, &mut recorder, shared)
        }
        _ if oauth2::serves(endpoint) => {
            oauth2::answer(request, scenario, endpoint, listener, &mut recorder, shared)
                .unwrap_or_else(|| hostile(scenario, &mut recorder, shared))
        }
        _ => answer(request, scenario, endpoint, &mut recorder),
    };
    recorder.log();
    result
}

/// The answer's writer, which puts the request into the log just before the first byte of
/// its answer leaves (or, for an answer of no bytes, before the connection moves on). A test
/// that reads the log as soon as its call returns therefore always finds the request there:
/// logging after the answer had been written raced the client (issue 14).
struct Recorder<'a> {
    out: &'a mut dyn Write,
    shared: &'a Shared,
    record: Option<RecordedRequest>,
}

impl Recorder<'_> {
    /// Notes the token the answer is about to carry; call before writing the answer.
    fn issued(&mut self, issued: IssuedToken) {
        if let Some(record) = &mut self.record {
            record.issued = Some(issued);
        }
    }

    /// Logs the request, once; a no-op after the first call.
    fn log(&mut self) {
        if let Some(record) = self.record.take()
            && self.shared.recording.load(Ordering::SeqCst)
        {
            self.shared
                .log
                .lock()
                .expect("request log poisoned")
                .push(record);
        }
    }
}

impl Recorder<'_> {
    /// Notes the status of the answer whose first bytes are `buf`.
    fn status_from(&mut self, buf: &[u8]) {
        if let Some(record) = &mut self.record
            && record.status == 0
            && let Some(code) = buf.strip_prefix(b"HTTP/1.1 ")
            && let Some(code) = code.get(..3)
        {
            record.status = std::str::from_utf8(code)
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
        }
    }
}

impl Write for Recorder<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.status_from(buf);
        self.log();
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.status_from(buf);
        self.log();
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn answer(
    request: &Request,
    scenario: &str,
    endpoint: &str,
    out: &mut Recorder<'_>,
) -> io::Result<After> {
    let shared = out.shared;
    let Some(endpoint) = Endpoint::from_path(&format!("/{endpoint}")) else {
        return error_document(out, 404, "The requested resource was not found.");
    };
    if let Some(code) = scenario.strip_prefix("status-") {
        let status = code.parse().unwrap_or(500);
        return error_document(out, status, message_for(status));
    }
    if let Some(code) = scenario.strip_prefix("json-error-") {
        let status = code.parse().unwrap_or(500);
        let body = format!(
            r#"{{"Error":{{"Message":"{}","Server-Time":"{}","Id":"{}"}}}}"#,
            message_for(status),
            server_time(),
            error_id(shared)
        );
        return write_response(out, status, &json_headers(), body.as_bytes())
            .map(|_| After::KeepAlive);
    }
    if let Some(port) = scenario.strip_prefix("redirect-") {
        let location = format!("https://localhost:{port}{NATIVE_PATH}");
        let headers = [("Location", location), xml_type()];
        write_response(out, 302, &headers, b"<html>Moved</html>")?;
        return Ok(After::KeepAlive);
    }
    if let Some(ms) = scenario.strip_prefix("slow-headers-") {
        sleep(Duration::from_millis(ms.parse().unwrap_or(5000)));
        let issued = issue(shared, "anonymous", None);
        let body = token_document(&issued, Style::Xml);
        out.issued(issued);
        return write_response(out, 200, &[xml_type()], body.as_bytes()).map(|_| After::Close);
    }
    if let Some(ms) = scenario.strip_prefix("trickle-") {
        let pause = Duration::from_millis(ms.parse().unwrap_or(1000));
        let body = token_document(&issue(shared, "anonymous", None), Style::Xml);
        let head = format!(
            "{}Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            status_line(200),
            body.len()
        );
        out.write_all(head.as_bytes())?;
        for byte in body.as_bytes() {
            out.write_all(&[*byte])?;
            out.flush()?;
            sleep(pause);
        }
        return Ok(After::Close);
    }
    let style = match scenario {
        "" => Style::Xml,
        "json" => Style::Json,
        "casing" => Style::Casing,
        "legacy" => Style::Legacy,
        "bad-date" => Style::BadDate,
        "evil-instance" => Style::EvilInstance,
        "gzip" | "chunked" => Style::Xml,
        other => return hostile(other, out, shared),
    };
    let issued = match oauth::handle(endpoint, request, shared) {
        Reply::Token(issued) => issued,
        Reply::Refuse(status, message) => return error_document(out, status, message),
        Reply::Empty => return write_response(out, 200, &[], b"").map(|_| After::KeepAlive),
        Reply::Redirect(location) => {
            return write_response(out, 302, &[("Location", location)], b"")
                .map(|_| After::KeepAlive);
        }
    };
    let body = token_document(&issued, style);
    out.issued(issued);
    match scenario {
        "gzip" => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(body.as_bytes())?;
            let headers = [xml_type(), ("Content-Encoding", "gzip".to_string())];
            write_response(out, 200, &headers, &encoder.finish()?)?;
        }
        "chunked" => write_chunked(out, body.as_bytes(), 7)?,
        _ if style == Style::Json => write_response(out, 200, &json_headers(), body.as_bytes())?,
        _ => write_response(out, 200, &[xml_type()], body.as_bytes())?,
    }
    Ok(After::KeepAlive)
}

/// The answers no real Concur gives: each must end in a clean, typed error on the client.
fn hostile(scenario: &str, out: &mut dyn Write, shared: &Shared) -> io::Result<After> {
    let xml = |body: String| (vec![xml_type()], body.into_bytes());
    let (headers, body) = match scenario {
        "error-200" => xml(error_xml(
            shared,
            "Invalid login credentials or consumer key.",
        )),
        "error-200-other" => xml(error_xml(shared, "The service is in maintenance mode.")),
        "entity-bomb" => {
            let mut dtd = String::from("<!ENTITY a0 \"lol\">");
            for i in 1..10 {
                let prev = format!("&a{};", i - 1);
                dtd.push_str(&format!("<!ENTITY a{i} \"{}\">", prev.repeat(10)));
            }
            xml(format!(
                "<?xml version=\"1.0\"?><!DOCTYPE Access_Token [{dtd}]>\
                 <Access_Token><Token>&a9;</Token></Access_Token>"
            ))
        }
        "deep" => xml(format!(
            "<Access_Token>{}<Token>t</Token>{}</Access_Token>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        )),
        "html" => (
            vec![("Content-Type", "text/html; charset=utf-8".to_string())],
            b"<!DOCTYPE html><html><head><title>SAP Concur Sign In</title></head>\
              <body><form method=\"post\"><input name=\"username\"></form></body></html>"
                .to_vec(),
        ),
        "garbage" => {
            let mut state = shared.seed | 1;
            let bytes = (0..4096)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            (vec![xml_type()], bytes)
        }
        "empty" => (vec![xml_type()], Vec::new()),
        "no-token" => xml(
            "<Access_Token><Expiration_date>6/1/2030 8:00:00 AM</Expiration_date>\
             <Refresh_Token>r</Refresh_Token></Access_Token>"
                .to_string(),
        ),
        "empty-token" => xml(
            "<Access_Token><Token>  </Token><Expiration_date>6/1/2030 8:00:00 AM</Expiration_date>\
             </Access_Token>"
                .to_string(),
        ),
        "bad-utf8" => {
            let mut body = b"<Access_Token><Token>abc".to_vec();
            body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
            body.extend_from_slice(b"</Token></Access_Token>");
            (vec![xml_type()], body)
        }
        "unknown-document" => xml("<Envelope><Body>hello</Body></Envelope>".to_string()),
        "huge" => {
            let head = format!(
                "{}Content-Type: text/xml\r\nContent-Length: {HOSTILE_SIZE}\r\n\r\n",
                status_line(200)
            );
            out.write_all(head.as_bytes())?;
            stream_filler(out, |out, chunk| out.write_all(chunk))?;
            return Ok(After::Close);
        }
        "huge-chunked" => {
            let head = format!(
                "{}Content-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n",
                status_line(200)
            );
            out.write_all(head.as_bytes())?;
            stream_filler(out, |out, chunk| {
                out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                out.write_all(chunk)?;
                out.write_all(b"\r\n")
            })?;
            out.write_all(b"0\r\n\r\n")?;
            return Ok(After::Close);
        }
        "short-body" => {
            let body = token_document(&issue(shared, "anonymous", None), Style::Xml);
            let head = format!(
                "{}Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
                status_line(200),
                body.len() + 100
            );
            out.write_all(head.as_bytes())?;
            out.write_all(body.as_bytes())?;
            out.flush()?;
            return Ok(After::Close);
        }
        "close" => return Ok(After::Close),
        name if crate::faults::handles(name) => return crate::faults::answer(name, out, shared),
        _ => return error_document(out, 404, "Unknown test scenario."),
    };
    write_response(out, 200, &headers, &body)?;
    Ok(After::KeepAlive)
}

/// Writes 64 MiB of XML-looking filler through `write`, stopping early when the client hangs up.
fn stream_filler(
    out: &mut dyn Write,
    mut write: impl FnMut(&mut dyn Write, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let chunk = b"<a>filler</a>".repeat(64 * 1024 / 13);
    let mut sent = 0;
    while sent + chunk.len() <= HOSTILE_SIZE {
        write(out, &chunk)?;
        sent += chunk.len();
    }
    write(out, &vec![b' '; HOSTILE_SIZE - sent])?;
    out.flush()
}

fn write_chunked(out: &mut dyn Write, body: &[u8], size: usize) -> io::Result<()> {
    let mut wire = status_line(200).into_bytes();
    wire.extend_from_slice(b"Content-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in body.chunks(size) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    out.write_all(&wire)?;
    out.flush()
}

fn message_for(status: u16) -> &'static str {
    match status {
        401 => "Invalid login ID or password.",
        403 => "Invalid consumer key.",
        404 => "The requested resource was not found.",
        429 => "Too many requests.",
        500..=599 => "An internal error occurred. Please try again later.",
        _ => "The request could not be completed.",
    }
}

fn error_document(out: &mut dyn Write, status: u16, message: &str) -> io::Result<After> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Message>{message}</Message>\
         <Server-Time>{}</Server-Time><Id>{}</Id></Error>",
        server_time(),
        error_id_from(status)
    );
    write_response(out, status, &[xml_type()], body.as_bytes())?;
    Ok(After::KeepAlive)
}

fn error_xml(shared: &Shared, message: &str) -> String {
    format!(
        "<Error><Message>{message}</Message><Server-Time>{}</Server-Time><Id>{}</Id></Error>",
        server_time(),
        error_id(shared)
    )
}

fn error_id(shared: &Shared) -> String {
    format!("ERR-{:08X}", shared.seed as u32)
}

fn error_id_from(status: u16) -> String {
    format!("ERR-{status:03}-0001")
}

fn xml_type() -> (&'static str, String) {
    ("Content-Type", "text/xml; charset=utf-8".to_string())
}

fn json_headers() -> Vec<(&'static str, String)> {
    vec![(
        "Content-Type",
        "application/json; charset=utf-8".to_string(),
    )]
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn server_time() -> String {
    let (y, m, d, hh, mm, ss) = civil(now());
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}")
}

fn token_document(t: &IssuedToken, style: Style) -> String {
    match style {
        Style::Xml => format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Access_Token>\r\n  \
             <Instance_Url>{}</Instance_Url>\r\n  <Token>{}</Token>\r\n  \
             <Expiration_date>{}</Expiration_date>\r\n{}</Access_Token>",
            t.instance_url,
            t.token,
            t.expiration_date,
            if t.refresh_token.is_empty() {
                String::new()
            } else {
                format!("  <Refresh_Token>{}</Refresh_Token>\r\n", t.refresh_token)
            }
        ),
        Style::Json => format!(
            r#"{{"Access_Token":{{"Instance_Url":"{}","Token":"{}","Expiration_date":"{}"{}}}}}"#,
            t.instance_url,
            t.token,
            t.expiration_date,
            if t.refresh_token.is_empty() {
                String::new()
            } else {
                format!(r#","Refresh_Token":"{}""#, t.refresh_token)
            }
        ),
        Style::Casing => format!(
            "<access_token>\n <INSTANCE_URL>\n  {}\n </INSTANCE_URL>\n <token>  {}  </token>\n \
             <Expiration_Date>\t{}\t</Expiration_Date>\n <refresh_token><![CDATA[{}]]></refresh_token>\n\
             <!-- a comment --></access_token>",
            t.instance_url.replace('/', "&#x2F;"),
            t.token.replace('_', "&#95;"),
            t.expiration_date,
            t.refresh_token
        ),
        Style::EvilInstance => format!(
            "<Access_Token><Instance_Url>https://concursolutions.com.attacker.example/</Instance_Url>\
             <Token>{}</Token><Expiration_date>{}</Expiration_date></Access_Token>",
            t.token, t.expiration_date
        ),
        Style::Legacy => format!(
            "<Access_Token><Token>{}</Token><Expiration_date>{}</Expiration_date></Access_Token>",
            t.token, t.expiration_date
        ),
        Style::BadDate => format!(
            "<Access_Token><Token>{}</Token><Expiration_date>sometime next year</Expiration_date>\
             <Refresh_Token>{}</Refresh_Token></Access_Token>",
            t.token, t.refresh_token
        ),
    }
}

/// `M/D/YYYY h:mm:ss AM|PM`, the way Concur writes its expiry dates (UTC).
pub fn concur_date(unix: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(unix);
    let (h12, half) = match hh {
        0 => (12, "AM"),
        1..=11 => (hh, "AM"),
        12 => (12, "PM"),
        _ => (hh - 12, "PM"),
    };
    format!("{m}/{d}/{y} {h12}:{mm:02}:{ss:02} {half}")
}

/// Unix seconds to (year, month, day, hour, minute, second), UTC (Howard Hinnant's algorithm).
pub(crate) fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::concur_date;

    #[test]
    fn dates_are_written_the_concur_way() {
        assert_eq!(concur_date(1_401_609_600), "6/1/2014 8:00:00 AM");
        assert_eq!(concur_date(1_401_652_800), "6/1/2014 8:00:00 PM");
        assert_eq!(concur_date(1_401_580_800), "6/1/2014 12:00:00 AM");
        assert_eq!(concur_date(951_782_400), "2/29/2000 12:00:00 AM");
    }
}
