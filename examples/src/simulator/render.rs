//! Value helpers shared by the vendor renderers: dates in each vendor's
//! format, per-device derived values, prices, names.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::fleet::{ANCHOR_EPOCH, Device, DeviceKind, Fleet, SplitMix64};

const DAY: i64 = 86_400;

fn dt(secs: i64, nanos: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, nanos).unwrap_or_default()
}

/// `2024-01-26T16:15:36Z`, or with the milliseconds trimmed like Java prints
/// them: `.84Z`, `.1Z`, `.595Z`.
pub(crate) fn jamf_ts(secs: i64, ms: u32) -> String {
    let base = dt(secs, 0).format("%Y-%m-%dT%H:%M:%S").to_string();
    if ms == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{:03}", ms % 1000);
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// `2024-07-23T14:11:37.150080Z`.
pub(crate) fn micros_z(secs: i64, micros: u32) -> String {
    format!(
        "{}.{:06}Z",
        dt(secs, 0).format("%Y-%m-%dT%H:%M:%S"),
        micros % 1_000_000
    )
}

/// Python's `str(datetime)`: `2024-01-26 16:15:36.087016+00:00` (no fraction when 0).
pub(crate) fn py_ts(secs: i64, micros: u32) -> String {
    let base = dt(secs, 0).format("%Y-%m-%d %H:%M:%S").to_string();
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{:06}+00:00", micros % 1_000_000)
    }
}

/// `2024-05-13 20:09:23 +0000`.
pub(crate) fn space_offset_ts(secs: i64) -> String {
    format!("{} +0000", dt(secs, 0).format("%Y-%m-%d %H:%M:%S"))
}

/// `2025-04-30T22:05:14.192Z` or `2011-08-15T07:00:00Z`.
pub(crate) fn apple_ts(secs: i64, ms: Option<u32>) -> String {
    match ms {
        Some(ms) => format!(
            "{}.{:03}Z",
            dt(secs, 0).format("%Y-%m-%dT%H:%M:%S"),
            ms % 1000
        ),
        None => format!("{}Z", dt(secs, 0).format("%Y-%m-%dT%H:%M:%S")),
    }
}

/// `2024-01-26`.
pub(crate) fn date(secs: i64) -> String {
    dt(secs, 0).format("%Y-%m-%d").to_string()
}

/// HTTP-free parse of a date-time filter value (RFC 3339, naive = UTC, or a date).
pub(crate) fn parse_when(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(d.and_utc().timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

/// The dates of one device, derived from its seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dates {
    pub(crate) ordered: i64,
    pub(crate) added_to_org: i64,
    pub(crate) enrolled: i64,
    pub(crate) last_enrolled: i64,
    pub(crate) report: i64,
    pub(crate) contact: i64,
    /// 0..1000, with many round values so Jamf's trimmed fractions vary.
    pub(crate) ms: u32,
    pub(crate) micros: u32,
}

pub(crate) fn dates(d: &Device) -> Dates {
    let mut rng = SplitMix64::new(d.derive(0xDA7E));
    let ordered =
        ANCHOR_EPOCH - 200 * DAY - rng.below(1000) as i64 * DAY - rng.below(DAY as u64) as i64;
    let added_to_org = ordered + DAY + rng.below(9 * DAY as u64) as i64;
    let enrolled = added_to_org + DAY + rng.below(30 * DAY as u64) as i64;
    let last_enrolled = if rng.chance(0.3) {
        enrolled + rng.below(150 * DAY as u64) as i64
    } else {
        enrolled
    };
    let report = ANCHOR_EPOCH - rng.below(14 * DAY as u64) as i64;
    let contact = (report + rng.below(6 * 3600) as i64).min(ANCHOR_EPOCH);
    let x = rng.below(1000) as u32;
    let ms = match rng.below(4) {
        0 => 0,
        1 => (x % 10) * 100,
        2 => (x % 100) * 10,
        _ => x,
    };
    let micros = rng.below(1_000_000) as u32;
    Dates {
        ordered,
        added_to_org,
        enrolled,
        last_enrolled,
        report,
        contact,
        ms,
        micros,
    }
}

/// A stable UUID derived from a device and a purpose tag.
pub(crate) fn derived_uuid(d: &Device, tag: u64) -> Uuid {
    SplitMix64::new(d.derive(tag)).uuid()
}

/// `10.x.y.z`.
pub(crate) fn ip(d: &Device) -> String {
    let v = d.derive(0x1B);
    format!(
        "10.{}.{}.{}",
        (v >> 8) % 250 + 1,
        (v >> 16) % 250 + 1,
        (v >> 24) % 250 + 2
    )
}

/// List price in US dollars.
pub(crate) fn price_usd(identifier: &str) -> u32 {
    match identifier {
        "MacBookPro18,3" => 1999,
        "MacBookPro18,1" => 2499,
        "Mac14,2" => 1199,
        "MacBookAir10,1" => 999,
        "Mac15,3" | "Mac16,1" => 1599,
        "Mac14,3" => 599,
        "iMac21,1" => 1299,
        "Mac13,1" => 1999,
        "MacBookPro16,1" => 2399,
        "MacBookPro15,2" => 1799,
        "Macmini8,1" => 799,
        "iPhone15,2" | "iPhone16,1" => 999,
        "iPhone14,5" => 799,
        "iPhone17,3" => 829,
        "iPad13,4" => 799,
        "iPad11,6" => 329,
        "iPad13,18" => 449,
        "iPad14,1" => 499,
        "AppleTV11,1" => 179,
        _ => 129,
    }
}

/// The device name its owner would give it: `Ana’s MacBook Pro`, or a
/// room/asset name when unassigned.
pub(crate) fn device_name(fleet: &Fleet, d: &Device) -> String {
    let family = match d.model.kind {
        DeviceKind::Laptop | DeviceKind::Desktop => {
            d.model.name.split(" (").next().unwrap_or("Mac")
        }
        DeviceKind::Phone => "iPhone",
        DeviceKind::Tablet => "iPad",
        DeviceKind::Tv => "Apple TV",
    };
    match fleet.user_of(d) {
        Some(u) => {
            let apostrophe = if d.derive(0xA9).is_multiple_of(3) {
                "'"
            } else {
                "\u{2019}"
            };
            format!("{}{apostrophe}s {family}", u.first_name)
        }
        None if d.model.kind == DeviceKind::Tv => format!("Conference Room {}", d.index % 40 + 1),
        None => format!("{}-{}", family.replace(' ', "").to_uppercase(), d.serial),
    }
}

/// ABM order number (also Jamf's PO number for ABM devices).
pub(crate) fn order_number(d: &Device) -> String {
    let dd = dates(d);
    format!("MX{:08}", (dd.ordered / DAY) * 37 % 100_000_000)
}

/// The building (1..=4) and department (1..=6) of a device's user.
pub(crate) fn building_department(d: &Device) -> (u32, u32) {
    let v = d.derive(0xB1D);
    ((v % 4) as u32 + 1, ((v >> 8) % 6) as u32 + 1)
}

/// A Jamf building.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Building {
    pub(crate) name: &'static str,
    pub(crate) street: Option<&'static str>,
    pub(crate) city: Option<&'static str>,
    pub(crate) state: Option<&'static str>,
    pub(crate) zip: Option<&'static str>,
    pub(crate) country: Option<&'static str>,
}

