//! A computer as its record needs it: the fields [`crate::map`] reads, and
//! no others.
//!
//! A listing page of 2,000 computers carries up to about 45 fields per
//! computer that no record holds (the reported IP addresses, battery health, four
//! more dates, most of the security section, …). [`ComputerInventory`]
//! reads them all, a string allocated or a date parsed for each; the device
//! source decodes its pages into [`MappedComputer`] instead, which skips
//! them unread (BENCHMARKS.md, Latency, "Session 9"). Each field it keeps
//! is read as [`ComputerInventory`] reads it (the same lenient readers, the
//! same JSON names and date-note indexes), so a computer maps to the same
//! record either way (tested below). Text the record holds is read as
//! [`CompactString`], which keeps up to 24 bytes inline: most values (serial
//! numbers, versions, ids, MAC addresses) cost no allocation, and move into
//! the record as they are. The assignee's text stays `String`, which
//! [`mdm_mapping::Assignee`] holds. One exception: serde's derived
//! readers also take a section sent as a JSON list, filling its fields by
//! position, and the positions differ between the two models. Jamf sends
//! sections as objects; a list there reads as garbage in either model.
//!
//! Crate-private: [`crate::map::computer_owned`] turns a public
//! [`ComputerInventory`] into one of these, and maps that.

use chrono::{DateTime, NaiveDate, Utc};
use mdm_mapping::CompactString;
use serde::Deserialize;

use super::computer::{
    ComputerDiskEncryption, ComputerGeneral, ComputerHardware, ComputerInventory,
    ComputerOperatingSystem, ComputerPurchasing, ComputerSecurity, ComputerUserAndLocation,
};
use super::{IdName, JamfId};

/// [`ComputerInventory`]'s mapped fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MappedComputer {
    pub(crate) id: JamfId,
    #[serde(default, deserialize_with = "crate::de::opt_text")]
    pub(crate) udid: Option<CompactString>,
    #[serde(default)]
    pub(crate) general: Option<MappedGeneral>,
    #[serde(default)]
    pub(crate) hardware: Option<MappedHardware>,
    #[serde(default)]
    pub(crate) operating_system: Option<MappedOperatingSystem>,
    #[serde(default)]
    pub(crate) user_and_location: Option<MappedUserAndLocation>,
    #[serde(default)]
    pub(crate) purchasing: Option<MappedPurchasing>,
    #[serde(default)]
    pub(crate) disk_encryption: Option<MappedDiskEncryption>,
    #[serde(default)]
    pub(crate) security: Option<MappedSecurity>,
}

/// [`ComputerGeneral`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedGeneral {
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) name: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) last_ip_address: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) jamf_binary_version: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) platform: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) barcode1: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) barcode2: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) asset_tag: Option<CompactString>,
    pub(crate) remote_management: Option<MappedRemoteManagement>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) supervised: Option<bool>,
    pub(crate) mdm_capable: Option<MappedMdmCapable>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<0, _>")]
    pub(crate) report_date: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<1, _>")]
    pub(crate) last_contact_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<2, _>")]
    pub(crate) last_contact: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<5, _>")]
    pub(crate) last_enrolled_date: Option<DateTime<Utc>>,
    pub(crate) site: Option<IdName>,
}

impl MappedGeneral {
    /// As [`ComputerGeneral::last_contact_time`].
    pub(crate) fn last_contact_time(&self) -> Option<DateTime<Utc>> {
        self.last_contact.or(self.last_contact_time)
    }
}

/// [`RemoteManagement`](super::computer::RemoteManagement)'s mapped field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedRemoteManagement {
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) managed: Option<bool>,
}

/// [`MdmCapable`](super::computer::MdmCapable)'s mapped field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMdmCapable {
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) capable: Option<bool>,
}

/// [`ComputerHardware`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedHardware {
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) make: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) model: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) model_identifier: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) serial_number: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) processor_speed_mhz: Option<i64>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) processor_count: Option<i64>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) core_count: Option<i64>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) processor_type: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) processor_architecture: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) bus_speed_mhz: Option<i64>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) cache_size_kilobytes: Option<i64>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) mac_address: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) alt_mac_address: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) total_ram_megabytes: Option<i64>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) smc_version: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) nic_speed: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) optical_drive: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) ble_capable: Option<bool>,
}

