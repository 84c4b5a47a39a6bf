//! Trusting a proxy, as gunicorn's `--forwarded-allow-ips` does: what a proxy in front
//! says about the request counts only when the connection comes from it.
//!
//! A proxy that ends TLS talks to cgilab over plain HTTP, and a proxy's address is what
//! `REMOTE_ADDR` names, so it says the rest in headers. From a peer in the list:
//!
//! - `X-Forwarded-Proto: https` makes the request an HTTPS one for every mode: `HTTPS=on`
//!   and `REQUEST_SCHEME=https` in the environ, so a WSGI app gets `wsgi.url_scheme`
//!   `https` (Django's CSRF check and `url_for(_external=True)` need it). Only the exact
//!   word counts (any case); `http`, a list (`https, http`) or anything else is plain HTTP,
//!   as in gunicorn. Two fields that disagree make the request ambiguous: 400, as
//!   gunicorn's "Contradictory scheme headers".
//! - `X-Forwarded-For`: its last entry, the address the proxy itself saw (nginx's
//!   `$proxy_add_x_forwarded_for` appends it to what the client sent, and only that one
//!   is the proxy's word), becomes the client in the access log. One that is not an IP
//!   address is ignored: a log line names only addresses.
//!
//! `REMOTE_ADDR` stays the peer, as in gunicorn since 19.0 and as RFC 3875 §4.1.8 defines
//! it; an app that wants the client reads `HTTP_X_FORWARDED_FOR`, which it gets as every
//! other header. From any other peer the headers are passed on as plain `HTTP_X_FORWARDED_*`
//! variables and nothing more: a client that forges them changes nothing.

use std::net::{IpAddr, SocketAddr};

use crate::request::error::RequestError;

/// gunicorn's default: the proxy on this machine, over IPv4 or IPv6.
pub const DEFAULT_ALLOW: &str = "127.0.0.1,::1";

/// The peers trusted to say what a proxy says (`--forwarded-allow-ips`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTrust {
    /// `*`: every peer (only for a server no one but the proxy can reach).
    everyone: bool,
    networks: Vec<Network>,
}

/// An address with a prefix length; a single address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// What a trusted proxy said about a request; the default from anyone else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// The client asked the proxy over HTTPS.
    pub https: bool,
    /// The client's address, as the proxy saw it.
    pub client: Option<IpAddr>,
}

impl Default for ProxyTrust {
    fn default() -> ProxyTrust {
        ProxyTrust::parse(DEFAULT_ALLOW).expect("the default list is valid")
    }
}

impl ProxyTrust {
    /// A comma-separated list of addresses and networks (`127.0.0.1,::1,10.0.0.0/8`), or
    /// `*`; an empty list trusts no one. The error says what to write instead.
    pub fn parse(list: &str) -> Result<ProxyTrust, String> {
        let mut trust = ProxyTrust {
            everyone: false,
            networks: Vec::new(),
        };
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                trust.everyone = true;
                continue;
            }
            trust.networks.push(Network::parse(item).map_err(|why| {
                format!(
                    "--forwarded-allow-ips {list}: `{item}` {why}; pass addresses or networks separated by commas (127.0.0.1,::1,10.0.0.0/8), or * to trust every peer"
                )
            })?);
        }
        Ok(trust)
    }

    /// True if `peer` may speak for a proxy. An IPv4 peer seen on an IPv6 socket
    /// (`::ffff:127.0.0.1`) is its IPv4 address.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.everyone || {
            let peer = peer.to_canonical();
            self.networks.iter().any(|n| n.contains(peer))
        }
    }
}

impl Network {
    fn parse(item: &str) -> Result<Network, String> {
        let (addr, prefix) = match item.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (item, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| "is not an IP address or network".to_string())?;
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= bits => p,
                _ => return Err(format!("has no prefix length from 0 to {bits}")),
            },
        };
        let network = Network { addr, prefix };
        if network.masked(addr) != addr {
            let base = network.masked(addr);
            return Err(format!(
                "has bits set past its prefix; the network is {base}/{prefix}"
            ));
        }
        Ok(network)
    }

    /// `ip` with the bits past the prefix cleared.
    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((u32::from(v4) & mask).to_be_bytes())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((u128::from(v6) & mask).to_be_bytes())
            }
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && self.masked(ip) == self.addr
    }
}

/// What the request's proxy headers say, if `peer` is trusted; nothing otherwise. A
/// trusted proxy's `X-Forwarded-Proto` fields that disagree are a 400.
pub fn read(
    headers: &[(String, String)],
    peer: Option<IpAddr>,
    trust: &ProxyTrust,
) -> Result<Forwarded, RequestError> {
    // A peer on a unix socket (`None`) is trusted, as gunicorn trusts one: only what
    // can open the socket file (mode 0660) reaches it, and that is the proxy.
    if peer.is_some_and(|ip| !trust.trusts(ip)) {
        return Ok(Forwarded::default());
    }
    let mut https = None;
    let mut last_for = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("X-Forwarded-Proto") {
            let says = value.trim().eq_ignore_ascii_case("https");
            if https.is_some_and(|said| said != says) {
                return Err(RequestError::BadRequest {
                    why: "the proxy's X-Forwarded-Proto fields disagree on https".to_string(),
                });
            }
            https = Some(says);
        } else if name.eq_ignore_ascii_case("X-Forwarded-For") {
            // Repeated fields are one list, in order (RFC 9110 §5.3).
            last_for = value.rsplit(',').next().map(str::trim).or(last_for);
        }
    }
    Ok(Forwarded {
        https: https.unwrap_or(false),
        client: last_for.and_then(address),
    })
}

