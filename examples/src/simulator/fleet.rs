//! The generated fleet: physical devices, their users, and which vendor knows
//! which device.
//!
//! Everything is derived from [`FleetConfig::seed`] with a small counter-based
//! generator (SplitMix64), so the same configuration always gives the same
//! fleet, on every machine and every release of `rand`. Each device is a
//! compact struct (about 200 bytes); the vendor JSON is rendered per page when a
//! client asks for it, so 100,000 devices stay well under 100 MB.
//!
//! Membership (defaults in brackets):
//! - every device is in Apple Business Manager ([`FleetConfig::abm_share`], 90 %)
//!   except the rest, which were "added manually elsewhere" and are therefore
//!   always managed by an MDM;
//! - of the devices in ABM, [`FleetConfig::unmanaged_share`] (5 %) sit in a
//!   drawer: in ABM only, `UNASSIGNED`;
//! - a managed device is in Jamf with probability [`FleetConfig::jamf_share`]
//!   (50 %), else in Kandji; [`FleetConfig::migration_share`] (3 %) of Macs are
//!   in both (a migration in progress) — device at [`Fleet::migration_anchor`]
//!   always is, so a fleet of one device already has a serial in all three;
//! - [`FleetConfig::jamf_reenrolled`] (1) Jamf Macs were re-enrolled and have
//!   two Jamf computer records with the same serial and UDID;
//! - [`FleetConfig::unassigned_share`] (15 %) of devices, and most Apple TVs,
//!   have no user; users are drawn from a pool where some people share a full
//!   name but not an email address.

use std::collections::HashMap;

use uuid::Uuid;

/// 2026-09-01T12:00:00Z: the fleet's "now". Dates are relative to it, so a
/// seed gives the same JSON whatever the wall clock says.
pub const ANCHOR_EPOCH: i64 = 1_788_264_000;

/// A tiny counter-based generator (SplitMix64). Stable across releases, which
/// `rand`'s `StdRng` does not promise.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = items.len() as u64;
        items.get(self.below(n) as usize)
    }

    pub(crate) fn uuid(&mut self) -> Uuid {
        let hi = self.next_u64() as u128;
        let lo = self.next_u64() as u128;
        uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid()
    }
}

/// Mixes two numbers into one well-spread number (used as a sub-seed).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    SplitMix64::new(a ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// How to generate a fleet. `FleetConfig { devices: 500, seed: 7, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    /// Number of physical devices.
    pub devices: usize,
    /// Seed: the same seed gives the same fleet.
    pub seed: u64,
    /// Size of the user pool; `None` = 60 % of the device count (at least 2).
    pub users: Option<usize>,
    /// Share of devices bought through Apple or a reseller and so in ABM.
    pub abm_share: f64,
    /// Share of ABM devices that no MDM manages (in ABM only).
    pub unmanaged_share: f64,
    /// Share of managed devices managed by Jamf (the rest: Kandji).
    pub jamf_share: f64,
    /// Share of managed Macs enrolled in both Jamf and Kandji (a migration).
    pub migration_share: f64,
    /// Jamf ids start after this number (computers and mobile devices):
    /// several simulated Jamf servers whose ids do not overlap.
    pub jamf_first_id: u32,
    /// Number of Jamf Macs with two Jamf computer records (re-enrolled).
    pub jamf_reenrolled: usize,
    /// Share of devices without a user.
    pub unassigned_share: f64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            devices: 200,
            seed: 42,
            users: None,
            abm_share: 0.9,
            unmanaged_share: 0.05,
            jamf_share: 0.5,
            migration_share: 0.03,
            jamf_reenrolled: 1,
            unassigned_share: 0.15,
            jamf_first_id: 0,
        }
    }
}

/// What kind of hardware a model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A Mac laptop.
    Laptop,
    /// A Mac desktop.
    Desktop,
    /// An iPhone.
    Phone,
    /// An iPad.
    Tablet,
    /// An Apple TV.
    Tv,
}

impl DeviceKind {
    /// Whether this is a Mac (a Jamf "computer").
    pub fn is_mac(self) -> bool {
        matches!(self, DeviceKind::Laptop | DeviceKind::Desktop)
    }

    /// Kandji's `platform` / ABM's `productFamily` value.
    pub fn platform(self) -> &'static str {
        match self {
            DeviceKind::Laptop | DeviceKind::Desktop => "Mac",
            DeviceKind::Phone => "iPhone",
            DeviceKind::Tablet => "iPad",
            DeviceKind::Tv => "AppleTV",
        }
    }
}

/// One Apple hardware model (real identifiers and marketing names).
#[derive(Debug, PartialEq)]
pub struct Model {
    /// Model identifier, e.g. `MacBookPro18,3`.
    pub identifier: &'static str,
    /// Marketing name as Jamf and Kandji report it, e.g. `MacBook Pro (14-inch, 2021)`.
    pub name: &'static str,
    /// ABM's shorter `deviceModel`, e.g. `MacBook Pro 14"`.
    pub abm_name: &'static str,
    /// Hardware kind.
    pub kind: DeviceKind,
    /// Processor name (`Apple M1 Pro`, `Quad-Core Intel Core i5`); empty for mobile devices.
    pub processor: &'static str,
    /// Apple silicon (reports 0 MHz and no SMC version in Jamf).
    pub apple_silicon: bool,
    /// Processor speed in MHz (0 on Apple silicon).
    pub processor_mhz: u32,
    /// Core count.
    pub cores: u32,
    /// RAM in MB.
    pub ram_mb: u32,
    /// Storage in GB.
    pub capacity_gb: u32,
    /// Apple part number, e.g. `MKGP3LL/A`.
    pub part_number: &'static str,
    /// ABM colours.
    pub colors: &'static [&'static str],
    /// Has a cellular modem (IMEI).
    pub cellular: bool,
    /// Relative frequency within its kind.
    weight: u32,
}

