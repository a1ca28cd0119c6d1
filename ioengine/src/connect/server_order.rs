//! The order in which gfapi is given the volfile servers of `brick=a,b,c`.
//!
//! gfapi tries them in order and moves on only once an attempt fails. A server that
//! refuses (glusterd stopped) fails at once, but one that does not answer at all (the
//! host is down or cut off) holds the attempt until TCP gives up, far past `io_timeout`:
//! measured on a three-node namespace cluster with n1's link down, `brick=n1,n2,n3` failed
//! to connect within 8 s although n2 and n3 were fine. So, before connecting, every TCP
//! server gets one short connect probe (all in parallel), and those that answered go
//! first, in the order given, then the others (still tried, in case they come back).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use gfapi::{Server, Transport};

/// Longest probe of one server.
const MAX_PROBE: Duration = Duration::from_secs(2);

/// How long one probe may take for a job with this `io_timeout` (0: unbounded).
pub fn probe_timeout(io_timeout: u32) -> Duration {
    if io_timeout == 0 {
        return MAX_PROBE;
    }
    (Duration::from_secs(u64::from(io_timeout)) / 5).clamp(Duration::from_millis(200), MAX_PROBE)
}

/// `servers` with the ones accepting a TCP connection within `timeout` first (order kept
/// within both groups). One server, or none over TCP: unchanged, nothing probed.
pub fn reachable_first(servers: &[Server], timeout: Duration) -> Vec<Server> {
    let tcp = servers
        .iter()
        .filter(|s| s.transport == Transport::Tcp)
        .count();
    if servers.len() < 2 || tcp == 0 {
        return servers.to_vec();
    }
    let answered: Vec<bool> = std::thread::scope(|scope| {
        let probes: Vec<_> = servers
            .iter()
            .map(|s| scope.spawn(move || s.transport != Transport::Tcp || answers(s, timeout)))
            .collect();
        probes
            .into_iter()
            .map(|p| p.join().unwrap_or(true))
            .collect()
    });
    let (up, down): (Vec<_>, Vec<_>) = servers
        .iter()
        .zip(answered)
        .partition(|(_, answered)| *answered);
    up.into_iter().chain(down).map(|(s, _)| s.clone()).collect()
}

fn answers(s: &Server, timeout: Duration) -> bool {
    let Ok(addrs) = (s.host.as_str(), s.port).to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, timeout).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn tcp(host: &str, port: u16) -> Server {
        Server {
            transport: Transport::Tcp,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn answering_servers_go_first_in_order() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let pa = a.local_addr().unwrap().port();
        let pb = b.local_addr().unwrap().port();
        // A closed port refuses: it goes last.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let pc = closed.local_addr().unwrap().port();
        drop(closed);
        let given = [
            tcp("127.0.0.1", pc),
            tcp("127.0.0.1", pa),
            tcp("127.0.0.1", pb),
        ];
        let got = reachable_first(&given, Duration::from_secs(1));
        assert_eq!(got, [given[1].clone(), given[2].clone(), given[0].clone()]);
    }

    #[test]
    fn single_server_is_not_probed() {
        let one = [tcp("unresolvable.invalid", 24007)];
        assert_eq!(reachable_first(&one, Duration::from_secs(1)), one);
    }

    #[test]
    fn probe_bounds() {
        assert_eq!(probe_timeout(0), MAX_PROBE);
        assert_eq!(probe_timeout(10), Duration::from_secs(2));
        assert_eq!(probe_timeout(1), Duration::from_millis(200));
    }
}
