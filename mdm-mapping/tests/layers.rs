//! mdm-mapping is built in layers, each using only the layers below it (the
//! table in the crate docs, `src/lib.rs`). This test parses every
//! `src/**/*.rs` with `syn` and fails on a `crate::<module>` or `super::`
//! path that reaches a module of a higher layer, and on a top-level module
//! missing from the table.
//!
//! `syn` rather than a text search: it tells code from comments and string
//! literals (doc links to a higher layer are fine; the SQL and doc tests are
//! not code of the crate), and it knows which inline `mod` a `super::` is in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The layers, bottom first: a module may use its own layer and the ones
/// below. Keep in step with the table in `src/lib.rs`.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "vocabulary",
        &[
            "normalize",
            "lenient",
            "fast_hash",
            "field_names",
            "record",
            "ident",
            "dropped",
            "source",
            "net",
        ],
    ),
    ("knowledge", &["catalog", "catalog_data", "model"]),
    ("interpretation", &["mapping", "advice", "store"]),
    ("engine", &["upsert", "sync"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// One use of another module: where, and which top-level module it reaches.
#[derive(Debug)]
struct Reach {
    path: String,
    target: String,
}

/// Collects, for one file, every path starting with `crate::` or `super::`,
/// resolved to the top-level module it names.
struct Collector {
    /// The module path of the code being visited: the file's, then inline
    /// `mod`s.
    module: Vec<String>,
    found: Vec<Reach>,
}

impl Collector {
    /// Resolves a path given as its leading segments; records it when it
    /// reaches a top-level module.
    fn resolve(&mut self, segments: &[String]) {
        let mut at: Vec<String> = self.module.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                at.clear();
                rest = &rest[1..];
            }
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    at.pop();
                    rest = &rest[1..];
                }
            }
            _ => return,
        }
        // `at` is now the module the path starts in; the top-level module
        // it reaches is the first segment of `at + rest`.
        let target = at.first().or(rest.first()).cloned();
        if let Some(target) = target {
            self.found.push(Reach {
                path: segments.join("::"),
                target,
            });
        }
    }
}

fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut v = prefix.clone();
            v.push(n.ident.to_string());
            out.push(v);
        }
        syn::UseTree::Rename(r) => {
            let mut v = prefix.clone();
            v.push(r.ident.to_string());
            out.push(v);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        flatten_use(&u.tree, &mut Vec::new(), &mut paths);
        for p in paths {
            self.resolve(&p);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Macro arguments are tokens, not syntax: find `crate :: x` and
        // `super :: x` in their text.
        let text = m.tokens.to_string();
        let words: Vec<&str> = text.split_whitespace().collect();
        for i in 0..words.len() {
            if matches!(words[i], "crate" | "super") && words.get(i + 1) == Some(&"::") {
                let mut segs = vec![words[i].to_string()];
                let mut j = i + 2;
                while let Some(w) = words.get(j) {
                    if w.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        segs.push((*w).to_string());
                    }
                    if words.get(j + 1) != Some(&"::") {
                        break;
                    }
                    j += 2;
                }
                self.resolve(&segs);
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/upsert/plan.rs` → `[upsert, plan]`,
/// `src/store/mod.rs` → `[store]`, `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Every reach of every file to a module of a higher layer, as
/// `file: path in module (layer) reaches module (layer)`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    // The crate root's re-exports (`crate::Fields`) count as the module
    // they come from (`record`).
    let mut reexports = BTreeMap::new();
    if let Ok(lib) = std::fs::read_to_string(src.join("lib.rs")) {
        let ast = syn::parse_file(&lib).expect("lib.rs parses");
        for item in &ast.items {
            if let syn::Item::Use(u) = item {
                let mut paths = Vec::new();
                flatten_use(&u.tree, &mut Vec::new(), &mut paths);
                for p in paths {
                    if let (Some(first), Some(last)) = (p.first(), p.last()) {
                        reexports.insert(last.clone(), first.clone());
                    }
                }
            }
        }
    }
    let mut bad = Vec::new();
    for file in &files {
        let module = module_of(src, file);
        let Some(own) = module.first() else {
            continue; // lib.rs: the crate root re-exports every layer.
        };
        let Some(own_layer) = layer_of(own) else {
            bad.push(format!(
                "{}: module `{own}` is in no layer of tests/layers.rs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        let ast = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let mut c = Collector {
            module: module.clone(),
            found: Vec::new(),
        };
        c.visit_file(&ast);
        for mut r in c.found {
            if let Some(module) = reexports.get(&r.target) {
                r.target = module.clone();
            }
            let Some(to_layer) = layer_of(&r.target) else {
                bad.push(format!(
                    "{}: `{}` reaches `{}`, which is in no layer",
                    file.display(),
                    r.path,
                    r.target
                ));
                continue;
            };
            if to_layer > own_layer {
                bad.push(format!(
                    "{}: `{}` in `{own}` ({}) reaches `{}` ({}), a higher layer",
                    file.display(),
                    r.path,
                    LAYERS[own_layer].0,
                    r.target,
                    LAYERS[to_layer].0
                ));
            }
        }
    }
    bad
}

#[test]
fn no_module_uses_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(
        bad.is_empty(),
        "modules reaching above their layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_module_has_a_layer() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("readable lib.rs");
    let ast = syn::parse_file(&lib).expect("lib.rs parses");
    let mut unplaced = BTreeMap::new();
    for item in &ast.items {
        if let syn::Item::Mod(m) = item {
            let name = m.ident.to_string();
            if layer_of(&name).is_none() && !m.attrs.iter().any(|a| a.path().is_ident("cfg")) {
                unplaced.insert(name, ());
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules of lib.rs in no layer: {:?}",
        unplaced.keys().collect::<Vec<_>>()
    );
}

/// The checker itself catches what it is for: an upward `use`, a path in an
/// expression, a path inside a macro, and `super::` out of a file; and
/// leaves alone comments, strings and a `super::` inside the module.
#[test]
fn the_check_can_fail() {
    let dir = std::env::temp_dir().join(format!("mdm-layers-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("upsert")).expect("temp dir");
    std::fs::write(
        src.join("record.rs"),
        r#"
//! [`crate::upsert::plan`] in a doc comment is fine.
use crate::normalize;
use crate::{catalog::all, normalize as n};
fn f() -> usize {
    let s = "crate::upsert::plan in a string is fine";
    let x = crate::mapping::builtin();
    assert!(crate::advice::rank().is_empty());
    s.len()
}
mod tests {
    use super::*;
}
"#,
    )
    .expect("write");
    std::fs::write(
        src.join("upsert/plan.rs"),
        "use super::staged::Staging;\nuse crate::record::Value;\n",
    )
    .expect("write");
    std::fs::write(src.join("model.rs"), "use super::upsert::Plan;\n").expect("write");
    let mut bad = violations(&src);
    bad.sort();
    let _ = std::fs::remove_dir_all(&dir);
    let reached: Vec<&str> = bad
        .iter()
        .map(|b| b.split('`').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        reached,
        [
            "super::upsert::Plan",
            "crate::advice::rank",
            "crate::catalog::all",
            "crate::mapping::builtin",
        ],
        "{bad:#?}"
    );
}
