//! The fast hasher of the crate's indexes (the field-name index of
//! [`record`](crate::record), the planner's identifier indexes). Bottom
//! layer: imports nothing from the crate.

use std::sync::OnceLock;

/// A fast, randomly seeded hasher for the planner's indexes: a folded
/// 64×64→128-bit multiply per 8 bytes (the construction of foldhash and
/// aHash's fallback). Much faster than SipHash on short identifiers; the
/// per-process random seed keeps bucket placement unpredictable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastState {
    seed: u64,
}

impl FastState {
    pub(crate) fn new() -> FastState {
        use std::hash::BuildHasher;
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED
            .get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64));
        FastState { seed }
    }
}

impl Default for FastState {
    fn default() -> Self {
        FastState::new()
    }
}

impl std::hash::BuildHasher for FastState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher { h: self.seed }
    }
}

const K1: u64 = 0x243f_6a88_85a3_08d3;
const K2: u64 = 0x1319_8a2e_0370_7344;

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// See [`FastState`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastHasher {
    h: u64,
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref() {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.h = fold(self.h ^ u64::from_le_bytes(w), K1);
        }
        let rem = chunks.remainder();
        if !rem.is_empty() {
            let mut w = [0u8; 8];
            w[..rem.len()].copy_from_slice(rem);
            self.h = fold(
                self.h ^ u64::from_le_bytes(w) ^ ((rem.len() as u64) << 59),
                K1,
            );
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.h = fold(self.h ^ u64::from(i), K1);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.h = fold(self.h ^ u64::from(i), K1);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.h = fold(self.h ^ i, K1);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.h = fold(self.h ^ i as u64, K1);
    }
    #[inline]
    fn finish(&self) -> u64 {
        fold(self.h, K2)
    }
}

#[cfg(test)]
mod hasher_tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn distinct_short_keys_spread() {
        let s = FastState::new();
        let mut low = std::collections::HashSet::new();
        for i in 0..4096u32 {
            let h = s.hash_one(format!("C{i:011}"));
            low.insert(h & 0xfff);
        }
        // Low bits (hashbrown's bucket index) of sequential serials spread out.
        assert!(low.len() > 2000, "{}", low.len());
        assert_ne!(s.hash_one("AB"), s.hash_one("BA"));
    }
}