/// [`ComputerOperatingSystem`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedOperatingSystem {
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) name: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) version: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) build: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) active_directory_status: Option<CompactString>,
}

/// [`ComputerUserAndLocation`], every field of which is mapped: the
/// assignee's text as `String`s (an [`mdm_mapping::Assignee`] holds them),
/// the rest as record text.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedUserAndLocation {
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) username: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) realname: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) email: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) position: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) phone: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) department_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) building_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) room: Option<CompactString>,
}

/// [`ComputerPurchasing`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedPurchasing {
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) leased: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) purchased: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) po_number: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_date_noted::<8, _>")]
    pub(crate) po_date: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) vendor: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_date_noted::<9, _>")]
    pub(crate) warranty_date: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) apple_care_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_date_noted::<10, _>")]
    pub(crate) lease_date: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) purchase_price: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) life_expectancy: Option<i64>,
}

/// [`ComputerSecurity`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedSecurity {
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) activation_lock_enabled: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) recovery_lock_enabled: Option<bool>,
}

/// [`ComputerDiskEncryption`]'s mapped field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedDiskEncryption {
    #[serde(deserialize_with = "crate::de::vec_or_null")]
    pub(crate) file_vault2_enabled_user_names: Vec<String>,
}

impl From<ComputerInventory> for MappedComputer {
    fn from(c: ComputerInventory) -> Self {
        MappedComputer {
            id: c.id,
            udid: c.udid.map(Into::into),
            general: c.general.map(MappedGeneral::from),
            hardware: c.hardware.map(MappedHardware::from),
            operating_system: c.operating_system.map(MappedOperatingSystem::from),
            user_and_location: c.user_and_location.map(MappedUserAndLocation::from),
            purchasing: c.purchasing.map(MappedPurchasing::from),
            disk_encryption: c.disk_encryption.map(MappedDiskEncryption::from),
            security: c.security.map(MappedSecurity::from),
        }
    }
}

impl From<ComputerGeneral> for MappedGeneral {
    fn from(g: ComputerGeneral) -> Self {
        MappedGeneral {
            name: g.name.map(Into::into),
            last_ip_address: g.last_ip_address.map(Into::into),
            jamf_binary_version: g.jamf_binary_version.map(Into::into),
            platform: g.platform.map(Into::into),
            barcode1: g.barcode1.map(Into::into),
            barcode2: g.barcode2.map(Into::into),
            asset_tag: g.asset_tag.map(Into::into),
            remote_management: g
                .remote_management
                .map(|r| MappedRemoteManagement { managed: r.managed }),
            supervised: g.supervised,
            mdm_capable: g
                .mdm_capable
                .map(|m| MappedMdmCapable { capable: m.capable }),
            report_date: g.report_date,
            last_contact_time: g.last_contact_time,
            last_contact: g.last_contact,
            last_enrolled_date: g.last_enrolled_date,
            site: g.site,
        }
    }
}

impl From<ComputerHardware> for MappedHardware {
    fn from(h: ComputerHardware) -> Self {
        MappedHardware {
            make: h.make.map(Into::into),
            model: h.model.map(Into::into),
            model_identifier: h.model_identifier.map(Into::into),
            serial_number: h.serial_number.map(Into::into),
            processor_speed_mhz: h.processor_speed_mhz,
            processor_count: h.processor_count,
            core_count: h.core_count,
            processor_type: h.processor_type.map(Into::into),
            processor_architecture: h.processor_architecture.map(Into::into),
            bus_speed_mhz: h.bus_speed_mhz,
            cache_size_kilobytes: h.cache_size_kilobytes,
            mac_address: h.mac_address.map(Into::into),
            alt_mac_address: h.alt_mac_address.map(Into::into),
            total_ram_megabytes: h.total_ram_megabytes,
            smc_version: h.smc_version.map(Into::into),
            nic_speed: h.nic_speed.map(Into::into),
            optical_drive: h.optical_drive.map(Into::into),
            ble_capable: h.ble_capable,
        }
    }
}

impl From<ComputerUserAndLocation> for MappedUserAndLocation {
    fn from(u: ComputerUserAndLocation) -> Self {
        MappedUserAndLocation {
            username: u.username,
            realname: u.realname,
            email: u.email,
            position: u.position,
            phone: u.phone,
            department_id: u.department_id.map(Into::into),
            building_id: u.building_id.map(Into::into),
            room: u.room.map(Into::into),
        }
    }
}

