//! Which proxy a request to a host goes through: the explicit option, or the environment's
//! `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`, read as curl reads them.
//!
//! curl's rules, followed here for the `https://` requests this library sends (plain HTTP goes
//! only to loopback hosts, which an environment proxy never serves):
//! - the proxy is the first of `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY` that is
//!   set; set but empty means "no proxy" (and stops the search, as in curl);
//! - the exemptions are the first of `no_proxy`, `NO_PROXY` that is set: a list separated by
//!   commas or blanks. `*` exempts every host. A name exempts itself and every host below it
//!   (`example.com` and `.example.com` both exempt `example.com` and `api.example.com`, not
//!   `notexample.com`; a leading `*.` counts as a leading `.`). `name:port` exempts that name
//!   on that port only. An IP address, or a CIDR range (`10.0.0.0/8`, `fd00::/8`), exempts
//!   hosts given as IP addresses in it; names never match addresses.
//!
//! Unlike curl, loopback hosts (`localhost`, 127.0.0.0/8, `::1`) are never sent through a proxy
//! that came from the environment: a test server or a local sidecar stays local.
//!
//! The environment is read once, when the client is built. A variable whose value is not an
//! `http://` or `https://` proxy URL is an [`ErrorKind::InvalidArgument`](crate::ErrorKind)
//! error naming the variable (never its value, which may hold a password) for every call that
//! would use it, and nothing is sent; a SOCKS proxy (`socks5://…`, often in `ALL_PROXY`) is
//! refused the same way, because this library does not speak SOCKS and going around a proxy
//! the environment asks for could leak traffic the network's owner means to inspect or block.

use std::net::IpAddr;

use crate::error::Error;
use crate::options::is_loopback;

/// The variables that may name the proxy of an `https://` request, in curl's order.
const PROXY_VARIABLES: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];

/// The variables that may list the exempt hosts, in curl's order.
const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// How requests reach their hosts.
#[derive(Clone)]
pub(crate) enum ProxyRoute {
    /// Straight to the host.
    Direct,
    /// Every request through this proxy (the `proxy` option).
    Explicit(ureq::Proxy),
    /// Through the environment's proxy, except for loopback and exempt hosts.
    Environment(EnvProxy),
}

impl ProxyRoute {
    /// The proxy a request to `host` (a name or an IP address, IPv6 without brackets) on
    /// `port` goes through: `None` for a direct connection, or the error the environment's
    /// unusable proxy stands for.
    pub(crate) fn proxy_for(&self, host: &str, port: u16) -> Result<Option<&ureq::Proxy>, Error> {
        match self {
            ProxyRoute::Direct => Ok(None),
            ProxyRoute::Explicit(proxy) => Ok(Some(proxy)),
            ProxyRoute::Environment(env) => {
                if is_loopback(host) || env.no_proxy.exempts(host, port) {
                    Ok(None)
                } else {
                    env.proxy.as_ref().map(Some).map_err(Clone::clone)
                }
            }
        }
    }

    /// The proxy in use, if any: for the pool of proxied connections.
    pub(crate) fn proxy(&self) -> Option<&ureq::Proxy> {
        match self {
            ProxyRoute::Direct => None,
            ProxyRoute::Explicit(proxy) => Some(proxy),
            ProxyRoute::Environment(env) => env.proxy.as_ref().ok(),
        }
    }
}

/// The environment's proxy for `https://` requests and its exemptions.
#[derive(Clone)]
pub(crate) struct EnvProxy {
    /// The proxy, or the error that a request needing it gets.
    proxy: Result<ureq::Proxy, Error>,
    no_proxy: NoProxy,
}

impl EnvProxy {
    /// Reads the variables through `lookup` (`std::env::var`, or a test's own map). `None`
    /// when no proxy is set for `https://` requests (or the chosen variable is empty).
    pub(crate) fn read(lookup: &dyn Fn(&str) -> Option<String>) -> Option<EnvProxy> {
        let (name, value) = PROXY_VARIABLES
            .iter()
            .find_map(|name| lookup(name).map(|value| (*name, value)))?;
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let no_proxy = NO_PROXY_VARIABLES
            .iter()
            .find_map(|name| lookup(name))
            .map(|list| NoProxy::parse(&list))
            .unwrap_or_default();
        Some(EnvProxy {
            proxy: parse_env_proxy(name, value),
            no_proxy,
        })
    }
}

/// A proxy URL from variable `name`: `http://` or `https://`, or a bare `host:port` (HTTP, as
/// curl takes it). No error quotes the value.
fn parse_env_proxy(name: &str, value: &str) -> Result<ureq::Proxy, Error> {
    let scheme = value
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http") | Some("https") | None => {}
        Some(s) if s.starts_with("socks") => {
            return Err(Error::invalid(format!(
                "{name} names a SOCKS proxy, which this library does not support: set \
                 HTTPS_PROXY to an HTTP proxy, exempt the host in NO_PROXY, or turn proxy \
                 environment variables off; nothing was sent"
            )));
        }
        Some(_) => return Err(unusable(name)),
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(unusable(name));
    }
    ureq::Proxy::new(value).map_err(|_| unusable(name))
}