/// An address as proxies write it in `X-Forwarded-For`: bare (nginx), with a port
/// (`203.0.113.7:41234`, `[2001:db8::1]:41234`) or in brackets.
fn address(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse().ok()
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn from_local(list: &[(&str, &str)]) -> Result<Forwarded, RequestError> {
        read(
            &headers(list),
            Some(ip("127.0.0.1")),
            &ProxyTrust::default(),
        )
    }

    #[test]
    fn the_default_trusts_this_machine_over_ipv4_and_ipv6_only() {
        let trust = ProxyTrust::default();
        assert!(trust.trusts(ip("127.0.0.1")));
        assert!(trust.trusts(ip("::1")));
        assert!(
            trust.trusts(ip("::ffff:127.0.0.1")),
            "IPv4 on an IPv6 socket"
        );
        assert!(!trust.trusts(ip("127.0.0.2")));
        assert!(!trust.trusts(ip("10.0.0.1")));
    }

    #[test]
    fn networks_star_and_the_empty_list() {
        let trust = ProxyTrust::parse("10.0.0.0/8, 2001:db8::/32").unwrap();
        assert!(trust.trusts(ip("10.200.3.4")));
        assert!(trust.trusts(ip("2001:db8::42")));
        assert!(!trust.trusts(ip("11.0.0.1")));
        assert!(!trust.trusts(ip("127.0.0.1")));
        assert!(ProxyTrust::parse("*").unwrap().trusts(ip("198.51.100.1")));
        assert!(
            ProxyTrust::parse("0.0.0.0/0")
                .unwrap()
                .trusts(ip("198.51.100.1"))
        );
        assert!(!ProxyTrust::parse("").unwrap().trusts(ip("127.0.0.1")));
    }

    #[test]
    fn a_bad_list_says_which_entry_and_what_to_write() {
        for (list, why) in [
            (
                "127.0.0.1,localhost",
                "`localhost` is not an IP address or network",
            ),
            ("10.0.0.300", "`10.0.0.300` is not an IP address or network"),
            (
                "10.0.0.0/33",
                "`10.0.0.0/33` has no prefix length from 0 to 32",
            ),
            ("10.1.2.3/8", "the network is 10.0.0.0/8"),
        ] {
            let e = ProxyTrust::parse(list).unwrap_err();
            assert!(
                e.starts_with(&format!("--forwarded-allow-ips {list}: ")),
                "{e}"
            );
            assert!(e.contains(why), "{e}");
            assert!(e.contains("or * to trust every peer"), "{e}");
        }
    }

    #[test]
    fn only_the_exact_word_https_makes_a_request_https() {
        let https = |v: &str| from_local(&[("X-Forwarded-Proto", v)]).unwrap().https;
        assert!(https("https"));
        assert!(https("HTTPS"));
        assert!(!https("http"));
        assert!(!https("https, http"), "a list is not the word");
        assert!(!https("http, https"));
        assert!(!https("httpsx"));
        assert!(!https(""));
        assert!(!from_local(&[]).unwrap().https);
    }

    #[test]
    fn proto_fields_that_agree_count_and_fields_that_disagree_are_refused() {
        let twice = [
            ("X-Forwarded-Proto", "https"),
            ("x-forwarded-proto", "https"),
        ];
        assert!(from_local(&twice).unwrap().https);
        let e = from_local(&[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Proto", "http"),
        ])
        .unwrap_err();
        assert_eq!(e.status(), 400);
        // Something that is not https counts as http, so it disagrees with https too.
        let e = from_local(&[
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Proto", "HTTPS"),
        ])
        .unwrap_err();
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn an_untrusted_peer_changes_nothing_and_is_never_refused() {
        let forged = headers(&[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-For", "203.0.113.7"),
        ]);
        let got = read(&forged, Some(ip("127.0.0.2")), &ProxyTrust::default()).unwrap();
        assert_eq!(got, Forwarded::default());
    }

    #[test]
    fn the_client_is_the_last_entry_of_the_last_field() {
        let client = |list: &[(&str, &str)]| from_local(list).unwrap().client;
        assert_eq!(
            client(&[("X-Forwarded-For", "203.0.113.7")]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client(&[("X-Forwarded-For", "6.6.6.6, 203.0.113.7")]),
            Some(ip("203.0.113.7")),
            "what the client wrote comes first; the proxy appends what it saw"
        );
        assert_eq!(
            client(&[
                ("X-Forwarded-For", "6.6.6.6"),
                ("X-Forwarded-For", "203.0.113.7")
            ]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client(&[("X-Forwarded-For", "2001:db8::7")]),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client(&[("X-Forwarded-For", "[2001:db8::7]:443")]),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client(&[("X-Forwarded-For", "203.0.113.7:41234")]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client(&[("X-Forwarded-For", "::ffff:203.0.113.7")]),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn a_last_entry_that_is_not_an_address_names_no_client() {
        for forged in [
            "203.0.113.7, unknown",
            "203.0.113.7,",
            "<script>",
            "1.2.3.4\u{1b}[31m",
            "",
        ] {
            assert_eq!(
                from_local(&[("X-Forwarded-For", forged)]).unwrap().client,
                None,
                "{forged:?}"
            );
        }
    }

    #[test]
    fn a_peer_on_a_unix_socket_is_trusted_as_gunicorn_trusts_one() {
        let list = [("X-Forwarded-Proto", "https")];
        let trust_nobody = ProxyTrust::parse("").unwrap();
        let said = read(&headers(&list), None, &trust_nobody).unwrap();
        assert!(said.https, "{said:?}");
    }
}
