//! Fault injection: deterministic for a seed, never on the data.
//!
//! Every API request (not the token endpoints, unless
//! [`FaultConfig::on_token_endpoints`]) is keyed by vendor, method, path and
//! query. The *k*-th attempt at a key is faulted when
//! `SplitMix64(seed ⊕ hash(key) ⊕ k) < rate`, so the same sequence of requests
//! sees the same faults whatever the timing or the interleaving of other
//! requests, and a retry (attempt *k*+1) draws again. After
//! [`FaultConfig::max_consecutive`] faults in a row at one key the next attempt
//! always goes through, so a client with a few retries always finishes.
//!
//! A faulted request never reaches the handler: it changes no data and does
//! not advance Kandji's page-to-page mutation, so the retried request gets
//! exactly the page the first attempt would have got.
//!
//! Kinds ([`FaultKind`]): 429 with `Retry-After: 1`, 503, a connection reset
//! (the socket is closed with `SO_LINGER` 0, so the client reads a TCP RST and
//! no response), and an expired token (the presented token is revoked and the
//! request gets the vendor's 401, so the client must authenticate again). Kandji
//! tokens never expire, so for Kandji an expired-token draw becomes a 503.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use mdm_mapping::Vendor;

use super::fleet::{SplitMix64, mix};

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// HTTP 429 with `Retry-After: 1`.
    RateLimited,
    /// HTTP 503.
    Unavailable,
    /// The connection is reset without a response.
    ConnectionReset,
    /// The token is revoked and the request gets 401 (Jamf and ABM).
    ExpiredToken,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 4] = [
        FaultKind::RateLimited,
        FaultKind::Unavailable,
        FaultKind::ConnectionReset,
        FaultKind::ExpiredToken,
    ];
}

/// How faults are injected.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Probability that an attempt is faulted, 0..=1.
    pub rate: f64,
    /// Seed of the fault sequence.
    pub seed: u64,
    /// The kinds drawn from (uniformly). Empty = no faults.
    pub kinds: Vec<FaultKind>,
    /// Also fault the token endpoints (default: no).
    pub on_token_endpoints: bool,
    /// After this many faults in a row at one key, the next attempt succeeds.
    pub max_consecutive: u32,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate: 0.0,
            seed: 1,
            kinds: FaultKind::ALL.to_vec(),
            on_token_endpoints: false,
            max_consecutive: 2,
        }
    }
}

/// The pure decision: is attempt `attempt` at `key` faulted, and how.
pub fn decide(config: &FaultConfig, key: u64, attempt: u64) -> Option<FaultKind> {
    if config.rate <= 0.0 || config.kinds.is_empty() {
        return None;
    }
    let mut rng = SplitMix64::new(mix(mix(config.seed, key), attempt));
    if !rng.chance(config.rate) {
        return None;
    }
    rng.pick(&config.kinds).copied()
}

/// FNV-1a: a stable hash for request keys.
pub(crate) fn key_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Counts of injected faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// 429s.
    pub rate_limited: u64,
    /// 503s.
    pub unavailable: u64,
    /// Connection resets.
    pub connection_reset: u64,
    /// Expired-token 401s.
    pub expired_token: u64,
}

impl FaultCounts {
    /// All faults.
    pub fn total(&self) -> u64 {
        self.rate_limited + self.unavailable + self.connection_reset + self.expired_token
    }

    pub(crate) fn add(&mut self, kind: FaultKind) {
        match kind {
            FaultKind::RateLimited => self.rate_limited += 1,
            FaultKind::Unavailable => self.unavailable += 1,
            FaultKind::ConnectionReset => self.connection_reset += 1,
            FaultKind::ExpiredToken => self.expired_token += 1,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct KeyState {
    attempts: u64,
    consecutive: u32,
}

/// The running injector: attempt counters per key.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    config: FaultConfig,
    keys: Mutex<HashMap<u64, KeyState>>,
    decisions: AtomicU64,
}

impl FaultInjector {
    pub(crate) fn new(config: FaultConfig) -> Self {
        Self {
            config,
            keys: Mutex::new(HashMap::new()),
            decisions: AtomicU64::new(0),
        }
    }

    /// Draws for one request; `token_endpoint` requests are skipped unless configured.
    pub(crate) fn draw(
        &self,
        vendor: Vendor,
        method: &str,
        path_and_query: &str,
        token_endpoint: bool,
    ) -> Option<FaultKind> {
        if self.config.rate <= 0.0 || (token_endpoint && !self.config.on_token_endpoints) {
            return None;
        }
        self.decisions.fetch_add(1, Ordering::Relaxed);
        let key = key_hash(&[
            vendor.as_str().as_bytes(),
            method.as_bytes(),
            path_and_query.as_bytes(),
        ]);
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let state = keys.entry(key).or_default();
        let attempt = state.attempts;
        state.attempts += 1;
        let mut kind = if state.consecutive >= self.config.max_consecutive {
            None
        } else {
            decide(&self.config, key, attempt)
        };
        if vendor == Vendor::Kandji && kind == Some(FaultKind::ExpiredToken) {
            kind = Some(FaultKind::Unavailable);
        }
        state.consecutive = if kind.is_some() {
            state.consecutive + 1
        } else {
            0
        };
        kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_roughly_respected_and_deterministic() {
        let cfg = FaultConfig {
            rate: 0.2,
            seed: 7,
            ..Default::default()
        };
        let hits: Vec<_> = (0..10_000)
            .map(|k| decide(&cfg, key_hash(&[&u64::to_le_bytes(k)]), 0))
            .collect();
        let n = hits.iter().filter(|h| h.is_some()).count();
        assert!((1_700..2_300).contains(&n), "{n}");
        let again: Vec<_> = (0..10_000)
            .map(|k| decide(&cfg, key_hash(&[&u64::to_le_bytes(k)]), 0))
            .collect();
        assert_eq!(hits, again);
        for kind in FaultKind::ALL {
            assert!(hits.contains(&Some(kind)));
        }
    }

    #[test]
    fn consecutive_faults_are_capped() {
        let inj = FaultInjector::new(FaultConfig {
            rate: 1.0,
            max_consecutive: 2,
            ..Default::default()
        });
        let seq: Vec<_> = (0..6)
            .map(|_| inj.draw(Vendor::Jamf, "GET", "/x", false).is_some())
            .collect();
        assert_eq!(seq, [true, true, false, true, true, false]);
        assert_eq!(inj.draw(Vendor::Jamf, "POST", "/token", true), None);
    }

    #[test]
    fn kandji_never_gets_expired_token() {
        let inj = FaultInjector::new(FaultConfig {
            rate: 1.0,
            kinds: vec![FaultKind::ExpiredToken],
            max_consecutive: 100,
            ..Default::default()
        });
        assert_eq!(
            inj.draw(Vendor::Kandji, "GET", "/k", false),
            Some(FaultKind::Unavailable)
        );
        assert_eq!(
            inj.draw(Vendor::Abm, "GET", "/k", false),
            Some(FaultKind::ExpiredToken)
        );
    }
}
