//! Apple model names and asset types.
//!
//! Vendors name the same hardware in several ways: Apple's support-page style
//! (`MacBook Pro (13-inch, 2018)`, `MacBook Air (M2, 2022)`,
//! `MacBook Pro (14-inch, M3 Pro or M3 Max, Nov 2023)`), ABM's
//! (`iMac 21.5"`, `iPad Pro (12.9-inch) (6th generation)`) and Jamf's older
//! (`13-inch MacBook Pro (Mid 2012)`, `iPad 5th Generation (Wi-Fi)`).
//! [`parse_model_name`] reads all of them into a [`ParsedModel`]: the model
//! line, the display size in inches, the release year, the chip, the
//! generation and the connectivity.
//!
//! The asset type ([`AssetType`]) comes from the model identifier first,
//! through a table derived from macadmins/sofa (Apache-2.0, see
//! `data/NOTICE`): `Mac14,2` is a MacBook Air and `Mac14,3` a Mac mini, which
//! no identifier prefix can tell. Then from the marketing name, then from the
//! platform and operating system ([`classify`]).
//!
//! ```
//! use mdm_mapping::model::{self, AssetType};
//!
//! let m = model::parse_model_name("MacBook Pro (13-inch, 2018)").unwrap();
//! assert_eq!(m.model, "MacBook Pro");
//! assert_eq!(m.display_size.as_deref(), Some("13"));
//! assert_eq!(m.release_year, Some(2018));
//!
//! let m = model::parse_model_name("iPad Pro (12.9-inch) (6th generation)").unwrap();
//! assert_eq!(m.model, "iPad Pro (6th generation)");
//! assert_eq!(m.display_size.as_deref(), Some("12.9"));
//!
//! assert_eq!(model::classify(Some("Mac14,2"), None, None, None), AssetType::Laptop);
//! assert_eq!(model::classify(Some("Mac14,3"), None, None, None), AssetType::Desktop);
//! assert_eq!(model::classify(None, Some("iPhone 15 Pro"), None, None), AssetType::Phone);
//! assert_eq!(model::classify(None, None, Some("AppleTV"), None), AssetType::Tv);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::record::UnknownName;

/// The kind of hardware an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    /// MacBook, MacBook Air, MacBook Pro.
    Laptop,
    /// iMac, Mac mini, Mac Studio, Mac Pro.
    Desktop,
    /// iPhone.
    Phone,
    /// iPad.
    Tablet,
    /// Apple TV.
    Tv,
    /// Apple Watch.
    Watch,
    /// Apple Vision Pro.
    Headset,
    /// Anything else (virtual machines, HomePod, iPod, accessories, unknown).
    Other,
}

impl AssetType {
    /// Every asset type, in a stable order.
    pub const ALL: [AssetType; 8] = [
        AssetType::Laptop,
        AssetType::Desktop,
        AssetType::Phone,
        AssetType::Tablet,
        AssetType::Tv,
        AssetType::Watch,
        AssetType::Headset,
        AssetType::Other,
    ];

    /// The lower-case name used in the inventory (`laptop`, `tv`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Laptop => "laptop",
            AssetType::Desktop => "desktop",
            AssetType::Phone => "phone",
            AssetType::Tablet => "tablet",
            AssetType::Tv => "tv",
            AssetType::Watch => "watch",
            AssetType::Headset => "headset",
            AssetType::Other => "other",
        }
    }

    /// Whether this is a computer (laptop or desktop), as opposed to a mobile
    /// device. `None` for [`AssetType::Other`], which may be either.
    pub fn is_computer(self) -> Option<bool> {
        match self {
            AssetType::Laptop | AssetType::Desktop => Some(true),
            AssetType::Other => None,
            _ => Some(false),
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AssetType {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        AssetType::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownName {
                what: "asset type",
                name: s.to_string(),
                expected: "laptop, desktop, phone, tablet, tv, watch, headset, other",
            })
    }
}

