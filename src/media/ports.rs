//! RTP port allocation: even RTP ports with RTCP on the next odd port
//! (RFC 3550 §11), handed out with their sockets already bound.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A bound RTP/RTCP socket pair.
#[derive(Debug)]
pub struct PortPair {
    pub rtp_port: u16,
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortError {
    #[error("no free RTP port in {0}-{1}")]
    Exhausted(u16, u16),
}

/// Hands out port pairs from a configured range. Used by the control plane
/// only (once per call), so a mutex is fine here.
#[derive(Debug)]
pub struct PortAllocator {
    bind: IpAddr,
    range: (u16, u16),
    free: Mutex<VecDeque<u16>>,
    in_use: AtomicUsize,
}

impl PortAllocator {
    /// `min..=max`; `min` is rounded up to even, and a pair needs `max >= rtp + 1`.
    pub fn new(bind: IpAddr, min: u16, max: u16) -> Self {
        let first = min + (min % 2);
        let free: VecDeque<u16> = (first..max).step_by(2).collect();
        PortAllocator {
            bind,
            range: (min, max),
            free: Mutex::new(free),
            in_use: AtomicUsize::new(0),
        }
    }

    /// Binds the next free pair. A port another process holds is skipped and
    /// put to the back of the queue for later.
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        let attempts = self.lock().len();
        for _ in 0..attempts {
            // The lock is not held across bind(): workers release ports
            // while we search.
            let Some(port) = self.lock().pop_front() else {
                break;
            };
            match self.bind_pair(port) {
                Ok(pair) => {
                    self.in_use.fetch_add(1, Ordering::Relaxed);
                    return Ok(pair);
                }
                Err(_) => self.lock().push_back(port),
            }
        }
        Err(PortError::Exhausted(self.range.0, self.range.1))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u16>> {
        // The queue stays consistent even if a holder panicked.
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bind_pair(&self, port: u16) -> std::io::Result<PortPair> {
        let rtp = UdpSocket::bind(SocketAddr::new(self.bind, port))?;
        let rtcp = UdpSocket::bind(SocketAddr::new(self.bind, port + 1))?;
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        Ok(PortPair {
            rtp_port: port,
            rtp,
            rtcp,
        })
    }

    /// Returns a pair once its sockets are closed.
    pub fn release(&self, rtp_port: u16) {
        self.lock().push_back(rtp_port);
        self.in_use.fetch_sub(1, Ordering::Relaxed);
    }

    /// Pairs currently handed out.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Pairs the range holds.
    pub fn capacity(&self) -> usize {
        let first = self.range.0 + (self.range.0 % 2);
        (first..self.range.1).step_by(2).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn localhost() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    #[test]
    fn pairs_are_even_and_adjacent_and_exhaust() {
        // A high range unlikely to be in use; a held port is skipped, not fatal.
        let alloc = PortAllocator::new(localhost(), 47001, 47008);
        assert_eq!(alloc.capacity(), 3);
        let mut pairs = Vec::new();
        while let Ok(pair) = alloc.allocate() {
            assert_eq!(pair.rtp_port % 2, 0);
            assert_eq!(pair.rtcp.local_addr().unwrap().port(), pair.rtp_port + 1);
            pairs.push(pair);
        }
        assert!(!pairs.is_empty());
        assert_eq!(alloc.in_use(), pairs.len());
        assert_eq!(
            alloc.allocate().unwrap_err(),
            PortError::Exhausted(47001, 47008)
        );
        let port = pairs.pop().unwrap().rtp_port;
        alloc.release(port);
        assert_eq!(alloc.allocate().unwrap().rtp_port, port);
    }
}
