//! Plan throughput: 100,000 and 1,000,000 incoming records against as many
//! existing assets (80% of the records match an asset, half of those with a
//! changed OS version; 20% are new devices).
//!
//! Run: `cargo bench -p mdm-mapping --bench plan`. Only `--bench` mode runs
//! the large sizes: under `cargo test --benches` this binary plans 1,000
//! records once and exits. `PLAN_ONCE=100000x3` builds 100,000 records, plans
//! them three times and exits, for instruction counts.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use mdm_mapping::store::{Asset, Inventory};
use mdm_mapping::upsert::{Config, plan};
use mdm_mapping::{Entity, Fields, SourceDevice, Vendor};

const MODELS: &[(&str, &str, &str)] = &[
    ("MacBook Pro (13-inch, 2018)", "MacBookPro15,2", "laptop"),
    ("MacBook Air (M2, 2022)", "Mac14,2", "laptop"),
    ("Mac mini (M2, 2023)", "Mac14,3", "desktop"),
    (
        "MacBook Pro (14-inch, M3 Pro or M3 Max, Nov 2023)",
        "Mac15,6",
        "laptop",
    ),
    (
        "iMac (24-inch, M1, 2021, Four Ports)",
        "iMac21,1",
        "desktop",
    ),
];

fn serial(i: usize) -> String {
    format!("C{i:011}")
}

fn udid(i: usize) -> String {
    format!("{:08X}-0000-4000-8000-{:012X}", i, i * 7)
}

/// `n` assets and `n` records: records 0..0.8n match assets 0..0.8n.
fn data(n: usize) -> (Inventory, Vec<SourceDevice>) {
    let matched = n * 8 / 10;
    let mut inv = Inventory::default();
    inv.assets.reserve(n);
    for i in 0..n {
        // Assets 0.8n..n are devices no source reports any more.
        let dev = if i < matched { i } else { n + i };
        let (model, ident, kind) = MODELS[dev % MODELS.len()];
        let _ = model;
        let mut f = Fields::new();
        f.text("serial_number", Some(&serial(dev)))
            .text("jamf_id", Some(&dev.to_string()))
            .text("udid", Some(&udid(dev)))
            .text("asset_type", Some(kind))
            .text("model_identifier", Some(ident))
            .text("os_version", Some("15.1.0"))
            .text("status", Some("allocated"))
            .text("device_name", Some(&format!("mac-{dev}")));
        inv.assets.push(Asset::new(format!("a{i}"), f));
    }
    let mut incoming = Vec::with_capacity(n);
    for dev in 0..n {
        let (model, ident, _) = MODELS[dev % MODELS.len()];
        let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, dev.to_string());
        let os = if dev % 2 == 0 {
            "macOS 15.1.0"
        } else {
            "macOS 15.2.0"
        };
        d.fields
            .serial("serial_number", Some(&serial(dev)))
            .text("udid", Some(&udid(dev)))
            .text("model", Some(model))
            .text("model_identifier", Some(ident))
            .text("operating_system", Some(os))
            .text("computer_name", Some(&format!("mac-{dev}")))
            .datetime("last_contact_time", Some("2025-01-01T10:00:00Z"));
        incoming.push(d);
    }
    (inv, incoming)
}

fn bench(c: &mut Criterion, sizes: &[usize]) {
    let config = Config::default();
    let mut group = c.benchmark_group("plan");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(20));
    for &n in sizes {
        let (inv, incoming) = data(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_with_large_drop(|| {
                plan(black_box(&inv), black_box(&incoming), &config, &[]).expect("valid config")
            })
        });
    }
    group.finish();
}

fn main() {
    // `PLAN_ONCE=<records>x<runs>`: build the data, plan it `runs` times and
    // exit; for instruction counts (`perf stat -e instructions`, callgrind),
    // where the difference between two run counts is the cost of the plans.
    if let Ok(spec) = std::env::var("PLAN_ONCE") {
        let (n, runs) = spec
            .split_once('x')
            .and_then(|(n, r)| Some((n.parse::<usize>().ok()?, r.parse::<usize>().ok()?)))
            .expect("PLAN_ONCE=<records>x<runs>");
        let (inv, incoming) = data(n);
        for _ in 0..runs {
            let p = plan(
                black_box(&inv),
                black_box(&incoming),
                &Config::default(),
                &[],
            )
            .expect("valid config");
            black_box(&p);
        }
        return;
    }
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if !bench_mode {
        // `cargo test --benches`: a smoke run only.
        let (inv, incoming) = data(1_000);
        let p = plan(&inv, &incoming, &Config::default(), &[]).expect("valid config");
        assert_eq!(p.summary.create, 200);
        assert_eq!(p.summary.update + p.summary.unchanged, 800);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &[100_000, 1_000_000]);
    c.final_summary();
}
