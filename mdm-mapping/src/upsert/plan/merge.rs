//! Merging with ownership: which value wins. Each record's mapping is
//! evaluated, the sources are merged by per-field vendor priority, and the
//! result is compared with the asset field by field, honouring ownership
//! (source, inventory, fill-if-empty, ignore) and `clear_when_blank`.

use super::*;

impl<'a, 'c> Planner<'a, 'c> {
    pub(super) fn fact(&mut self, inputs: FactInputs<'a>) -> u32 {
        if let Some(i) = self.facts_index.get(&inputs) {
            return *i;
        }
        let i = self.facts.len() as u32;
        self.facts.push(ModelFacts::from_inputs(&inputs));
        self.facts_index.insert(inputs, i);
        i
    }

    /// Evaluates one record into `best` (per target: (rank, pos, value)).
    fn eval_record(
        &mut self,
        r: u32,
        best: &mut [Option<(u8, u8, MVal<'a>)>],
        touched: &mut Vec<u16>,
    ) {
        let c = self.c;
        let incoming: &'a [SourceDevice] = self.incoming;
        let d: &'a SourceDevice = &incoming[r as usize];
        let v = vi(d.vendor);
        let vm = &c.vendors[v];
        let mut offer =
            |t: u16, pos: u8, val: MVal<'a>, best: &mut [Option<(u8, u8, MVal<'a>)>]| {
                let rank = c.targets[usize::from(t)].rank[v];
                let slot = &mut best[usize::from(t)];
                match slot {
                    Some((br, bp, _)) if (*br, *bp) <= (rank, pos) => {}
                    _ => {
                        if slot.is_none() {
                            touched.push(t);
                        }
                        *slot = Some((rank, pos, val));
                    }
                }
            };
        // Merge the record's sorted keys with the vendor's sorted catalog
        // keys: mapped values and the model/OS fact inputs in one walk.
        let mut inputs: [Option<(u8, &'a str)>; 5] = [None; 5];
        for (key, value) in d.fields.entries() {
            if let Some(uses) = vm.uses(key) {
                for (t, pos) in &uses.targets {
                    offer(*t, *pos, MVal::Val(value), best);
                }
                if let Some(text) = value.as_str() {
                    for &(which, pos) in &uses.facts {
                        let slot = &mut inputs[usize::from(which).min(4)];
                        if slot.is_none_or(|(p, _)| pos < p) {
                            *slot = Some((pos, text));
                        }
                    }
                }
            }
        }
        let fact_inputs = FactInputs {
            entity: d.entity,
            name: inputs[0].map(|x| x.1),
            identifier: inputs[1].map(|x| x.1),
            platform: inputs[2].map(|x| x.1),
            os: inputs[3].map(|x| x.1),
            os_version: inputs[4].map(|x| x.1),
        };
        let mut fact: Option<u32> = None;
        for (der, t, pos) in &vm.derived {
            let val = match der {
                Derived::SourceId => Some(MVal::Str(d.source_id.as_str())),
                Derived::Make => Some(MVal::Static("Apple")),
                Derived::Secret(name) => d.secrets.get(name).map(MVal::Secret),
                Derived::DateOf(k) => d.fields.get_str(k).and_then(|raw| {
                    // A normalized UTC date-time holds its date: borrow it.
                    utc_date_prefix(raw).map(MVal::Str).or_else(|| {
                        crate::normalize::date_compact(raw).map(|s| {
                            self.owned.push(Value::Text(s));
                            MVal::Owned(self.owned.len() as u32 - 1)
                        })
                    })
                }),
                Derived::Model
                | Derived::DisplaySize
                | Derived::ReleaseYear
                | Derived::AssetType
                | Derived::OsName
                | Derived::OsVersion => {
                    let fi = match fact {
                        Some(f) => f,
                        None => {
                            let f = self.fact(fact_inputs);
                            fact = Some(f);
                            f
                        }
                    };
                    let which = match der {
                        Derived::Model => 0,
                        Derived::DisplaySize => 1,
                        Derived::ReleaseYear => 2,
                        Derived::AssetType => 3,
                        Derived::OsName => 4,
                        _ => 5,
                    };
                    self.fact_value(fi, which).map(|_| MVal::Fact(fi, which))
                }
            };
            if let Some(val) = val {
                offer(*t, *pos, val, best);
            }
        }
    }

    fn fact_value(&self, fi: u32, which: u8) -> Option<&Value> {
        let f = &self.facts[fi as usize];
        match which {
            0 => f.model.as_ref(),
            1 => f.display_size.as_ref(),
            2 => f.release_year.as_ref(),
            3 => f.asset_type.as_ref(),
            4 => f.os_name.as_ref(),
            _ => f.os_version.as_ref(),
        }
    }

    fn to_change_value(&self, m: MVal<'a>) -> ChangeValue {
        match m {
            MVal::Val(v) => ChangeValue::Value(v.clone()),
            MVal::Str(s) => ChangeValue::Value(Value::Text((*s).into())),
            MVal::Static(s) => ChangeValue::Value(Value::Text((*s).into())),
            MVal::Fact(fi, w) => ChangeValue::Value(
                self.fact_value(fi, w)
                    .cloned()
                    .unwrap_or(Value::Bool(false)),
            ),
            MVal::Owned(i) => ChangeValue::Value(
                self.owned
                    .get(i as usize)
                    .cloned()
                    .unwrap_or(Value::Bool(false)),
            ),
            MVal::Secret(s) => ChangeValue::Secret(s.clone()),
        }
    }

    /// Whether the inventory value already says what the source says.
    pub(super) fn same(&self, old: &Value, new: MVal<'a>, norm: Option<Norm>) -> bool {
        let quick = match (old, new) {
            (Value::Text(a), MVal::Str(b) | MVal::Static(b)) => a == b,
            (_, MVal::Val(v)) => old == v,
            (_, MVal::Fact(fi, w)) => self.fact_value(fi, w) == Some(old),
            (Value::Text(a), MVal::Secret(s)) => return a == s.expose_secret(),
            (_, MVal::Secret(_)) => return false,
            _ => false,
        };
        if quick {
            return true;
        }
        let ChangeValue::Value(nv) = self.to_change_value(new) else {
            return false;
        };
        match norm {
            Some(n) => ident::same_ids(n, old, &nv),
            None => ident::same_value(old, &nv),
        }
    }

    /// Whether a source that outranks `rank` for target `t` knows `asset`
    /// (the asset holds its id) but was not read in full by this plan and
    /// reported no record for it (an incremental reading, a failed one, or
    /// a sync of other sources): its record is unchanged, so the value it
    /// gave stands, and a lower-ranked source must not overwrite it.
    fn outranked_by_unread(
        &self,
        asset: Option<&Asset>,
        t: &Target,
        rank: u8,
        vendors_mask: &[bool; 3],
    ) -> bool {
        let Some(asset) = asset else { return false };
        Vendor::ALL.iter().any(|&w| {
            let v = vi(w);
            if vendors_mask[v] || !t.mapped_by[v] || t.rank[v] >= rank {
                return false;
            }
            let Some(marker) = self.c.marker[v] else {
                return false;
            };
            let Some(id) =
                super::lifecycle::marker_id(asset, &self.c.targets[usize::from(marker)].name)
            else {
                return false;
            };
            !self.full.iter().any(|l| l.vendor == w && l.owns(&id))
        })
    }

    /// The changes for a group against an asset (or for a create).
    pub(super) fn diff(
        &mut self,
        kept: &[u32],
        asset: Option<u32>,
        best: &mut [Option<(u8, u8, MVal<'a>)>],
        touched: &mut Vec<u16>,
    ) -> Changes {
        let c = self.c;
        for t in touched.drain(..) {
            best[usize::from(t)] = None;
        }
        for &r in kept {
            self.eval_record(r, best, touched);
        }
        let inv: &'a Inventory = self.inv;
        let asset: Option<&'a Asset> = asset.map(|a| &inv.assets[a as usize]);
        let mut out = std::mem::take(&mut self.scratch_changes);
        out.clear();
        let mut old_vals = std::mem::take(&mut self.scratch_old);
        old_vals.clear();
        old_vals.resize(c.targets.len(), None);
        if let Some(a) = asset {
            for (key, v) in a.fields.entries() {
                if let Some(t) = c.target_of(key) {
                    old_vals[usize::from(t)] = Some(v);
                }
            }
        }
        let mut vendors_mask = [false; 3];
        for r in kept {
            vendors_mask[vi(self.incoming[*r as usize].vendor)] = true;
        }
        for (ti, t) in c.targets.iter().enumerate() {
            let old: Option<&'a Value> = old_vals[ti];
            let new = best[ti].map(|(_, _, v)| v);
            let is_assignee = c.assignee == Some(ti as u16);
            let is_status = c.status == Some(ti as u16);
            if old.is_none() && new.is_none() && !is_assignee && !is_status {
                continue;
            }
            let creating = asset.is_none();
            let wants = |old_present: bool| match t.rule.ownership {
                Ownership::Ignore => false,
                Ownership::Inventory => creating,
                Ownership::FillIfEmpty => creating || !old_present,
                Ownership::Source => true,
            };
            if !wants(old.is_some()) {
                continue;
            }
            // Assignee and status come from the engine when no source gives them.
            if new.is_none() && is_assignee && c.config.assign_employees {
                if let Some(v) = self.resolve_assignee(kept, &t.rank) {
                    let same = match (&v, old) {
                        (ChangeValue::Value(nv), Some(o)) => ident::same_value(o, nv),
                        _ => false,
                    };
                    if !same {
                        out.push((
                            t.name.clone(),
                            Change {
                                from: old.map(|o| ChangeValue::Value(o.clone())),
                                to: Some(v),
                            },
                        ));
                    }
                }
                continue;
            }
            if new.is_none() && is_status && creating {
                if let Some(s) = &c.config.new_asset_status {
                    out.push((
                        t.name.clone(),
                        Change {
                            from: None,
                            to: Some(ChangeValue::Value(Value::Text(s.as_str().into()))),
                        },
                    ));
                }
                continue;
            }
            let redact = |v: &Value| {
                if t.secret {
                    ChangeValue::Secret(SecretString::from(v.to_string()))
                } else {
                    ChangeValue::Value(v.clone())
                }
            };
            match (old, new) {
                (Some(o), Some(n)) => {
                    let rank = best[ti].map_or(u8::MAX, |(r, _, _)| r);
                    if !self.same(o, n, t.norm)
                        && !self.outranked_by_unread(asset, t, rank, &vendors_mask)
                    {
                        out.push((
                            t.name.clone(),
                            Change {
                                from: Some(redact(o)),
                                to: Some(self.to_change_value(n)),
                            },
                        ));
                    }
                }
                (None, Some(n)) => out.push((
                    t.name.clone(),
                    Change {
                        from: None,
                        to: Some(self.to_change_value(n)),
                    },
                )),
                (Some(o), None) => {
                    let mapped = (0..3).any(|v| vendors_mask[v] && t.mapped_by[v]);
                    if t.rule.ownership == Ownership::Source && t.rule.clear_when_blank && mapped {
                        out.push((
                            t.name.clone(),
                            Change {
                                from: Some(redact(o)),
                                to: None,
                            },
                        ));
                    }
                }
                (None, None) => {}
            }
        }
        // An exact-size copy; the scratch buffer keeps its capacity.
        let mut exact = Vec::with_capacity(out.len());
        exact.append(&mut out);
        let changes = Changes(exact);
        self.scratch_changes = out;
        self.scratch_old = old_vals;
        changes
    }
}
