//! The identifier index: every identifier of every asset and record,
//! normalized, hashed and partitioned; union-find over records that share one.

use super::*;

pub(super) const NONE: u32 = u32::MAX;
pub(super) const MULTI: u32 = 0x8000_0000;

pub(super) const ANY: u8 = 0;
pub(super) const COMPUTER: u8 = 1;
pub(super) const MOBILE: u8 = 2;

/// A normalized identifier in the index. Values of up to 28 bytes, and
/// UUIDs (packed to 16 bytes), are stored inline so that comparing two keys
/// never leaves the table's memory; longer values are referenced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum IdKey<'a> {
    Short {
        key: u8,
        class: u8,
        /// Bytes used, or `UUID` when `bytes[..16]` holds a packed UUID.
        len: u8,
        bytes: [u8; 28],
    },
    Long {
        key: u8,
        class: u8,
        value: Cow<'a, str>,
    },
}

const UUID: u8 = u8::MAX;

/// Where the 16 hex pairs of an `8-4-4-4-12` UUID are.
const UUID_HEX_PAIRS: [[usize; 2]; 16] = {
    let mut pairs = [[0usize; 2]; 16];
    let mut i = 0;
    let mut at = 0;
    while i < 16 {
        if matches!(at, 8 | 13 | 18 | 23) {
            at += 1;
        }
        pairs[i] = [at, at + 1];
        at += 2;
        i += 1;
    }
    pairs
};

fn hex_nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> IdKey<'a> {
    /// A hash of the match key and the value, not of the class: the same
    /// value of a Jamf id for a computer, a mobile device and an asset of
    /// unknown kind land in one partition and one probe chain.
    pub(super) fn value_hash(&self, state: &FastState) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = state.build_hasher();
        match self {
            IdKey::Short {
                key, len, bytes, ..
            } => {
                h.write_u8(*key);
                h.write_u8(*len);
                h.write(bytes);
            }
            IdKey::Long { key, value, .. } => {
                h.write_u8(*key);
                h.write_u8(0xfe);
                h.write(value.as_bytes());
            }
        }
        h.finish()
    }

    pub(super) fn key_index(&self) -> u8 {
        match self {
            IdKey::Short { key, .. } | IdKey::Long { key, .. } => *key,
        }
    }

    pub(super) fn with_class(&self, class: u8) -> IdKey<'a> {
        let mut k = self.clone();
        match &mut k {
            IdKey::Short { class: c, .. } | IdKey::Long { class: c, .. } => *c = class,
        }
        k
    }

    /// The value as text (for messages).
    pub(super) fn text(&self) -> String {
        match self {
            IdKey::Long { value, .. } => value.to_string(),
            IdKey::Short { len, bytes, .. } if *len == UUID => {
                let hex: String = bytes[..16].iter().map(|b| format!("{b:02X}")).collect();
                format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )
            }
            IdKey::Short { len, bytes, .. } => {
                String::from_utf8_lossy(&bytes[..usize::from(*len).min(bytes.len())]).into_owned()
            }
        }
    }

    pub(super) fn new(key: u8, class: u8, value: Cow<'a, str>) -> IdKey<'a> {
        let b = value.as_bytes();
        let mut bytes = [0u8; 28];
        // 8-4-4-4-12 upper-case hex: 16 bytes.
        if b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') {
            let mut ok = true;
            for (out, at) in bytes.iter_mut().zip(UUID_HEX_PAIRS) {
                match (hex_nibble(b[at[0]]), hex_nibble(b[at[1]])) {
                    (Some(hi), Some(lo)) => *out = (hi << 4) | lo,
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return IdKey::Short {
                    key,
                    class,
                    len: UUID,
                    bytes,
                };
            }
            bytes = [0u8; 28];
        }
        if b.len() <= bytes.len() {
            bytes[..b.len()].copy_from_slice(b);
            return IdKey::Short {
                key,
                class,
                len: b.len() as u8,
                bytes,
            };
        }
        IdKey::Long { key, class, value }
    }
}

/// One identifier of an asset or of an incoming record, while indexing.
#[derive(Debug)]
pub(super) struct IdRec<'a> {
    pub(super) key: IdKey<'a>,
    pub(super) hash: u64,
    /// Asset index or record index.
    pub(super) who: u32,
    pub(super) incoming: bool,
    /// Also look the value up on assets of unknown kind (Jamf ids).
    pub(super) probe_any: bool,
    /// The record's vendor bit (incoming only).
    pub(super) vendor_bit: u8,
}

impl<'a> IdRec<'a> {
    pub(super) fn new(key: IdKey<'a>, who: u32, incoming: bool, probe_any: bool) -> Self {
        IdRec {
            key,
            hash: 0,
            who,
            incoming,
            probe_any,
            vendor_bit: 0,
        }
    }
}

/// The identifier index: open addressing with linear probing over 8-byte
/// cells (32 bits of hash, 32 bits of entry number), keys and slots kept
/// apart in insertion order. One cell per probe keeps the table small and
/// the probes cheap; a key is compared only when the hash bits agree.
pub(super) struct IdIndex<'a> {
    pub(super) cells: Vec<u64>,
    pub(super) mask: usize,
    pub(super) keys: Vec<IdKey<'a>>,
    pub(super) hashes: Vec<u64>,
    pub(super) slots: Vec<Slot>,
}