/// One row of the shipped identifier table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// The model identifier as Apple writes it (`Mac14,2`).
    pub identifier: &'static str,
    /// The asset type of that hardware.
    pub asset_type: AssetType,
    /// Apple's marketing name (`MacBook Air (M2, 2022)`).
    pub marketing_name: &'static str,
}

static TABLE_TSV: &str = include_str!("../data/apple_models.tsv");

fn table() -> &'static HashMap<String, ModelInfo> {
    static TABLE: OnceLock<HashMap<String, ModelInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        for line in TABLE_TSV.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.splitn(3, '\t');
            let (Some(id), Some(kind), Some(name)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            let Ok(asset_type) = kind.parse::<AssetType>() else {
                continue;
            };
            map.insert(
                id.to_ascii_lowercase(),
                ModelInfo {
                    identifier: id,
                    asset_type,
                    marketing_name: name,
                },
            );
        }
        map
    })
}

/// Every row of the shipped identifier table (derived from macadmins/sofa).
pub fn identifiers() -> impl Iterator<Item = &'static ModelInfo> {
    table().values()
}

/// Looks a model identifier up in the shipped table (case-insensitive,
/// trimmed): `Mac14,2` → MacBook Air (M2, 2022), laptop.
pub fn lookup_identifier(identifier: &str) -> Option<&'static ModelInfo> {
    let key = identifier.trim();
    if key.is_empty() {
        return None;
    }
    let table = table();
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        table.get(&key.to_ascii_lowercase())
    } else {
        table.get(key)
    }
}

/// Identifier prefixes whose hardware kind is unambiguous. `Mac` (2022 and
/// later: `Mac14,2` laptop, `Mac14,3` desktop) is deliberately absent.
const PREFIXES: &[(&str, AssetType)] = &[
    ("macbookpro", AssetType::Laptop),
    ("macbookair", AssetType::Laptop),
    ("macbook", AssetType::Laptop),
    ("powerbook", AssetType::Laptop),
    ("imacpro", AssetType::Desktop),
    ("imac", AssetType::Desktop),
    ("macmini", AssetType::Desktop),
    ("macpro", AssetType::Desktop),
    ("powermac", AssetType::Desktop),
    ("ipad", AssetType::Tablet),
    ("iphone", AssetType::Phone),
    ("watch", AssetType::Watch),
    ("appletv", AssetType::Tv),
    ("realitydevice", AssetType::Headset),
    ("virtualmac", AssetType::Other),
    ("ipod", AssetType::Other),
    ("audioaccessory", AssetType::Other),
];

/// The asset type an identifier's prefix gives, when the prefix is
/// unambiguous (`MacBookPro18,3` → laptop). `Mac14,2` gives `None`: only the
/// table can tell.
pub fn asset_type_from_identifier_prefix(identifier: &str) -> Option<AssetType> {
    let id = identifier.trim();
    let end = id
        .find(|c: char| c.is_ascii_digit() || c == ',')
        .unwrap_or(id.len());
    if end == id.len() || end == 0 {
        return None;
    }
    let prefix = id[..end].to_ascii_lowercase();
    PREFIXES.iter().find(|(p, _)| *p == prefix).map(|(_, t)| *t)
}

/// Whether `s` looks like a model identifier (`MacBookPro15,2`, `iPad13,1`):
/// letters, digits, a comma, digits, no spaces.
pub fn looks_like_identifier(s: &str) -> bool {
    let s = s.trim();
    let Some((head, tail)) = s.split_once(',') else {
        return false;
    };
    !head.is_empty()
        && head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && head.chars().last().is_some_and(|c| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_alphanumeric())
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_digit())
}

