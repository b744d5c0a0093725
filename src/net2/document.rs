//! Reading Concur's answers: the `<Access_Token>` document, its JSON twin, and the `<Error>`
//! document. Element names are matched without regard to case, since Concur's own pages spell
//! them several ways (`Expiration_date`/`Expiration_Date`, `Instance_Url`/`Instance_URL`).

use crate::error::Error;
use crate::net2::date::parse_concur_date;
use crate::net2::token::Token;
use zeroize::Zeroizing;

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

/// A key/value view of the fields of either document, whatever its syntax. The values may be
/// tokens: each is held in a buffer that is wiped when dropped.
type Fields = Vec<(String, Zeroizing<String>)>;

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
    // Two readers of one answer must not disagree on which of two `Token`s is the token.
    for (i, (name, _)) in fields.iter().enumerate() {
        if fields[..i]
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Err(Error::protocol("the answer names a field twice"));
        }
    }
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

/// A copy of `text`, trimmed, in a buffer sized once (growing would leave an unwiped copy
/// behind) and wiped when dropped.
fn wiped_copy(text: &str) -> Zeroizing<String> {
    let text = text.trim();
    let mut copy = Zeroizing::new(String::with_capacity(text.len()));
    copy.push_str(text);
    copy
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
    // A date with control characters (a NUL that cuts C strings short, a terminal escape) is
    // unreadable, and an unreadable date is absent.
    let expiration_date =
        field(fields, "Expiration_Date").filter(|d| !d.chars().any(char::is_control));
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
            let texts = || {
                n.descendants()
                    .filter(|d| d.is_text())
                    .filter_map(|d| d.text())
            };
            let mut text = Zeroizing::new(String::with_capacity(texts().map(str::len).sum()));
            texts().for_each(|t| text.push_str(t));
            (n.tag_name().name().to_string(), wiped_copy(&text))
        })
        .collect();
    Ok((root.tag_name().name().to_string(), fields))
}

fn json_fields(text: &str) -> Result<(String, Fields), Error> {
    let JsonDocument(root) = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            Error::protocol("the answer is not a token document")
        } else {
            Error::protocol("the answer is malformed JSON")
        }
    })?;
    for (i, (name, _)) in root.iter().enumerate() {
        if root[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(Error::protocol("the answer names a field twice"));
        }
    }
    let mut roots = root.into_iter();
    let (Some(only), None) = (roots.next(), roots.next()) else {
        return Err(Error::protocol("the answer is not a token document"));
    };
    Ok(only)
}

/// A JSON answer read by hand rather than into a `serde_json::Value`, which keeps only the last
/// of two equal keys and holds the values in unwiped strings: every root key with its object
/// of fields (a root key whose value is not an object is kept with no fields, so that it still
/// counts). Inside a field object, string and number values are kept, others skipped.
struct JsonDocument(Vec<(String, Fields)>);

impl<'de> serde::Deserialize<'de> for JsonDocument {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RootVisitor)
    }
}

struct RootVisitor;

impl<'de> serde::de::Visitor<'de> for RootVisitor {
    type Value = JsonDocument;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonDocument, A::Error> {
        let mut roots = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let FieldObject(fields) = map.next_value()?;
            roots.push((name, fields));
        }
        Ok(JsonDocument(roots))
    }
}

/// The fields of a root key's object; anything else reads as no fields.
struct FieldObject(Fields);

impl<'de> serde::Deserialize<'de> for FieldObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldObjectVisitor)
    }
}

struct FieldObjectVisitor;

impl<'de> serde::de::Visitor<'de> for FieldObjectVisitor {
    type Value = FieldObject;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FieldObject, A::Error> {
        let mut fields = Fields::new();
        while let Some(name) = map.next_key::<String>()? {
            let FieldValue(value) = map.next_value()?;
            // A skipped value still names its field: a duplicate of it is a duplicate.
            fields.push((name, value.unwrap_or_default()));
        }
        Ok(FieldObject(fields))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FieldObject, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(FieldObject(Fields::new()))
    }

    fn visit_bool<E>(self, _: bool) -> Result<FieldObject, E> {
        Ok(FieldObject(Fields::new()))
    }

    fn visit_i64<E>(self, _: i64) -> Result<FieldObject, E> {
        Ok(FieldObject(Fields::new()))
    }