macro_rules! model {
    ($id:expr, $name:expr, $abm:expr, $kind:ident, $cpu:expr, $as:expr, $mhz:expr, $cores:expr, $ram:expr, $cap:expr, $part:expr, $colors:expr, $cell:expr, $w:expr) => {
        Model {
            identifier: $id,
            name: $name,
            abm_name: $abm,
            kind: DeviceKind::$kind,
            processor: $cpu,
            apple_silicon: $as,
            processor_mhz: $mhz,
            cores: $cores,
            ram_mb: $ram,
            capacity_gb: $cap,
            part_number: $part,
            colors: $colors,
            cellular: $cell,
            weight: $w,
        }
    };
}

/// The models the fleet is drawn from.
pub static MODELS: &[Model] = &[
    model!(
        "MacBookPro18,3",
        "MacBook Pro (14-inch, 2021)",
        "MacBook Pro 14\"",
        Laptop,
        "Apple M1 Pro",
        true,
        0,
        10,
        16384,
        512,
        "MKGP3LL/A",
        &["SPACE GRAY", "SILVER"],
        false,
        3
    ),
    model!(
        "MacBookPro18,1",
        "MacBook Pro (16-inch, 2021)",
        "MacBook Pro 16\"",
        Laptop,
        "Apple M1 Pro",
        true,
        0,
        10,
        16384,
        1000,
        "MK183LL/A",
        &["SPACE GRAY", "SILVER"],
        false,
        1
    ),
    model!(
        "Mac14,2",
        "MacBook Air (M2, 2022)",
        "MacBook Air 13\"",
        Laptop,
        "Apple M2",
        true,
        0,
        8,
        8192,
        256,
        "MLY33LL/A",
        &["MIDNIGHT", "STARLIGHT", "SPACE GRAY", "SILVER"],
        false,
        3
    ),
    model!(
        "MacBookAir10,1",
        "MacBook Air (M1, 2020)",
        "MacBook Air 13\"",
        Laptop,
        "Apple M1",
        true,
        0,
        8,
        8192,
        256,
        "MGN63LL/A",
        &["SPACE GRAY", "GOLD", "SILVER"],
        false,
        2
    ),
    model!(
        "Mac15,3",
        "MacBook Pro (14-inch, M3, Nov 2023)",
        "MacBook Pro 14\"",
        Laptop,
        "Apple M3",
        true,
        0,
        8,
        8192,
        512,
        "MTL73LL/A",
        &["SPACE GRAY", "SILVER"],
        false,
        2
    ),
    model!(
        "Mac16,1",
        "MacBook Pro (14-inch, M4, 2024)",
        "MacBook Pro 14\"",
        Laptop,
        "Apple M4",
        true,
        0,
        10,
        16384,
        512,
        "MW2U3LL/A",
        &["SPACE BLACK", "SILVER"],
        false,
        2
    ),
    model!(
        "Mac14,3",
        "Mac mini (2023)",
        "Mac mini",
        Desktop,
        "Apple M2",
        true,
        0,
        8,
        8192,
        256,
        "MMFJ3LL/A",
        &["SILVER"],
        false,
        1
    ),
    model!(
        "iMac21,1",
        "iMac (24-inch, M1, 2021)",
        "iMac 24\"",
        Desktop,
        "Apple M1",
        true,
        0,
        8,
        8192,
        256,
        "MGPK3LL/A",
        &["BLUE", "GREEN", "PINK", "SILVER"],
        false,
        1
    ),
    model!(
        "Mac13,1",
        "Mac Studio (2022)",
        "Mac Studio",
        Desktop,
        "Apple M1 Max",
        true,
        0,
        10,
        32768,
        512,
        "MJMV3LL/A",
        &["SILVER"],
        false,
        1
    ),
    model!(
        "MacBookPro16,1",
        "MacBook Pro (16-inch, 2019)",
        "MacBook Pro 16\"",
        Laptop,
        "8-Core Intel Core i9",
        false,
        2300,
        8,
        16384,
        1000,
        "MVVK2LL/A",
        &["SPACE GRAY", "SILVER"],
        false,
        1
    ),
    model!(
        "MacBookPro15,2",
        "MacBook Pro (13-inch, 2018, Four Thunderbolt 3 Ports)",
        "MacBook Pro 13\"",
        Laptop,
        "Quad-Core Intel Core i5",
        false,
        2300,
        4,
        8192,
        256,
        "MR9Q2LL/A",
        &["SPACE GRAY", "SILVER"],
        false,
        1
    ),
    model!(
        "Macmini8,1",
        "Mac mini (2018)",
        "Mac mini",
        Desktop,
        "6-Core Intel Core i7",
        false,
        3200,
        6,
        16384,
        512,
        "MRTT2LL/A",
        &["SPACE GRAY"],
        false,
        1
    ),
    model!(
        "iPhone15,2",
        "iPhone 14 Pro",
        "iPhone 14 Pro",
        Phone,
        "",
        true,
        0,
        6,
        6144,
        128,
        "MQ0F3LL/A",
        &["DEEP PURPLE", "SPACE BLACK", "GOLD", "SILVER"],
        true,
        3
    ),
    model!(
        "iPhone14,5",
        "iPhone 13",
        "iPhone 13",
        Phone,
        "",
        true,
        0,
        6,
        4096,
        128,
        "MLMF3LL/A",
        &["MIDNIGHT", "STARLIGHT", "BLUE"],
        true,
        2
    ),
    model!(
        "iPhone16,1",
        "iPhone 15 Pro",
        "iPhone 15 Pro",
        Phone,
        "",
        true,
        0,
        6,
        8192,
        256,
        "MTQ83LL/A",
        &["NATURAL TITANIUM", "BLACK TITANIUM"],
        true,
        3
    ),
    model!(
        "iPhone17,3",
        "iPhone 16",
        "iPhone 16",
        Phone,
        "",
        true,
        0,
        6,
        8192,
        128,
        "MYE73LL/A",
        &["BLACK", "WHITE", "ULTRAMARINE"],
        true,
        2
    ),
    model!(
        "iPad13,4",
        "iPad Pro (11-inch) (3rd generation)",
        "iPad Pro 11\" (3rd Generation)",
        Tablet,
        "",
        true,
        0,
        8,
        8192,
        128,
        "MHQR3LL/A",
        &["SPACE GRAY", "SILVER"],
        false,
        2
    ),
    model!(
        "iPad11,6",
        "iPad (8th generation) (Wi-Fi)",
        "iPad (8th Generation)",
        Tablet,
        "",
        true,
        0,
        6,
        3072,
        128,
        "MYLF2LL/A",
        &["SILVER", "SPACE GRAY"],
        false,
        1
    ),
    model!(
        "iPad13,18",
        "iPad (10th generation) (Wi-Fi)",
        "iPad (10th Generation)",
        Tablet,
        "",
        true,
        0,
        6,
        4096,
        64,
        "MPQ03LL/A",
        &["BLUE", "SILVER", "PINK"],
        false,
        2
    ),
    model!(
        "iPad14,1",
        "iPad mini (6th generation) (Wi-Fi)",
        "iPad mini (6th Generation)",
        Tablet,
        "",
        true,
        0,
        6,
        4096,
        64,
        "MK7M3LL/A",
        &["SPACE GRAY", "PURPLE"],
        false,
        1
    ),
    model!(
        "AppleTV11,1",
        "Apple TV 4K (2nd generation)",
        "Apple TV 4K",
        Tv,
        "",
        true,
        0,
        6,
        3072,
        32,
        "MXGY2LL/A",
        &["BLACK"],
        false,
        1
    ),
    model!(
        "AppleTV14,1",
        "Apple TV 4K (3rd generation)",
        "Apple TV 4K (3rd generation)",
        Tv,
        "",
        true,
        0,
        6,
        4096,
        64,
        "MN873LL/A",
        &["BLACK"],
        false,
        1
    ),
];

