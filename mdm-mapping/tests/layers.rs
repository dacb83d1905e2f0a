//! mdm-mapping is built in layers, each using only the layers at or below
//! its own. This test reads every source file and fails on a `crate::`
//! path that reaches a module of a higher layer (test modules and doc
//! comments aside: a doc link may point anywhere).
//!
//! ```text
//! 3  sync, upsert          the engine
//! 2  mapping, advice, store
//! 1  catalog, catalog_data, model
//! 0  normalize, record, known_names, ident, source, dropped, net, lenient
//! ```

use std::path::{Path, PathBuf};

/// Every top-level module of the crate and its layer.
const LAYERS: &[(&str, u8)] = &[
    ("normalize", 0),
    ("record", 0),
    ("known_names", 0),
    ("ident", 0),
    ("source", 0),
    ("dropped", 0),
    ("net", 0),
    ("lenient", 0),
    ("catalog", 1),
    ("catalog_data", 1),
    ("model", 1),
    ("mapping", 2),
    ("advice", 2),
    ("store", 2),
    ("upsert", 3),
    ("sync", 3),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/upsert/plan.rs` → `upsert`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The modules a line's code names with `crate::`: `crate::a::…` and
/// `crate::{a, b::…}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        // Not part of a longer identifier (`mdm_crate::`).
        let before_ok = rest[..i]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if before_ok {
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.push(name);
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.push(name);
            }
        }
        rest = after;
    }
    found
}

/// `(file, line, from, to)` for every import that goes up a layer.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for file in files {
        let module = module_of(src, &file);
        if module == "lib" {
            continue; // the crate root re-exports every layer
        }
        let Some(own) = layer(&module) else {
            bad.push(format!(
                "{}: module `{module}` has no layer: add it to LAYERS",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("#[cfg(test)]") {
                break; // test modules come last and may use anything
            }
            if trimmed.starts_with("//") {
                continue;
            }
            let code = line.split("//").next().unwrap_or(line);
            for target in crate_paths(code) {
                match layer(&target) {
                    Some(l) if l > own => bad.push(format!(
                        "{}:{}: `{module}` (layer {own}) uses `crate::{target}` (layer {l})",
                        file.display(),
                        n + 1
                    )),
                    _ => {}
                }
            }
        }
    }
    bad
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(
        bad.is_empty(),
        "imports that go up a layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_finds_an_import_that_goes_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("upsert")).expect("dirs");
    std::fs::write(
        src.join("record.rs"),
        "//! [`crate::upsert`] in a doc is fine\nuse crate::normalize;\nuse crate::{catalog, upsert::FastState};\n#[cfg(test)]\nmod tests { use crate::sync; }\n",
    )
    .expect("write");
    std::fs::write(src.join("upsert/plan.rs"), "use crate::record::Value;\n").expect("write");
    std::fs::write(src.join("mystery.rs"), "").expect("write");
    let bad = violations(&src);
    assert_eq!(bad.len(), 3, "{bad:#?}");
    assert!(bad[0].contains("`mystery` has no layer"), "{}", bad[0]);
    assert!(
        bad[1].ends_with("record.rs:3: `record` (layer 0) uses `crate::catalog` (layer 1)"),
        "{}",
        bad[1]
    );
    assert!(
        bad[2].ends_with("record.rs:3: `record` (layer 0) uses `crate::upsert` (layer 3)"),
        "{}",
        bad[2]
    );
}
