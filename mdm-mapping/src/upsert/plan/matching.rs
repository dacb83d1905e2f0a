//! Matching: which records are one device, and which asset (if any) it is.
//! Re-enrolled devices collapse to the newest record; an identifier that
//! points at several assets, or assets that disagree, is a conflict.

use super::*;

impl<'a, 'c> Planner<'a, 'c> {
    /// Indexes every identifier of the inventory and of the incoming
    /// records, and matches them: hits (record → asset), unions of records
    /// sharing a value, and the assets each source reported.
    ///
    /// The identifiers are first gathered in one array, then partitioned by
    /// hash so that each partition's table fits in the CPU cache; each
    /// partition inserts its assets' values, then looks its records' values
    /// up. Time grows linearly with the data, without the cache misses of
    /// one table over millions of values.
    pub(super) fn index_and_scan(&mut self) {
        let c = self.c;
        let inv: &'a Inventory = self.inv;
        let incoming: &'a [SourceDevice] = self.incoming;
        let mut recs: Vec<IdRec<'a>> =
            Vec::with_capacity(inv.assets.len() * 3 + incoming.len() * 3);

        // Assets: one ordered walk over each asset's fields picks the match
        // fields and the asset type.
        let mut found: Vec<(u8, &'a Value)> = Vec::new();
        for (ai, asset) in inv.assets.iter().enumerate() {
            Self::asset_ids(c, asset, &mut found, |ki, class, value| {
                recs.push(IdRec::new(
                    IdKey::new(ki, class, value),
                    ai as u32,
                    false,
                    false,
                ));
            });
        }
        // Incoming records.
        for (r, d) in incoming.iter().enumerate() {
            // User records (a vendor's user directory) are employee inputs
            // only: they match no asset.
            if d.entity == Entity::User {
                continue;
            }
            let class_of = entity_class(d.entity);
            let mut can_create = false;
            Self::record_ids(c, d, |ki, value| {
                let k = &c.keys[usize::from(ki)];
                if !k.vendor_id {
                    can_create = true;
                }
                let class = if k.qualified { class_of } else { ANY };
                let probe_any = k.qualified && class != ANY;
                let mut rec = IdRec::new(IdKey::new(ki, class, value), r as u32, true, probe_any);
                rec.vendor_bit = 1u8 << vi(d.vendor);
                recs.push(rec);
            });
            self.can_create[r] = can_create;
        }

        // Partition by hash.
        let state = FastState::new();
        for rec in &mut recs {
            rec.hash = rec.key.value_hash(&state);
        }
        let total = recs.len();
        let bits = (usize::BITS - (total / 1024).max(1).leading_zeros()).min(16);
        let parts = 1usize << bits;
        let part = |h: u64| ((h >> 40) as usize) & (parts - 1);
        let mut start = vec![0usize; parts + 1];
        for rec in &recs {
            start[part(rec.hash) + 1] += 1;
        }
        for p in 0..parts {
            start[p + 1] += start[p];
        }
        let largest = (0..parts)
            .map(|p| start[p + 1] - start[p])
            .max()
            .unwrap_or(0);
        // Sort by partition in two stable passes of moves into buckets (low
        // digit, then high digit). Each pass reads in order and appends to at
        // most a few hundred places, which the caches absorb; one pass over
        // thousands of partitions would miss the cache on nearly every write.
        let lo_bits = bits / 2;
        let lo_mask = (1usize << lo_bits) - 1;
        let lo_n = 1usize << lo_bits;
        let hi_n = 1usize << (bits - lo_bits);
        let mut lo_len = vec![0usize; lo_n];
        let mut hi_len = vec![0usize; hi_n];
        for p in 0..parts {
            lo_len[p & lo_mask] += start[p + 1] - start[p];
            hi_len[p >> lo_bits] += start[p + 1] - start[p];
        }
        let mut by_lo: Vec<Vec<IdRec<'a>>> =
            lo_len.iter().map(|n| Vec::with_capacity(*n)).collect();
        for rec in recs {
            by_lo[part(rec.hash) & lo_mask].push(rec);
        }
        let mut by_hi: Vec<Vec<IdRec<'a>>> =
            hi_len.iter().map(|n| Vec::with_capacity(*n)).collect();
        for bucket in by_lo {
            for rec in bucket {
                by_hi[part(rec.hash) >> lo_bits].push(rec);
            }
        }

        // Per partition: insert assets, look records up. Partition `p` is a
        // run of bucket `p >> lo_bits`, after the runs of its lower digits.
        let mut table = IdIndex::with_capacity(largest);
        let mut hits: Vec<(u32, Hit)> = Vec::with_capacity(incoming.len() * 3);
        let mut offset = 0usize;
        for p in 0..parts {
            table.clear();
            if p & lo_mask == 0 {
                offset = 0;
            }
            let len = start[p + 1] - start[p];
            let part_recs = by_hi
                .get(p >> lo_bits)
                .and_then(|b| b.get(offset..offset + len))
                .unwrap_or_default();
            offset += len;
            // Assets first, then the records that look them up.
            for rec in part_recs.iter().filter(|r| !r.incoming) {
                let ai = rec.who;
                let slot = table.entry(rec.hash, rec.key.clone());
                if slot.asset == NONE {
                    slot.asset = ai;
                } else if slot.asset & MULTI != 0 {
                    let list = &mut self.multis[(slot.asset & !MULTI) as usize];
                    if !list.contains(&ai) {
                        list.push(ai);
                    }
                } else if slot.asset != ai {
                    self.multis.push(vec![slot.asset, ai]);
                    self.multi_values.push(rec.key.text());
                    slot.asset = MULTI | (self.multis.len() as u32 - 1);
                }
            }
            for rec in part_recs.iter().filter(|r| r.incoming) {
                let r = rec.who;
                let ki = rec.key.key_index();
                let bit = rec.vendor_bit;
                let slot = table.entry(rec.hash, rec.key.clone());
                if slot.first_rec == NONE {
                    slot.first_rec = r;
                } else {
                    union(&mut self.parent, r, slot.first_rec);
                }
                let mut found_assets: [(u32, bool); 2] = [(NONE, false); 2];
                if slot.asset != NONE {
                    found_assets[0] = (slot.asset, false);
                }
                if rec.probe_any
                    && let Some(s) = table.get(rec.hash, &rec.key.with_class(ANY))
                    && s.asset != NONE
                {
                    found_assets[1] = (s.asset, true);
                }
                for (asset, weak) in found_assets {
                    if asset == NONE {
                        continue;
                    }
                    hits.push((
                        r,
                        Hit {
                            key: ki,
                            asset,
                            weak,
                        },
                    ));
                    if asset & MULTI != 0 {
                        for a in &self.multis[(asset & !MULTI) as usize] {
                            self.seen[*a as usize] |= bit;
                        }
                    } else {
                        self.seen[asset as usize] |= bit;
                    }
                }
            }
        }
        drop(by_hi);

        // Hits by record (counting sort).
        let n = incoming.len();
        let mut hs = vec![0u32; n + 1];
        for (r, _) in &hits {
            hs[*r as usize + 1] += 1;
        }
        for r in 0..n {
            hs[r + 1] += hs[r];
        }
        let mut fill = hs.clone();
        self.hits = vec![
            Hit {
                key: 0,
                asset: NONE,
                weak: false,
            };
            hits.len()
        ];
        for (r, h) in hits {
            self.hits[fill[r as usize] as usize] = h;
            fill[r as usize] += 1;
        }
        self.hit_start = hs;
    }

    /// Calls `f` with each normalized identifier of record `d`, per match
    /// key (the first of the key's sources that has a value).
    /// Calls `f(match key, class, value)` for every identifier of `asset`.
    /// `found` is scratch space.
    pub(super) fn asset_ids(
        c: &Compiled<'c>,
        asset: &'a Asset,
        found: &mut Vec<(u8, &'a Value)>,
        mut f: impl FnMut(u8, u8, Cow<'a, str>),
    ) {
        found.clear();
        let mut class = ANY;
        for (key, value) in asset.fields.entries() {
            match c.asset_role(key) {
                NO_ROLE => {}
                TYPE_ROLE => {
                    class = match value
                        .as_str()
                        .and_then(|s| s.parse::<AssetType>().ok())
                        .and_then(AssetType::is_computer)
                    {
                        Some(true) => COMPUTER,
                        Some(false) => MOBILE,
                        None => ANY,
                    }
                }
                ki => found.push((ki, value)),
            }
        }
        for &(ki, v) in found.iter() {
            let k = &c.keys[usize::from(ki)];
            let cl = if k.qualified { class } else { ANY };
            ident::for_each_id(k.norm, v, |value| f(ki, cl, value));
        }
    }

    pub(super) fn record_ids(
        c: &Compiled<'c>,
        d: &'a SourceDevice,
        mut f: impl FnMut(u8, Cow<'a, str>),
    ) {
        #[derive(Clone, Copy)]
        enum Src<'v> {
            V(&'v Value),
            S(&'v str),
        }
        let vm = &c.vendors[vi(d.vendor)];
        // (match key, position, value); few per record, kept on the stack.
        let mut cand: [(u8, u8, Option<Src<'a>>); 16] = [(0, 0, None); 16];
        let mut n = 0usize;
        for (key, value) in d.fields.entries() {
            if let Some(uses) = vm.uses(key) {
                for &(ki, pos) in &uses.ids {
                    if n < cand.len() {
                        cand[n] = (ki, pos, Some(Src::V(value)));
                        n += 1;
                    }
                }
            }
        }
        for &(ki, pos) in &vm.id_from_source_id {
            if n < cand.len() {
                cand[n] = (ki, pos, Some(Src::S(d.source_id.as_str())));
                n += 1;
            }
        }
        for ki in 0..c.keys.len() as u8 {
            let norm = c.keys[usize::from(ki)].norm;
            // Sources in position order; the first giving an id wins.
            let mut order: [(u8, usize); 16] = [(u8::MAX, 0); 16];
            let mut m = 0usize;
            for (i, (k, pos, _)) in cand[..n].iter().enumerate() {
                if *k == ki {
                    order[m] = (*pos, i);
                    m += 1;
                }
            }
            order[..m].sort_unstable();
            for &(_, i) in &order[..m] {
                let mut any = false;
                match cand[i].2 {
                    Some(Src::V(v)) => ident::for_each_id(norm, v, |id| {
                        any = true;
                        f(ki, id)
                    }),
                    Some(Src::S(s)) => {
                        if let Some(id) = ident::normalize_id(norm, s) {
                            any = true;
                            f(ki, id);
                        }
                    }
                    None => {}
                }
                if any {
                    break;
                }
            }
        }
    }

    fn hits_of(&self, r: u32) -> &[Hit] {
        let s = self.hit_start[r as usize] as usize;
        let e = self.hit_start[r as usize + 1] as usize;
        &self.hits[s..e]
    }

    /// Groups records by shared identifiers, in order of first appearance.
    pub(super) fn group(&mut self) -> Vec<Group> {
        let n = self.incoming.len();
        let mut gid = vec![NONE; n];
        let mut first_of_group: Vec<u32> = Vec::with_capacity(n);
        let mut of_record = vec![0u32; n];
        let mut devices = 0usize;
        for r in 0..n as u32 {
            if self.incoming[r as usize].entity == Entity::User {
                continue;
            }
            devices += 1;
            let root = find(&mut self.parent, r) as usize;
            if gid[root] == NONE {
                gid[root] = first_of_group.len() as u32;
                first_of_group.push(r);
            }
            of_record[r as usize] = gid[root];
        }
        let g = first_of_group.len();
        // Counting sort of records by group.
        let mut start = vec![0u32; g + 1];
        for (r, &x) in of_record.iter().enumerate() {
            if self.incoming[r].entity != Entity::User {
                start[x as usize + 1] += 1;
            }
        }
        for i in 0..g {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut members = vec![0u32; devices];
        for (r, &x) in of_record.iter().enumerate() {
            if self.incoming[r].entity == Entity::User {
                continue;
            }
            members[fill[x as usize] as usize] = r as u32;
            fill[x as usize] += 1;
        }
        let mut groups = Vec::with_capacity(g);
        for gi in 0..g {
            let m = &members[start[gi] as usize..start[gi + 1] as usize];
            let group = self.resolve(gi as u32, m);
            groups.push(group);
        }
        groups
    }

    /// Collapses, checks and matches one group.
    fn resolve(&mut self, gi: u32, members: &[u32]) -> Group {
        let kept_start = self.kept_buf.len() as u32;
        if let [r] = members {
            self.kept_buf.push(*r);
        } else {
            // One record per (vendor, entity): the newest.
            let mut best: Vec<u32> = Vec::new();
            for &r in members {
                let d = &self.incoming[r as usize];
                match best.iter_mut().find(|b| {
                    let o = &self.incoming[**b as usize];
                    o.vendor == d.vendor && o.entity == d.entity
                }) {
                    None => best.push(r),
                    Some(b) => {
                        let o = &self.incoming[*b as usize];
                        let newer = recency(d)
                            .cmp(&recency(o))
                            .then_with(|| id_order(&d.source_id, &o.source_id))
                            .is_gt();
                        let (winner, loser) = if newer { (r, *b) } else { (*b, r) };
                        let same_id = d.source_id == o.source_id;
                        *b = winner;
                        if !same_id {
                            self.superseded.push((gi, loser, winner));
                        }
                    }
                }
            }
            // Superseded records that lost to a later loser point at the final winner.
            for s in self.superseded.iter_mut().filter(|s| s.0 == gi) {
                let d = &self.incoming[s.1 as usize];
                if let Some(w) = best.iter().find(|b| {
                    let o = &self.incoming[**b as usize];
                    o.vendor == d.vendor && o.entity == d.entity
                }) {
                    s.2 = *w;
                }
            }
            self.kept_buf.extend_from_slice(&best);
        }
        let kept_end = self.kept_buf.len() as u32;
        let mut kept = std::mem::take(&mut self.scratch_kept);
        kept.clear();
        kept.extend_from_slice(&self.kept_buf[kept_start as usize..kept_end as usize]);
        let mut group = Group {
            kept: (kept_start, kept_end),
            outcome: Outcome::Create,
            gone_some: Vec::new(),
        };
        self.classify(&kept, &mut group);
        self.scratch_kept = kept;
        group
    }

    /// Decides a group's outcome from its kept records.
    fn classify(&mut self, kept: &[u32], group: &mut Group) {
        if !kept.iter().any(|r| self.can_create[*r as usize]) {
            let names: Vec<&str> = self
                .c
                .keys
                .iter()
                .filter(|k| !k.vendor_id)
                .map(|k| self.c.targets[usize::from(k.target)].name.as_ref())
                .collect();
            group.outcome = Outcome::Skip(Cow::Owned(format!(
                "no identifier to match on ({}): the device cannot be told apart from others, so no asset is created",
                names.join(", ")
            )));
            return;
        }

        if kept.len() > 1
            && let Some(reason) = self.disagreement(kept)
        {
            group.outcome = Outcome::Conflict(reason, Vec::new());
            return;
        }

        // Candidate assets.
        // Distinct assets hit, with the best key; on the stack (more than
        // eight is a conflict whatever they are).
        let mut single_buf: [(u32, u8); 8] = [(0, 0); 8];
        let mut ns = 0usize;
        let mut multi: Vec<u32> = Vec::new();
        let mut multi_key: Option<u8> = None;
        let mut multi_at: Option<usize> = None;
        let weak_ok = self.weak_hits_ok(kept);
        for &r in kept {
            for h in self.hits_of(r) {
                if h.weak && !weak_ok.contains(&h.asset) {
                    continue;
                }
                if h.asset & MULTI != 0 {
                    multi_key.get_or_insert(h.key);
                    multi_at.get_or_insert((h.asset & !MULTI) as usize);
                    for a in &self.multis[(h.asset & !MULTI) as usize] {
                        if !multi.contains(a) {
                            multi.push(*a);
                        }
                    }
                } else if let Some(e) = single_buf[..ns].iter_mut().find(|(a, _)| *a == h.asset) {
                    e.1 = e.1.min(h.key);
                } else if ns < single_buf.len() {
                    single_buf[ns] = (h.asset, h.key);
                    ns += 1;
                }
            }
        }
        let single = &mut single_buf[..ns];
        let matched = if let Some(k) = multi_key {
            for (a, _) in single.iter() {
                if !multi.contains(a) {
                    multi.push(*a);
                }
            }
            multi.sort_unstable();
            let name = &self.c.targets[usize::from(self.c.keys[usize::from(k)].target)].name;
            let value = multi_at
                .and_then(|i| self.multi_values.get(i))
                .cloned()
                .unwrap_or_default();
            group.outcome = Outcome::Conflict(
                format!(
                    "{name} {value} matches {} assets of the inventory",
                    multi.len()
                ),
                multi,
            );
            return;
        } else if single.len() > 1 {
            single.sort_unstable();
            let parts: Vec<String> = single
                .iter()
                .map(|(a, k)| {
                    format!(
                        "{} → {}",
                        self.c.targets[usize::from(self.c.keys[usize::from(*k)].target)].name,
                        self.inv.assets[*a as usize].id
                    )
                })
                .collect();
            group.outcome = Outcome::Conflict(
                format!(
                    "identifiers point at different assets ({})",
                    parts.join(", ")
                ),
                single.iter().map(|(a, _)| *a).collect(),
            );
            return;
        } else {
            single.first().copied()
        };

        // Gone devices.
        let gone: Vec<(u32, LifecycleKind)> = kept
            .iter()
            .filter_map(|r| gone_kind(&self.incoming[*r as usize]).map(|k| (*r, k)))
            .collect();
        if !gone.is_empty() && gone.len() == kept.len() {
            group.outcome = Outcome::Gone {
                asset: matched,
                kind: gone[0].1,
            };
            group.gone_some = gone;
            return;
        }
        group.gone_some = gone;
        group.outcome = match matched {
            Some((asset, key)) => Outcome::Match { asset, key },
            None => Outcome::Create,
        };
    }

    /// The weak hits (Jamf id on an asset of unknown kind) of a group that no
    /// other identifier contradicts: the asset has a value for an identifier
    /// the group also has, but the group's value does not point at it.
    fn weak_hits_ok(&self, kept: &[u32]) -> Vec<u32> {
        let mut weak: Vec<u32> = Vec::new();
        for &r in kept {
            for h in self.hits_of(r) {
                if h.weak && !weak.contains(&h.asset) {
                    weak.push(h.asset);
                }
            }
        }
        if weak.is_empty() {
            return weak;
        }
        let c = self.c;
        let mut group_keys: u64 = 0;
        for &r in kept {
            Self::record_ids(c, &self.incoming[r as usize], |ki, _| {
                group_keys |= 1u64 << (ki % 64)
            });
        }
        weak.retain(|&a| {
            if a & MULTI != 0 {
                return true;
            }
            let asset = &self.inv.assets[a as usize];
            c.keys.iter().enumerate().all(|(ki, k)| {
                if k.vendor_id || group_keys & (1u64 << (ki % 64)) == 0 {
                    return true;
                }
                let name = &c.targets[usize::from(k.target)].name;
                let mut has = false;
                if let Some(v) = asset.fields.get(name) {
                    ident::for_each_id(k.norm, v, |_| has = true);
                }
                !has || kept.iter().any(|r| {
                    self.hits_of(*r)
                        .iter()
                        .any(|h| usize::from(h.key) == ki && h.asset == a)
                })
            })
        });
        weak
    }

    /// Two kept records of a group with different values for one
    /// single-valued identifier.
    fn disagreement(&self, kept: &[u32]) -> Option<String> {
        let c = self.c;
        let mut values: Vec<(u8, Cow<'a, str>, u32)> = Vec::new();
        for &r in kept {
            let d = &self.incoming[r as usize];
            let mut mine: Vec<(u8, Cow<'a, str>)> = Vec::new();
            Self::record_ids(c, d, |ki, v| mine.push((ki, v)));
            for (ki, v) in mine {
                let is_list = matches!(
                    d.fields.get(
                        c.targets[usize::from(c.keys[usize::from(ki)].target)]
                            .name
                            .as_ref()
                    ),
                    Some(Value::List(_))
                );
                if is_list || c.keys[usize::from(ki)].vendor_id {
                    continue;
                }
                if let Some((_, other, or)) = values.iter().find(|(k, v2, _)| *k == ki && *v2 != v)
                {
                    let name = &c.targets[usize::from(c.keys[usize::from(ki)].target)].name;
                    let o = &self.incoming[*or as usize];
                    return Some(format!(
                        "incoming records disagree on {name}: {} {} has {other}, {} {} has {v}",
                        o.vendor, o.source_id, d.vendor, d.source_id
                    ));
                }
                values.push((ki, v, r));
            }
        }
        None
    }
}