/// Looks a model up by identifier.
pub fn model(identifier: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.identifier == identifier)
}

fn pick_model(rng: &mut SplitMix64, kind: DeviceKind) -> &'static Model {
    let total: u32 = MODELS
        .iter()
        .filter(|m| m.kind_matches(kind))
        .map(|m| m.weight)
        .sum();
    let mut roll = rng.below(u64::from(total.max(1))) as u32;
    for m in MODELS.iter().filter(|m| m.kind_matches(kind)) {
        if roll < m.weight {
            return m;
        }
        roll -= m.weight;
    }
    &MODELS[0]
}

impl Model {
    fn kind_matches(&self, kind: DeviceKind) -> bool {
        if kind.is_mac() {
            self.kind.is_mac()
        } else {
            self.kind == kind
        }
    }

    /// The Apple part number without the region suffix (`MKGP3LL`): Jamf's `modelNumber`.
    pub fn model_number(&self) -> &'static str {
        self.part_number
            .split('/')
            .next()
            .unwrap_or(self.part_number)
    }
}

/// A person in the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Position in [`Fleet::users`].
    pub index: usize,
    /// Given name.
    pub first_name: &'static str,
    /// Family name.
    pub last_name: &'static str,
    /// Unique, lower-case email address.
    pub email: String,
    /// Kandji user id (a UUID).
    pub kandji_id: Uuid,
    /// Kandji's legacy integer user id.
    pub legacy_id: u32,
    /// Job title.
    pub position: &'static str,
}

impl User {
    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Short name: the email's local part.
    pub fn username(&self) -> &str {
        self.email.split('@').next().unwrap_or(&self.email)
    }

    /// Phone number (derived from the index).
    pub fn phone(&self) -> String {
        format!(
            "+1 555 01{:02} {:04}",
            self.index % 100,
            (self.index * 7919 + 13) % 10_000
        )
    }
}

/// How ABM came to know a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseSource {
    /// Bought from Apple.
    Apple,
    /// Bought from an authorised reseller.
    Reseller,
    /// Added with Apple Configurator.
    ManuallyAdded,
}

impl PurchaseSource {
    /// ABM's `purchaseSourceType`.
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseSource::Apple => "APPLE",
            PurchaseSource::Reseller => "RESELLER",
            PurchaseSource::ManuallyAdded => "MANUALLY_ADDED",
        }
    }
}

/// ABM's MDM servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdmServer {
    /// The Jamf Pro server.
    Jamf,
    /// The Kandji server.
    Kandji,
}

impl MdmServer {
    /// Both servers.
    pub const ALL: [MdmServer; 2] = [MdmServer::Jamf, MdmServer::Kandji];

