//! A mobile device as its record needs it: the fields [`crate::map`] reads,
//! and no others.
//!
//! As [`super::mapped`] does for computers: a page of 2,000 mobile devices
//! carries about 25 fields per device that no record holds (the management
//! id, battery and capacity figures, carrier details, the profile's
//! expiration date, …). [`MobileDevice`] reads them all; the device source
//! decodes its pages into [`MappedMobileDevice`] instead, which skips them
//! unread, and reads the text it keeps as [`CompactString`] (inline up to 24
//! bytes). Each field it keeps is read as [`MobileDevice`] reads it (the same
//! lenient readers, JSON names and date-note indexes), so a device maps to
//! the same record either way (tested below), with the same exception for a
//! section sent as a JSON list.
//!
//! Crate-private: [`crate::map::mobile_device`] copies the mapped fields
//! of a public [`MobileDevice`] into one of these, and maps that.

use chrono::{DateTime, NaiveDate, Utc};
use mdm_mapping::CompactString;
use serde::Deserialize;

use super::JamfId;
use super::mobile::{
    MobileDevice, MobileDeviceGeneral, MobileDeviceHardware, MobileDeviceNetwork,
    MobileDevicePurchasing, MobileDeviceSecurity, MobileDeviceType, MobileDeviceUserAndLocation,
};

/// [`MobileDevice`]'s mapped fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MappedMobileDevice {
    pub(crate) mobile_device_id: JamfId,
    #[serde(default)]
    pub(crate) device_type: Option<MobileDeviceType>,
    #[serde(default)]
    pub(crate) general: Option<MappedMobileGeneral>,
    #[serde(default)]
    pub(crate) hardware: Option<MappedMobileHardware>,
    #[serde(default)]
    pub(crate) user_and_location: Option<MappedMobileUserAndLocation>,
    #[serde(default)]
    pub(crate) purchasing: Option<MappedMobilePurchasing>,
    #[serde(default)]
    pub(crate) security: Option<MappedMobileSecurity>,
    #[serde(default)]
    pub(crate) network: Option<MappedMobileNetwork>,
}

/// [`MobileDeviceGeneral`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMobileGeneral {
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) udid: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) display_name: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) asset_tag: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) site_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<11, _>")]
    pub(crate) last_inventory_update_date: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<12, _>")]
    pub(crate) last_contact_date: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) os_version: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) os_build: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) ip_address: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) managed: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) supervised: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<5, _>")]
    pub(crate) last_enrolled_date: Option<DateTime<Utc>>,
}

/// [`MobileDeviceHardware`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMobileHardware {
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) serial_number: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) wifi_mac_address: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) bluetooth_mac_address: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) model: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) model_identifier: Option<CompactString>,
}

/// [`MobileDeviceUserAndLocation`]'s mapped fields: the assignee's text as
/// `String`s (an [`mdm_mapping::Assignee`] holds them), the rest as record
/// text.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMobileUserAndLocation {
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) username: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) real_name: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) email_address: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) position: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub(crate) phone_number: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) department_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) building_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) room: Option<CompactString>,
}

/// [`MobileDevicePurchasing`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMobilePurchasing {
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) purchased: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) leased: Option<bool>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) po_number: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) vendor: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) apple_care_id: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) purchase_price: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_date_noted::<8, _>")]
    pub(crate) po_date: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::de::opt_date_noted::<14, _>")]
    pub(crate) warranty_expires_date: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::de::opt_date_noted::<15, _>")]
    pub(crate) lease_expires_date: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub(crate) life_expectancy: Option<i64>,
}

/// [`MobileDeviceSecurity`]'s mapped field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMobileSecurity {
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub(crate) activation_lock_enabled: Option<bool>,
}

/// [`MobileDeviceNetwork`]'s mapped fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MappedMobileNetwork {
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) imei: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) meid: Option<CompactString>,
    #[serde(deserialize_with = "crate::de::opt_text")]
    pub(crate) eid: Option<CompactString>,
}

