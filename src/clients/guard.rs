//! Where outbound requests may go. A URL an operator types in names a host the ledger will
//! connect to from inside its own network, so by default every address a host resolves to
//! must be public: private, loopback, link-local, shared, documentation and multicast ranges
//! are refused, as Waldur refuses its subnet blacklist. Tests and two ledgers on one host
//! allow them explicitly.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is one an outbound request must not reach by default.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // unique local fc00::/7
                || (first & 0xfe00) == 0xfc00
                // link-local fe80::/10
                || (first & 0xffc0) == 0xfe80
                // documentation 2001:db8::/32
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        // shared address space 100.64.0.0/10
        || (a == 100 && (64..128).contains(&b))
        // 0.0.0.0/8 and 240.0.0.0/4
        || a == 0
        || a >= 240
}

/// Why a host may not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, an internal address that outbound requests may not reach")]
pub struct Refused {
    pub host: String,
    pub address: IpAddr,
}

/// A resolver that refuses names resolving to an internal address (any of them, so that
/// the connection cannot be steered to the internal one).
#[derive(Debug, Clone, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(addr) = addrs.iter().find(|a| is_internal(a.ip())) {
                return Err(Box::new(Refused {
                    host,
                    address: addr.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Checks a host written as an address literal, which no resolver sees.
pub fn check_literal(host: &url::Host<&str>) -> Result<(), Refused> {
    let ip = match host {
        url::Host::Ipv4(v4) => IpAddr::V4(*v4),
        url::Host::Ipv6(v6) => IpAddr::V6(*v6),
        url::Host::Domain(_) => return Ok(()),
    };
    if is_internal(ip) {
        return Err(Refused {
            host: ip.to_string(),
            address: ip,
        });
    }
    Ok(())
}

/// The resolver for a client: public addresses only unless internal ones are allowed.
pub fn resolver(allow_internal: bool) -> Option<Arc<PublicOnly>> {
    (!allow_internal).then(|| Arc::new(PublicOnly))
}

/// Walks an error's sources looking for a refusal by [`PublicOnly`].
pub fn refusal_in<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
    let mut current: Option<&'e (dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return Some(refused);
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_and_public_ones_are_not() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "193.40.1.1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn literal_hosts_are_checked_without_a_resolver() {
        let url = url::Url::parse("https://169.254.169.254/api/").unwrap();
        assert!(check_literal(&url.host().unwrap()).is_err());
        let url = url::Url::parse("https://[::1]:8080/api/").unwrap();
        assert!(check_literal(&url.host().unwrap()).is_err());
        let url = url::Url::parse("https://waldur.example.org/api/").unwrap();
        assert!(check_literal(&url.host().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_of_the_loopback() {
        let refused = PublicOnly
            .resolve("localhost".parse::<Name>().unwrap())
            .await
            .err()
            .expect("localhost is refused");
        assert!(refusal_in(refused.as_ref()).is_some());
    }
}