    /// The server's ABM id.
    pub fn id(self) -> &'static str {
        match self {
            MdmServer::Jamf => "1F97349736CF4614A94F624E705841AD",
            MdmServer::Kandji => "6C2D9A1E0B7F4E3C8A5D2B1F0E9C8D7A",
        }
    }

    /// The server's name in ABM.
    pub fn name(self) -> &'static str {
        match self {
            MdmServer::Jamf => "Jamf Pro",
            MdmServer::Kandji => "Kandji",
        }
    }

    /// Looks a server up by ABM id.
    pub fn from_id(id: &str) -> Option<MdmServer> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// Per-device data quirks, fixed at generation so tests can find them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceQuirks {
    /// Jamf has no hardware report: `-1` sentinels for cores, processors, speed, RAM.
    pub jamf_no_hardware_report: bool,
    /// Jamf `userAndLocation.email` is `null` although a user is assigned.
    pub jamf_null_email: bool,
    /// Kandji's `user.id` is the legacy integer id.
    pub kandji_integer_user_id: bool,
    /// Kandji `last_check_in` is `""`.
    pub kandji_empty_last_check_in: bool,
    /// ABM sends `purchaseSourceUid` instead of `purchaseSourceId`.
    pub abm_purchase_source_uid: bool,
    /// ABM sends the Wi-Fi and Bluetooth MACs as one-element lists.
    pub abm_mac_as_list: bool,
    /// ABM `color` is `""`.
    pub abm_empty_color: bool,
    /// ABM sends `builtInEthernetMacAddress` instead of `ethernetMacAddress`.
    pub abm_builtin_ethernet_key: bool,
    /// The device has an AppleCare+ plan (besides the limited warranty).
    pub applecare: bool,
}

/// One physical device.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Position in [`Fleet::devices`].
    pub index: usize,
    /// Unique serial number.
    pub serial: String,
    /// Hardware model.
    pub model: &'static Model,
    /// Hardware UDID (formatted per platform by [`Device::udid_string`]).
    pub udid: u128,
    /// Wi-Fi MAC address.
    pub wifi_mac: [u8; 6],
    /// Bluetooth MAC address.
    pub bluetooth_mac: [u8; 6],
    /// Built-in Ethernet MAC (desktop Macs).
    pub ethernet_mac: Option<[u8; 6]>,
    /// IMEI (iPhones).
    pub imei: Option<String>,
    /// Index of the assigned user in [`Fleet::users`].
    pub user: Option<usize>,
    /// How ABM knows the device; `None` = not in ABM.
    pub abm: Option<PurchaseSource>,
    /// Jamf record ids (two for a re-enrolled Mac: old, new); empty = not in Jamf.
    pub jamf_ids: Vec<u32>,
    /// Kandji device id; `None` = not in Kandji.
    pub kandji_id: Option<Uuid>,
    /// Index into the OS version table of this kind.
    pub os: u8,
    /// Colour (one of the model's).
    pub color: &'static str,
    /// Data quirks.
    pub quirks: DeviceQuirks,
    /// Sub-seed for the values rendered lazily (dates, IPs, names).
    pub seed: u64,
}

/// Formats six bytes as `a4:83:e7:0b:1c:2d` (lower case) or upper case.
pub fn format_mac(mac: &[u8; 6], upper: bool) -> String {
    let s = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    if upper { s.to_uppercase() } else { s }
}

impl Device {
    /// In ABM.
    pub fn in_abm(&self) -> bool {
        self.abm.is_some()
    }

    /// In Jamf (as a computer or a mobile device).
    pub fn in_jamf(&self) -> bool {
        !self.jamf_ids.is_empty()
    }

    /// In Kandji.
    pub fn in_kandji(&self) -> bool {
        self.kandji_id.is_some()
    }

    /// Number of vendors that know the device.
    pub fn vendor_count(&self) -> usize {
        usize::from(self.in_abm()) + usize::from(self.in_jamf()) + usize::from(self.in_kandji())
    }

    /// The MDM server ABM assigns the device to (`None` = `UNASSIGNED`).
    /// A Mac mid-migration is assigned to Kandji, where it is going.
    pub fn abm_server(&self) -> Option<MdmServer> {
        if !self.in_abm() {
            None
        } else if self.in_kandji() {
            Some(MdmServer::Kandji)
        } else if self.in_jamf() {
            Some(MdmServer::Jamf)
        } else {
            None
        }
    }

    /// The UDID as the device reports it: an upper-case UUID on a Mac,
    /// `00008110-001A2B3C4D5E801E` on newer mobile devices.
    pub fn udid_string(&self) -> String {
        if self.model.kind.is_mac() {
            Uuid::from_u128(self.udid)
                .hyphenated()
                .to_string()
                .to_uppercase()
        } else {
            let hex = format!("{:032X}", self.udid);
            format!("00008{}-{}", &hex[..3], &hex[16..32])
        }
    }

    /// (OS version, build) for this device.
    pub fn os_version(&self) -> (&'static str, &'static str) {
        let table: &[(&str, &str)] = match self.model.kind {
            DeviceKind::Laptop | DeviceKind::Desktop => &[("14.6.1", "23G93"), ("15.3.1", "24D70")],
            DeviceKind::Phone | DeviceKind::Tablet => &[("17.5.1", "21F90"), ("18.3.1", "22D72")],
            DeviceKind::Tv => &[("17.5", "21L569"), ("18.3", "22K557")],
        };
        table
            .get(usize::from(self.os) % table.len())
            .copied()
            .unwrap_or(("0", "0"))
    }

    /// A stable number derived from the device seed and a purpose tag.
    pub(crate) fn derive(&self, tag: u64) -> u64 {
        mix(self.seed, tag)
    }
}

/// One Jamf record (a computer or a mobile device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JamfRecord {
    /// Jamf id.
    pub id: u32,
    /// Index of the physical device.
    pub device: usize,
    /// The stale record of a re-enrolled device (older dates, no longer checking in).
    pub stale: bool,
}

/// Counts that tests and the demo compare against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetCounts {
    /// Physical devices (every device is known to at least one vendor).
    pub physical_devices: usize,
    /// Users in the pool.
    pub users: usize,
    /// Devices ABM serves (`/v1/orgDevices`).
    pub abm_devices: usize,
    /// Jamf computer records (`computers-inventory` totalCount), re-enrolled duplicates included.
    pub jamf_computers: usize,
    /// Jamf mobile device records.
    pub jamf_mobile_devices: usize,
    /// Physical devices in Jamf.
    pub jamf_physical_devices: usize,
    /// Extra Jamf records caused by re-enrolment.
    pub jamf_duplicate_records: usize,
    /// Devices Kandji serves (`/api/v1/devices`).
    pub kandji_devices: usize,
    /// Devices known to two or more vendors.
    pub shared_devices: usize,
    /// Devices known to all three vendors.
    pub in_all_three: usize,
    /// Devices in ABM only (no MDM).
    pub abm_only: usize,
    /// Devices with no user.
    pub unassigned_devices: usize,
    /// Users Jamf knows (assigned to a Jamf record).
    pub jamf_users: usize,
    /// Users Kandji knows (`/api/v1/users`).
    pub kandji_users: usize,
}

