//! `--callback-allow`: where callbacks may go. Host names match name
//! patterns (`host`, `*.domain`, `*`), each with an optional port; an
//! address is reached only if it is public, or if an address or range
//! pattern (`10.0.0.5`, `10.0.0.0/8`, `[fd00::1]:8080`, `fd00::/8`) names it.
//! So a name that resolves to loopback, link-local, private or other
//! internal addresses is refused unless the operator listed those addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::Host;

#[derive(Clone, Debug)]
enum Pattern {
    /// `host`, `*.domain` or `*`, lowercase.
    Name(String),
    /// An address (as a /32 or /128) or a range.
    Net(IpNet),
}

#[derive(Clone, Debug, Default)]
pub struct Allow {
    patterns: Vec<(Pattern, Option<u16>)>,
}

impl Allow {
    pub fn parse(list: &[String]) -> Result<Allow, String> {
        let mut patterns = Vec::new();
        for item in list.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            let (host, port) = split_port(item)?;
            let pattern = match parse_net(host) {
                Some(net) => Pattern::Net(net),
                None if host.contains('/') || host.contains(':') || host.contains('[') => {
                    return Err(format!(
                        "--callback-allow {item:?}: not an address or range (10.0.0.0/8, [fd00::1]:8080)"
                    ))
                }
                None if host.is_empty() || (host.contains('*') && host != "*" && !host.starts_with("*.")) => {
                    return Err(format!(
                        "--callback-allow {item:?}: use host, host:port, *.domain, *, an address or a range"
                    ))
                }
                None => Pattern::Name(host.to_ascii_lowercase()),
            };
            patterns.push((pattern, port));
        }
        Ok(Allow { patterns })
    }

    /// Whether a URL's host (and port) may be called back: a name that a
    /// name pattern matches, or an address `admits_address` lets through
    /// and a pattern covers (`*` covers every public address).
    pub fn allows_host(&self, host: &Host<&str>, port: u16) -> bool {
        let ip = match host {
            Host::Domain(name) => return self.matches_name(name, port),
            Host::Ipv4(ip) => IpAddr::V4(*ip),
            Host::Ipv6(ip) => IpAddr::V6(*ip),
        };
        self.names_address(ip, port) || (is_public(ip) && self.matches_name("*", port))
    }

    fn matches_name(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.patterns.iter().any(|(pattern, want_port)| {
            let host_ok = match pattern {
                Pattern::Net(_) => false,
                Pattern::Name(name) if name == "*" => true,
                Pattern::Name(name) => match name.strip_prefix("*.") {
                    Some(domain) => host.ends_with(&format!(".{domain}")),
                    None => *name == host,
                },
            };
            host_ok && want_port.is_none_or(|p| p == port)
        })
    }

    /// Whether an address a host name resolved to may be connected to.
    pub fn admits_address(&self, ip: IpAddr, port: u16) -> bool {
        is_public(ip) || self.names_address(ip, port)
    }

    /// Whether an address or range pattern covers `ip` at `port`.
    fn names_address(&self, ip: IpAddr, port: u16) -> bool {
        let ip = canonical(ip);
        self.patterns.iter().any(|(pattern, want_port)| {
            matches!(pattern, Pattern::Net(net) if net.contains(&ip)) && want_port.is_none_or(|p| p == port)
        })
    }

    pub fn describe(&self) -> String {
        if self.patterns.is_empty() {
            return "none".to_string();
        }
        let list: Vec<String> = self
            .patterns
            .iter()
            .map(|(pattern, port)| {
                let host = match pattern {
                    Pattern::Name(name) => name.clone(),
                    Pattern::Net(IpNet::V6(net)) if port.is_some() && net.prefix_len() == 128 => {
                        format!("[{}]", net.addr())
                    }
                    Pattern::Net(net) if net.prefix_len() == net.max_prefix_len() => net.addr().to_string(),
                    Pattern::Net(net) => net.to_string(),
                };
                match port {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        list.join(", ")
    }
}

/// `host:port`, `[v6]:port`, `[v6]`, `v6` and `v6/len` (a bare IPv6 address takes no port).
fn split_port(item: &str) -> Result<(&str, Option<u16>), String> {
    let port_of = |port: &str| port.parse::<u16>().map_err(|_| format!("--callback-allow {item:?}: bad port {port:?}"));
    if let Some(rest) = item.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return Err(format!("--callback-allow {item:?}: no closing ]"));
        };
        // `[fd00::]/8` keeps its length: the host is `fd00::/8`.
        if let Some(len) = after.strip_prefix('/') {
            let (len, port) = match len.split_once(':') {
                Some((len, port)) => (len, Some(port_of(port)?)),
                None => (len, None),
            };
            let end = item.len() - after.len() + 1 + len.len();
            return Ok((&item[..end], port));
        }
        return match after.strip_prefix(':') {
            Some(port) => Ok((inside, Some(port_of(port)?))),
            None if after.is_empty() => Ok((inside, None)),
            None => Err(format!("--callback-allow {item:?}: unexpected {after:?} after ]")),
        };
    }
    match item.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host, Some(port_of(port)?))),
        _ => Ok((item, None)),
    }
}