/// Text of the public model as record text.
fn text(s: &Option<String>) -> Option<CompactString> {
    s.as_deref().map(CompactString::from)
}

/// Copies only the mapped fields of a public [`MobileDevice`] (what
/// [`crate::map::mobile_device`] maps from a borrowed device).
impl From<&MobileDevice> for MappedMobileDevice {
    fn from(m: &MobileDevice) -> Self {
        MappedMobileDevice {
            mobile_device_id: m.mobile_device_id.clone(),
            device_type: m.device_type.clone(),
            general: m.general.as_ref().map(MappedMobileGeneral::from),
            hardware: m.hardware.as_ref().map(MappedMobileHardware::from),
            user_and_location: m
                .user_and_location
                .as_ref()
                .map(MappedMobileUserAndLocation::from),
            purchasing: m.purchasing.as_ref().map(MappedMobilePurchasing::from),
            security: m.security.as_ref().map(MappedMobileSecurity::from),
            network: m.network.as_ref().map(MappedMobileNetwork::from),
        }
    }
}

impl From<&MobileDeviceGeneral> for MappedMobileGeneral {
    fn from(g: &MobileDeviceGeneral) -> Self {
        MappedMobileGeneral {
            udid: text(&g.udid),
            display_name: text(&g.display_name),
            asset_tag: text(&g.asset_tag),
            site_id: text(&g.site_id),
            last_inventory_update_date: g.last_inventory_update_date,
            last_contact_date: g.last_contact_date,
            os_version: text(&g.os_version),
            os_build: text(&g.os_build),
            ip_address: text(&g.ip_address),
            managed: g.managed,
            supervised: g.supervised,
            last_enrolled_date: g.last_enrolled_date,
        }
    }
}

impl From<&MobileDeviceHardware> for MappedMobileHardware {
    fn from(h: &MobileDeviceHardware) -> Self {
        MappedMobileHardware {
            serial_number: text(&h.serial_number),
            wifi_mac_address: text(&h.wifi_mac_address),
            bluetooth_mac_address: text(&h.bluetooth_mac_address),
            model: text(&h.model),
            model_identifier: text(&h.model_identifier),
        }
    }
}

impl From<&MobileDeviceUserAndLocation> for MappedMobileUserAndLocation {
    fn from(u: &MobileDeviceUserAndLocation) -> Self {
        MappedMobileUserAndLocation {
            username: u.username.clone(),
            real_name: u.real_name.clone(),
            email_address: u.email_address.clone(),
            position: u.position.clone(),
            phone_number: u.phone_number.clone(),
            department_id: text(&u.department_id),
            building_id: text(&u.building_id),
            room: text(&u.room),
        }
    }
}

impl From<&MobileDevicePurchasing> for MappedMobilePurchasing {
    fn from(p: &MobileDevicePurchasing) -> Self {
        MappedMobilePurchasing {
            purchased: p.purchased,
            leased: p.leased,
            po_number: text(&p.po_number),
            vendor: text(&p.vendor),
            apple_care_id: text(&p.apple_care_id),
            purchase_price: text(&p.purchase_price),
            po_date: p.po_date,
            warranty_expires_date: p.warranty_expires_date,
            lease_expires_date: p.lease_expires_date,
            life_expectancy: p.life_expectancy,
        }
    }
}

impl From<&MobileDeviceSecurity> for MappedMobileSecurity {
    fn from(s: &MobileDeviceSecurity) -> Self {
        MappedMobileSecurity {
            activation_lock_enabled: s.activation_lock_enabled,
        }
    }
}