/// The asset type of a device, from everything known about it, in order of
/// trust: the model identifier through the shipped table, the identifier's
/// prefix when unambiguous, the marketing name's family, then the platform
/// (`Mac`, `iPhone`, `iPad`, `AppleTV`, ABM product families, Jamf device
/// types) and the operating system name (`iPadOS`, `tvOS`, …).
///
/// A Mac known only by its platform is [`AssetType::Other`]: laptop or
/// desktop cannot be told.
pub fn classify(
    identifier: Option<&str>,
    marketing_name: Option<&str>,
    platform: Option<&str>,
    os_name: Option<&str>,
) -> AssetType {
    if let Some(id) = identifier.filter(|s| !s.trim().is_empty()) {
        if let Some(info) = lookup_identifier(id) {
            return info.asset_type;
        }
        if let Some(t) = asset_type_from_identifier_prefix(id) {
            return t;
        }
    }
    if let Some(name) = marketing_name
        && let Some(t) = parse_model_name(name).and_then(|p| p.asset_type)
    {
        return t;
    }
    for hint in [platform, os_name].into_iter().flatten() {
        if let Some(t) = asset_type_from_platform(hint) {
            return t;
        }
    }
    AssetType::Other
}

/// The asset type a platform, product family or OS name implies, if any.
pub fn asset_type_from_platform(platform: &str) -> Option<AssetType> {
    let p: String = platform
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match p.as_str() {
        "iphone" | "ios" => AssetType::Phone,
        "ipad" | "ipados" => AssetType::Tablet,
        "appletv" | "tvos" | "tv" => AssetType::Tv,
        "watch" | "applewatch" | "watchos" => AssetType::Watch,
        "vision" | "visionos" | "applevisionpro" | "visionpro" | "realitydevice" => {
            AssetType::Headset
        }
        "ipod" | "homepod" | "audioos" => AssetType::Other,
        _ => return None,
    })
}

/// What a marketing name says about the hardware.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ParsedModel {
    /// The product line as Apple writes it: `MacBook Pro`, `iPad mini`,
    /// `iPhone`, `Apple Watch`, `Apple TV`, `Apple Vision Pro`.
    pub family: String,
    /// The model for an inventory: the family for Macs (`MacBook Pro`); for
    /// other devices the family with its number and generation
    /// (`iPhone 14 Pro Max`, `iPad Pro (6th generation)`, `iPad Air (M2)`,
    /// `Apple Watch Series 9`, `Apple TV 4K (2nd generation)`).
    pub model: String,
    /// Display size in inches as written (`"13"`, `"12.9"`, `"21.5"`).
    pub display_size: Option<String>,
    /// Release year (`2018`).
    pub release_year: Option<i32>,
    /// Season or month of release as written (`Mid`, `Late`, `Nov`).
    pub season: Option<String>,
    /// The chip (`M2`, `M3 Pro or M3 Max`, `14-core M3 Max`, `A17 Pro`).
    pub chip: Option<String>,
    /// Generation number (`6` for "6th generation").
    pub generation: Option<u32>,
    /// Connectivity (`Wi-Fi`, `Wi-Fi + Cellular`, `GPS + Cellular`, `GSM`).
    pub connectivity: Option<String>,
    /// Apple Watch case size in millimetres.
    pub case_size_mm: Option<u32>,
    /// Other recognised qualifiers (`Retina`, `Two Thunderbolt 3 ports`, `Rack`).
    pub details: Vec<String>,
    /// Qualifiers the parser did not understand. Empty when fully parsed.
    pub unknown: Vec<String>,
    /// The name starts with "Unreleased".
    pub unreleased: bool,
    /// The asset type the family implies (`None` for a bare `Mac`).
    pub asset_type: Option<AssetType>,
}

impl ParsedModel {
    /// Whether every part of the name was understood.
    pub fn is_complete(&self) -> bool {
        self.unknown.is_empty()
    }
}

/// A product family: how it may be written, how Apple writes it, its type.
struct Family {
    /// Lower-case words to find in the name.
    words: &'static [&'static str],
    canonical: &'static str,
    asset_type: Option<AssetType>,
    mac: bool,
}

