//! Reading Concur's answers: the `<Access_Token>` document, its JSON twin, and the `<Error>`
//! document. Element names are matched without regard to case, since Concur's own pages spell
//! them several ways (`Expiration_date`/`Expiration_Date`, `Instance_Url`/`Instance_URL`).

use crate::error::Error;
use crate::net2::date::parse_concur_date;
use crate::net2::token::Token;

/// What a well-formed answer turned out to be.
#[derive(Debug)]
pub(crate) enum Document {
    Token(Token),
    Error(ConcurError),
}

/// The content of Concur's `<Error>` document.
#[derive(Debug, Default)]
pub(crate) struct ConcurError {
    pub(crate) message: Option<String>,
    pub(crate) id: Option<String>,
}

/// A key/value view of the fields of either document, whatever its syntax.
type Fields = Vec<(String, String)>;

/// Far more than any token document has; a bound on the work a hostile answer can cause.
const MAX_XML_NODES: u32 = 2_000;

/// Parses an answer body. `content_type` decides between JSON and XML when it names JSON;
/// otherwise the first character does.
pub(crate) fn parse(body: &[u8], content_type: Option<&str>) -> Result<Document, Error> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::protocol("the answer is not valid UTF-8"))?
        .trim();
    if text.is_empty() {
        return Err(Error::protocol("the answer is empty"));
    }
    let says_json = content_type.is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    if looks_like_html(text) {
        return Err(Error::protocol(
            "the answer is an HTML page, not a token document (is the base URL right?)",
        ));
    }
    let (root, fields) = if says_json || text.starts_with('{') {
        json_fields(text)?
    } else if text.starts_with('<') {
        xml_fields(text)?
    } else {
        return Err(Error::protocol("the answer is neither XML nor JSON"));
    };
    if root.eq_ignore_ascii_case("Access_Token") {
        token_from(&fields).map(Document::Token)
    } else if root.eq_ignore_ascii_case("Error") {
        Ok(Document::Error(ConcurError {
            message: field(&fields, "Message").map(str::to_string),
            id: field(&fields, "Id").map(str::to_string),
        }))
    } else {
        Err(Error::protocol("the answer is not a token document"))
    }
}

/// Sign-in and error pages come as HTML, often with a DOCTYPE that the XML reader refuses.
fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn token_from(fields: &Fields) -> Result<Token, Error> {
    let token =
        field(fields, "Token").ok_or_else(|| Error::protocol("the token document has no Token"))?;
    let refresh_token = field(fields, "Refresh_Token");
    // Both travel in HTTP headers and query strings later: refuse what could split a header.
    for value in [Some(token), refresh_token].into_iter().flatten() {
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::protocol(
                "the token document holds a token with spaces or control characters",
            ));
        }
    }
    let expiration_date = field(fields, "Expiration_Date");
    let instance_url = field(fields, "Instance_Url");
    if instance_url.is_some_and(|u| u.chars().any(char::is_control)) {
        return Err(Error::protocol(
            "the token document holds a malformed Instance_Url",
        ));
    }
    Ok(Token {
        token: token.to_string(),
        refresh_token: refresh_token.map(str::to_string),
        expiration_date: expiration_date.map(str::to_string),
        expires_at: expiration_date.and_then(parse_concur_date),
        instance_url: instance_url.map(str::to_string),
    })
}

fn xml_fields(text: &str) -> Result<(String, Fields), Error> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..Default::default()
    };
    // roxmltree's messages quote positions and characters of the answer, which may hold a
    // token: say what kind of fault it was and nothing more.
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => {
            Error::protocol("the answer has a document type declaration, which is refused")
        }
        roxmltree::Error::NodesLimitReached => Error::protocol("the answer has too many XML nodes"),
        _ => Error::protocol("the answer is malformed XML"),
    })?;
    let root = doc.root_element();
    let fields = root
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            let text: String = n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect();
            (n.tag_name().name().to_string(), text.trim().to_string())
        })
        .collect();
    Ok((root.tag_name().name().to_string(), fields))
}