impl<'a> IdIndex<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        let cap = (n.max(8) * 2).next_power_of_two();
        IdIndex {
            cells: vec![0; cap],
            mask: cap - 1,
            keys: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            slots: Vec::with_capacity(n),
        }
    }

    pub(super) fn clear(&mut self) {
        if !self.keys.is_empty() {
            self.cells.fill(0);
        }
        self.keys.clear();
        self.hashes.clear();
        self.slots.clear();
    }

    /// `Ok(entry)` when present, else `Err(free cell)`.
    #[inline]
    pub(super) fn find(&self, h: u64, key: &IdKey<'_>) -> Result<usize, usize> {
        let tag = h >> 32;
        let mut pos = (h as usize) & self.mask;
        loop {
            let cell = self.cells[pos];
            if cell == 0 {
                return Err(pos);
            }
            if cell >> 32 == tag {
                let i = (cell & 0xffff_ffff) as usize - 1;
                if self.keys[i] == *key {
                    return Ok(i);
                }
            }
            pos = (pos + 1) & self.mask;
        }
    }

    pub(super) fn get(&self, h: u64, key: &IdKey<'_>) -> Option<&Slot> {
        self.find(h, key).ok().map(|i| &self.slots[i])
    }

    /// The slot of `key` (hash `h`), inserted empty when absent.
    pub(super) fn entry(&mut self, h: u64, key: IdKey<'a>) -> &mut Slot {
        if (self.keys.len() + 1) * 2 > self.cells.len() {
            self.grow();
        }
        match self.find(h, &key) {
            Ok(i) => &mut self.slots[i],
            Err(pos) => {
                let i = self.keys.len();
                self.keys.push(key);
                self.hashes.push(h);
                self.slots.push(Slot {
                    asset: NONE,
                    first_rec: NONE,
                });
                self.cells[pos] = ((h >> 32) << 32) | (i as u64 + 1);
                &mut self.slots[i]
            }
        }
    }

    fn grow(&mut self) {
        let cap = self.cells.len() * 2;
        self.cells = vec![0; cap];
        self.mask = cap - 1;
        for (i, &h) in self.hashes.iter().enumerate() {
            let mut pos = (h as usize) & self.mask;
            while self.cells[pos] != 0 {
                pos = (pos + 1) & self.mask;
            }
            self.cells[pos] = ((h >> 32) << 32) | (i as u64 + 1);
        }
    }
}

pub(crate) fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

pub(crate) fn union(parent: &mut [u32], a: u32, b: u32) {
    let ra = find(parent, a);
    let rb = find(parent, b);
    if ra != rb {
        // The smaller index becomes the root: groups keep input order.
        if ra < rb {
            parent[rb as usize] = ra;
        } else {
            parent[ra as usize] = rb;
        }
    }
}

/// Hashes of the identifiers the planner matches on, of records and of
/// assets: two that the planner can join by an identifier share a hash (a
/// Jamf id's hash also names the kind of device; an asset of unknown kind
/// has one for each kind). Used to split a sync
/// into batches that [`plan`] can take one at a time (`upsert::Staging`).
pub(crate) struct IdHashes<'c> {
    pub(super) c: Compiled<'c>,
    pub(super) state: FastState,
}

impl<'c> IdHashes<'c> {
    pub(crate) fn new(config: &'c Config) -> IdHashes<'c> {
        IdHashes {
            c: Compiled::new(config),
            state: FastState::new(),
        }
    }

    /// Appends the hash of every identifier of `d` to `out`.
    pub(crate) fn record(&self, d: &SourceDevice, out: &mut Vec<u64>) {
        // User records match no asset (see `Planner::index_and_scan`).
        if d.entity == Entity::User {
            return;
        }
        let class_of = entity_class(d.entity);
        Planner::record_ids(&self.c, d, |ki, value| {
            let class = if self.qualified(ki) { class_of } else { ANY };
            out.push(self.hash(ki, class, value));
        });
    }

    /// Whether match key `ki` is qualified by the kind of device (a Jamf
    /// id: computers and mobile devices are numbered apart).
    fn qualified(&self, ki: u8) -> bool {
        self.c
            .keys
            .get(usize::from(ki))
            .is_some_and(|k| k.qualified)
    }

    /// The hash of `value` under match key `ki` and device class `class`.
    /// Two identifiers the planner can join (the same key, class and value)
    /// hash alike; the class is mixed in so that a Jamf computer and a Jamf
    /// mobile device of the same id number are not batched together.
    fn hash(&self, ki: u8, class: u8, value: Cow<'_, str>) -> u64 {
        let h = IdKey::new(ki, ANY, value).value_hash(&self.state);
        h ^ u64::from(class).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// The inventory fields [`IdHashes::asset`] reads.
    pub(crate) fn asset_fields(&self) -> Vec<&str> {
        self.c.asset_keys.iter().map(|(k, _)| k.as_ref()).collect()
    }

    /// Appends the hash of every identifier of `asset` to `out`.
    pub(crate) fn asset(&self, asset: &Asset, out: &mut Vec<u64>) {
        let mut found = Vec::new();
        Planner::asset_ids(&self.c, asset, &mut found, |ki, class, value| {
            if class == ANY && self.qualified(ki) {
                // An asset of unknown kind matches a record of either kind
                // (and one of no kind) by a qualified key: it joins all three.
                for class in [COMPUTER, MOBILE] {
                    out.push(self.hash(ki, class, Cow::Borrowed(value.as_ref())));
                }
            }
            out.push(self.hash(ki, class, value));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_packed_and_read_back() {
        let u = "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9";
        let k = IdKey::new(1, ANY, Cow::Borrowed(u));
        assert!(matches!(k, IdKey::Short { len: UUID, .. }), "{k:?}");
        assert_eq!(k.text(), u);
        // Not hex, or a dash out of place: kept as text.
        for other in [
            "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8FG",
            "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E-F9",
        ] {
            let k = IdKey::new(1, ANY, Cow::Borrowed(other));
            assert!(!matches!(k, IdKey::Short { len: UUID, .. }), "{k:?}");
            assert_eq!(k.text(), other);
        }
    }
}
