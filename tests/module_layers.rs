//! The crate's modules import one way: each top-level module of `src/` (not `src/bin`) uses
//! `crate::…` paths of its own layer or lower ones only, and the module graph has no loop.
//! The layers are the table below; `src/lib.rs`'s Architecture section lists the same ones.
//!
//! Reads the sources as text: every `crate::name` outside comments and string literals counts,
//! `use crate::{a::X, b}` groups included, test modules too; a name re-exported at the crate
//! root (`crate::Tenant`) counts as the module it comes from (from `src/lib.rs`'s `pub use`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// Layer of every top-level module, bottom (0) up. Keep in sync with `src/lib.rs`.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "vocabulary",
        &["error", "tenant", "metrics", "claims", "aws_section"],
    ),
    ("keys", &["jwks"]),
    (
        "verification",
        &["principal", "revocation", "verify", "policy"],
    ),
    ("tower layers", &["layer"]),
    ("AWS clients", &["aws", "catalog"]),
    ("builder and configuration", &["auth", "config"]),
    (
        "features",
        &[
            "admin",
            "cedar",
            "explain",
            "lambda",
            "lifecycle",
            "testing",
        ],
    ),
];

fn layer_of() -> HashMap<&'static str, usize> {
    let mut layers = HashMap::new();
    for (rank, (_, modules)) in LAYERS.iter().enumerate() {
        for module in *modules {
            assert!(
                layers.insert(*module, rank).is_none(),
                "{module} listed twice"
            );
        }
    }
    layers
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Source text with comments blanked and string and character literals emptied; line breaks
/// are kept so that offsets still give line numbers.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !is_ident(chars[i - 1]))
        {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push_str("\"\"");
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                out.push(blank(chars[j]));
                j += 1;
            }
            i = j;
        } else if c == '"' {
            out.push_str("\"\"");
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\''), else a lifetime or label.
            let len = if next == Some('\\') {
                (i + 3..chars.len())
                    .find(|&k| chars[k] == '\'')
                    .map(|k| k - i + 1)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(3)
            } else {
                None
            };
            match len {
                Some(len) => {
                    out.push_str("' '");
                    i += len;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_at(code: &str, at: usize) -> Option<&str> {
    let rest = &code[at..];
    let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The first names of the paths after each `crate::` of `code`, with their byte offsets:
/// `crate::a::X` gives `a`; `crate::{a::X, b, c::{D, E}}` gives `a`, `b` and `c`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let mut i = at + "crate::".len();
        i += code[i..].len() - code[i..].trim_start().len();
        if code[i..].starts_with('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (k, c) in code[i..].char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item_start = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && is_ident(c) && depth == 1 => {
                        let name = ident_at(code, i + k).unwrap_or_default();
                        found.push((i + k, name.to_owned()));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else if let Some(name) = ident_at(code, i) {
            found.push((at, name.to_owned()));
        }
    }
    found
}

/// The top-level modules declared in `src/lib.rs`, and the module each crate-root re-export
/// (`pub use module::{A, B as C}`) comes from.
fn root() -> (BTreeSet<String>, HashMap<String, String>) {
    let lib = code_only(&fs::read_to_string(src().join("lib.rs")).unwrap());
    let mut modules = BTreeSet::new();
    let mut exports = HashMap::new();
    for statement in lib.split(';') {
        let words: Vec<&str> = statement.split_whitespace().collect();
        let Some(item) = words.iter().position(|w| *w == "mod" || *w == "use") else {
            continue;
        };
        if words[item] == "mod" {
            modules.insert(words[item + 1].to_owned());
            continue;
        }
        let path = words[item + 1..].join(" ");
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        let names = rest.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let last = name.rsplit("::").next().unwrap();
            let exported = last.rsplit(" as ").next().unwrap();
            exports.insert(exported.trim().to_owned(), module.trim().to_owned());
        }
    }
    (modules, exports)
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path != src().join("bin") {
                rust_files(&path, files);
            }
        } else if path.extension().is_some_and(|e| e == "rs") && path != src().join("lib.rs") {
            files.push(path);
        }
    }
}

