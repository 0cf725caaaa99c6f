//! IPv4 address accounting for emulated Neutron subnets.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why an address could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeError {
    /// Outside the subnet's allocation pool.
    NotInPool,
    /// Already allocated.
    InUse,
}

/// A subnet's allocation pool and the addresses handed out from it.
#[derive(Debug, Clone)]
pub(crate) struct AddressPool {
    pub(crate) cidr: Ipv4Net,
    pub(crate) gateway: Ipv4Addr,
    pub(crate) start: Ipv4Addr,
    pub(crate) end: Ipv4Addr,
    allocated: BTreeSet<Ipv4Addr>,
}

impl AddressPool {
    /// Neutron's default layout: gateway = first host, pool = the remaining hosts.
    pub(crate) fn new(cidr: Ipv4Net) -> Self {
        let first = u32::from(cidr.network()).saturating_add(1);
        let last = u32::from(cidr.broadcast()).saturating_sub(1).max(first);
        AddressPool {
            cidr,
            gateway: Ipv4Addr::from(first),
            start: Ipv4Addr::from(first.saturating_add(1).min(last)),
            end: Ipv4Addr::from(last),
            allocated: BTreeSet::new(),
        }
    }

    fn in_pool(&self, ip: Ipv4Addr) -> bool {
        ip >= self.start && ip <= self.end && ip != self.gateway
    }

    /// The lowest free address, allocated; `None` when the pool is exhausted.
    pub(crate) fn allocate(&mut self) -> Option<Ipv4Addr> {
        let (start, end) = (u32::from(self.start), u32::from(self.end));
        let ip = (start..=end)
            .map(Ipv4Addr::from)
            .find(|ip| *ip != self.gateway && !self.allocated.contains(ip))?;
        self.allocated.insert(ip);
        Some(ip)
    }

    /// Takes a specific address.
    pub(crate) fn take(&mut self, ip: Ipv4Addr) -> Result<(), TakeError> {
        if !self.in_pool(ip) {
            return Err(TakeError::NotInPool);
        }
        if !self.allocated.insert(ip) {
            return Err(TakeError::InUse);
        }
        Ok(())
    }

    /// Gives an address back.
    pub(crate) fn release(&mut self, ip: Ipv4Addr) {
        self.allocated.remove(&ip);
    }

    /// Addresses in use.
    pub(crate) fn used(&self) -> usize {
        self.allocated.len()
    }

    /// Size of the pool.
    pub(crate) fn total(&self) -> usize {
        let n = u32::from(self.end).saturating_sub(u32::from(self.start)) as usize + 1;
        if self.in_pool(self.gateway) { n - 1 } else { n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_29_hands_out_five_addresses_lowest_first_then_is_exhausted() {
        let mut pool = AddressPool::new("10.0.0.0/29".parse().unwrap());
        assert_eq!(pool.gateway, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(pool.total(), 5);
        let got: Vec<_> = std::iter::from_fn(|| pool.allocate()).collect();
        assert_eq!(got.first(), Some(&Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(got.len(), 5);
        pool.release(Ipv4Addr::new(10, 0, 0, 4));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 0, 0, 4)));
        assert_eq!(pool.used(), 5);
    }

    #[test]
    fn taking_a_specific_address_checks_pool_and_use() {
        let mut pool = AddressPool::new("203.0.113.0/24".parse().unwrap());
        assert_eq!(pool.take(Ipv4Addr::new(203, 0, 113, 50)), Ok(()));
        assert_eq!(
            pool.take(Ipv4Addr::new(203, 0, 113, 50)),
            Err(TakeError::InUse)
        );
        assert_eq!(
            pool.take(Ipv4Addr::new(203, 0, 113, 1)),
            Err(TakeError::NotInPool)
        );
        assert_eq!(
            pool.take(Ipv4Addr::new(198, 51, 100, 1)),
            Err(TakeError::NotInPool)
        );
        assert_ne!(pool.allocate(), Some(Ipv4Addr::new(203, 0, 113, 50)));
    }
}