/// The generated fleet. See the module docs.
#[derive(Debug, Clone)]
pub struct Fleet {
    config: FleetConfig,
    devices: Vec<Device>,
    users: Vec<User>,
    jamf_computers: Vec<JamfRecord>,
    jamf_mobile: Vec<JamfRecord>,
    kandji: Vec<usize>,
    abm: Vec<usize>,
    jamf_users: Vec<usize>,
    kandji_users: Vec<usize>,
    by_serial: HashMap<String, usize>,
    by_kandji_id: HashMap<Uuid, usize>,
    migration_anchor: Option<usize>,
}

const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Chloé", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kai",
    "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoë", "Alex", "Sam", "Maria", "John", "Fatima", "Luca", "Aisha",
    "Noah", "Mia", "Leo",
];
const LAST_NAMES: &[&str] = &[
    "Díaz",
    "Kim",
    "Müller",
    "Smith",
    "Nowak",
    "Rossi",
    "Okafor",
    "Tanaka",
    "Silva",
    "Johansson",
    "Haddad",
    "Patel",
    "O'Brien",
    "Nguyen",
    "García",
    "Cohen",
    "Ivanova",
    "Brown",
    "Dubois",
    "Schmidt",
    "Khan",
    "Larsen",
    "Moreau",
    "Chen",
    "Walker",
    "Fischer",
    "Lopez",
    "Wright",
];
const POSITIONS: &[&str] = &[
    "Engineer",
    "Designer",
    "Account Executive",
    "IT Team Lead",
    "Support Specialist",
    "Analyst",
];
const SERIAL_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const SERIAL_LETTERS: &[u8] = b"CDFGHJKLMNPQRTVWXY";
const APPLE_OUIS: &[[u8; 3]] = &[
    [0xA4, 0x83, 0xE7],
    [0xF0, 0x18, 0x98],
    [0x3C, 0x22, 0xFB],
    [0x88, 0x66, 0x5A],
    [0xBC, 0xD0, 0x74],
];

fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' => Some('a'),
            'é' | 'è' => Some('e'),
            'í' => Some('i'),
            'ó' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'ë' => Some('e'),
            '\'' => None,
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// A bijection on 24-bit numbers, so MACs built from unique inputs are unique.
fn perm24(x: u32, salt: u32) -> u32 {
    let mut v = x & 0x00FF_FFFF;
    v = v.wrapping_mul(0x9E_3779 | 1) & 0x00FF_FFFF;
    v ^= v >> 12;
    v = v.wrapping_mul(0x5B_D1E5 | 1) & 0x00FF_FFFF;
    v ^ (salt & 0x00FF_FFFF)
}

fn mac_for(slot: u32, salt: u32) -> [u8; 6] {
    let oui = APPLE_OUIS
        .get(slot as usize % APPLE_OUIS.len())
        .copied()
        .unwrap_or([0xA4, 0x83, 0xE7]);
    let v = perm24(slot, salt);
    [
        oui[0],
        oui[1],
        oui[2],
        (v >> 16) as u8,
        (v >> 8) as u8,
        v as u8,
    ]
}

fn gen_serial(rng: &mut SplitMix64, model: &Model, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let mut s = String::with_capacity(12);
        if model.kind.is_mac() && !model.apple_silicon {
            // Pre-2021 style: 12 characters, e.g. C02XK1ABJG5H.
            s.push_str(if rng.chance(0.5) { "C02" } else { "FVF" });
            for _ in 0..9 {
                s.push(char::from(
                    SERIAL_ALPHABET[rng.below(SERIAL_ALPHABET.len() as u64) as usize],
                ));
            }
        } else {
            // Randomised 10-character serials (2021 on), starting with a letter.
            s.push(char::from(
                SERIAL_LETTERS[rng.below(SERIAL_LETTERS.len() as u64) as usize],
            ));
            for _ in 0..9 {
                s.push(char::from(
                    SERIAL_ALPHABET[rng.below(SERIAL_ALPHABET.len() as u64) as usize],
                ));
            }
        }
        if !taken(&s) {
            return s;
        }
    }
}

