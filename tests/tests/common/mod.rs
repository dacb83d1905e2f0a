//! Helpers shared by the end-to-end test files.

#[allow(dead_code)]
pub mod pg;
#[allow(dead_code)]
pub mod sim;

use std::collections::{BTreeMap, HashSet};

use mdm_mapping::store::Inventory;

/// An inventory without the ids a store chose: each asset's fields (with
/// the assignee as that employee's emails, and the id of the assets that
/// `before` already had), sorted; and each employee's names and emails,
/// sorted.
pub fn canonical(inv: &Inventory, before: &Inventory) -> (Vec<String>, Vec<String>) {
    let existed: HashSet<&str> = before.assets.iter().map(|a| a.id.as_str()).collect();
    let emails: BTreeMap<&str, &Vec<String>> = inv
        .employees
        .iter()
        .map(|e| (e.id.as_str(), &e.emails))
        .collect();
    let mut assets: Vec<String> = inv
        .assets
        .iter()
        .map(|a| {
            let mut m: BTreeMap<String, serde_json::Value> = a
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect();
            if let Some(serde_json::Value::String(id)) = m.get("assignee_id").cloned() {
                m.insert(
                    "assignee_id".into(),
                    serde_json::json!(emails.get(id.as_str())),
                );
            }
            if existed.contains(a.id.as_str()) {
                m.insert("id".into(), serde_json::json!(a.id));
            }
            serde_json::to_string(&m).expect("json")
        })
        .collect();
    assets.sort();
    let mut employees: Vec<String> = inv
        .employees
        .iter()
        .map(|e| format!("{} {} {:?}", e.first_name, e.last_name, e.emails))
        .collect();
    employees.sort();
    (assets, employees)
}
