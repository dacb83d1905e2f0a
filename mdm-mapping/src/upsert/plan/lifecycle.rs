//! Lifecycle: devices gone from a source (removed, released) or missing
//! from a full listing, and the status change it asks for.

use super::*;

/// The fields [`gone_kind`] reads.
pub(crate) const LIFECYCLE_KEYS: &[&str] = &["is_removed", "released_from_org_date_time", "status"];

/// Whether a record says its device is gone from its source: removed from
/// Kandji, released from the organization in ABM.
pub(super) fn gone_kind(d: &SourceDevice) -> Option<LifecycleKind> {
    match d.vendor {
        Vendor::Kandji => (d.fields.get("is_removed").and_then(Value::as_bool) == Some(true))
            .then_some(LifecycleKind::Removed),
        Vendor::Abm => {
            let released = d.fields.contains("released_from_org_date_time")
                || d.fields
                    .get_str("status")
                    .is_some_and(|s| s.eq_ignore_ascii_case("released"));
            released.then_some(LifecycleKind::Released)
        }
        Vendor::Jamf => None,
    }
}

/// The source id an asset holds in its `field` (its `jamf_id`, say), as
/// text, to ask a [`Listing`] whether it owns it.
pub(super) fn marker_id<'x>(asset: &'x Asset, field: &str) -> Option<Cow<'x, str>> {
    match asset.fields.get(field)? {
        Value::Text(id) => Some(Cow::Borrowed(id.as_str())),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// The asset's current status.
pub(super) fn status_from(asset: &Asset) -> Option<Value> {
    asset.fields.get("status").cloned()
}

/// The status change a gone or missing device asks for (`on_missing`), if
/// the asset does not have that status already.
pub(super) fn status_change(config: &Config, current: Option<Value>) -> Option<Change> {
    let to = config.on_missing.as_ref()?;
    if current.as_ref().and_then(Value::as_str) == Some(to.as_str()) {
        return None;
    }
    Some(Change {
        from: current.map(ChangeValue::Value),
        to: Some(ChangeValue::Value(Value::Text(to.as_str().into()))),
    })
}

impl Planner<'_, '_> {
    /// Lifecycle events for the assets a full listing of a source does not
    /// report any more (`missing`), then every event in a stable order.
    pub(super) fn missing_from_listings(&self, plan: &mut Plan, full_listings: &[Listing]) {
        let c = self.c;
        for listing in full_listings.iter().collect::<HashSet<_>>() {
            let v = listing.vendor;
            let Some(marker) = c.marker[vi(v)] else {
                continue;
            };
            let field = &c.targets[usize::from(marker)].name;
            let bit = 1u8 << vi(v);
            for (ai, asset) in self.inv.assets.iter().enumerate() {
                if self.seen[ai] & bit != 0 {
                    continue;
                }
                // Only the assets whose id this listing would have
                // reported: another tenant's assets are not missing.
                if !marker_id(asset, field).is_some_and(|id| listing.owns(&id)) {
                    continue;
                }
                let of = match &listing.qualifier {
                    Some(q) => format!("{v} source {q}"),
                    None => v.to_string(),
                };
                plan.lifecycle.push(LifecycleEvent {
                    event: LifecycleKind::Missing,
                    vendor: v,
                    target_id: Some(asset.id.clone()),
                    sources: Vec::new(),
                    status: status_change(c.config, status_from(asset)),
                    reason: format!(
                        "asset has {field} but no record of the full {of} listing matches it"
                    ),
                });
            }
        }
        plan.lifecycle.sort_by(|a, b| {
            (a.vendor, &a.target_id, a.event as u8).cmp(&(b.vendor, &b.target_id, b.event as u8))
        });
    }
}