impl Fleet {
    /// Generates the fleet for `config` (deterministic for a seed).
    pub fn generate(config: FleetConfig) -> Fleet {
        let n = config.devices;
        let seed = config.seed;
        let users = Self::generate_users(&config);
        let user_count = users.len();

        let mut by_serial: HashMap<String, usize> = HashMap::with_capacity(n);
        let mut devices = Vec::with_capacity(n);
        let mac_salt = mix(seed, 0xAC) as u32;
        for index in 0..n {
            let mut rng = SplitMix64::new(mix(seed, index as u64 + 1));
            let roll = rng.unit();
            let kind = if roll < 0.55 {
                DeviceKind::Laptop
            } else if roll < 0.80 {
                DeviceKind::Phone
            } else if roll < 0.94 {
                DeviceKind::Tablet
            } else {
                DeviceKind::Tv
            };
            let model = pick_model(&mut rng, kind);
            let serial = gen_serial(&mut rng, model, |s| by_serial.contains_key(s));
            by_serial.insert(serial.clone(), index);
            let udid = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
            let slot = (index as u32).wrapping_mul(3);
            let wifi_mac = mac_for(slot, mac_salt);
            let bluetooth_mac = mac_for(slot + 1, mac_salt);
            let ethernet_mac =
                (model.kind == DeviceKind::Desktop).then(|| mac_for(slot + 2, mac_salt));
            let imei = model.cellular.then(|| {
                let body: String = (0..12)
                    .map(|_| char::from(b'0' + rng.below(10) as u8))
                    .collect();
                format!("35{body}{}", rng.below(10))
            });
            let in_abm = rng.chance(config.abm_share);
            let managed = !in_abm || !rng.chance(config.unmanaged_share);
            let (mut jamf, mut kandji) = (false, false);
            if managed {
                if model.kind.is_mac() && rng.chance(config.migration_share) {
                    jamf = true;
                    kandji = true;
                } else if rng.chance(config.jamf_share) {
                    jamf = true;
                } else {
                    kandji = true;
                }
            }
            let tv = model.kind == DeviceKind::Tv;
            let unassigned = rng.chance(if tv { 0.8 } else { config.unassigned_share });
            let user =
                (!unassigned && user_count > 0).then(|| rng.below(user_count as u64) as usize);
            let abm = in_abm.then(|| {
                let r = rng.unit();
                if r < 0.7 {
                    PurchaseSource::Apple
                } else if r < 0.95 {
                    PurchaseSource::Reseller
                } else {
                    PurchaseSource::ManuallyAdded
                }
            });
            let quirks = DeviceQuirks {
                jamf_no_hardware_report: rng.chance(0.03),
                jamf_null_email: user.is_some() && rng.chance(0.10),
                kandji_integer_user_id: user.is_some() && rng.chance(0.05),
                kandji_empty_last_check_in: rng.chance(0.05),
                abm_purchase_source_uid: rng.chance(0.3),
                abm_mac_as_list: rng.chance(0.2),
                abm_empty_color: rng.chance(0.1),
                abm_builtin_ethernet_key: ethernet_mac.is_some() && rng.chance(0.3),
                applecare: rng.chance(0.4),
            };
            let color = rng.pick(model.colors).copied().unwrap_or("");
            let os = rng.below(2) as u8;
            let kandji_id = kandji.then(|| rng.uuid());
            devices.push(Device {
                index,
                serial,
                model,
                udid,
                wifi_mac,
                bluetooth_mac,
                ethernet_mac,
                imei,
                user,
                abm,
                jamf_ids: if jamf { vec![0] } else { Vec::new() },
                kandji_id,
                os,
                color,
                quirks,
                seed: rng.next_u64(),
            });
        }

        // Guarantees: a Mac in all three vendors, and re-enrolled Jamf Macs.
        let migration_anchor = (n > 0).then(|| (mix(seed, 0xA11) % n as u64) as usize);
        if let Some(a) = migration_anchor {
            Self::force(&mut devices, a, seed, |d, rng| {
                d.abm.get_or_insert(PurchaseSource::Apple);
                if d.jamf_ids.is_empty() {
                    d.jamf_ids.push(0);
                }
                if d.kandji_id.is_none() {
                    d.kandji_id = Some(rng.uuid());
                }
            });
        }
        let mut reenrolled = Vec::new();
        if n > 1 {
            let mut rng = SplitMix64::new(mix(seed, 0xBEE));
            let mut tries = 0;
            while reenrolled.len() < config.jamf_reenrolled.min(n - 1) && tries < n * 4 {
                tries += 1;
                let i = rng.below(n as u64) as usize;
                if Some(i) == migration_anchor || reenrolled.contains(&i) {
                    continue;
                }
                // Prefer a Jamf Mac; convert a device into one when there is none.
                let ok = devices
                    .get(i)
                    .is_some_and(|d| d.model.kind.is_mac() && d.in_jamf() && !d.in_kandji());
                if ok || tries > n * 2 {
                    Self::force(&mut devices, i, seed, |d, _| {
                        d.kandji_id = None;
                        if d.jamf_ids.is_empty() {
                            d.jamf_ids.push(0);
                        }
                    });
                    reenrolled.push(i);
                }
            }
        }

        // Jamf ids: computers and mobile devices have separate id spaces, with
        // gaps (deleted records). A re-enrolled Mac's new record comes last.
        let mut id_rng = SplitMix64::new(mix(seed, 0x1D));
        let (mut next_computer, mut next_mobile) = (config.jamf_first_id, config.jamf_first_id);
        let step = |next: &mut u32, rng: &mut SplitMix64| {
            *next += 1 + u32::from(rng.chance(0.1)) * (1 + rng.below(3) as u32);
            *next
        };
        for d in devices.iter_mut() {
            if d.in_jamf() {
                let id = if d.model.kind.is_mac() {
                    step(&mut next_computer, &mut id_rng)
                } else {
                    step(&mut next_mobile, &mut id_rng)
                };
                d.jamf_ids = vec![id];
            }
        }
        for &i in &reenrolled {
            if let Some(d) = devices.get_mut(i) {
                let id = step(&mut next_computer, &mut id_rng);
                d.jamf_ids.push(id);
            }
        }

        let mut jamf_computers = Vec::new();
        let mut jamf_mobile = Vec::new();
        for d in &devices {
            let last = d.jamf_ids.len().saturating_sub(1);
            for (k, &id) in d.jamf_ids.iter().enumerate() {
                let rec = JamfRecord {
                    id,
                    device: d.index,
                    stale: k < last,
                };
                if d.model.kind.is_mac() {
                    jamf_computers.push(rec);
                } else {
                    jamf_mobile.push(rec);
                }
            }
        }
        jamf_computers.sort_by_key(|r| r.id);
        jamf_mobile.sort_by_key(|r| r.id);

        let kandji: Vec<usize> = devices
            .iter()
            .filter(|d| d.in_kandji())
            .map(|d| d.index)
            .collect();
        let abm: Vec<usize> = devices
            .iter()
            .filter(|d| d.in_abm())
            .map(|d| d.index)
            .collect();
        let mut jamf_user_set: Vec<usize> = devices
            .iter()
            .filter(|d| d.in_jamf())
            .filter_map(|d| d.user)
            .collect();
        jamf_user_set.sort_unstable();
        jamf_user_set.dedup();
        // Kandji's directory: everyone with a Kandji device, plus people with
        // no device at all (a directory sync brings the whole company).
        let mut has_device = vec![false; user_count];
        let mut in_kandji = vec![false; user_count];
        for d in &devices {
            if let Some(u) = d.user {
                if let Some(h) = has_device.get_mut(u) {
                    *h = true;
                }
                if d.in_kandji()
                    && let Some(k) = in_kandji.get_mut(u)
                {
                    *k = true;
                }
            }
        }
        let kandji_users: Vec<usize> = (0..user_count)
            .filter(|&u| in_kandji.get(u) == Some(&true) || has_device.get(u) == Some(&false))
            .collect();
        let by_kandji_id = devices
            .iter()
            .filter_map(|d| d.kandji_id.map(|k| (k, d.index)))
            .collect();

        Fleet {
            config,
            devices,
            users,
            jamf_computers,
            jamf_mobile,
            kandji,
            abm,
            jamf_users: jamf_user_set,
            kandji_users,
            by_serial,
            by_kandji_id,
            migration_anchor,
        }
    }