const FAMILIES: &[Family] = &[
    fam(
        &["macbook", "pro"],
        "MacBook Pro",
        Some(AssetType::Laptop),
        true,
    ),
    fam(
        &["macbook", "air"],
        "MacBook Air",
        Some(AssetType::Laptop),
        true,
    ),
    fam(
        &["macbook", "neo"],
        "MacBook Neo",
        Some(AssetType::Laptop),
        true,
    ),
    fam(&["macbook"], "MacBook", Some(AssetType::Laptop), true),
    fam(&["imac", "pro"], "iMac Pro", Some(AssetType::Desktop), true),
    fam(&["imac"], "iMac", Some(AssetType::Desktop), true),
    fam(&["mac", "mini"], "Mac mini", Some(AssetType::Desktop), true),
    fam(
        &["mac", "studio"],
        "Mac Studio",
        Some(AssetType::Desktop),
        true,
    ),
    fam(&["mac", "pro"], "Mac Pro", Some(AssetType::Desktop), true),
    fam(&["ipad", "pro"], "iPad Pro", Some(AssetType::Tablet), false),
    fam(&["ipad", "air"], "iPad Air", Some(AssetType::Tablet), false),
    fam(
        &["ipad", "mini"],
        "iPad mini",
        Some(AssetType::Tablet),
        false,
    ),
    fam(&["ipad"], "iPad", Some(AssetType::Tablet), false),
    fam(&["iphone"], "iPhone", Some(AssetType::Phone), false),
    fam(
        &["apple", "watch"],
        "Apple Watch",
        Some(AssetType::Watch),
        false,
    ),
    fam(&["apple", "tv"], "Apple TV", Some(AssetType::Tv), false),
    fam(
        &["apple", "vision", "pro"],
        "Apple Vision Pro",
        Some(AssetType::Headset),
        false,
    ),
    fam(
        &["vision", "pro"],
        "Apple Vision Pro",
        Some(AssetType::Headset),
        false,
    ),
    fam(
        &["ipod", "touch"],
        "iPod touch",
        Some(AssetType::Other),
        false,
    ),
    fam(&["homepod"], "HomePod", Some(AssetType::Other), false),
    fam(&["mac"], "Mac", None, true),
];

const fn fam(
    words: &'static [&'static str],
    canonical: &'static str,
    asset_type: Option<AssetType>,
    mac: bool,
) -> Family {
    Family {
        words,
        canonical,
        asset_type,
        mac,
    }
}

const MONTHS: &[&str] = &[
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const SEASONS: &[&str] = &[
    "early", "mid", "late", "summer", "spring", "fall", "autumn", "winter",
];

/// Reads a marketing name. `None` when the name names no known Apple
/// product family (a drive model, `Virtual Machine`, a PC).
///
/// A model identifier (`MacBookPro15,2`) is looked up and its marketing name
/// parsed. See the [module docs](self) for the accepted styles.
pub fn parse_model_name(name: &str) -> Option<ParsedModel> {
    let raw = name.trim();
    if raw.is_empty() {
        return None;
    }
    if looks_like_identifier(raw) {
        return lookup_identifier(raw).and_then(|info| parse_model_name(info.marketing_name));
    }
    let mut out = ParsedModel::default();
    let mut rest = raw;
    if let Some(r) = strip_prefix_ci(rest, "unreleased ") {
        out.unreleased = true;
        rest = r.trim_start();
    }

    // Split into the text outside parentheses and each parenthesised group.
    let mut head = String::with_capacity(rest.len());
    let mut groups: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in rest.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    current.clear();
                    head.push(' ');
                } else {
                    current.push(c);
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    groups.push(current.clone());
                } else {
                    current.push(c);
                }
            }
            _ if depth > 0 => current.push(c),
            _ => head.push(c),
        }
    }
    if depth > 0 && !current.trim().is_empty() {
        groups.push(current);
    }

    // Find the family in the head (it need not come first: "13-inch MacBook Pro").
    let words: Vec<&str> = head.split_whitespace().collect();
    let lower: Vec<String> = words
        .iter()
        .map(|w| w.trim_matches(|c: char| c == ',').to_lowercase())
        .collect();
    let (family, at, span) = find_family(&lower)?;
    out.family = family.canonical.to_string();
    out.asset_type = family.asset_type;

    // Words before and after the family.
    let before: Vec<&str> = words[..at].to_vec();
    let after: Vec<&str> = words[at + span..].to_vec();
    let mut suffix: Vec<String> = Vec::new();
    let mut gen_in_name = false;
    let mut chip_in_name: Option<String> = None;

    for token in phrases(&before) {
        qualifier(&token, &mut out, family.mac);
    }
    let after_tokens = phrases(&after).into_iter().peekable();
    for token in after_tokens {
        if let Some(g) = generation(&token) {
            out.generation = Some(g);
            gen_in_name = true;
            continue;
        }
        if is_suffix_word(&token, family) {
            suffix.push(token);
            continue;
        }
        qualifier(&token, &mut out, family.mac);
    }
    for group in &groups {
        // "(GPS, 41mm)", "(13-inch, M2, 2022)"; chips may contain " or ".
        for token in group.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if let Some(g) = generation(token) {
                out.generation = Some(g);
                gen_in_name = true;
            } else if !family.mac && out.chip.is_none() && chip(token).is_some() {
                out.chip = chip(token);
                chip_in_name = out.chip.clone();
            } else {
                qualifier(token, &mut out, family.mac);
            }
        }
    }

    // Apple Watch "(1st generation) (38mm)": the size is a case size.
    if family.canonical == "Apple Watch" {
        out.display_size = None;
    }

    out.model = if family.mac {
        family.canonical.to_string()
    } else {
        let mut m = family.canonical.to_string();
        for w in &suffix {
            m.push(' ');
            m.push_str(w);
        }
        if gen_in_name && let Some(g) = out.generation {
            m.push_str(&format!(" ({} generation)", ordinal(g)));
        } else if let Some(c) = chip_in_name {
            m.push_str(&format!(" ({c})"));
        }
        m
    };
    Some(out)
}