/// An import of one top-level module by another, where it is written.
struct Import {
    from: String,
    to: String,
    place: String,
}

fn imports() -> Vec<Import> {
    let (modules, exports) = root();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut imports = Vec::new();
    let mut unplaced = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src()).unwrap();
        let from = relative.components().next().unwrap().as_os_str();
        let from = from.to_str().unwrap().trim_end_matches(".rs").to_owned();
        let code = code_only(&fs::read_to_string(&file).unwrap());
        for (at, name) in crate_paths(&code) {
            let line = code[..at].matches('\n').count() + 1;
            let place = format!("src/{}:{line}", relative.display());
            let to = if modules.contains(&name) {
                name
            } else if let Some(module) = exports.get(&name) {
                module.clone()
            } else {
                unplaced.push(format!("{place}: crate::{name}"));
                continue;
            };
            if to != from {
                imports.push(Import {
                    from: from.clone(),
                    to,
                    place,
                });
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "paths of no known module:\n{}",
        unplaced.join("\n")
    );
    imports
}

#[test]
fn every_module_has_a_layer() {
    let (modules, _) = root();
    let layers = layer_of();
    let listed: BTreeSet<String> = layers.keys().map(|m| m.to_string()).collect();
    assert_eq!(modules, listed, "modules of src/lib.rs vs the LAYERS table");
}

#[test]
fn modules_import_only_their_own_layer_or_lower() {
    let layers = layer_of();
    let upward: Vec<String> = imports()
        .into_iter()
        .filter(|i| layers[i.to.as_str()] > layers[i.from.as_str()])
        .map(|i| {
            let name = |m: &str| LAYERS[layers[m]].0;
            format!(
                "{}: {} ({}) imports {} ({})",
                i.place,
                i.from,
                name(&i.from),
                i.to,
                name(&i.to)
            )
        })
        .collect();
    assert!(
        upward.is_empty(),
        "imports from a higher layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_module_graph_has_no_loop() {
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for import in imports() {
        edges
            .entry(import.from)
            .or_default()
            .entry(import.to)
            .or_insert(import.place);
    }
    // Depth-first search; a module met again while on the path closes a loop.
    fn visit(
        module: &str,
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if !done.insert(module.to_owned()) {
            return None;
        }
        path.push(module.to_owned());
        for next in edges.get(module).into_iter().flat_map(|e| e.keys()) {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(cycle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} -> {} ({})", w[0], w[1], edges[&w[0]][&w[1]]))
                .collect();
            panic!("module loop:\n{}", steps.join("\n"));
        }
    }
}

#[test]
fn lib_rs_lists_the_same_layers() {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let (modules, _) = root();
    // The numbered list of the Architecture section: "//! N. name: `module`, [`module`]…",
    // continued on indented lines.
    let mut documented: Vec<(usize, BTreeSet<String>)> = Vec::new();
    for line in lib.lines().filter_map(|l| l.strip_prefix("//!")) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        let entry = line
            .split_once(". ")
            .and_then(|(n, rest)| Some((n.parse().ok()?, rest)));
        let text = match entry {
            Some((rank, rest)) => {
                documented.push((rank, BTreeSet::new()));
                rest
            }
            None if line.starts_with("   ") && !documented.is_empty() => line,
            None => {
                if !documented.is_empty() && !line.trim().is_empty() {
                    break;
                }
                continue;
            }
        };
        let names = text.split('`').skip(1).step_by(2);
        let last = &mut documented.last_mut().unwrap().1;
        last.extend(names.filter(|n| modules.contains(*n)).map(str::to_owned));
    }
    let expected: Vec<(usize, BTreeSet<String>)> = LAYERS
        .iter()
        .enumerate()
        .map(|(rank, (_, m))| (rank, m.iter().map(|m| m.to_string()).collect()))
        .collect();
    assert_eq!(
        documented, expected,
        "src/lib.rs's layers vs the LAYERS table"
    );
}