    fn force(
        devices: &mut [Device],
        i: usize,
        seed: u64,
        f: impl FnOnce(&mut Device, &mut SplitMix64),
    ) {
        let mut rng = SplitMix64::new(mix(seed, 0xF0 + i as u64));
        if let Some(d) = devices.get_mut(i) {
            if !d.model.kind.is_mac() {
                // Becomes a MacBook Pro; its serial stays (still unique).
                d.model = &MODELS[0];
                d.imei = None;
                d.color = "SPACE GRAY";
            }
            f(d, &mut rng);
        }
    }

    fn generate_users(config: &FleetConfig) -> Vec<User> {
        let count = config
            .users
            .unwrap_or_else(|| (config.devices * 6 / 10).max(2));
        let mut rng = SplitMix64::new(mix(config.seed, 0x05E5));
        let mut emails: HashMap<String, u32> = HashMap::new();
        let mut users = Vec::with_capacity(count);
        for index in 0..count {
            let (first, last) = if index == 1 {
                // Two different people with the same name.
                users
                    .first()
                    .map(|u: &User| (u.first_name, u.last_name))
                    .unwrap_or(("Alex", "Kim"))
            } else {
                (
                    rng.pick(FIRST_NAMES).copied().unwrap_or("Alex"),
                    rng.pick(LAST_NAMES).copied().unwrap_or("Kim"),
                )
            };
            let base = format!("{}.{}", ascii_fold(first), ascii_fold(last));
            let n = emails.entry(base.clone()).or_insert(0);
            *n += 1;
            let local = if *n == 1 { base } else { format!("{base}{n}") };
            let email = format!("{local}@example.com");
            users.push(User {
                index,
                first_name: first,
                last_name: last,
                email,
                kandji_id: rng.uuid(),
                legacy_id: 20_000 + index as u32,
                position: rng.pick(POSITIONS).copied().unwrap_or("Engineer"),
            });
        }
        users
    }

    /// The `k`-th Mac that Kandji's page-to-page mutation adds (k = 0, 1, …):
    /// a Kandji-only device outside [`Fleet::devices`], with a serial no fleet
    /// device has. Deterministic for the seed.
    pub fn kandji_added_device(&self, k: u64) -> Device {
        let mut rng = SplitMix64::new(mix(self.config.seed, 0xADD0_0000 + k));
        let model = pick_model(&mut rng, DeviceKind::Laptop);
        let serial = gen_serial(&mut rng, model, |s| self.by_serial.contains_key(s));
        let index = self.devices.len() + k as usize;
        let slot = (index as u32).wrapping_mul(3);
        let mac_salt = mix(self.config.seed, 0xAC) as u32;
        let user = (!self.users.is_empty()).then(|| rng.below(self.users.len() as u64) as usize);
        Device {
            index,
            serial,
            model,
            udid: (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()),
            wifi_mac: mac_for(slot, mac_salt),
            bluetooth_mac: mac_for(slot + 1, mac_salt),
            ethernet_mac: None,
            imei: None,
            user,
            abm: None,
            jamf_ids: Vec::new(),
            kandji_id: Some(rng.uuid()),
            os: 1,
            color: rng.pick(model.colors).copied().unwrap_or(""),
            quirks: DeviceQuirks::default(),
            seed: rng.next_u64(),
        }
    }

    /// The configuration this fleet was generated from.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// Every physical device, in generation order.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// One device by index.
    pub fn device(&self, index: usize) -> Option<&Device> {
        self.devices.get(index)
    }

    /// The device with this serial.
    pub fn device_by_serial(&self, serial: &str) -> Option<&Device> {
        self.by_serial
            .get(serial)
            .and_then(|&i| self.devices.get(i))
    }

    /// The device with this Kandji id.
    pub fn device_by_kandji_id(&self, id: &Uuid) -> Option<&Device> {
        self.by_kandji_id.get(id).and_then(|&i| self.devices.get(i))
    }

    /// The user pool.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// One user by index.
    pub fn user(&self, index: usize) -> Option<&User> {
        self.users.get(index)
    }

    /// The user assigned to a device.
    pub fn user_of(&self, device: &Device) -> Option<&User> {
        device.user.and_then(|u| self.users.get(u))
    }

