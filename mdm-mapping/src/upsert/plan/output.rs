//! Output: the plan's actions, from the matched and merged groups.

use super::*;

impl<'a, 'c> Planner<'a, 'c> {
    pub(super) fn finish(mut self, groups: Vec<Group>, full_listings: &[Listing]) -> Plan {
        self.full = full_listings.to_vec();
        let c = self.c;
        let n_targets = c.targets.len();
        let mut plan = Plan {
            actions: Vec::with_capacity(groups.len() + self.superseded.len()),
            ..Plan::default()
        };

        // Assets claimed by more than one group are conflicts.
        let mut claims = vec![0u8; self.inv.assets.len()];
        for g in &groups {
            let a = match &g.outcome {
                Outcome::Match { asset, .. } => Some(*asset),
                Outcome::Gone {
                    asset: Some((asset, _)),
                    ..
                } => Some(*asset),
                _ => None,
            };
            if let Some(a) = a {
                claims[a as usize] = claims[a as usize].saturating_add(1);
            }
        }
        let mut claimers: HashMap<u32, Vec<u32>> = HashMap::new();
        for (gi, g) in groups.iter().enumerate() {
            if let Outcome::Match { asset, .. } = &g.outcome
                && claims[*asset as usize] > 1
            {
                claimers.entry(*asset).or_default().push(gi as u32);
            }
        }

        let mut superseded_at = 0usize;
        let mut best: Vec<Option<(u8, u8, MVal<'a>)>> = vec![None; n_targets];
        let mut touched: Vec<u16> = Vec::new();

        for (gi, g) in groups.iter().enumerate() {
            let mut kept = std::mem::take(&mut self.scratch_kept);
            kept.clear();
            kept.extend_from_slice(&self.kept_buf[g.kept.0 as usize..g.kept.1 as usize]);
            let incoming: &'a [SourceDevice] = self.incoming;
            let srcs: SourceRefs = kept
                .iter()
                .map(|r| SourceRef::of(&incoming[*r as usize]))
                .collect();
            let mut srcs = Some(srcs);
            let mut sources = || srcs.take().unwrap_or_default();
            let mut target_of_group: Option<u32> = None;
            match &g.outcome {
                Outcome::Skip(reason) => plan.actions.push(Action {
                    action: ActionKind::Skip,
                    sources: sources(),
                    target_id: None,
                    matched_on: None,
                    changes: Changes::default(),
                    reason: reason.clone(),
                    candidates: Vec::new(),
                }),
                Outcome::Conflict(reason, cands) => plan.actions.push(Action {
                    action: ActionKind::Conflict,
                    sources: sources(),
                    target_id: None,
                    matched_on: None,
                    changes: Changes::default(),
                    reason: Cow::Owned(reason.clone()),
                    candidates: cands
                        .iter()
                        .map(|a| self.inv.assets[*a as usize].id.clone())
                        .collect(),
                }),
                Outcome::Gone { asset, kind } => {
                    let what = match kind {
                        LifecycleKind::Removed => "removed in the source",
                        LifecycleKind::Released => "released from the organisation",
                        LifecycleKind::Missing => "missing",
                    };
                    let (target_id, matched_on) = match asset {
                        Some((a, k)) => {
                            target_of_group = Some(*a);
                            (
                                Some(self.inv.assets[*a as usize].id.clone()),
                                Some(
                                    c.targets[usize::from(c.keys[usize::from(*k)].target)]
                                        .name
                                        .clone(),
                                ),
                            )
                        }
                        None => (None, None),
                    };
                    let reason = if target_id.is_some() {
                        format!("device {what}: the asset is left as is (see lifecycle)")
                    } else {
                        format!("device {what}: no asset is created for it")
                    };
                    plan.actions.push(Action {
                        action: ActionKind::Skip,
                        sources: sources(),
                        target_id: target_id.as_deref().map(Id::from),
                        matched_on,
                        changes: Changes::default(),
                        reason: Cow::Owned(reason),
                        candidates: Vec::new(),
                    });
                    if let Some((a, _)) = asset {
                        let asset = &self.inv.assets[*a as usize];
                        for (r, k) in &g.gone_some {
                            let d = &self.incoming[*r as usize];
                            plan.lifecycle.push(LifecycleEvent {
                                event: *k,
                                vendor: d.vendor,
                                target_id: target_id.clone(),
                                sources: vec![SourceRef::of(d)],
                                status: status_change(c.config, status_from(asset)),
                                reason: format!("{} {} {what}", d.vendor, d.source_id),
                            });
                        }
                    }
                }
                Outcome::Match { asset, .. } if claims[*asset as usize] > 1 => {
                    let others: Vec<String> = claimers
                        .get(asset)
                        .map(|gs| {
                            gs.iter()
                                .filter(|o| **o != gi as u32)
                                .flat_map(|o| {
                                    let og = &groups[*o as usize];
                                    self.kept_buf[og.kept.0 as usize..og.kept.1 as usize]
                                        .iter()
                                        .map(|r| {
                                            SourceRef::of(&self.incoming[*r as usize]).to_string()
                                        })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    plan.actions.push(Action {
                        action: ActionKind::Conflict,
                        sources: sources(),
                        target_id: None,
                        matched_on: None,
                        changes: Changes::default(),
                        reason: Cow::Owned(format!(
                            "asset {} is also matched by {}: records of different devices point at one asset",
                            self.inv.assets[*asset as usize].id,
                            others.join(", ")
                        )),
                        candidates: vec![self.inv.assets[*asset as usize].id.clone()],
                    });
                }
                Outcome::Match { asset, key } => {
                    target_of_group = Some(*asset);
                    let a = *asset;
                    let action = self.diff(&kept, Some(a), &mut best, &mut touched);
                    let asset_ref = &self.inv.assets[a as usize];
                    let changes = action;
                    let kind = if changes.is_empty() {
                        ActionKind::Unchanged
                    } else {
                        ActionKind::Update
                    };
                    let reason: Cow<'static, str> = match (kind, kept.len() > 1) {
                        (ActionKind::Unchanged, false) => {
                            Cow::Borrowed("matched; the asset is up to date")
                        }
                        (ActionKind::Unchanged, true) => {
                            Cow::Borrowed("matched; sources merged; the asset is up to date")
                        }
                        (_, false) => Cow::Borrowed("matched; source-owned fields changed"),
                        (_, true) => {
                            Cow::Borrowed("matched; sources merged; source-owned fields changed")
                        }
                    };
                    plan.actions.push(Action {
                        action: kind,
                        sources: sources(),
                        target_id: Some(Id::from(asset_ref.id.as_str())),
                        matched_on: Some(
                            c.targets[usize::from(c.keys[usize::from(*key)].target)]
                                .name
                                .clone(),
                        ),
                        changes,
                        reason,
                        candidates: Vec::new(),
                    });
                }
                Outcome::Create => {
                    let changes = self.diff(&kept, None, &mut best, &mut touched);
                    plan.actions.push(Action {
                        action: ActionKind::Create,
                        sources: sources(),
                        target_id: None,
                        matched_on: None,
                        changes,
                        reason: Cow::Borrowed(if kept.len() > 1 {
                            "no asset has these identifiers; sources merged"
                        } else {
                            "no asset has these identifiers"
                        }),
                        candidates: Vec::new(),
                    });
                }
            }
            // Partly gone devices (still reported elsewhere): report only.
            if !matches!(g.outcome, Outcome::Gone { .. }) {
                for (r, k) in &g.gone_some {
                    let d = &self.incoming[*r as usize];
                    plan.lifecycle.push(LifecycleEvent {
                        event: *k,
                        vendor: d.vendor,
                        target_id: target_of_group.map(|a| self.inv.assets[a as usize].id.clone()),
                        sources: vec![SourceRef::of(d)],
                        status: None,
                        reason: format!(
                            "{} {} is gone from {} but other sources still report the device: status left as is",
                            d.vendor, d.source_id, d.vendor
                        ),
                    });
                }
            }
            // Superseded records of this group.
            while superseded_at < self.superseded.len()
                && self.superseded[superseded_at].0 == gi as u32
            {
                let (_, loser, winner) = self.superseded[superseded_at];
                superseded_at += 1;
                let l = &self.incoming[loser as usize];
                let w = &self.incoming[winner as usize];
                plan.actions.push(Action {
                    action: ActionKind::Skip,
                    sources: SourceRefs::one(SourceRef::of(l)),
                    target_id: target_of_group
                        .map(|a| Id::from(self.inv.assets[a as usize].id.as_str())),
                    matched_on: None,
                    changes: Changes::default(),
                    reason: Cow::Owned(format!(
                        "superseded: {} {} reports the same device and is newer (re-enrolled); this older record is ignored",
                        w.vendor, w.source_id
                    )),
                    candidates: Vec::new(),
                });
            }
            self.scratch_kept = kept;
        }

        self.missing_from_listings(&mut plan, full_listings);

        // User records (a vendor's user directory): employees only, decided
        // exactly like a device's assignee.
        for r in 0..self.incoming.len() as u32 {
            if self.incoming[r as usize].entity == Entity::User {
                let _ = self.resolve_assignee(&[r], &[0, 1, 2]);
            }
        }

        plan.employees = std::mem::take(&mut self.employee_actions);
        plan.likely_duplicates = std::mem::take(&mut self.likely_duplicates);
        plan.count();
        plan
    }
}