/// The family, the index of its first word and how many words it spans.
fn find_family(lower: &[String]) -> Option<(&'static Family, usize, usize)> {
    // Joined forms first ("MacBookPro" written as one word, "AppleTV").
    for (i, w) in lower.iter().enumerate() {
        let w = w.trim_matches('"');
        if let Some(f) = FAMILIES
            .iter()
            .find(|f| f.words.len() > 1 && f.words.concat() == w)
        {
            return Some((f, i, 1));
        }
    }
    for f in FAMILIES {
        let n = f.words.len();
        if lower.len() < n {
            continue;
        }
        for i in 0..=lower.len() - n {
            if lower[i..i + n]
                .iter()
                .zip(f.words)
                .all(|(a, b)| a.trim_matches('"') == *b)
            {
                return Some((f, i, n));
            }
        }
    }
    None
}

/// Groups the words outside parentheses into tokens: multi-word phrases
/// ("Wi-Fi + Cellular", "5th Generation", "Rev 2", "with TouchID") stay together.
fn phrases(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].trim_matches(',');
        let next = words.get(i + 1).map(|s| s.trim_matches(','));
        let next_l = next.map(str::to_lowercase);
        // "+" joins connectivity: "Wi-Fi + Cellular", "WiFi+Cellular".
        if next == Some("+")
            && let Some(third) = words.get(i + 2)
        {
            let mut t = format!("{w} + {}", third.trim_matches(','));
            i += 3;
            // "Wi-Fi + 3G (GSM)" stays; "Wi-Fi + Cellular (TD-LTE)" handled in groups.
            while words.get(i) == Some(&"+") {
                if let Some(more) = words.get(i + 1) {
                    t.push_str(" + ");
                    t.push_str(more);
                }
                i += 2;
            }
            out.push(t);
            continue;
        }
        if next_l.as_deref() == Some("generation") || next_l.as_deref() == Some("gen") {
            out.push(format!("{w} generation"));
            i += 2;
            continue;
        }
        let wl = w.to_lowercase();
        if (wl == "rev" || wl == "rev." || wl == "revision") && next.is_some() {
            out.push(format!("Rev {}", next.unwrap_or_default()));
            i += 2;
            continue;
        }
        if wl == "with"
            && let Some(n) = next
        {
            out.push(format!("with {n}"));
            i += 2;
            continue;
        }
        if (wl == "retina") && next_l.as_deref().is_some_and(|n| n == "4k" || n == "5k") {
            out.push(format!("{w} {}", next.unwrap_or_default()));
            i += 2;
            continue;
        }
        if !w.is_empty() {
            out.push(w.to_string());
        }
        i += 1;
    }
    out
}