    /// Jamf computer records, by id.
    pub fn jamf_computers(&self) -> &[JamfRecord] {
        &self.jamf_computers
    }

    /// Jamf mobile device records, by id.
    pub fn jamf_mobile_devices(&self) -> &[JamfRecord] {
        &self.jamf_mobile
    }

    /// Indices of the devices Kandji serves.
    pub fn kandji_devices(&self) -> &[usize] {
        &self.kandji
    }

    /// Indices of the devices ABM serves.
    pub fn abm_devices(&self) -> &[usize] {
        &self.abm
    }

    /// Users assigned to at least one Jamf record (Jamf's user list).
    pub fn jamf_users(&self) -> &[usize] {
        &self.jamf_users
    }

    /// Users in Kandji's directory.
    pub fn kandji_users(&self) -> &[usize] {
        &self.kandji_users
    }

    /// The device guaranteed to be in all three vendors (a Mac mid-migration).
    pub fn migration_anchor(&self) -> Option<&Device> {
        self.migration_anchor.and_then(|i| self.devices.get(i))
    }

    /// Serials known to two or more vendors, in device order.
    pub fn shared_serials(&self) -> Vec<&str> {
        self.devices
            .iter()
            .filter(|d| d.vendor_count() >= 2)
            .map(|d| d.serial.as_str())
            .collect()
    }

    /// Serials known to all three vendors, in device order.
    pub fn serials_in_all_three(&self) -> Vec<&str> {
        self.devices
            .iter()
            .filter(|d| d.vendor_count() == 3)
            .map(|d| d.serial.as_str())
            .collect()
    }

    /// Serials with more than one Jamf record.
    pub fn jamf_reenrolled_serials(&self) -> Vec<&str> {
        self.devices
            .iter()
            .filter(|d| d.jamf_ids.len() > 1)
            .map(|d| d.serial.as_str())
            .collect()
    }

    /// Devices of an MDM server in ABM.
    pub fn abm_server_devices(&self, server: MdmServer) -> impl Iterator<Item = &Device> {
        self.abm
            .iter()
            .filter_map(|&i| self.devices.get(i))
            .filter(move |d| d.abm_server() == Some(server))
    }

    /// The counts the vendors will serve.
    pub fn counts(&self) -> FleetCounts {
        let d = &self.devices;
        FleetCounts {
            physical_devices: d.len(),
            users: self.users.len(),
            abm_devices: self.abm.len(),
            jamf_computers: self.jamf_computers.len(),
            jamf_mobile_devices: self.jamf_mobile.len(),
            jamf_physical_devices: d.iter().filter(|x| x.in_jamf()).count(),
            jamf_duplicate_records: d.iter().map(|x| x.jamf_ids.len().saturating_sub(1)).sum(),
            kandji_devices: self.kandji.len(),
            shared_devices: d.iter().filter(|x| x.vendor_count() >= 2).count(),
            in_all_three: d.iter().filter(|x| x.vendor_count() == 3).count(),
            abm_only: d
                .iter()
                .filter(|x| x.in_abm() && !x.in_jamf() && !x.in_kandji())
                .count(),
            unassigned_devices: d.iter().filter(|x| x.user.is_none()).count(),
            jamf_users: self.jamf_users.len(),
            kandji_users: self.kandji_users.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deterministic_and_unique() {
        let a = Fleet::generate(FleetConfig {
            devices: 500,
            seed: 9,
            ..Default::default()
        });
        let b = Fleet::generate(FleetConfig {
            devices: 500,
            seed: 9,
            ..Default::default()
        });
        assert_eq!(a.devices(), b.devices());
        assert_eq!(a.users(), b.users());
        let serials: HashSet<_> = a.devices().iter().map(|d| &d.serial).collect();
        assert_eq!(serials.len(), 500);
        let macs: HashSet<_> = a
            .devices()
            .iter()
            .flat_map(|d| [d.wifi_mac, d.bluetooth_mac])
            .collect();
        assert_eq!(macs.len(), 1000);
        let c = Fleet::generate(FleetConfig {
            devices: 500,
            seed: 10,
            ..Default::default()
        });
        assert_ne!(a.devices()[0].serial, c.devices()[0].serial);
    }

    #[test]
    fn every_device_is_somewhere_and_guarantees_hold() {
        for n in [1, 2, 3, 10, 300] {
            let f = Fleet::generate(FleetConfig {
                devices: n,
                seed: 3,
                ..Default::default()
            });
            assert!(f.devices().iter().all(|d| d.vendor_count() >= 1));
            assert!(!f.serials_in_all_three().is_empty(), "n={n}");
            if n > 1 {
                assert_eq!(f.jamf_reenrolled_serials().len(), 1, "n={n}");
            }
            let ids: HashSet<_> = f.jamf_computers().iter().map(|r| r.id).collect();
            assert_eq!(ids.len(), f.jamf_computers().len());
        }
    }

    #[test]
    fn users_share_a_name_but_not_an_email() {
        let f = Fleet::generate(FleetConfig {
            devices: 20,
            seed: 1,
            ..Default::default()
        });
        let (a, b) = (&f.users()[0], &f.users()[1]);
        assert_eq!(a.full_name(), b.full_name());
        assert_ne!(a.email, b.email);
        let emails: HashSet<_> = f.users().iter().map(|u| &u.email).collect();
        assert_eq!(emails.len(), f.users().len());
    }

    #[test]
    fn udid_formats() {
        let f = Fleet::generate(FleetConfig {
            devices: 50,
            seed: 5,
            ..Default::default()
        });
        for d in f.devices() {
            let u = d.udid_string();
            if d.model.kind.is_mac() {
                assert_eq!(u.len(), 36);
            } else {
                assert_eq!(u.len(), 25, "{u}");
            }
        }
    }
}
