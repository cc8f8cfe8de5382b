//! Imports only point down. The server library, the agent's core and the
//! agent each list their layers, bottom first, in their crate root's doc
//! comment: `//! N. `a`, `b` — what they hold`, where `a` and `b` are
//! top-level modules (a folder or a file beside the root), and the same
//! number on two lines makes two sibling layers that never use each other.
//!
//! Every `crate::`, `super::` and `self::` path in every file of the crate
//! (in `use` items, groups included, and inline; test modules included) is
//! resolved to the module it names, a module being a file or folder two
//! levels deep (`domain::messages`, `http::admin`, `config`). The test fails
//! listing each path that goes up a layer or across to a sibling, each
//! circle between modules (a folder's root may use its own parts, which
//! does not count), each top-level module missing from the list, and each
//! file of the server's `domain` that names an HTTP crate. Needs no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The crates checked: a name, the root file, and the layers whose files
/// must not name an HTTP crate.
const CRATES: &[(&str, &str, &[&str])] = &[
    ("herald-server", "server-stub/src/lib.rs", &["domain"]),
    ("herald-core", "core/src/lib.rs", &[]),
    ("herald-agent", "agent/src/main.rs", &[]),
];

const HTTP_CRATES: &[&str] = &["axum", "hyper", "hyper_util", "tower", "tower_http"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One line of the layer list.
#[derive(Debug, Clone)]
struct Layer {
    rank: u32,
    /// Which line: two lines of the same rank are siblings.
    line: usize,
    modules: Vec<String>,
}

/// The numbered list in the root's `//!` comment: `N. `a`, `b` — text`,
/// an item going on over the lines indented under it.
fn layers(root_text: &str) -> Vec<Layer> {
    let mut items: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (line, text) in root_text.lines().enumerate() {
        let Some(doc) = text.strip_prefix("//!") else {
            open = false;
            continue;
        };
        let starts = doc.trim_start().starts_with(|c: char| c.is_ascii_digit());
        if starts {
            items.push((line + 1, doc.trim().to_owned()));
            open = true;
        } else if open && doc.starts_with("    ") {
            if let Some((_, item)) = items.last_mut() {
                item.push(' ');
                item.push_str(doc.trim());
            }
        } else {
            open = false;
        }
    }
    let mut out = Vec::new();
    for (line, doc) in items {
        let digits: String = doc.chars().take_while(char::is_ascii_digit).collect();
        let Some(rest) = doc[digits.len()..].strip_prefix(". ") else {
            continue;
        };
        let Some((names, _)) = rest.split_once(" — ") else {
            continue;
        };
        let modules: Vec<String> = names
            .split(',')
            .map(|n| n.trim().trim_matches('`').to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        if digits.is_empty() || modules.is_empty() {
            continue;
        }
        out.push(Layer {
            rank: digits.parse().unwrap(),
            line,
            modules,
        });
    }
    out
}

/// The text with comments and string and character literals blanked out,
/// newlines kept: what is left is code, and line numbers stay right.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
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
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            continue;
        }
        let after_ident = i > 0 && ident(chars[i - 1]);
        // Raw strings: r"…", r#"…"#, br#"…"#.
        if !after_ident && (c == 'r' || (c == 'b' && next == Some('r'))) {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = chars[start..].iter().take_while(|h| **h == '#').count();
            if chars.get(start + hashes) == Some(&'"') {
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let mut j = start + hashes + 1;
                while j < chars.len() && !chars[j..].starts_with(&close) {
                    j += 1;
                }
                let end = (j + close.len()).min(chars.len());
                for k in &chars[i..end] {
                    blank(&mut out, *k);
                }
                i = end;
                continue;
            }
        }
        if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                blank(&mut out, chars[i]);
                i += 1;
            }
            continue;
        }
        // A character literal, not a lifetime: '\…' or 'x'.
        if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            let mut j = i + 1;
            if chars[j] == '\\' {
                j += 2;
            } else {
                j += 1;
            }
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            for k in &chars[i..end] {
                blank(&mut out, *k);
            }
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

fn is_ident(t: Option<&(Tok, usize)>, name: &str) -> bool {
    matches!(t, Some((Tok::Ident(n), _)) if n == name)
}

/// A path a file names, as written, with where.
#[derive(Debug, Clone)]
struct Named {
    segments: Vec<String>,
    line: usize,
    /// The inline modules (`mod tests { … }`) it sits in.
    inline: Vec<String>,
}