impl From<&MobileDeviceNetwork> for MappedMobileNetwork {
    fn from(n: &MobileDeviceNetwork) -> Self {
        MappedMobileNetwork {
            imei: text(&n.imei),
            meid: text(&n.meid),
            eid: text(&n.eid),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::map::{self, SecurityReads, SiteNames};
    use crate::models::mapped::tests::{
        Notes, decode_noting, every_read, odd_values, paths, replaced,
    };

    const FIXTURES: [&str; 2] = [
        include_str!("../../tests/fixtures/mobile/iphone.json"),
        include_str!("../../tests/fixtures/mobile/apple_tv.json"),
    ];

    /// The dates both models read; the notes of values they drop must agree.
    const MAPPED_DATES: [&str; 6] = [
        "last_inventory_update_date",
        "last_contact_date",
        "last_enrolled_date",
        "po_date",
        "warranty_expires_date",
        "lease_expires_date",
    ];

    fn decode<T: serde::de::DeserializeOwned>(
        body: &Value,
    ) -> Result<(T, Notes), serde_json::Error> {
        decode_noting(body, &MAPPED_DATES)
    }

    /// As the computers' test (`the_mapped_model_maps_as_the_public_one`):
    /// every value of every fixture replaced by each odd value (and
    /// removed), with a site name known and not, with and without the
    /// security reads. Where the public model reads the device, the mapped
    /// one maps it to the same record and the same dropped-value notes;
    /// where only the public model fails, the mapped one maps it as if that
    /// value were absent.
    #[test]
    fn the_mapped_mobile_model_maps_as_the_public_one() {
        let sites: SiteNames = [("3".to_string(), "Eau Claire".to_string())].into();
        let mut checked = 0;
        let mut unread = 0;
        for fixture in FIXTURES {
            let base: Value = serde_json::from_str(fixture).expect("fixture");
            let mut all = Vec::new();
            paths(&base, &mut Vec::new(), &mut all);
            let mut bodies: Vec<(Value, Option<&Vec<String>>)> = vec![(base.clone(), None)];
            for path in &all {
                bodies.push((replaced(&base, path, None), Some(path)));
                for odd in odd_values() {
                    bodies.push((replaced(&base, path, Some(&odd)), Some(path)));
                }
                // The site the sites above name.
                bodies.push((replaced(&base, path, Some(&json!(" 3 "))), Some(path)));
            }
            for section in [
                "general",
                "hardware",
                "userAndLocation",
                "purchasing",
                "security",
                "network",
            ] {
                let path = [section.to_string()];
                bodies.push((replaced(&base, &path, Some(&Value::Null)), None));
                bodies.push((replaced(&base, &path, Some(&json!({}))), None));
            }
            for (body, path) in &bodies {
                let full = decode::<MobileDevice>(body);
                let mapped = decode::<MappedMobileDevice>(body);
                match (full, mapped) {
                    (Ok((full, full_notes)), Ok((_, mapped_notes))) => {
                        assert_eq!(full_notes, mapped_notes, "{body}");
                        for security in [SecurityReads::none(), every_read()] {
                            for sites in [&sites, &SiteNames::new()] {
                                let want = map::mobile_device(&full, sites, &security);
                                let (read, _) =
                                    decode::<MappedMobileDevice>(body).expect("read above");
                                let site = map::site_id(&read).map(str::to_string);
                                let got = map::mapped_mobile_device_in(read, sites, &security);
                                assert_eq!(got, want, "{body}");
                                let want_site = full
                                    .general
                                    .as_ref()
                                    .and_then(|g| g.site_id.as_deref())
                                    .map(str::trim)
                                    .filter(|id| !id.is_empty() && *id != "-1");
                                assert_eq!(site.as_deref(), want_site, "{body}");
                            }
                        }
                        checked += 1;
                    }
                    (Ok(_), Err(e)) => panic!("only the mapped model fails: {e}: {body}"),
                    (Err(e), Ok((mapped, notes))) => {
                        let path = path.unwrap_or_else(|| panic!("{e}: {body}"));
                        let (without, without_notes) =
                            decode::<MappedMobileDevice>(&replaced(&base, path, None))
                                .expect("the fixture without the value reads");
                        let security = every_read();
                        assert_eq!(notes, without_notes, "{path:?} in {body}");
                        assert_eq!(
                            map::mapped_mobile_device_in(mapped, &sites, &security),
                            map::mapped_mobile_device_in(without, &sites, &security),
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
