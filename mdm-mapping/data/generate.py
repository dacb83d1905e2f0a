#!/usr/bin/env python3
"""Regenerates apple_models.tsv and apple_model_names.tsv from the macadmins/sofa
data files (Apache-2.0). Usage: python3 generate.py PATH/TO/sofa-files-dir

The directory must hold the SOFA files named as in SOURCES (flattened names):
data_models_device_identifiers.json, data_models_mac_models_mapping.json,
data_models_device_lookup.json, config_model_overrides.json,
data_resources_all_devices_enhanced.json and
data_models_sources_{macos,ios,ipados,tvos,watchos}_devices.json.
"""
import json
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "."
here = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(src, name), encoding="utf-8") as f:
        return json.load(f)


ids = load("data_models_device_identifiers.json")

# SOFA's per-platform deviceType, by identifier.
SOFA_TYPE = {
    "Laptop": "laptop",
    "Desktop": "desktop",
    "Phone": "phone",
    "Tablet": "tablet",
    "Set-Top Box": "tv",
    "Wearable": "watch",
    "Virtual Machine": "other",
}
sofa_type = {}
platform_names = []
for plat in ["macos", "ios", "ipados", "tvos", "watchos"]:
    devices = load(f"data_models_sources_{plat}_devices.json")["devices"]
    for ident, d in devices.items():
        if d.get("deviceType") in SOFA_TYPE:
            sofa_type[ident] = SOFA_TYPE[d["deviceType"]]
        platform_names.append(d["marketingName"])

# Identifier prefixes whose device kind is unambiguous (own table, CC0).
PREFIX = [
    ("MacBookPro", "laptop"), ("MacBookAir", "laptop"), ("MacBook", "laptop"),
    ("iMacPro", "desktop"), ("iMac", "desktop"), ("Macmini", "desktop"), ("MacPro", "desktop"),
    ("iPad", "tablet"), ("iPhone", "phone"), ("Watch", "watch"), ("AppleTV", "tv"),
    ("RealityDevice", "headset"), ("PowerBook", "laptop"), ("PowerMac", "desktop"),
]


def by_name(name):
    n = name.removeprefix("Unreleased ").strip()
    for fam, t in [("MacBook", "laptop"), ("PowerBook", "laptop"), ("iBook", "laptop"),
                   ("iMac", "desktop"), ("eMac", "desktop"), ("Mac mini", "desktop"),
                   ("Mac Studio", "desktop"), ("Mac Pro", "desktop"), ("Power Mac", "desktop")]:
        if n.startswith(fam):
            return t
    return None


def asset_type(ident, name):
    m = re.match(r"^([A-Za-z]+)[\d,]", ident)
    prefix = m.group(1) if m else ""
    for p, t in PREFIX:
        if prefix == p:
            return t
    if prefix == "Mac":  # ambiguous since 2022: SOFA's type, else the marketing name
        return sofa_type.get(ident) or by_name(name) or "other"
    return by_name(name) or "other"


rows = []
for ident in sorted(ids, key=lambda s: (s.lower(), s)):
    name = ids[ident].strip()
    rows.append((ident, asset_type(ident, name), name))

with open(os.path.join(here, "apple_models.tsv"), "w", encoding="utf-8") as f:
    f.write("# identifier\tasset_type\tmarketing_name\n")
    f.write("# Derived from macadmins/sofa data/models/device_identifiers.json and\n")
    f.write("# data/models/sources/*_devices.json (Apache-2.0); see NOTICE in this folder.\n")
    for r in rows:
        f.write("\t".join(r) + "\n")

# Every distinct marketing name of the SOFA tables, with its family, for the parser tests.
names = set(ids.values())
names |= {v["MarketingName"] for v in load("data_models_mac_models_mapping.json").values()}
names |= {v["marketing_name"] for v in load("data_models_device_lookup.json").values()}
names |= {v["name"] for v in load("config_model_overrides.json").values() if isinstance(v, dict) and "name" in v}
names |= {v["marketingName"] for k, v in load("data_resources_all_devices_enhanced.json").items() if k != "_metadata"}
names |= set(platform_names)


def kind(name):
    n = name.removeprefix("Unreleased ").strip()
    if re.match(r"^(MacBook|iMac|Mac mini|Mac Studio|Mac Pro|Mac \()", n):
        return "mac"
    if n.startswith("iPad"):
        return "ipad"
    if n.startswith("iPhone"):
        return "iphone"
    if n.startswith("Apple Watch"):
        return "watch"
    if n.startswith("Apple TV"):
        return "tv"
    if n.startswith("Vision"):
        return "vision"
    return None


with open(os.path.join(here, "apple_model_names.tsv"), "w", encoding="utf-8") as f:
    f.write("# kind\tmarketing_name\n")
    f.write("# Every Mac, iPad, iPhone, Apple Watch, Apple TV and Vision marketing name in the\n")
    f.write("# macadmins/sofa model tables (Apache-2.0); see NOTICE in this folder.\n")
    for n in sorted(names, key=lambda s: (kind(s) or "", s)):
        k = kind(n)
        if k:
            f.write(f"{k}\t{n.strip()}\n")