/// Words after the family that belong to the model name (iPhone numbers,
/// "Pro Max", Watch "Series 9", Apple TV "4K").
fn is_suffix_word(token: &str, family: &Family) -> bool {
    if family.mac {
        return false;
    }
    let t = token.to_lowercase();
    if family.canonical == "iPhone" && matches!(t.as_str(), "3g" | "3gs") {
        return true;
    }
    if size_inches(token).is_some() || connectivity(token).is_some() {
        return false;
    }
    match family.canonical {
        "iPhone" => {
            t.chars().all(|c| c.is_ascii_alphanumeric())
                && (t.chars().next().is_some_and(|c| c.is_ascii_digit())
                    || matches!(
                        t.as_str(),
                        "pro"
                            | "max"
                            | "plus"
                            | "mini"
                            | "se"
                            | "x"
                            | "xs"
                            | "xr"
                            | "air"
                            | "3g"
                            | "3gs"
                            | "4s"
                            | "5c"
                            | "5s"
                            | "6s"
                            | "16e"
                            | "17e"
                            | "c"
                            | "s"
                            | "e"
                    ))
        }
        "Apple Watch" => {
            matches!(
                t.as_str(),
                "series" | "se" | "ultra" | "edition" | "hermès" | "nike"
            ) || t.chars().all(|c| c.is_ascii_digit())
        }
        "Apple TV" => matches!(t.as_str(), "4k" | "hd"),
        "iPad" | "iPad mini" | "iPad Air" | "iPad Pro" => {
            t.chars().all(|c| c.is_ascii_digit()) && t.len() <= 2
        }
        "iPod touch" | "HomePod" => t == "mini",
        _ => false,
    }
}

/// Reads one qualifier into `out`, or records it as unknown.
fn qualifier(token: &str, out: &mut ParsedModel, mac: bool) {
    let t = token.trim().trim_matches(',').trim();
    if t.is_empty() {
        return;
    }
    let l = t.to_lowercase();
    if let Some(size) = size_inches(t) {
        out.display_size.get_or_insert(size);
        return;
    }
    if let Some(rest) = l.strip_prefix("retina") {
        // "Retina", "Retina 5K", "Retina, 13-inch" was split at the comma.
        let rest = rest.trim();
        if rest.is_empty() || rest == "4k" || rest == "5k" || rest == "display" {
            out.details.push(t.to_string());
            return;
        }
    }
    if let Some(year) = year(t) {
        out.release_year.get_or_insert(year);
        return;
    }
    if let Some((season, y)) = t.split_once(char::is_whitespace)
        && let Some(y) = year(y.trim())
    {
        let s = season.to_lowercase();
        if SEASONS.contains(&s.as_str()) || MONTHS.contains(&s.trim_end_matches('.')) {
            out.release_year.get_or_insert(y);
            out.season.get_or_insert(season.to_string());
            return;
        }
    }
    if let Some(mm) = case_mm(t) {
        out.case_size_mm.get_or_insert(mm);
        return;
    }
    if let Some(g) = generation(t) {
        out.generation.get_or_insert(g);
        return;
    }
    if let Some(c) = chip(t) {
        out.chip.get_or_insert(c);
        return;
    }
    if let Some(c) = connectivity(t) {
        match &mut out.connectivity {
            Some(existing) if !existing.contains(&c) => {
                existing.push_str(", ");
                existing.push_str(&c);
            }
            Some(_) => {}
            None => out.connectivity = Some(c),
        }
        return;
    }
    if is_detail(&l, mac) {
        out.details.push(t.to_string());
        return;
    }
    // Older names drop the commas: "(15-inch Early 2003)", "(17-inch Flat
    // Panel)". Take the first word alone and the rest as one qualifier, or
    // read the words one by one keeping "Early 2003" together, whichever
    // understands everything.
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.len() > 1 {
        let rest = words[1..].join(" ");
        let split_first: Vec<String> = vec![words[0].to_string(), rest];
        let mut one_by_one: Vec<String> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let w = words[i].to_lowercase();
            let dated = SEASONS.contains(&w.as_str()) || MONTHS.contains(&w.trim_end_matches('.'));
            match words.get(i + 1) {
                Some(y) if dated && year(y).is_some() => {
                    one_by_one.push(format!("{} {y}", words[i]));
                    i += 2;
                }
                _ => {
                    one_by_one.push(words[i].to_string());
                    i += 1;
                }
            }
        }
        for attempt in [split_first, one_by_one] {
            if attempt.iter().any(|a| a == t) {
                continue;
            }
            let mut trial = out.clone();
            trial.unknown.clear();
            for a in &attempt {
                qualifier(a, &mut trial, mac);
            }
            if trial.unknown.is_empty() {
                trial.unknown = std::mem::take(&mut out.unknown);
                *out = trial;
                return;
            }
        }
    }
    out.unknown.push(t.to_string());
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

