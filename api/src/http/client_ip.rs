//! The client's address for per-IP limits and audit rows.
//!
//! `X-Forwarded-For` is believed only when the connection comes from a proxy in
//! `TRUSTED_PROXIES`. Then its hops are read from every header line in order (a
//! proxy may add a line rather than extend the last one) and walked from the
//! right: each trusted proxy names the hop before it, and the first hop that is
//! not a trusted proxy is the client. Hops further left are client-supplied and
//! forgeable, so they are never read; a hop that does not parse ends the walk at
//! the peer, because past it nothing can be trusted.

use std::net::{IpAddr, SocketAddr};

use actix_web::{web, FromRequest, HttpRequest};
use ipnet::IpNet;

use crate::state::AppState;

/// The resolved client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One hop as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:443`, optionally in double quotes (the
/// RFC 7239 style some proxies copy). IPv4-mapped IPv6 counts as the IPv4
/// address, so one client cannot hold two per-IP budgets.
pub fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let hop = hop
        .strip_prefix('"')
        .and_then(|h| h.strip_suffix('"'))
        .unwrap_or(hop);
    let ip = if let Ok(ip) = hop.parse::<IpAddr>() {
        ip
    } else if let Ok(sock) = hop.parse::<SocketAddr>() {
        sock.ip()
    } else {
        hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?
    };
    Some(ip.to_canonical())
}

/// Pure resolution rule, table-tested below. `forwarded_for` holds the
/// `X-Forwarded-For` lines in the order they arrived.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .filter(|h| !h.trim().is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return peer;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    // Every hop trusted: the left-most is the nearest we know to the client.
    client
}

impl FromRequest for ClientIp {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(ClientIp(of_request(req))))
    }
}

/// The client address of a request (also used by middleware, before extractors).
pub fn of_request(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    // A line that is not visible ASCII cannot be read safely: treat it as a
    // hop that does not parse.
    let lines: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .collect();
    resolve(peer, &lines, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hops_parse_in_the_forms_proxies_write() {
        let cases = [
            ("1.2.3.4", Some("1.2.3.4")),
            (" 1.2.3.4 ", Some("1.2.3.4")),
            ("1.2.3.4:5678", Some("1.2.3.4")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("[2001:db8::1]:443", Some("2001:db8::1")),
            ("\"[2001:db8::1]:443\"", Some("2001:db8::1")),
            ("::ffff:198.51.100.7", Some("198.51.100.7")),
            ("unknown", None),
            ("_hidden", None),
            ("1.2.3", None),
            ("1.2.3.4:", None),
            ("[1.2.3.4", None),
            ("", None),
        ];
        for (hop, want) in cases {
            assert_eq!(parse_hop(hop), want.map(ip), "{hop:?}");
        }
    }

    #[test]
    fn resolution_walks_from_the_right_past_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        let proxy = ip("10.0.0.2");
        let cases: &[(&str, IpAddr, &[&str], &str)] = &[
            (
                "untrusted peer, header ignored",
                ip("203.0.113.9"),
                &["1.2.3.4"],
                "203.0.113.9",
            ),
            ("no header", proxy, &[], "10.0.0.2"),
            ("one hop", proxy, &["198.51.100.7"], "198.51.100.7"),
            (
                "forged left entries are skipped",
                proxy,
                &["6.6.6.6, 198.51.100.7, 10.0.0.3"],
                "198.51.100.7",
            ),
            ("port on v4", proxy, &["198.51.100.7:5678"], "198.51.100.7"),
            ("bracketed v6", proxy, &["[2001:db8::1]"], "2001:db8::1"),
            (
                "bracketed v6 with port",
                proxy,
                &["6.6.6.6, [2001:db8::1]:443"],
                "2001:db8::1",
            ),
            (
                "every line, in order: the last line is nearest",
                proxy,
                &["6.6.6.6", "198.51.100.7, 10.0.0.3"],
                "198.51.100.7",
            ),
            (
                "a later line is nearer than an earlier one",
                proxy,
                &["198.51.100.7", "10.0.0.9"],
                "198.51.100.7",
            ),
            (
                "trusted v6 proxy hop",
                proxy,
                &["198.51.100.7, [fd00::5]:80"],
                "198.51.100.7",
            ),
            (
                "unparseable nearest hop: the peer",
                proxy,
                &["198.51.100.7, unknown"],
                "10.0.0.2",
            ),
            (
                "unparseable hop behind a trusted one: the peer",
                proxy,
                &["198.51.100.7, garbage, 10.0.0.3"],
                "10.0.0.2",
            ),
            (
                "unparseable hop left of the client is never read",
                proxy,
                &["garbage, 198.51.100.7"],
                "198.51.100.7",
            ),
            (
                "all trusted: the left-most",
                proxy,
                &["10.0.0.4, 10.0.0.3"],
                "10.0.0.4",
            ),
            (
                "empty entries are skipped",
                proxy,
                &["198.51.100.7, , "],
                "198.51.100.7",
            ),
            (
                "mapped v4 peer is v4",
                ip("::ffff:203.0.113.9"),
                &[],
                "203.0.113.9",
            ),
        ];
        for (name, peer, lines, want) in cases {
            assert_eq!(resolve(*peer, lines, &trusted), ip(want), "{name}");
        }
    }
}