fn json_fields(text: &str) -> Result<(String, Fields), Error> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| Error::protocol("the answer is malformed JSON"))?;
    let serde_json::Value::Object(outer) = value else {
        return Err(Error::protocol("the answer is not a token document"));
    };
    let mut entries = outer.into_iter();
    let (Some((root, serde_json::Value::Object(inner))), None) = (entries.next(), entries.next())
    else {
        return Err(Error::protocol("the answer is not a token document"));
    };
    let fields = inner
        .into_iter()
        .filter_map(|(name, value)| match value {
            serde_json::Value::String(s) => Some((name, s.trim().to_string())),
            serde_json::Value::Number(n) => Some((name, n.to_string())),
            _ => None,
        })
        .collect();
    Ok((root, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn token(body: &str) -> Token {
        match parse(body.as_bytes(), None).expect("parses") {
            Document::Token(t) => t,
            other => panic!("not a token: {other:?}"),
        }
    }

    fn protocol_error(body: &[u8]) -> String {
        let e = parse(body, None).expect_err("must fail");
        assert_eq!(e.kind(), ErrorKind::Protocol);
        e.to_string()
    }

    #[test]
    fn the_documented_answer() {
        let t = token(
            "<Access_Token><Token>abc</Token><Expiration_date>6/1/2014 8:00:00 AM\
             </Expiration_date><Refresh_Token>def</Refresh_Token></Access_Token>",
        );
        assert_eq!(t.token(), "abc");
        assert_eq!(t.refresh_token(), Some("def"));
        assert_eq!(t.expiration_date(), Some("6/1/2014 8:00:00 AM"));
        assert_eq!(t.expires_at(), Some(1_401_609_600));
        assert_eq!(t.instance_url(), None);
    }

    #[test]
    fn case_whitespace_escapes_cdata_and_bom() {
        let t = token(
            "\u{feff}<?xml version=\"1.0\"?>\n<ACCESS_TOKEN> <instance_URL> https:&#x2F;&#x2F;x/ \
             </instance_URL><token>\n a&amp;b </token><EXPIRATION_DATE>bad</EXPIRATION_DATE>\
             <Refresh_Token><![CDATA[r<1>]]></Refresh_Token></ACCESS_TOKEN>",
        );
        assert_eq!(t.token(), "a&b");
        assert_eq!(t.refresh_token(), Some("r<1>"));
        assert_eq!(t.instance_url(), Some("https://x/"));
        assert_eq!(t.expiration_date(), Some("bad"));
        assert_eq!(t.expires_at(), None);
    }

    #[test]
    fn json_answer() {
        let body = r#"{"Access_Token":{"token":"abc","Expiration_Date":"6/1/2014 8:00:00 AM","Instance_URL":"https://i/"}}"#;
        let Document::Token(t) = parse(body.as_bytes(), Some("application/json")).unwrap() else {
            panic!("not a token")
        };
        assert_eq!(t.token(), "abc");
        assert_eq!(t.expires_at(), Some(1_401_609_600));
        assert_eq!(t.instance_url(), Some("https://i/"));
        assert_eq!(t.refresh_token(), None);
    }

    #[test]
    fn error_documents() {
        for body in [
            "<Error><Message>Bad key</Message><Server-Time>x</Server-Time><Id>E1</Id></Error>",
            r#"{"Error":{"Message":"Bad key","Id":"E1"}}"#,
        ] {
            let Document::Error(e) = parse(body.as_bytes(), None).unwrap() else {
                panic!("not an error document")
            };
            assert_eq!(e.message.as_deref(), Some("Bad key"));
            assert_eq!(e.id.as_deref(), Some("E1"));
        }
    }

    #[test]
    fn refusals() {
        assert!(protocol_error(b"").contains("empty"));
        assert!(protocol_error(b"  \r\n ").contains("empty"));
        assert!(
            protocol_error(b"<Access_Token><Token>\xff</Token></Access_Token>").contains("UTF-8")
        );
        assert!(protocol_error(b"<Access_Token></Access_Token>").contains("no Token"));
        assert!(
            protocol_error(b"<Access_Token><Token> </Token></Access_Token>").contains("no Token")
        );
        assert!(
            protocol_error(b"<Access_Token><Token>a b</Token></Access_Token>").contains("spaces")
        );
        assert!(protocol_error(b"<Access_Token><Token>a").contains("malformed XML"));
        assert!(protocol_error(b"<html><body>Sign in</body></html>").contains("HTML"));
        assert!(protocol_error(b"<!DOCTYPE html><html></html>").contains("HTML"));
        assert!(protocol_error(b"<!DOCTYPE x><x/>").contains("document type"));
        assert!(protocol_error(b"<Envelope/>").contains("not a token document"));
        assert!(protocol_error(b"hello").contains("neither"));
        assert!(protocol_error(b"{\"Access_Token\":").contains("malformed JSON"));
        assert!(protocol_error(b"[1]").contains("neither"));
        assert!(protocol_error(b"{\"a\":{},\"b\":{}}").contains("not a token"));
    }

    #[test]
    fn entity_expansion_is_refused() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xx\">]><Access_Token>\
                    <Token>&x;</Token></Access_Token>";
        assert!(protocol_error(bomb.as_bytes()).contains("document type"));
    }

    #[test]
    fn node_flood_is_refused() {
        let deep = format!(
            "<Access_Token>{}{}</Access_Token>",
            "<a>".repeat(5000),
            "</a>".repeat(5000)
        );
        assert!(protocol_error(deep.as_bytes()).contains("too many"));
    }

    #[test]
    fn parse_errors_quote_nothing_of_the_answer() {
        let e = protocol_error(b"<Access_Token><Token>SECRETTOKEN</Tokn></Access_Token>");
        assert!(!e.contains("SECRET"), "{e}");
    }
}
