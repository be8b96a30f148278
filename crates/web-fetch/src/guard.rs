//! The SSRF guard: which URLs and socket addresses the scraper may connect to.
//!
//! Everything is decided before a connection is made: the scheme, the port, and every address
//! (IP-literal hosts, every resolved address, every redirect hop). Only public unicast addresses on
//! the configured http/https ports pass, unless a socket address is explicitly allow-listed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::{Host, Url};

/// Why an address is not public (and so never connected to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8`.
    ThisNetwork,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64/10` (carrier-grade NAT).
    SharedAddressSpace,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// Cloud metadata endpoints (`169.254.169.254`, `fd00:ec2::254`).
    Metadata,
    /// `192.0.0/24`, `2001::/23`.
    ProtocolAssignments,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18/15`.
    Benchmarking,
    /// `192.88.99/24` (deprecated 6to4 relay anycast).
    Relay,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240/4`, `64:ff9b:1::/48`, and IPv6 outside `2000::/3`.
    Reserved,
    /// `100::/64`.
    DiscardOnly,
    /// `fc00::/7`.
    UniqueLocal,
    /// `fec0::/10` (deprecated).
    SiteLocal,
    /// `::/96` (deprecated IPv4-compatible IPv6).
    Ipv4Compatible,
}

/// Why a URL or address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not `http` or `https`.
    Scheme(String),
    /// The URL carries a user name or password.
    Credentials,
    /// The URL has no host.
    NoHost,
    /// The port is not one of the allowed ones.
    Port(u16),
    /// The address is not public.
    Address(SocketAddr, AddressClass),
    /// The name resolved, but to no address at all.
    NoAddress,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme(s) => write!(f, "scheme {s:?} is not http or https"),
            Self::Credentials => f.write_str("URL carries credentials"),
            Self::NoHost => f.write_str("URL has no host"),
            Self::Port(p) => write!(f, "port {p} is not allowed"),
            Self::Address(a, class) => write!(f, "address {a} is not public ({class:?})"),
            Self::NoAddress => f.write_str("name resolved to no address"),
        }
    }
}

/// The guard's only relaxation: exact socket addresses that count as public (for tests that stand
/// in for the internet). The default is empty, i.e. strict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardPolicy {
    pub allow: Vec<SocketAddr>,
}

/// Where a URL that passed [`Guard::check_url`] connects to, before name resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as parsed (and normalized) by the `url` crate.
    pub host: Host<String>,
    /// The port connected to: the URL's explicit port, else the configured port of its scheme.
    pub port: u16,
}

/// Checks URLs and socket addresses against the policy.
#[derive(Debug, Clone)]
pub struct Guard {
    policy: GuardPolicy,
    http_port: u16,
    https_port: u16,
}

impl Default for Guard {
    fn default() -> Self {
        Self::new(GuardPolicy::default(), 80, 443)
    }
}

impl Guard {
    /// A guard allowing public addresses on `http_port` and `https_port` (the ports the `http`
    /// and `https` schemes connect to when a URL names none), plus `policy.allow`.
    pub fn new(policy: GuardPolicy, http_port: u16, https_port: u16) -> Self {
        Self {
            policy,
            http_port,
            https_port,
        }
    }

    /// The scheme, credentials, host and port of `url`, and the address when the host is an IP
    /// literal (already normalized by the URL parser: `2130706433`, `0177.0.0.1` and `0x7f.1` are
    /// all `127.0.0.1`).
    ///
    /// # Errors
    /// The [`Refusal`] when the URL must not be fetched.
    pub fn check_url(&self, url: &Url) -> Result<Target, Refusal> {
        let default_port = match url.scheme() {
            "http" => self.http_port,
            "https" => self.https_port,
            other => return Err(Refusal::Scheme(other.to_owned())),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        let port = url.port().unwrap_or(default_port);
        let host = url.host().ok_or(Refusal::NoHost)?.to_owned();
        match host {
            Host::Ipv4(ip) => self.check_addr(SocketAddr::new(IpAddr::V4(ip), port))?,
            Host::Ipv6(ip) => self.check_addr(SocketAddr::new(IpAddr::V6(ip), port))?,
            Host::Domain(_) => {
                let allow_listed = self.policy.allow.iter().any(|a| a.port() == port);
                if !self.port_allowed(port) && !allow_listed {
                    return Err(Refusal::Port(port));
                }
            }
        }
        Ok(Target { host, port })
    }

    /// Whether a connection to `addr` is allowed.
    ///
    /// # Errors
    /// [`Refusal::Port`] or [`Refusal::Address`].
    pub fn check_addr(&self, addr: SocketAddr) -> Result<(), Refusal> {
        if self.policy.allow.contains(&addr) {
            return Ok(());
        }
        if !self.port_allowed(addr.port()) {
            return Err(Refusal::Port(addr.port()));
        }
        match classify(addr.ip()) {
            Some(class) => Err(Refusal::Address(addr, class)),
            None => Ok(()),
        }
    }

    /// The allowed ones of `addrs` (all on `port`), or why none is.
    ///
    /// # Errors
    /// The refusal of the first address when none is allowed, [`Refusal::NoAddress`] when there
    /// is none.
    pub fn filter(&self, addrs: &[IpAddr], port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let mut allowed = Vec::new();
        let mut first_refusal = None;
        for ip in addrs {
            let addr = SocketAddr::new(*ip, port);
            match self.check_addr(addr) {
                Ok(()) if !allowed.contains(&addr) => allowed.push(addr),
                Ok(()) => {}
                Err(refusal) => {
                    tracing::debug!(%addr, %refusal, "address refused by the SSRF guard");
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        if allowed.is_empty() {
            Err(first_refusal.unwrap_or(Refusal::NoAddress))
        } else {
            Ok(allowed)
        }
    }

    fn port_allowed(&self, port: u16) -> bool {
        port == self.http_port || port == self.https_port
    }
}

/// `None` when `ip` is a public unicast address, else the range that makes it not one.
/// IPv6 addresses that embed an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`,
/// 6to4 `2002::/16`) are judged by the embedded address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// IPv4 blocks that are not public, most specific first.
const V4_BLOCKS: &[([u8; 4], u32, AddressClass)] = &[
    ([169, 254, 169, 254], 32, AddressClass::Metadata),
    ([255, 255, 255, 255], 32, AddressClass::Broadcast),
    ([0, 0, 0, 0], 32, AddressClass::Unspecified),
    ([0, 0, 0, 0], 8, AddressClass::ThisNetwork),
    ([10, 0, 0, 0], 8, AddressClass::Private),
    ([100, 64, 0, 0], 10, AddressClass::SharedAddressSpace),
    ([127, 0, 0, 0], 8, AddressClass::Loopback),
    ([169, 254, 0, 0], 16, AddressClass::LinkLocal),
    ([172, 16, 0, 0], 12, AddressClass::Private),
    ([192, 0, 0, 0], 24, AddressClass::ProtocolAssignments),
    ([192, 0, 2, 0], 24, AddressClass::Documentation),
    ([192, 88, 99, 0], 24, AddressClass::Relay),
    ([192, 168, 0, 0], 16, AddressClass::Private),
    ([198, 18, 0, 0], 15, AddressClass::Benchmarking),
    ([198, 51, 100, 0], 24, AddressClass::Documentation),
    ([203, 0, 113, 0], 24, AddressClass::Documentation),
    ([224, 0, 0, 0], 4, AddressClass::Multicast),
    ([240, 0, 0, 0], 4, AddressClass::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let n = u32::from(ip);
    V4_BLOCKS.iter().find_map(|(base, len, class)| {
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        (n & mask == u32::from(Ipv4Addr::from(*base)) & mask).then_some(*class)
    })
}

/// IPv6 blocks that are not public, most specific first.
const V6_BLOCKS: &[(u128, u32, AddressClass)] = &[
    (
        0xfd00_0ec2_0000_0000_0000_0000_0000_0254,
        128,
        AddressClass::Metadata,
    ),
    (
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
        AddressClass::Reserved,
    ),
    (
        0x0100_0000_0000_0000_0000_0000_0000_0000,
        64,
        AddressClass::DiscardOnly,
    ),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        AddressClass::Documentation,
    ),
    (
        0x2001_0000_0000_0000_0000_0000_0000_0000,
        23,
        AddressClass::ProtocolAssignments,
    ),
    (
        0x3fff_0000_0000_0000_0000_0000_0000_0000,
        20,
        AddressClass::Documentation,
    ),
    (
        0xfc00_0000_0000_0000_0000_0000_0000_0000,
        7,
        AddressClass::UniqueLocal,
    ),
    (
        0xfe80_0000_0000_0000_0000_0000_0000_0000,
        10,
        AddressClass::LinkLocal,
    ),
    (
        0xfec0_0000_0000_0000_0000_0000_0000_0000,
        10,
        AddressClass::SiteLocal,
    ),
    (
        0xff00_0000_0000_0000_0000_0000_0000_0000,
        8,
        AddressClass::Multicast,
    ),
];

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let n = u128::from(ip);
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    if n >> 32 == 0 {
        return Some(AddressClass::Ipv4Compatible);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed.
    if n >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return classify_v4(Ipv4Addr::from((n & 0xffff_ffff) as u32));
    }
    if n >> 112 == 0x2002 {
        return classify_v4(Ipv4Addr::from(((n >> 80) & 0xffff_ffff) as u32));
    }
    let in_block = |base: u128, len: u32| {
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        n & mask == base & mask
    };
    if let Some((_, _, class)) = V6_BLOCKS.iter().find(|(b, l, _)| in_block(*b, *l)) {
        return Some(*class);
    }
    // Only global unicast (2000::/3) is public.
    if !in_block(0x2000_0000_0000_0000_0000_0000_0000_0000, 3) {
        return Some(AddressClass::Reserved);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass as C;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().expect("an IP address"))
    }

    #[test]
    fn ipv4_ranges_are_classified() {
        let cases = [
            ("0.0.0.0", C::Unspecified),
            ("0.1.2.3", C::ThisNetwork),
            ("10.0.0.1", C::Private),
            ("10.255.255.255", C::Private),
            ("100.64.0.1", C::SharedAddressSpace),
            ("100.127.255.254", C::SharedAddressSpace),
            ("127.0.0.1", C::Loopback),
            ("127.255.0.9", C::Loopback),
            ("169.254.0.1", C::LinkLocal),
            ("169.254.169.254", C::Metadata),
            ("172.16.0.1", C::Private),
            ("172.31.255.255", C::Private),
            ("192.0.0.8", C::ProtocolAssignments),
            ("192.0.2.1", C::Documentation),
            ("192.88.99.1", C::Relay),
            ("192.168.1.1", C::Private),
            ("198.18.0.1", C::Benchmarking),
            ("198.19.255.255", C::Benchmarking),
            ("198.51.100.7", C::Documentation),
            ("203.0.113.9", C::Documentation),
            ("224.0.0.1", C::Multicast),
            ("239.255.255.250", C::Multicast),
            ("240.0.0.1", C::Reserved),
            ("255.255.255.254", C::Reserved),
            ("255.255.255.255", C::Broadcast),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv4_neighbours_of_refused_ranges_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "203.0.112.255",
            "223.255.255.255",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_are_classified() {
        let cases = [
            ("::", C::Unspecified),
            ("::1", C::Loopback),
            ("::7f00:1", C::Ipv4Compatible),
            ("::8.8.8.8", C::Ipv4Compatible),
            ("::ffff:127.0.0.1", C::Loopback),
            ("::ffff:10.1.2.3", C::Private),
            ("::ffff:169.254.169.254", C::Metadata),
            ("64:ff9b::7f00:1", C::Loopback),
            ("64:ff9b::a9fe:a9fe", C::Metadata),
            ("64:ff9b:1::1", C::Reserved),
            ("100::1", C::DiscardOnly),
            ("2001::1", C::ProtocolAssignments),
            ("2001:2::1", C::ProtocolAssignments),
            ("2001:db8::1", C::Documentation),
            ("2002:7f00:1::1", C::Loopback),
            ("2002:c0a8:101::1", C::Private),
            ("3fff::1", C::Documentation),
            ("fc00::1", C::UniqueLocal),
            ("fd12:3456::1", C::UniqueLocal),
            ("fd00:ec2::254", C::Metadata),
            ("fe80::1", C::LinkLocal),
            ("febf::1", C::LinkLocal),
            ("fec0::1", C::SiteLocal),
            ("ff02::1", C::Multicast),
            ("4000::1", C::Reserved),
            ("1::1", C::Reserved),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv6_passes_including_embedded_public_ipv4() {
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    fn check(guard: &Guard, url: &str) -> Result<Target, Refusal> {
        guard.check_url(&Url::parse(url).expect("a URL"))
    }

    #[test]
    fn odd_ipv4_literals_are_normalized_then_refused() {
        let guard = Guard::default();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
        ] {
            let refusal = check(&guard, url).expect_err(url);
            assert!(
                matches!(refusal, Refusal::Address(a, C::Loopback) if a.port() == 80),
                "{url}: {refusal:?}"
            );
        }
        for (url, expected) in [
            ("http://10.0.0.1/", C::Private),
            ("http://169.254.169.254/latest/meta-data/", C::Metadata),
            ("https://[fd00:ec2::254]/", C::Metadata),
            ("http://0/", C::Unspecified),
            ("http://3232235777/", C::Private),
        ] {
            assert!(
                matches!(check(&guard, url), Err(Refusal::Address(_, c)) if c == expected),
                "{url}"
            );
        }
    }

    #[test]
    fn scheme_port_and_credentials_are_checked() {
        let guard = Guard::default();
        assert_eq!(
            check(&guard, "ftp://acme.test/"),
            Err(Refusal::Scheme("ftp".into()))
        );
        assert_eq!(
            check(&guard, "file:///etc/passwd"),
            Err(Refusal::Scheme("file".into()))
        );
        assert_eq!(
            check(&guard, "http://acme.test:8080/"),
            Err(Refusal::Port(8080))
        );
        assert_eq!(check(&guard, "http://8.8.8.8:22/"), Err(Refusal::Port(22)));
        assert_eq!(
            check(&guard, "http://user:pw@acme.test/"),
            Err(Refusal::Credentials)
        );
        let ok = check(&guard, "https://acme.test/about").expect("allowed");
        assert_eq!(ok.port, 443);
        assert_eq!(ok.host, Host::Domain("acme.test".to_owned()));
        // Either scheme may use either allowed port.
        assert_eq!(
            check(&guard, "http://acme.test:443/").expect("ok").port,
            443
        );
        assert!(check(&guard, "http://8.8.8.8/").is_ok());
    }

    #[test]
    fn scheme_ports_follow_the_configuration() {
        let guard = Guard::new(GuardPolicy::default(), 8080, 8443);
        assert_eq!(check(&guard, "http://acme.test/").expect("ok").port, 8080);
        assert_eq!(check(&guard, "https://acme.test/").expect("ok").port, 8443);
        // The URL parser drops a port equal to the scheme's default: `:80` means "the http port".
        assert_eq!(
            check(&guard, "http://acme.test:80/").expect("ok").port,
            8080
        );
        assert_eq!(
            check(&guard, "http://acme.test:9000/"),
            Err(Refusal::Port(9000))
        );
        assert_eq!(
            check(&guard, "http://acme.test:8443/").expect("ok").port,
            8443
        );
    }

    #[test]
    fn the_allow_list_admits_exact_socket_addresses_only() {
        let allowed: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        let guard = Guard::new(
            GuardPolicy {
                allow: vec![allowed],
            },
            4000,
            4000,
        );
        assert_eq!(guard.check_addr(allowed), Ok(()));
        let other_ip: SocketAddr = "127.0.0.2:4000".parse().expect("addr");
        assert!(matches!(
            guard.check_addr(other_ip),
            Err(Refusal::Address(_, C::Loopback))
        ));
        let other_port: SocketAddr = "127.0.0.1:4001".parse().expect("addr");
        assert_eq!(guard.check_addr(other_port), Err(Refusal::Port(4001)));
        assert!(check(&guard, "http://127.0.0.1/").is_ok());
        assert!(check(&guard, "http://127.0.0.2/").is_err());
    }

    #[test]
    fn filter_keeps_allowed_addresses_and_reports_the_first_refusal() {
        let guard = Guard::default();
        let ips: Vec<IpAddr> = ["10.0.0.1", "8.8.8.8", "127.0.0.1", "8.8.8.8"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        assert_eq!(
            guard.filter(&ips, 443),
            Ok(vec!["8.8.8.8:443".parse().expect("addr")])
        );
        assert!(matches!(
            guard.filter(&ips[..1], 443),
            Err(Refusal::Address(_, C::Private))
        ));
        assert_eq!(guard.filter(&[], 443), Err(Refusal::NoAddress));
    }
}
