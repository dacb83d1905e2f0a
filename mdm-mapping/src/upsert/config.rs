//! The upsert configuration and its TOML/JSON file form.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::mapping::{FieldRuleSpec, Mapping, MappingError, Ownership};

/// Everything [`plan`](crate::upsert::plan) needs besides the data.
///
/// `Config::default()` is the design's default: the default mapping, match
/// on `jamf_id`, `kandji_id`, `serial_number`, `udid`, `imei` (asset tag
/// only on opt-in), new assets `allocated`, nothing changed on missing
/// devices, no recovery keys stored, employees matched and created.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Inventory fields and their rules.
    pub mapping: Mapping,
    /// Inventory fields to match on, in order. Each must be mapped.
    pub match_on: Vec<String>,
    /// The status of new assets (`allocated`); `None` leaves it unset.
    pub new_asset_status: Option<String>,
    /// The status given to assets whose device is gone (removed, released,
    /// missing from a full listing); `None` (default) only reports them.
    pub on_missing: Option<String>,
    /// Store the FileVault recovery key (`recovery_key`). Off by default.
    pub store_recovery_key: bool,
    /// Set `assignee_id` from the device's user (matched by email).
    pub assign_employees: bool,
    /// Create employees that match no one (needs first name, last name, email).
    pub create_employees: bool,
}

/// The default match order.
pub const DEFAULT_MATCH_ON: &[&str] = &["jamf_id", "kandji_id", "serial_number", "udid", "imei"];

impl Default for Config {
    fn default() -> Self {
        Config {
            mapping: Mapping::default(),
            match_on: DEFAULT_MATCH_ON.iter().map(|s| s.to_string()).collect(),
            new_asset_status: Some("allocated".to_string()),
            on_missing: None,
            store_recovery_key: false,
            assign_employees: true,
            create_employees: true,
        }
    }
}

/// The file form of [`Config`] (TOML or JSON); every key is optional.
///
/// ```toml
/// match_on = ["jamf_id", "kandji_id", "serial_number", "udid", "imei"]
/// match_asset_tag = true          # append asset_tag to match_on
/// new_asset_status = "allocated"
/// on_missing = "archived"
/// store_recovery_key = false
/// catalog_defaults = true         # start from the default mapping (false: only `fields`)
///
/// [fields.location]
/// ownership = "fill_if_empty"     # source | inventory | fill_if_empty | ignore
/// from = { jamf = "building_id" }
///
/// [fields.po_date]
/// priority = ["jamf", "abm"]
///
/// [fields.cost_center]            # a field of your own
/// from = { jamf = ["department_id"] }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Match order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_on: Option<Vec<String>>,
    /// Append `asset_tag` to the match order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_asset_tag: Option<bool>,
    /// Status of new assets; `""` leaves it unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_asset_status: Option<String>,
    /// Status for gone devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_missing: Option<String>,
    /// Store recovery keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_recovery_key: Option<bool>,
    /// Match devices' users to employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_employees: Option<bool>,
    /// Create missing employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_employees: Option<bool>,
    /// Start from the default mapping (true) or from nothing (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_defaults: Option<bool>,
    /// Field rules to add or change.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldRuleSpec>,
}

