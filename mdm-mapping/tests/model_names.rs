//! The model-name parser over every Mac, iPad, iPhone, Apple Watch, Apple TV
//! and Vision name of the shipped SOFA-derived tables (`data/`), plus exact
//! expectations for names that break naive parsers, and the asset type of
//! every identifier in the shipped table.

use mdm_mapping::model::{self, AssetType, ParsedModel};

static NAMES: &str = include_str!("../data/apple_model_names.tsv");

fn names(kind: &str) -> Vec<&'static str> {
    NAMES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .filter(|(k, _)| *k == kind)
        .map(|(_, n)| n)
        .collect()
}

/// Parses every name of a kind; returns (parsed fully, total, failures).
fn share(kind: &str) -> (usize, usize, Vec<String>) {
    let all = names(kind);
    let mut failures = Vec::new();
    let mut ok = 0;
    for name in &all {
        match model::parse_model_name(name) {
            Some(p) if p.is_complete() => ok += 1,
            Some(p) => failures.push(format!("{name}: unknown {:?}", p.unknown)),
            None => failures.push(format!("{name}: no family")),
        }
    }
    (ok, all.len(), failures)
}

#[test]
fn share_of_names_parsed() {
    // (kind, minimum names expected in the table, minimum share parsed)
    for (kind, min_count, min_share) in [
        ("mac", 200, 0.97),
        ("ipad", 100, 0.97),
        ("iphone", 55, 0.97),
        ("watch", 60, 0.95),
        ("tv", 8, 0.95),
        ("vision", 2, 1.0),
    ] {
        let (ok, total, failures) = share(kind);
        let ratio = ok as f64 / total as f64;
        println!("{kind}: {ok}/{total} parsed ({:.1}%)", ratio * 100.0);
        for f in &failures {
            println!("  not fully parsed: {f}");
        }
        assert!(total >= min_count, "{kind}: only {total} names shipped");
        assert!(
            ratio >= min_share,
            "{kind}: {ok}/{total} parsed, below {min_share}: {failures:?}"
        );
    }
}

#[test]
fn every_mac_name_with_a_year_yields_it() {
    for name in names("mac") {
        let has_year = name
            .split(|c: char| !c.is_ascii_digit())
            .any(|w| w.len() == 4 && w.starts_with(['1', '2']));
        let p = model::parse_model_name(name).expect(name);
        assert_eq!(has_year, p.release_year.is_some(), "{name}: {p:?}");
        let has_size = name.contains("-inch");
        assert_eq!(has_size, p.display_size.is_some(), "{name}: {p:?}");
        assert!(
            matches!(p.asset_type, Some(AssetType::Laptop | AssetType::Desktop))
                || p.family == "Mac",
            "{name}: {p:?}"
        );
    }
}

#[test]
fn families_give_asset_types() {
    for (kind, want) in [
        ("ipad", AssetType::Tablet),
        ("iphone", AssetType::Phone),
        ("watch", AssetType::Watch),
        ("tv", AssetType::Tv),
        ("vision", AssetType::Headset),
    ] {
        for name in names(kind) {
            let p = model::parse_model_name(name).expect(name);
            assert_eq!(p.asset_type, Some(want), "{name}");
        }
    }
}

struct Want {
    model: &'static str,
    size: Option<&'static str>,
    year: Option<i32>,
    chip: Option<&'static str>,
    generation: Option<u32>,
    asset_type: Option<AssetType>,
}

const fn w(
    model: &'static str,
    size: Option<&'static str>,
    year: Option<i32>,
    chip: Option<&'static str>,
    generation: Option<u32>,
    asset_type: Option<AssetType>,
) -> Want {
    Want {
        model,
        size,
        year,
        chip,
        generation,
        asset_type,
    }
}