/// Expands a `use` tree from `toks[*i]` on, each path prefixed.
fn use_tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    prefix: &[String],
    inline: &[String],
    out: &mut Vec<Named>,
) {
    let mut segs = prefix.to_vec();
    while let Some((t, line)) = toks.get(*i) {
        match t {
            Tok::Sep => *i += 1,
            Tok::Punct('{') => {
                *i += 1;
                loop {
                    if matches!(toks.get(*i), Some((Tok::Punct('}'), _))) {
                        *i += 1;
                        break;
                    }
                    use_tree(toks, i, &segs, inline, out);
                    match toks.get(*i) {
                        Some((Tok::Punct(','), _)) => *i += 1,
                        Some((Tok::Punct('}'), _)) => {
                            *i += 1;
                            break;
                        }
                        _ => return,
                    }
                }
                return;
            }
            Tok::Punct('*') => {
                *i += 1;
                out.push(Named {
                    segments: segs,
                    line: *line,
                    inline: inline.to_vec(),
                });
                return;
            }
            Tok::Ident(name) => {
                if name != "self" || segs.is_empty() {
                    segs.push(name.clone());
                }
                *i += 1;
                if matches!(toks.get(*i), Some((Tok::Sep, _))) {
                    continue;
                }
                if is_ident(toks.get(*i), "as") {
                    *i += 2;
                }
                out.push(Named {
                    segments: segs,
                    line: *line,
                    inline: inline.to_vec(),
                });
                return;
            }
            Tok::Punct(_) => return,
        }
    }
}

/// What one file declares and names.
struct Scan {
    /// `mod x;`: files of their own.
    children: Vec<String>,
    named: Vec<Named>,
    /// Where an HTTP crate is named, by line.
    http: Vec<(usize, String)>,
}