/// An address or a range, IPv6 possibly in brackets (`[fd00::]/8`).
fn parse_net(host: &str) -> Option<IpNet> {
    let unbracketed: String = host.chars().filter(|c| *c != '[' && *c != ']').collect();
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Some(IpNet::from(canonical(ip)));
    }
    let net = unbracketed.parse::<IpNet>().ok()?;
    Some(match net {
        // An IPv4-mapped range is the IPv4 range it maps.
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).ok()?,
            None => net,
        },
        _ => net,
    })
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is an address on the public internet: not loopback,
/// private, link-local, shared (CGNAT), unspecified, multicast, broadcast
/// or reserved, also when wrapped in IPv6 (mapped, compatible or NAT64).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) carry an IPv4 address.
    let embedded = |s: &[u16]| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if segments[..6] == [0; 6] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return !ip.is_loopback() && !ip.is_unspecified() && is_public_v4(embedded(&segments));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unicast_link_local()
        || ip.is_unique_local()
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0xdb8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(list: &str) -> Allow {
        Allow::parse(&[list.to_string()]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn allows(allow: &Allow, host: &str, port: u16) -> bool {
        let url = url::Url::parse(&format!("http://{host}/")).unwrap();
        allow.allows_host(&url.host().unwrap(), port)
    }

    #[test]
    fn name_patterns() {
        let list = allow("hooks.example.com,*.contest.org,other.org:9000");
        assert!(allows(&list, "hooks.example.com", 443));
        assert!(allows(&list, "HOOKS.example.com", 443));
        assert!(allows(&list, "a.b.contest.org", 80));
        assert!(!allows(&list, "contest.org", 80), "*.domain is subdomains only");
        assert!(!allows(&list, "evilcontest.org", 80));
        assert!(allows(&list, "other.org", 9000));
        assert!(!allows(&list, "other.org", 9001));
        assert!(!allows(&Allow::default(), "localhost", 80), "nothing by default");
        assert!(allows(&allow("*"), "anything", 1));
        for bad in ["a*.com", "host:port", "10.0.0.0/33", "[::1", "[::1]x", "fe80::1:99999", "a/b"] {
            assert!(Allow::parse(&[bad.to_string()]).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn addresses_need_a_pattern_that_names_them_unless_public() {
        let any = allow("*");
        assert!(allows(&any, "93.184.215.14", 80), "* covers public addresses");
        for internal in
            ["127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "0.0.0.0"]
        {
            assert!(!allows(&any, internal, 80), "* let {internal} through");
        }
        let listed = allow("127.0.0.1:9000,10.0.0.0/8,[fd00::1]:8080,fe80::/10,[::ffff:192.168.0.0]/112");
        assert!(allows(&listed, "127.0.0.1", 9000));
        assert!(allows(&listed, "[::ffff:127.0.0.1]", 9000), "a mapped address is its IPv4 address");
        assert!(!allows(&listed, "127.0.0.1", 9001));
        assert!(!allows(&listed, "127.0.0.2", 9000));
        assert!(allows(&listed, "10.200.0.1", 1));
        assert!(allows(&listed, "[fd00::1]", 8080));
        assert!(!allows(&listed, "[fd00::1]", 80));
        assert!(allows(&listed, "[fe80::abcd]", 80));
        assert!(allows(&listed, "192.168.3.4", 80), "a mapped range is its IPv4 range");
        assert!(!allows(&listed, "93.184.215.14", 80), "no name pattern: public addresses are not covered");
        assert_eq!(listed.describe(), "127.0.0.1:9000, 10.0.0.0/8, [fd00::1]:8080, fe80::/10, 192.168.0.0/16");
    }

    #[test]
    fn resolved_addresses_are_admitted_when_public_or_named() {
        let list = allow("hooks.example.com,127.0.0.1:9000");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(list.admits_address(ip("93.184.215.14"), 443));
        assert!(!list.admits_address(ip("10.0.0.1"), 443));
        assert!(list.admits_address(ip("127.0.0.1"), 9000));
        assert!(!list.admits_address(ip("127.0.0.1"), 22), "the port of the pattern holds");
        assert!(list.admits_address(ip("::ffff:127.0.0.1"), 9000));
    }

    #[test]
    fn internal_addresses_are_not_public() {
        let internal = [
            "127.0.0.1",
            "127.255.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ];
        for ip in internal {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        let public =
            ["1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "64:ff9b::808:808"];
        for ip in public {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as internal");
        }
    }
}
