//! Which data centres a call may follow: Concur's own hosts, loopback for loopback calls, and
//! the hosts the caller trusts. Nothing is ever sent to any other host.

use crate::error::{Error, clean_server_text};
use crate::options::BaseUrl;

/// The domain under which every Concur data centre lives.
pub const CONCUR_DOMAIN: &str = "concursolutions.com";

/// Checks a data-centre URL named by an answer (a `geolocation`, a legacy `Instance_Url`)
/// before anything is sent to it. It is trusted only when it is `https://` with no user,
/// path, query or fragment, and its host is `concursolutions.com` or below it, or one of
/// `trusted_hosts`; or when the call that named it went to a loopback host and it names a
/// loopback host too, over TLS or over plain HTTP only if the call was (tests). Anything else is a protocol error naming
/// the host (cleaned of control characters), and nothing is sent to it.
pub(crate) fn trusted_data_centre(
    url: &str,
    asked: &BaseUrl,
    trusted_hosts: &[String],
) -> Result<BaseUrl, Error> {
    let untrusted = |why: &str| {
        Error::protocol(format!(
            "the answer names a data centre this library does not trust ({}): {why}; nothing was sent there",
            clean_server_text(&shorten(url))
        ))
    };
    let base = BaseUrl::parse(url).map_err(|_| untrusted("not a usable https:// URL"))?;
    if base.has_path {
        return Err(untrusted("it has a path"));
    }
    let concur = base.host == CONCUR_DOMAIN || base.host.ends_with(".concursolutions.com");
    let listed = trusted_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&base.host));
    let trusted = if base.loopback {
        // A loopback call may be pointed at loopback again, never from TLS to plain HTTP.
        asked.loopback && (!base.plain_http || asked.plain_http)
    } else {
        !base.plain_http && (concur || listed)
    };
    if trusted {
        Ok(base)
    } else if base.loopback {
        Err(untrusted(
            "a loopback host named by a call that did not go to loopback, or over another scheme",
        ))
    } else {
        Err(untrusted("not a Concur host nor a trusted one"))
    }
}

fn shorten(url: &str) -> String {
    url.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, asked: &str, trusted: &[&str]) -> Result<String, Error> {
        let asked = BaseUrl::parse(asked).unwrap();
        let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
        trusted_data_centre(url, &asked, &trusted).map(|b| b.url)
    }

    #[test]
    fn concur_hosts_are_trusted() {
        for url in [
            "https://us2.api.concursolutions.com",
            "https://EU2.API.concursolutions.com/",
            "https://concursolutions.com",
            "https://www-us.api.concursolutions.com:443",
        ] {
            assert!(
                check(url, "https://us2.api.concursolutions.com", &[]).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn other_hosts_are_refused_and_named() {
        for url in [
            "https://attacker.example",
            "https://concursolutions.com.attacker.example",
            "https://evilconcursolutions.com",
            "http://us2.api.concursolutions.com",
            "https://user@us2.api.concursolutions.com",
            "https://us2.api.concursolutions.com/steal",
            "https://us2.api.concursolutions.com?x=1",
            "javascript:alert(1)",
            "",
        ] {
            let e = check(url, "https://us2.api.concursolutions.com", &[]).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Protocol, "{url}");
            assert!(e.to_string().contains("nothing was sent"), "{e}");
        }
        let e = check(
            "https://attacker.example\r\nX: y",
            "https://us2.api.concursolutions.com",
            &[],
        )
        .unwrap_err();
        assert!(!e.to_string().contains('\r'), "{e}");
    }

    #[test]
    fn loopback_only_for_loopback_calls_on_the_same_scheme() {
        assert!(check("https://127.0.0.1:9", "https://localhost:8", &[]).is_ok());
        assert!(check("http://127.0.0.1:9", "http://127.0.0.1:8", &[]).is_ok());
        assert!(check("https://127.0.0.1:9", "http://127.0.0.1:8", &[]).is_ok());
        assert!(check("http://127.0.0.1:9", "https://127.0.0.1:8", &[]).is_err());
        assert!(
            check(
                "https://127.0.0.1:9",
                "https://us2.api.concursolutions.com",
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn trusted_hosts_extend_the_list_over_https_only() {
        let asked = "https://us2.api.concursolutions.com";
        assert!(
            check(
                "https://concur.partner.example",
                asked,
                &["Concur.Partner.Example"]
            )
            .is_ok()
        );
        assert!(
            check(
                "https://other.partner.example",
                asked,
                &["concur.partner.example"]
            )
            .is_err()
        );
    }
}