/// `13-inch`, `12.9-inch`, `21.5"`, `13 inch`, `13in` → the number as written.
fn size_inches(token: &str) -> Option<String> {
    let t = token.trim().to_lowercase();
    let num = t
        .strip_suffix("-inch")
        .or_else(|| t.strip_suffix(" inch"))
        .or_else(|| t.strip_suffix("-in"))
        .or_else(|| t.strip_suffix("inch"))
        .or_else(|| t.strip_suffix('"'))
        .or_else(|| t.strip_suffix('″'))
        .or_else(|| t.strip_suffix("''"))?
        .trim();
    let valid = !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.chars().next().is_some_and(|c| c.is_ascii_digit())
        && num.matches('.').count() <= 1
        && !num.ends_with('.');
    valid.then(|| num.to_string())
}

fn year(token: &str) -> Option<i32> {
    let t = token.trim();
    (t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()))
        .then(|| t.parse::<i32>().ok())
        .flatten()
        .filter(|y| (1976..=2100).contains(y))
}

fn case_mm(token: &str) -> Option<u32> {
    let t = token.trim().to_lowercase();
    let n = t.strip_suffix("mm")?.trim();
    (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// `6th generation`, `1st Generation`, `2nd gen` → the number.
fn generation(token: &str) -> Option<u32> {
    let t = token.trim().to_lowercase();
    let n = t
        .strip_suffix(" generation")
        .or_else(|| t.strip_suffix(" gen"))?
        .trim();
    let digits = n
        .strip_suffix("st")
        .or_else(|| n.strip_suffix("nd"))
        .or_else(|| n.strip_suffix("rd"))
        .or_else(|| n.strip_suffix("th"))?;
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// An Apple chip: `M2`, `M3 Pro`, `M1 Max`, `M2 Ultra`, `A17 Pro`, `A16`,
/// `14-core M3 Max`, `M3 Pro or M3 Max`, `Apple Silicon`.
fn chip(token: &str) -> Option<String> {
    let t = token.trim();
    if t.eq_ignore_ascii_case("apple silicon") {
        return Some(t.to_string());
    }
    let all_ok = t.split(" or ").all(|part| {
        let mut words = part.split_whitespace().peekable();
        // optional "14-core"
        if words.peek().is_some_and(|w| {
            w.to_ascii_lowercase()
                .strip_suffix("-core")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        }) {
            words.next();
        }
        let Some(base) = words.next() else {
            return false;
        };
        let mut chars = base.chars();
        let letter_ok = matches!(chars.next(), Some('M' | 'A' | 'S' | 'T'));
        let rest: String = chars.collect();
        if !letter_ok || rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        words.all(|w| matches!(w, "Pro" | "Max" | "Ultra" | "Bionic"))
    });
    all_ok.then(|| t.to_string())
}

/// Connectivity qualifiers, normalised to Apple's spelling.
fn connectivity(token: &str) -> Option<String> {
    let parts: Vec<String> = token
        .split('+')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return None;
    }
    let mut norm = Vec::with_capacity(parts.len());
    for p in &parts {
        let l = p.to_lowercase();
        let n = match l.as_str() {
            "wi-fi" | "wifi" | "wi‑fi" => "Wi-Fi",
            "cellular" => "Cellular",
            "gps" => "GPS",
            "lte" => "LTE",
            "3g" => "3G",
            "gsm" => "GSM",
            "cdma" => "CDMA",
            "td-lte" => "TD-LTE",
            "ethernet" => "Ethernet",
            "mm" => "MM",
            "vz" => "VZ",
            "3g (gsm)" => "3G (GSM)",
            "3g (cdma)" => "3G (CDMA)",
            _ => return None,
        };
        norm.push(n);
    }
    Some(norm.join(" + "))
}

/// Descriptive qualifiers that say nothing the other fields carry.
fn is_detail(l: &str, _mac: bool) -> bool {
    const EXACT: &[&str] = &[
        "two ports",
        "four ports",
        "rack",
        "server",
        "aluminum",
        "intel",
        "x86 legacy",
        "legacy identifier",
        "china mainland",
        "store display model",
        "mac os x server",
        "core i5",
        "core i5/i7",
        "core i7",
        "rx 5700/xt",
        "1 or 2 tb",
        "left",
        "right",
        "with touchid",
        "with touch id",
        "with touch bar",
        "flat panel",
        "usb 2.0",
        "slot loading",
        "g3",
        "g4",
        "g5",
        "als",
        "isight",
    ];
    if EXACT.contains(&l) {
        return true;
    }
    l.ends_with(" graphics")
        || l.ends_with(" ports")
        || l.starts_with("rev ")
        || l.starts_with("revision ")
        || (l.ends_with("tb") && l.trim_end_matches("tb").trim().parse::<u32>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParsedModel {
        parse_model_name(s).unwrap_or_else(|| panic!("{s} not parsed"))
    }

    #[test]
    fn table_loads_and_is_case_insensitive() {
        assert!(identifiers().count() > 600);
        let info = lookup_identifier(" mac14,2 ").expect("known");
        assert_eq!(info.identifier, "Mac14,2");
        assert_eq!(info.asset_type, AssetType::Laptop);
        assert_eq!(
            lookup_identifier("MacBook10,1").map(|i| i.asset_type),
            Some(AssetType::Laptop),
            "SOFA tags it Desktop; the table corrects it"
        );
        assert!(lookup_identifier("").is_none());
    }

    #[test]
    fn prefix_never_guesses_mac() {
        assert_eq!(asset_type_from_identifier_prefix("Mac14,2"), None);
        assert_eq!(
            asset_type_from_identifier_prefix("MacBookPro18,3"),
            Some(AssetType::Laptop)
        );
        assert_eq!(
            asset_type_from_identifier_prefix("Macmini9,1"),
            Some(AssetType::Desktop)
        );
        assert_eq!(asset_type_from_identifier_prefix("Mac"), None);
        assert_eq!(asset_type_from_identifier_prefix(""), None);
    }

    #[test]
    fn jamf_style_size_first() {
        let m = p("13-inch MacBook Pro (Mid 2012)");
        assert_eq!(m.model, "MacBook Pro");
        assert_eq!(m.display_size.as_deref(), Some("13"));
        assert_eq!(m.release_year, Some(2012));
        assert_eq!(m.season.as_deref(), Some("Mid"));
        assert!(m.is_complete(), "{m:?}");
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "APPLE SSD SM1024L",
            "Virtual Machine",
            "Pixel 9",
            "Surface Laptop 6",
        ] {
            assert_eq!(parse_model_name(s), None, "{s}");
        }
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(22), "22nd");
    }
}