/// A configuration that cannot be read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML does not parse or has unknown keys.
    #[error("invalid TOML configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// The JSON does not parse or has unknown keys.
    #[error("invalid JSON configuration at line {line}, column {column}: {source}")]
    Json {
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The configuration file cannot be read.
    #[error("cannot read configuration {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A field rule is wrong.
    #[error("invalid field mapping: {0}")]
    Mapping(#[from] MappingError),
    /// A match field is not usable.
    #[error("match field {field:?} {reason}")]
    MatchField {
        /// The field.
        field: String,
        /// Why it cannot be matched on.
        reason: &'static str,
    },
}

impl Config {
    /// Builds a configuration from its file form.
    pub fn from_file_form(file: ConfigFile) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if file.catalog_defaults == Some(false) {
            c.mapping = Mapping::empty();
        }
        c.mapping.apply(file.fields)?;
        if let Some(m) = file.match_on {
            c.match_on = m.into_iter().map(|s| s.trim().to_string()).collect();
        }
        if file.match_asset_tag == Some(true) && !c.match_on.iter().any(|m| m == "asset_tag") {
            c.match_on.push("asset_tag".to_string());
        }
        if let Some(s) = file.new_asset_status {
            c.new_asset_status = crate::normalize::text(&s);
        }
        if let Some(s) = file.on_missing {
            c.on_missing = crate::normalize::text(&s);
        }
        if let Some(b) = file.store_recovery_key {
            c.store_recovery_key = b;
        }
        if let Some(b) = file.assign_employees {
            c.assign_employees = b;
        }
        if let Some(b) = file.create_employees {
            c.create_employees = b;
        }
        c.validate()?;
        Ok(c)
    }

    /// Reads a TOML configuration.
    pub fn from_toml_str(s: &str) -> Result<Config, ConfigError> {
        Config::from_file_form(toml::from_str(s)?)
    }

    /// Reads a JSON configuration.
    pub fn from_json_str(s: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile = serde_json::from_str(s).map_err(|source| ConfigError::Json {
            line: source.line(),
            column: source.column(),
            source,
        })?;
        Config::from_file_form(file)
    }

    /// Reads a configuration file: JSON when the name ends in `.json`, else TOML.
    pub fn from_path(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Config::from_json_str(&text)
        } else {
            Config::from_toml_str(&text)
        }
    }

    /// The identifier fields a store keeps unique for this configuration:
    /// every field of [`match_on`](Config::match_on) that is mapped, Jamf
    /// ids numbered per kind of device. See
    /// [`IdentifierRules`](crate::store::IdentifierRules).
    pub fn identifier_rules(&self) -> crate::store::IdentifierRules {
        use crate::mapping::{Derived, SourceKey};
        let mut rules = crate::store::IdentifierRules::new(std::iter::empty::<String>());
        for name in &self.match_on {
            let Some((_, rule)) = self.mapping.fields().find(|(n, _)| n == name) else {
                continue;
            };
            if rule.ownership == Ownership::Ignore {
                continue;
            }
            let per_kind = rule.from.get(&crate::Vendor::Jamf).is_some_and(|ks| {
                ks.iter()
                    .any(|k| matches!(k, SourceKey::Derived(Derived::SourceId)))
            });
            rules = rules.with_field(name.clone(), per_kind);
        }
        rules
    }

    /// Checks that every match field is mapped, written on create and has
    /// at least one source: a created asset must be found again on the next run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.match_on.is_empty() {
            return Err(ConfigError::MatchField {
                field: String::new(),
                reason: "list is empty: nothing to match devices on",
            });
        }
        for field in &self.match_on {
            let Some(rule) = self.mapping.field(field) else {
                return Err(ConfigError::MatchField {
                    field: field.clone(),
                    reason: "is not in the mapping",
                });
            };
            if rule.ownership == Ownership::Ignore {
                return Err(ConfigError::MatchField {
                    field: field.clone(),
                    reason: "is ignored: created assets could not be matched again",
                });
            }
            if rule.from.values().all(Vec::is_empty) {
                return Err(ConfigError::MatchField {
                    field: field.clone(),
                    reason: "has no sources",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_forms() {
        let c = Config::from_toml_str(
            r#"
            match_asset_tag = true
            on_missing = "archived"
            [fields.location]
            ownership = "fill_if_empty"
            from = { jamf = "building_id" }
            "#,
        )
        .unwrap();
        assert_eq!(c.match_on.last().map(String::as_str), Some("asset_tag"));
        assert_eq!(c.on_missing.as_deref(), Some("archived"));
        let j = Config::from_json_str(r#"{"on_missing":"archived","match_asset_tag":true,"fields":{"location":{"ownership":"fill_if_empty","from":{"jamf":"building_id"}}}}"#).unwrap();
        assert_eq!(c, j);
        let e = Config::from_toml_str("bogus = 1").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = Config::from_json_str("{\n\"match_on\": 5}").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = Config::from_toml_str("match_on = [\"nope\"]").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e =
            Config::from_toml_str("[fields.serial_number]\nownership = \"ignore\"").unwrap_err();
        assert!(e.to_string().contains("serial_number"), "{e}");
    }

    /// The stores' default rules (used by `create_asset` and friends) are
    /// the default configuration's: the two must not drift apart.
    #[test]
    fn default_identifier_rules_are_the_default_configurations() {
        assert_eq!(
            Config::default().identifier_rules(),
            crate::store::IdentifierRules::default()
        );
        let mut tags = Config::default();
        tags.match_on.push("asset_tag".into());
        assert!(tags.identifier_rules().is_identifier("asset_tag"));
        assert_eq!(
            tags.identifier_rules().fingerprint(),
            "asset_tag,imei,jamf_id/kind,kandji_id,serial_number,udid"
        );
    }
}