fn scan(text: &str) -> Scan {
    let toks = tokens(&strip(text));
    let mut scan = Scan {
        children: Vec::new(),
        named: Vec::new(),
        http: Vec::new(),
    };
    let mut depth = 0usize;
    // Inline modules open, with the depth their body is at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (t, line) = &toks[i];
        let names = || inline.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(k) if k == "mod" => {
                if let Some((Tok::Ident(name), _)) = toks.get(i + 1) {
                    match toks.get(i + 2) {
                        Some((Tok::Punct(';'), _)) if inline.is_empty() => {
                            scan.children.push(name.clone());
                        }
                        Some((Tok::Punct('{'), _)) => {
                            inline.push((name.clone(), depth + 1));
                        }
                        _ => {}
                    }
                }
            }
            Tok::Ident(k) if k == "use" => {
                let inline_now = names();
                let mut found = Vec::new();
                i += 1;
                use_tree(&toks, &mut i, &[], &inline_now, &mut found);
                scan.named.extend(
                    found
                        .into_iter()
                        .filter(|n| matches!(n.segments[0].as_str(), "crate" | "super" | "self")),
                );
                continue;
            }
            Tok::Ident(k)
                if matches!(k.as_str(), "crate" | "super" | "self")
                    && matches!(toks.get(i + 1), Some((Tok::Sep, _)))
                    && !matches!(toks.get(i.wrapping_sub(1)), Some((Tok::Sep, _))) =>
            {
                let mut segs = vec![k.clone()];
                let mut j = i + 1;
                while matches!(toks.get(j), Some((Tok::Sep, _))) {
                    match toks.get(j + 1) {
                        Some((Tok::Ident(n), _)) => {
                            segs.push(n.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                scan.named.push(Named {
                    segments: segs,
                    line: *line,
                    inline: names(),
                });
                i = j;
                continue;
            }
            Tok::Ident(k)
                if HTTP_CRATES.contains(&k.as_str())
                    && matches!(toks.get(i + 1), Some((Tok::Sep, _)))
                    && !matches!(toks.get(i.wrapping_sub(1)), Some((Tok::Sep, _))) =>
            {
                scan.http.push((*line, k.clone()));
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

/// A file of the crate and its module path (empty for the root).
struct File {
    path: PathBuf,
    module: Vec<String>,
    scan: Scan,
}

/// Every file of the crate, by following `mod x;` from the root.
fn files(root_file: &Path) -> Vec<File> {
    let mut out = Vec::new();
    let mut todo = vec![(root_file.to_owned(), Vec::<String>::new())];
    while let Some((path, module)) = todo.pop() {
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let scan = scan(&text);
        let owns_dir = module.is_empty() || path.file_name().is_some_and(|n| n == "mod.rs");
        let dir = if owns_dir {
            path.parent().unwrap().to_owned()
        } else {
            path.with_extension("")
        };
        for child in &scan.children {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(child).join("mod.rs");
            let file = if flat.exists() { flat } else { nested };
            assert!(file.exists(), "{}: no file for `mod {child};`", rel(&path));
            let mut m = module.clone();
            m.push(child.clone());
            todo.push((file, m));
        }
        out.push(File { path, module, scan });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The module a path names, two levels deep at most; `None` for an item of
/// the root that is no re-export (a macro).
fn resolve(
    named: &Named,
    file: &File,
    modules: &BTreeSet<Vec<String>>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut abs: Vec<String> = Vec::new();
    let mut segs = named.segments.iter().peekable();
    match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segs.next();
        }
        Some("super" | "self") => {
            abs = file.module.clone();
            abs.extend(named.inline.iter().cloned());
            if segs.peek().map(|s| s.as_str()) == Some("self") {
                segs.next();
            }
            while segs.peek().map(|s| s.as_str()) == Some("super") {
                segs.next();
                abs.pop();
            }
        }
        _ => return None,
    }
    abs.extend(segs.cloned());
    let longest = |abs: &[String]| {
        (0..=abs.len())
            .rev()
            .map(|n| abs[..n].to_vec())
            .find(|p| p.is_empty() || modules.contains(p))
            .unwrap_or_default()
    };
    let mut found = longest(&abs);
    if found.is_empty() {
        let first = abs.first()?;
        let target = reexports.get(first)?;
        let mut again = target.clone();
        again.extend(abs[1..].iter().cloned());
        found = longest(&again);
        if found.is_empty() {
            return None;
        }
    }
    found.truncate(2);
    Some(found)
}

fn key(m: &[String]) -> String {
    m.join("::")
}

/// What one import is: from which module to which, where.
struct Edge {
    from: String,
    to: String,
    at: String,
    path: String,
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// What a crate breaks, each problem one line.
#[derive(Default)]
struct Report {
    upward: Vec<String>,
    sideways: Vec<String>,
    circles: Vec<String>,
    other: Vec<String>,
}

fn check(root_file: &Path, no_http: &[&str]) -> Report {
    let mut report = Report::default();
    let root_text = fs::read_to_string(root_file).unwrap();
    let layers = layers(&root_text);
    if layers.is_empty() {
        report.other.push(format!(
            "{}: no layer list in its doc comment",
            rel(root_file)
        ));
        return report;
    }
    let mut layer_of: BTreeMap<String, Layer> = BTreeMap::new();
    for l in &layers {
        for m in &l.modules {
            layer_of.insert(m.clone(), l.clone());
        }
    }
    let files = files(root_file);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    for top in modules.iter().filter(|m| m.len() == 1) {
        if !layer_of.contains_key(&top[0]) {
            report
                .other
                .push(format!("module `{}` is in no layer of the list", top[0]));
        }
    }
    // The root's `pub use` items, for `crate::Name` paths.
    let mut reexports = BTreeMap::new();
    let mut found = Vec::new();
    let toks = tokens(&strip(&root_text));
    for i in 0..toks.len() {
        if is_ident(toks.get(i), "use") {
            let mut j = i + 1;
            use_tree(&toks, &mut j, &[], &[], &mut found);
        }
    }
    for n in found {
        let mut path = n.segments;
        if path.first().is_some_and(|s| s == "crate") {
            path.remove(0);
        }
        if let Some(last) = path.last() {
            reexports.insert(last.clone(), path.clone());
        }
    }

    let mut edges = Vec::new();
    for f in files.iter().filter(|f| !f.module.is_empty()) {
        let from: Vec<String> = f.module.iter().take(2).cloned().collect();
        if no_http.contains(&from[0].as_str()) {
            for (line, name) in &f.scan.http {
                report.other.push(format!(
                    "{}:{line}: `{name}` in layer `{}`, which names no HTTP crate",
                    rel(&f.path),
                    from[0]
                ));
            }
        }
        for n in &f.scan.named {
            let Some(to) = resolve(n, f, &modules, &reexports) else {
                continue;
            };
            // The same module, or a folder's root using its own parts.
            if to.is_empty() || to.starts_with(&from) {
                continue;
            }
            edges.push(Edge {
                from: key(&from),
                to: key(&to),
                at: format!("{}:{}", rel(&f.path), n.line),
                path: n.segments.join("::"),
            });
        }
    }
    let top = |k: &str| k.split("::").next().unwrap_or_default().to_owned();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &edges {
        graph
            .entry(e.from.clone())
            .or_default()
            .insert(e.to.clone());
        let (Some(a), Some(b)) = (layer_of.get(&top(&e.from)), layer_of.get(&top(&e.to))) else {
            continue;
        };
        let line = format!(
            "{}: {} — `{}` (layer {}) uses `{}` (layer {})",
            e.at, e.path, e.from, a.rank, e.to, b.rank
        );
        if b.rank > a.rank {
            report.upward.push(line);
        } else if b.rank == a.rank && b.line != a.line {
            report.sideways.push(line + ", a sibling");
        }
    }
    for c in circles(&graph) {
        let inside: Vec<String> = edges
            .iter()
            .filter(|e| c.contains(&e.from) && c.contains(&e.to))
            .map(|e| format!("    {}: {} → {} ({})", e.at, e.from, e.to, e.path))
            .collect();
        report.circles.push(format!(
            "circle between {}:\n{}",
            c.join(", "),
            inside.join("\n")
        ));
    }
    report
}

#[test]
fn imports_only_point_down() {
    let mut problems = Vec::new();
    for (name, root_file, no_http) in CRATES {
        let r = check(&root().join(root_file), no_http);
        eprintln!(
            "{name}: {} upward, {} between siblings, {} circles, {} other",
            r.upward.len(),
            r.sideways.len(),
            r.circles.len(),
            r.other.len()
        );
        for p in r
            .upward
            .iter()
            .chain(&r.sideways)
            .chain(&r.circles)
            .chain(&r.other)
        {
            problems.push(format!("{name}: {p}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} import(s) break the layers:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_scanner_reads_paths_as_rust_does() {
    let text = r##"
//! crate::in_a_doc
use crate::{a, b::{self, c}, d::*};
use super::e as f;
fn g() -> &'static str {
    let _ = 'x';
    let _ = '\'';
    let _ = r#"crate::in_a_string"#;
    crate::h::i();
    "crate::also_in_a_string"
}
pub(crate) fn j() {}
#[cfg(test)]
mod tests {
    use super::*;
    mod deeper { use super::super::k; }
}
mod child;
"##;
    let s = scan(text);
    let got: Vec<(String, usize, String)> = s
        .named
        .iter()
        .map(|n| (n.segments.join("::"), n.line, n.inline.join("::")))
        .collect();
    let want = [
        ("crate::a", 3, ""),
        ("crate::b", 3, ""),
        ("crate::b::c", 3, ""),
        ("crate::d", 3, ""),
        ("super::e", 4, ""),
        ("crate::h::i", 9, ""),
        ("super", 15, "tests"),
        ("super::super::k", 16, "tests::deeper"),
    ];
    let want: Vec<(String, usize, String)> = want
        .iter()
        .map(|(p, l, i)| ((*p).to_owned(), *l, (*i).to_owned()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(s.children, vec!["child".to_owned()]);

    // `super` inside `mod tests` is the file's own module.
    let file = File {
        path: PathBuf::from("x/y.rs"),
        module: vec!["x".into(), "y".into()],
        scan: Scan {
            children: Vec::new(),
            named: Vec::new(),
            http: Vec::new(),
        },
    };
    let modules: BTreeSet<Vec<String>> = [vec![], vec!["x".into()], vec!["x".into(), "y".into()]]
        .into_iter()
        .collect();
    let none = BTreeMap::new();
    let at = |i: usize| resolve(&s.named[i], &file, &modules, &none).map(|m| key(&m));
    assert_eq!(at(6).as_deref(), Some("x::y"));
    assert_eq!(at(7).as_deref(), Some("x::y"));
    assert_eq!(at(4).as_deref(), Some("x"));
}

#[test]
fn the_layer_list_is_read_from_the_doc_comment() {
    let l = layers(
        "//! Intro.\n//!\n//! 1. `a`, `b` — below.\n//!    more text\n//! 2. `c`,\n//!    `e` —\n//!    x.\n//! 2. `d` — y.\nfn x() {}\n",
    );
    let got: Vec<(u32, Vec<String>)> = l.iter().map(|l| (l.rank, l.modules.clone())).collect();
    assert_eq!(
        got,
        vec![
            (1, vec!["a".to_owned(), "b".to_owned()]),
            (2, vec!["c".to_owned(), "e".to_owned()]),
            (2, vec!["d".to_owned()]),
        ]
    );
    assert_ne!(l[1].line, l[2].line);
}
