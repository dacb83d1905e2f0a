//! Lifecycle: devices gone from a source (removed, released) or missing
//! from a full listing, and the status change it asks for.

use super::*;

pub(super) fn status_change(config: &Config, current: Option<Value>) -> Option<Change> {
    let to = config.on_missing.as_ref()?;
    if current.as_ref().and_then(Value::as_str) == Some(to.as_str()) {
        return None;
    }
    Some(Change {
        from: current.map(ChangeValue::Value),
        to: Some(ChangeValue::Value(Value::Text(to.clone()))),
    })
}