#[test]
fn tricky_names() {
    use AssetType::*;
    let cases: &[(&str, Want)] = &[
        (
            "MacBook Pro (13-inch, 2018)",
            w(
                "MacBook Pro",
                Some("13"),
                Some(2018),
                None,
                None,
                Some(Laptop),
            ),
        ),
        (
            "MacBook Air (M2, 2022)",
            w(
                "MacBook Air",
                None,
                Some(2022),
                Some("M2"),
                None,
                Some(Laptop),
            ),
        ),
        (
            "MacBook Pro (14-inch, M3 Pro or M3 Max, Nov 2023)",
            w(
                "MacBook Pro",
                Some("14"),
                Some(2023),
                Some("M3 Pro or M3 Max"),
                None,
                Some(Laptop),
            ),
        ),
        (
            "MacBook Pro (14-inch, 14-core M3 Max, Nov 2023)",
            w(
                "MacBook Pro",
                Some("14"),
                Some(2023),
                Some("14-core M3 Max"),
                None,
                Some(Laptop),
            ),
        ),
        (
            "MacBook Pro (Retina, 15-inch, Mid 2015)",
            w(
                "MacBook Pro",
                Some("15"),
                Some(2015),
                None,
                None,
                Some(Laptop),
            ),
        ),
        (
            "MacBook Pro 14-inch (M5)",
            w(
                "MacBook Pro",
                Some("14"),
                None,
                Some("M5"),
                None,
                Some(Laptop),
            ),
        ),
        (
            "13-inch MacBook Pro (Mid 2012)",
            w(
                "MacBook Pro",
                Some("13"),
                Some(2012),
                None,
                None,
                Some(Laptop),
            ),
        ),
        (
            "15-inch Retina MacBook Pro with TouchID (Late 2016)",
            w(
                "MacBook Pro",
                Some("15"),
                Some(2016),
                None,
                None,
                Some(Laptop),
            ),
        ),
        (
            "iMac (24-inch, M3, 2023, Two Ports)",
            w(
                "iMac",
                Some("24"),
                Some(2023),
                Some("M3"),
                None,
                Some(Desktop),
            ),
        ),
        (
            "iMac 21.5\"",
            w("iMac", Some("21.5"), None, None, None, Some(Desktop)),
        ),
        (
            "Mac Studio (M1 Max)",
            w(
                "Mac Studio",
                None,
                None,
                Some("M1 Max"),
                None,
                Some(Desktop),
            ),
        ),
        (
            "Mac mini (M2, 2023)",
            w(
                "Mac mini",
                None,
                Some(2023),
                Some("M2"),
                None,
                Some(Desktop),
            ),
        ),
        (
            "Mac Pro (Rack, 2023)",
            w("Mac Pro", None, Some(2023), None, None, Some(Desktop)),
        ),
        (
            "Macbook",
            w("MacBook", None, None, None, None, Some(Laptop)),
        ),
        (
            "MacBookPro15,2",
            w(
                "MacBook Pro",
                Some("13"),
                Some(2018),
                None,
                None,
                Some(Laptop),
            ),
        ),
        (
            "Mac14,3",
            w(
                "Mac mini",
                None,
                Some(2023),
                Some("M2"),
                None,
                Some(Desktop),
            ),
        ),
        (
            "iPad Pro (12.9-inch) (6th generation)",
            w(
                "iPad Pro (6th generation)",
                Some("12.9"),
                None,
                None,
                Some(6),
                Some(Tablet),
            ),
        ),
        (
            "iPad Pro 12.9-inch (6th generation) Wi-Fi",
            w(
                "iPad Pro (6th generation)",
                Some("12.9"),
                None,
                None,
                Some(6),
                Some(Tablet),
            ),
        ),
        (
            "iPad (8th generation) (Wi-Fi)",
            w(
                "iPad (8th generation)",
                None,
                None,
                None,
                Some(8),
                Some(Tablet),
            ),
        ),
        (
            "iPad 5th Generation (Wi-Fi)",
            w(
                "iPad (5th generation)",
                None,
                None,
                None,
                Some(5),
                Some(Tablet),
            ),
        ),
        (
            "iPad Air (4th generation) Wi-Fi + Cellular",
            w(
                "iPad Air (4th generation)",
                None,
                None,
                None,
                Some(4),
                Some(Tablet),
            ),
        ),
        (
            "iPad Air 13-inch (M2) Wi-Fi",
            w(
                "iPad Air (M2)",
                Some("13"),
                None,
                Some("M2"),
                None,
                Some(Tablet),
            ),
        ),
        (
            "iPad mini (A17 Pro) Wi-Fi",
            w(
                "iPad mini (A17 Pro)",
                None,
                None,
                Some("A17 Pro"),
                None,
                Some(Tablet),
            ),
        ),
        (
            "iPad mini 4 Wi-Fi",
            w("iPad mini 4", None, None, None, None, Some(Tablet)),
        ),
        (
            "iPhone 15 Pro Max",
            w("iPhone 15 Pro Max", None, None, None, None, Some(Phone)),
        ),
        (
            "iPhone 11 Pro Max",
            w("iPhone 11 Pro Max", None, None, None, None, Some(Phone)),
        ),
        (
            "iPhone SE (3rd generation)",
            w(
                "iPhone SE (3rd generation)",
                None,
                None,
                None,
                Some(3),
                Some(Phone),
            ),
        ),
        (
            "iPhone 4 (GSM, 2012)",
            w("iPhone 4", None, Some(2012), None, None, Some(Phone)),
        ),
        (
            "iPhone 16e",
            w("iPhone 16e", None, None, None, None, Some(Phone)),
        ),
        (
            "Apple Watch Series 9 (GPS, 41mm)",
            w("Apple Watch Series 9", None, None, None, None, Some(Watch)),
        ),
        (
            "Apple Watch SE (2nd generation, GPS + Cellular, 44mm)",
            w(
                "Apple Watch SE (2nd generation)",
                None,
                None,
                None,
                Some(2),
                Some(Watch),
            ),
        ),
        (
            "Apple Watch Ultra",
            w("Apple Watch Ultra", None, None, None, None, Some(Watch)),
        ),
        (
            "Apple TV 4K (2nd generation)",
            w(
                "Apple TV 4K (2nd generation)",
                None,
                None,
                None,
                Some(2),
                Some(Tv),
            ),
        ),
        (
            "Apple TV 3rd Generation Rev 2",
            w(
                "Apple TV (3rd generation)",
                None,
                None,
                None,
                Some(3),
                Some(Tv),
            ),
        ),
        (
            "Vision Pro",
            w("Apple Vision Pro", None, None, None, None, Some(Headset)),
        ),
        (
            "Apple Vision Pro (M5)",
            w(
                "Apple Vision Pro (M5)",
                None,
                None,
                Some("M5"),
                None,
                Some(Headset),
            ),
        ),
        (
            "Unreleased MacBook Air",
            w("MacBook Air", None, None, None, None, Some(Laptop)),
        ),
    ];
    for (name, want) in cases {
        let p: ParsedModel = model::parse_model_name(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(p.model, want.model, "{name}: {p:?}");
        assert_eq!(p.display_size.as_deref(), want.size, "{name}: {p:?}");
        assert_eq!(p.release_year, want.year, "{name}: {p:?}");
        assert_eq!(p.chip.as_deref(), want.chip, "{name}: {p:?}");
        assert_eq!(p.generation, want.generation, "{name}: {p:?}");
        assert_eq!(p.asset_type, want.asset_type, "{name}: {p:?}");
        assert!(p.is_complete(), "{name}: {p:?}");
    }
    let p = model::parse_model_name("Apple Watch Series 6 (40 mm, LTE)").unwrap();
    assert_eq!(p.case_size_mm, Some(40));
    assert_eq!(p.connectivity.as_deref(), Some("LTE"));
    assert!(
        model::parse_model_name("Unreleased MacBook Air")
            .unwrap()
            .unreleased
    );
}

#[test]
fn not_apple_names() {
    for name in [
        "",
        "  ",
        "APPLE HDD TOSHIBA MK5065GSXF",
        "Virtual Machine",
        "Pixel 9",
        "Surface Laptop 6 for Business",
    ] {
        assert_eq!(model::parse_model_name(name), None, "{name}");
    }
}

#[test]
fn identifier_table_classifies_mac_prefix_by_table() {
    let cases = [
        ("Mac14,2", AssetType::Laptop),
        ("Mac14,3", AssetType::Desktop),
        ("Mac13,1", AssetType::Desktop),
        ("Mac14,8", AssetType::Desktop),
        ("Mac15,3", AssetType::Laptop),
        ("MacBook10,1", AssetType::Laptop),
        ("iPad13,1", AssetType::Tablet),
        ("iPhone15,3", AssetType::Phone),
        ("Watch7,5", AssetType::Watch),
        ("AppleTV14,1", AssetType::Tv),
        ("RealityDevice14,1", AssetType::Headset),
        ("VirtualMac2,1", AssetType::Other),
        ("AudioAccessory5,1", AssetType::Other),
    ];
    for (id, want) in cases {
        assert_eq!(model::classify(Some(id), None, None, None), want, "{id}");
    }
}

#[test]
fn every_table_identifier_agrees_with_its_marketing_name() {
    // The table's asset type and the parser's reading of the name agree for
    // every Mac, iPad, iPhone, Watch, TV and Vision row.
    let mut checked = 0;
    for info in model::identifiers() {
        let Some(p) = model::parse_model_name(info.marketing_name) else {
            continue;
        };
        if let Some(t) = p.asset_type.filter(|t| *t != AssetType::Other) {
            assert_eq!(
                t, info.asset_type,
                "{} {}",
                info.identifier, info.marketing_name
            );
            checked += 1;
        }
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn classify_uses_name_platform_and_os_in_order() {
    // An unknown identifier with an unambiguous prefix.
    assert_eq!(
        model::classify(Some("MacBookPro99,1"), None, None, None),
        AssetType::Laptop
    );
    // An unknown Mac identifier: the name decides.
    assert_eq!(
        model::classify(
            Some("Mac99,9"),
            Some("Mac mini (M9, 2031)"),
            Some("Mac"),
            None
        ),
        AssetType::Desktop
    );
    // Only the platform: a Mac cannot be told, an iPad can.
    assert_eq!(
        model::classify(None, None, Some("Mac"), Some("macOS")),
        AssetType::Other
    );
    assert_eq!(
        model::classify(None, None, Some("iPad"), None),
        AssetType::Tablet
    );
    assert_eq!(
        model::classify(None, None, None, Some("iPadOS")),
        AssetType::Tablet
    );
    assert_eq!(
        model::classify(None, None, Some("watchos"), None),
        AssetType::Watch
    );
    assert_eq!(
        model::classify(None, Some("Virtual Machine"), None, None),
        AssetType::Other
    );
    assert_eq!("TV".parse::<AssetType>(), Ok(AssetType::Tv));
    assert!("speaker".parse::<AssetType>().is_err());
}