impl From<ComputerOperatingSystem> for MappedOperatingSystem {
    fn from(os: ComputerOperatingSystem) -> Self {
        MappedOperatingSystem {
            name: os.name.map(Into::into),
            version: os.version.map(Into::into),
            build: os.build.map(Into::into),
            active_directory_status: os.active_directory_status.map(Into::into),
        }
    }
}

impl From<ComputerPurchasing> for MappedPurchasing {
    fn from(p: ComputerPurchasing) -> Self {
        MappedPurchasing {
            leased: p.leased,
            purchased: p.purchased,
            po_number: p.po_number.map(Into::into),
            po_date: p.po_date,
            vendor: p.vendor.map(Into::into),
            warranty_date: p.warranty_date,
            apple_care_id: p.apple_care_id.map(Into::into),
            lease_date: p.lease_date,
            purchase_price: p.purchase_price.map(Into::into),
            life_expectancy: p.life_expectancy,
        }
    }
}

impl From<ComputerSecurity> for MappedSecurity {
    fn from(s: ComputerSecurity) -> Self {
        MappedSecurity {
            activation_lock_enabled: s.activation_lock_enabled,
            recovery_lock_enabled: s.recovery_lock_enabled,
        }
    }
}

impl From<ComputerDiskEncryption> for MappedDiskEncryption {
    fn from(e: ComputerDiskEncryption) -> Self {
        MappedDiskEncryption {
            file_vault2_enabled_user_names: e.file_vault2_enabled_user_names,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::map::{self, SecurityReads};

    const FIXTURES: [&str; 3] = [
        include_str!("../../tests/fixtures/computers/apple_silicon_v4.json"),
        include_str!("../../tests/fixtures/computers/intel_mac_v1.json"),
        include_str!("../../tests/fixtures/computers/sparse_v1.json"),
    ];

    /// Values each field is tried with: Jamf's quirks and values that are
    /// wrong for most fields.
    pub(crate) fn odd_values() -> Vec<Value> {
        vec![
            Value::Null,
            json!(""),
            json!("  "),
            json!(" text "),
            json!("-1"),
            json!(-1),
            json!(0),
            json!(7.0),
            json!(2.5),
            json!(true),
            json!("true"),
            json!("2024-01-26T16:15:36Z"),
            json!("2024-01-26"),
            json!("the 32nd"),
            json!("aa-bb-cc-dd-ee-ff"),
            json!(["a", "b"]),
            json!({"id": "3", "name": "Site"}),
        ]
    }

    /// Every path to a value inside `v` (object keys and list indexes).
    pub(crate) fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(k.clone());
                    out.push(at.clone());
                    paths(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(i.to_string());
                    out.push(at.clone());
                    paths(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }

    /// `v` with the value at `path` replaced by `with` (removed when `None`).
    pub(crate) fn replaced(v: &Value, path: &[String], with: Option<&Value>) -> Value {
        let mut v = v.clone();
        let Some((last, parents)) = path.split_last() else {
            return v;
        };
        let mut at = &mut v;
        for p in parents {
            at = match at {
                Value::Object(m) => m.get_mut(p).expect("path from paths()"),
                Value::Array(items) => {
                    let i: usize = p.parse().expect("index");
                    items.get_mut(i).expect("path from paths()")
                }
                _ => unreachable!("paths() only goes through objects and lists"),
            };
        }
        match (at, with) {
            (Value::Object(m), Some(w)) => {
                m.insert(last.clone(), w.clone());
            }
            (Value::Object(m), None) => {
                m.remove(last);
            }
            (Value::Array(items), w) => {
                let i: usize = last.parse().expect("index");
                match w {
                    Some(w) => items[i] = w.clone(),
                    None => {
                        items.remove(i);
                    }
                }
            }
            _ => unreachable!(),
        }
        v
    }

    /// The dates both models read; the notes of values they drop must agree.
    const MAPPED_DATES: [&str; 7] = [
        "report_date",
        "last_contact_time",
        "last_contact",
        "last_enrolled_date",
        "po_date",
        "warranty_date",
        "lease_date",
    ];

    /// Dropped-value notes: the field and the value sent.
    pub(crate) type Notes = Vec<(&'static str, String)>;

    /// Decodes `body` as `T`, with the dropped-value notes of the dates
    /// both models read.
    fn decode<T: serde::de::DeserializeOwned>(
        body: &Value,
    ) -> Result<(T, Notes), serde_json::Error> {
        decode_noting(body, &MAPPED_DATES)
    }

    /// Decodes `body` as `T`, with the dropped-value notes of `dates`.
    pub(crate) fn decode_noting<T: serde::de::DeserializeOwned>(
        body: &Value,
        dates: &[&str],
    ) -> Result<(T, Notes), serde_json::Error> {
        let _ = crate::de::take_dropped();
        let text = body.to_string();
        let decoded = serde_json::from_str::<T>(&text);
        let notes = crate::de::take_dropped()
            .into_iter()
            .filter(|(f, _)| dates.contains(f))
            .collect();
        decoded.map(|t| (t, notes))
    }

    pub(crate) fn every_read() -> SecurityReads {
        SecurityReads {
            activation_lock: true,
            applecare_id: true,
            filevault_recovery_key: true,
            recovery_lock_password: true,
        }
    }

    /// For every value of every fixture replaced by each odd value (and
    /// removed): when the public model reads the computer, the mapped one
    /// reads it too, to the same record and the same dropped-value notes,
    /// with and without the security reads; when only the public model
    /// fails, the mapped one maps it, notes included, as if that value were
    /// absent (a field the record does not hold). The mapped model never
    /// fails where the public one reads. The only list tried is a list of
    /// text: a section sent as a list is read by position, where the two
    /// models differ (see the module's docs).
    #[test]
    fn the_mapped_model_maps_as_the_public_one() {
        let mut checked = 0;
        let mut unread = 0;
        for fixture in FIXTURES {
            let base: Value = serde_json::from_str(fixture).expect("fixture");
            let mut all = Vec::new();
            paths(&base, &mut Vec::new(), &mut all);
            // Each body with the path it changed (`None`: the fixture, or a
            // whole section changed).
            let mut bodies: Vec<(Value, Option<&Vec<String>>)> = vec![(base.clone(), None)];
            for path in &all {
                bodies.push((replaced(&base, path, None), Some(path)));
                for odd in odd_values() {
                    bodies.push((replaced(&base, path, Some(&odd)), Some(path)));
                }
            }
            // Whole sections as null or empty, and a security section.
            for section in [
                "general",
                "hardware",
                "operatingSystem",
                "userAndLocation",
                "purchasing",
                "diskEncryption",
                "security",
            ] {
                let path = [section.to_string()];
                bodies.push((replaced(&base, &path, Some(&Value::Null)), None));
                bodies.push((replaced(&base, &path, Some(&json!({}))), None));
            }
            bodies.push((
                replaced(
                    &base,
                    &["security".to_string()],
                    Some(&json!({"activationLockEnabled": true, "recoveryLockEnabled": "false"})),
                ),
                None,
            ));
            for (body, path) in &bodies {
                let full = decode::<ComputerInventory>(body);
                let mapped = decode::<MappedComputer>(body);
                match (full, mapped) {
                    (Ok((full, full_notes)), Ok((_, mapped_notes))) => {
                        assert_eq!(full_notes, mapped_notes, "{body}");
                        for security in [SecurityReads::none(), every_read()] {
                            let want = map::computer(&full, &security);
                            let got = map::mapped_computer(
                                decode::<MappedComputer>(body).expect("read above").0,
                                &security,
                            );
                            assert_eq!(got, want, "{body}");
                        }
                        checked += 1;
                    }
                    (Ok(_), Err(e)) => panic!("only the mapped model fails: {e}: {body}"),
                    (Err(e), Ok((mapped, notes))) => {
                        let path = path.unwrap_or_else(|| panic!("{e}: {body}"));
                        let (without, without_notes) =
                            decode::<MappedComputer>(&replaced(&base, path, None))
                                .expect("the fixture without the value reads");
                        let security = every_read();
                        assert_eq!(notes, without_notes, "{path:?} in {body}");
                        assert_eq!(
                            map::mapped_computer(mapped, &security),
                            map::mapped_computer(without, &security),
                            "the mapped model read {path:?} in {body}"
                        );
                        unread += 1;
                    }
                    (Err(_), Err(_)) => {}
                }
            }
        }
        // The cases above really ran, both kinds.
        assert!(checked > 500, "{checked} bodies compared");
        assert!(unread > 10, "{unread} bodies only the public model refused");
    }
}