fn unusable(name: &str) -> Error {
    Error::invalid(format!(
        "{name} is not an http:// or https:// proxy URL (its value is not shown: it may hold a \
         password); nothing was sent"
    ))
}

/// The hosts exempt from the environment's proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NoProxy {
    everything: bool,
    entries: Vec<Exemption>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Exemption {
    /// A name (lower case, no leading or trailing dot) and every name below it, on any port or
    /// on one.
    Domain { name: String, port: Option<u16> },
    /// Addresses within `bits` leading bits of this one.
    Range { net: IpAddr, bits: u8 },
}

impl NoProxy {
    pub(crate) fn parse(list: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for token in list
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
        {
            if token == "*" {
                no_proxy.everything = true;
            } else if let Some(entry) = Exemption::parse(token) {
                no_proxy.entries.push(entry);
            }
        }
        no_proxy
    }

    /// Whether a request to `host` (IPv6 without brackets) on `port` goes direct.
    pub(crate) fn exempts(&self, host: &str, port: u16) -> bool {
        if self.everything {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| match (entry, ip) {
            (Exemption::Range { net, bits }, Some(ip)) => in_range(ip, *net, *bits),
            (Exemption::Domain { name, port: p }, None) => {
                p.is_none_or(|p| p == port)
                    && (host == *name
                        || host
                            .strip_suffix(name.as_str())
                            .is_some_and(|rest| rest.ends_with('.')))
            }
            _ => false,
        })
    }
}