pub(crate) const BUILDINGS: &[Building] = &[
    Building {
        name: "Headquarters",
        street: Some("1 Market St"),
        city: Some("San Francisco"),
        state: Some("California"),
        zip: Some("94105"),
        country: Some("United States"),
    },
    Building {
        name: "Berlin Office",
        street: Some("Friedrichstraße 68"),
        city: Some("Berlin"),
        state: None,
        zip: Some("10117"),
        country: Some("Germany"),
    },
    Building {
        name: "London Office",
        street: Some("20 Farringdon Rd"),
        city: Some("London"),
        state: None,
        zip: Some("EC1M 3HE"),
        country: Some("United Kingdom"),
    },
    Building {
        name: "Remote",
        street: None,
        city: None,
        state: None,
        zip: None,
        country: None,
    },
];

pub(crate) const DEPARTMENTS: &[&str] =
    &["Engineering", "Sales", "Design", "IT", "Finance", "Support"];

/// Jamf IMEI formatting: `35 882334 083223 0`.
pub(crate) fn spaced_imei(imei: &str) -> String {
    if imei.len() == 15 && imei.is_ascii() {
        format!(
            "{} {} {} {}",
            &imei[..2],
            &imei[2..8],
            &imei[8..14],
            &imei[14..]
        )
    } else {
        imei.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = 1_706_285_736; // 2024-01-26T16:15:36Z
        assert_eq!(jamf_ts(t, 0), "2024-01-26T16:15:36Z");
        assert_eq!(jamf_ts(t, 840), "2024-01-26T16:15:36.84Z");
        assert_eq!(jamf_ts(t, 87), "2024-01-26T16:15:36.087Z");
        assert_eq!(py_ts(t, 87_016), "2024-01-26 16:15:36.087016+00:00");
        assert_eq!(py_ts(t, 0), "2024-01-26 16:15:36+00:00");
        assert_eq!(micros_z(t, 150_080), "2024-01-26T16:15:36.150080Z");
        assert_eq!(apple_ts(t, Some(192)), "2024-01-26T16:15:36.192Z");
        assert_eq!(date(t), "2024-01-26");
        assert_eq!(space_offset_ts(t), "2024-01-26 16:15:36 +0000");
        assert_eq!(parse_when("2024-01-26T16:15:36Z"), Some(t * 1000));
        assert_eq!(parse_when("2024-01-26"), Some(1_706_227_200_000));
        assert_eq!(spaced_imei("358823340832230"), "35 882334 083223 0");
    }
}