    fn visit_u64<E>(self, _: u64) -> Result<FieldObject, E> {
        Ok(FieldObject(Fields::new()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<FieldObject, E> {
        Ok(FieldObject(Fields::new()))
    }

    fn visit_str<E>(self, _: &str) -> Result<FieldObject, E> {
        Ok(FieldObject(Fields::new()))
    }

    fn visit_unit<E>(self) -> Result<FieldObject, E> {
        Ok(FieldObject(Fields::new()))
    }
}

/// One field's value: a string (trimmed) or a number (as JSON wrote it), copied straight into
/// a wiped buffer; `None` for objects, arrays, booleans and null.
struct FieldValue(Option<Zeroizing<String>>);

impl<'de> serde::Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl FieldValueVisitor {
    fn number(n: impl Into<serde_json::Number>) -> FieldValue {
        FieldValue(Some(Zeroizing::new(n.into().to_string())))
    }
}

impl<'de> serde::de::Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, value: &str) -> Result<FieldValue, E> {
        Ok(FieldValue(Some(wiped_copy(value))))
    }

    fn visit_string<E>(self, value: String) -> Result<FieldValue, E> {
        let value = Zeroizing::new(value);
        Ok(FieldValue(Some(wiped_copy(&value))))
    }

    fn visit_i64<E>(self, n: i64) -> Result<FieldValue, E> {
        Ok(Self::number(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<FieldValue, E> {
        Ok(Self::number(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<FieldValue, E> {
        Ok(serde_json::Number::from_f64(n).map_or(FieldValue(None), Self::number))
    }

    fn visit_bool<E>(self, _: bool) -> Result<FieldValue, E> {
        Ok(FieldValue(None))
    }

    fn visit_unit<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue(None))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(FieldValue(None))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(FieldValue(None))
    }
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
    fn duplicate_fields_are_refused() {
        for body in [
            "<Access_Token><token>first</token><Token>second</Token></Access_Token>",
            "<Access_Token><Token>a</Token><Refresh_Token>b</Refresh_Token>\
             <REFRESH_TOKEN>c</REFRESH_TOKEN></Access_Token>",
            r#"{"Access_Token":{"token":"lower","Token":"upper","Token":"upper2"}}"#,
            r#"{"Access_Token":{"Token":"a","Token":"a"}}"#,
            r#"{"Access_Token":{"Token":"a"},"access_token":{"Token":"b"}}"#,
            r#"{"Access_Token":{"Token":"a","Instance_Url":"https://x/","instance_url":null}}"#,
            "<Error><Message>one</Message><message>two</message></Error>",
        ] {
            assert!(protocol_error(body.as_bytes()).contains("twice"), "{body}");
        }
        // Distinct fields in any case, and values of other JSON types, are still fine.
        let t = token(r#"{"Access_Token":{"Token":"a","n":1.5,"o":{"x":[1,{}]},"e":7}}"#);
        assert_eq!(t.token(), "a");
    }

    #[test]
    fn a_date_with_control_characters_is_absent() {
        let t = token(
            r#"{"Access_Token":{"Token":"a","Expiration_date":"6/1/2030\u0000\u001b[31m 8:00:00 AM"}}"#,
        );
        assert_eq!((t.expiration_date(), t.expires_at()), (None, None));
        let t = token(r#"{"Access_Token":{"Token":"a","Expiration_date":"6/1/2030 8:00:00\tAM"}}"#);
        assert_eq!((t.expiration_date(), t.expires_at()), (None, None));
        // Leading and trailing white space (controls included) is trimmed, as before.
        let t = token(
            "<Access_Token><Token>a</Token><Expiration_date>\n6/1/2014 8:00:00 AM\r\n\
                       </Expiration_date></Access_Token>",
        );
        assert_eq!(t.expires_at(), Some(1_401_609_600));
    }

    #[test]
    fn json_numbers_and_root_shapes() {
        let t = token(r#"{"Access_Token":{"Token":12345}}"#);
        assert_eq!(t.token(), "12345");
        assert!(protocol_error(br#"{"Access_Token":"x"}"#).contains("no Token"));
        assert!(protocol_error(b"{}").contains("not a token"));
        let e = parse(b"[1]", Some("application/json")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn parse_errors_quote_nothing_of_the_answer() {
        let e = protocol_error(b"<Access_Token><Token>SECRETTOKEN</Tokn></Access_Token>");
        assert!(!e.contains("SECRET"), "{e}");
    }
}