impl Exemption {
    fn parse(token: &str) -> Option<Exemption> {
        // An address or a range: `10.1.2.3`, `10.0.0.0/8`, `::1`, `[fd00::1]`, `fd00::/8`.
        let (address, bits) = match token.split_once('/') {
            Some((address, bits)) => (address, Some(bits)),
            None => (token, None),
        };
        let address = address.trim_start_matches('[').trim_end_matches(']');
        if let Ok(net) = address.parse::<IpAddr>() {
            let max = if net.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(bits) => bits.parse::<u8>().ok().filter(|b| *b <= max)?,
            };
            return Some(Exemption::Range { net, bits });
        }
        if bits.is_some() {
            return None;
        }
        // A name, with an optional port: `example.com`, `.example.com`, `*.example.com`,
        // `example.com:8443`.
        let (name, port) = match token.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse::<u16>().ok()?)),
            None => (token, None),
        };
        let name = name.strip_prefix("*.").unwrap_or(name);
        let name = name.trim_start_matches('.').trim_end_matches('.');
        if name.is_empty() || name.contains(['*', '/', '[', ']', ':']) {
            return None;
        }
        Some(Exemption::Domain {
            name: name.to_ascii_lowercase(),
            port,
        })
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::ErrorKind;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn route(pairs: &[(&str, &str)]) -> ProxyRoute {
        match EnvProxy::read(&env(pairs)) {
            Some(e) => ProxyRoute::Environment(e),
            None => ProxyRoute::Direct,
        }
    }

    /// The proxy's host:port a request to `host` goes through; "direct"; or the error.
    fn via(route: &ProxyRoute, host: &str, port: u16) -> String {
        match route.proxy_for(host, port) {
            Ok(Some(p)) => format!("{}:{}", p.host(), p.port()),
            Ok(None) => "direct".into(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn variables_are_read_in_curls_order() {
        let r = route(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
        ]);
        assert_eq!(via(&r, "x.example", 443), "lower:2");
        let r = route(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("ALL_PROXY", "http://all:3"),
        ]);
        assert_eq!(via(&r, "x.example", 443), "upper:1");
        let r = route(&[
            ("ALL_PROXY", "http://all:3"),
            ("all_proxy", "http://all-lower:4"),
        ]);
        assert_eq!(via(&r, "x.example", 443), "all-lower:4");
        // HTTP_PROXY and http_proxy serve plain-HTTP requests only, which never leave loopback.
        let r = route(&[("HTTP_PROXY", "http://p:1"), ("http_proxy", "http://p:1")]);
        assert_eq!(via(&r, "x.example", 443), "direct");
        // Set but empty: no proxy, and ALL_PROXY is not consulted (as curl).
        let r = route(&[("https_proxy", ""), ("ALL_PROXY", "http://all:3")]);
        assert_eq!(via(&r, "x.example", 443), "direct");
        // A bare host:port is an HTTP proxy; no port is 80.
        assert_eq!(
            via(&route(&[("HTTPS_PROXY", "p.example:3128")]), "x", 443),
            "p.example:3128"
        );
        assert_eq!(
            via(&route(&[("HTTPS_PROXY", "http://p.example")]), "x", 443),
            "p.example:80"
        );
    }

    #[test]
    fn loopback_is_never_proxied_from_the_environment() {
        let r = route(&[("HTTPS_PROXY", "http://p:1")]);
        for host in ["127.0.0.1", "127.9.8.7", "::1", "localhost", "LOCALHOST"] {
            assert_eq!(via(&r, host, 443), "direct", "{host}");
        }
        assert_eq!(via(&r, "localhost.example", 443), "p:1");
        assert_eq!(via(&r, "128.0.0.1", 443), "p:1");
        // An explicit proxy serves every host, loopback too.
        let explicit = ProxyRoute::Explicit(ureq::Proxy::new("http://q:2").unwrap());
        assert_eq!(via(&explicit, "127.0.0.1", 443), "q:2");
    }

    #[test]
    fn no_proxy_rules() {
        let list = "example.com, .dot.example,*.star.example  host.example:8443,10.0.0.0/8,\
                    192.0.2.7,[2001:db8::1],fd00::/8,bad/33,*x*";
        let r = route(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", list)]);
        for (host, port, expect) in [
            ("example.com", 443, "direct"),
            ("EXAMPLE.COM.", 443, "direct"),
            ("api.example.com", 443, "direct"),
            ("notexample.com", 443, "p:1"),
            ("example.com.evil", 443, "p:1"),
            ("dot.example", 443, "direct"),
            ("a.dot.example", 443, "direct"),
            ("star.example", 443, "direct"),
            ("b.star.example", 443, "direct"),
            ("host.example", 8443, "direct"),
            ("host.example", 443, "p:1"),
            ("10.1.2.3", 443, "direct"),
            ("11.1.2.3", 443, "p:1"),
            ("192.0.2.7", 443, "direct"),
            ("192.0.2.8", 443, "p:1"),
            ("2001:db8::1", 443, "direct"),
            ("2001:db8::2", 443, "p:1"),
            ("fd12::5", 443, "direct"),
            ("fe80::1", 443, "p:1"),
            // Names never match addresses, nor addresses names.
            ("10.example.com", 443, "direct"),
            ("10.0.0.1.nip.example", 443, "p:1"),
        ] {
            assert_eq!(via(&r, host, port), expect, "{host}:{port}");
        }
        let lower_wins = route(&[
            ("HTTPS_PROXY", "http://p:1"),
            ("no_proxy", "a.example"),
            ("NO_PROXY", "b.example"),
        ]);
        assert_eq!(via(&lower_wins, "a.example", 443), "direct");
        assert_eq!(via(&lower_wins, "b.example", 443), "p:1");
        for star in ["*", "a.example,*", " * "] {
            let r = route(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", star)]);
            assert_eq!(via(&r, "anything.example", 443), "direct", "{star}");
        }
        let r = route(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "")]);
        assert_eq!(via(&r, "anything.example", 443), "p:1");
    }

    #[test]
    fn unusable_proxies_name_the_variable_never_the_value() {
        for (name, value, words) in [
            (
                "HTTPS_PROXY",
                "http://user:Secret-Pw-1@exa mple:1",
                "not an http",
            ),
            ("ALL_PROXY", "socks5://user:Secret-Pw-1@p:1080", "SOCKS"),
            ("https_proxy", "socks5h://p:1080", "SOCKS"),
            ("HTTPS_PROXY", "ftp://user:Secret-Pw-1@p:21", "not an http"),
            ("HTTPS_PROXY", "http://user:Secret-Pw-1@[::1", "not an http"),
            (
                "HTTPS_PROXY",
                "http://user:Secret-Pw-1@p\t:1",
                "not an http",
            ),
        ] {
            let r = route(&[(name, value), ("NO_PROXY", "exempt.example")]);
            let e = r.proxy_for("x.example", 443).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{value}");
            let text = format!("{e} {e:?}");
            assert!(text.contains(name) && text.contains(words), "{text}");
            assert!(
                !text.contains("Secret-Pw-1") && !text.contains("user"),
                "{text}"
            );
            // Hosts that would not use it are not affected.
            assert_eq!(via(&r, "exempt.example", 443), "direct");
            assert_eq!(via(&r, "127.0.0.1", 443), "direct");
        }
    }

    #[test]
    fn proxy_credentials_are_kept_for_the_proxy() {
        let r = route(&[("HTTPS_PROXY", "http://me%40corp:p%3Ass@p:3128")]);
        let p = r.proxy_for("x.example", 443).unwrap().unwrap();
        assert_eq!(
            (p.username(), p.password()),
            (Some("me@corp"), Some("p:ss"))
        );
    }
}
