//! The README and the book under docs/ (an mdBook source) point at each
//! other and at their pictures with relative links. Every relative link and
//! image in README.md and in every .md under docs/src must resolve to a file,
//! a chapter in the book must not point outside docs/src (mdBook serves only
//! that folder), SUMMARY.md must list every chapter and only chapters that
//! exist, and the README must stay a short map of at most 250 lines.
//! Needs no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

const README_MAX_LINES: usize = 250;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn book_src() -> PathBuf {
    root().join("docs/src")
}

/// Every .md file under `dir`, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A link, image or include found in a Markdown file.
#[derive(Debug)]
struct Target {
    /// Where it starts, in bytes, and on which line.
    at: usize,
    line: usize,
    target: String,
    /// An mdBook `{{#include FILE}}`, resolved when the book is built: it may
    /// reach outside docs/src.
    include: bool,
    /// The include's anchor (`{{#include FILE:anchor}}`), if any.
    anchor: Option<String>,
}

/// The text with fenced code blocks and inline code spans blanked out, byte
/// for byte and newlines kept, so that offsets and line numbers stay right:
/// a link written in code is not a link.
fn mask_code(text: &str) -> String {
    let mut out = text.as_bytes().to_vec();
    let blank = |bytes: &mut [u8]| {
        for b in bytes {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    // Fenced blocks, line by line.
    let mut fence: Option<(char, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |c| trimmed.chars().take_while(|x| *x == c).count());
        let in_block = match fence {
            None if run >= 3 => {
                fence = marker.map(|c| (c, run));
                true
            }
            None => false,
            Some((c, n)) => {
                if marker == Some(c) && run >= n && trimmed.trim_start_matches(c).trim().is_empty()
                {
                    fence = None;
                }
                true
            }
        };
        if in_block {
            blank(&mut out[offset..offset + line.len()]);
        }
        offset += line.len();
    }
    // Inline code spans: a run of N backticks up to the next run of exactly
    // N, within one paragraph. Backticks and newlines are ASCII, so bytes do.
    let bytes = out.clone();
    let run_at = |k: usize| bytes[k..].iter().take_while(|b| **b == b'`').count();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'\n' {
                let next = bytes[j + 1..].split(|b| *b == b'\n').next().unwrap_or(&[]);
                if next.iter().all(u8::is_ascii_whitespace) {
                    break; // a blank line ends the paragraph
                }
            }
            if bytes[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j + m);
                    break;
                }
                j += m;
                continue;
            }
            j += 1;
        }
        match close {
            Some(end) => {
                blank(&mut out[i..end]);
                i = end;
            }
            None => i += n,
        }
    }
    String::from_utf8(out).expect("blanking whole characters keeps UTF-8")
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

/// The target of an inline link after its `](`: up to the closing
/// parenthesis, without a title, `<...>` unwrapped.
fn inline_target(rest: &str) -> String {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        return inner.split('>').next().unwrap_or("").to_owned();
    }
    let mut depth = 0usize;
    let mut end = rest.len();
    for (k, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = k;
                break;
            }
            ')' => depth -= 1,
            c if c.is_whitespace() => {
                end = k;
                break;
            }
            _ => {}
        }
    }
    rest[..end].to_owned()
}

/// The value of attribute `name` in an HTML tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(k) = lower[from..].find(name) {
        let at = from + k;
        from = at + name.len();
        if !lower[..at].ends_with(char::is_whitespace) {
            continue;
        }
        let Some(rest) = tag[from..].trim_start().strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(value.to_owned());
    }
    None
}

/// Every link, image, HTML `<img src>` / `<a href>`, reference definition
/// and mdBook include in a Markdown text, outside code, in order.
fn targets(text: &str) -> Vec<Target> {
    let masked = mask_code(text);
    let mut found = Vec::new();
    let mut add = |at: usize, target: &str, include: bool, anchor: Option<String>| {
        found.push(Target {
            at,
            line: line_of(text, at),
            target: target.to_owned(),
            include,
            anchor,
        });
    };
    // Inline links and images: [text](target), ![alt](target).
    let mut from = 0;
    while let Some(k) = masked[from..].find("](") {
        let at = from + k + 2;
        add(at, &inline_target(&masked[at..]), false, None);
        from = at;
    }
    // Reference definitions: [name]: target
    let mut offset = 0;
    for line in masked.split_inclusive('\n') {
        let t = line.trim_start();
        if line.len() - t.len() <= 3 && t.starts_with('[') && !t.starts_with("[^") {
            if let Some(close) = t.find("]:").filter(|c| !t[1..*c].contains('[')) {
                let target = t[close + 2..].split_whitespace().next().unwrap_or("");
                let target = target.trim_start_matches('<').trim_end_matches('>');
                add(offset, target, false, None);
            }
        }
        offset += line.len();
    }
    // HTML: <img src=...>, <a href=...>.
    let lower = masked.to_ascii_lowercase();
    for (tag, attr) in [("<img", "src"), ("<a", "href")] {
        let mut from = 0;
        while let Some(k) = lower[from..].find(tag) {
            let at = from + k;
            from = at + tag.len();
            if !masked[from..].starts_with(char::is_whitespace) {
                continue;
            }
            let end = masked[at..].find('>').map_or(masked.len(), |e| at + e);
            if let Some(value) = attribute(&masked[at..end], attr) {
                add(at, &value, false, None);
            }
        }
    }
    // mdBook includes, in code or not: {{#include FILE}}, FILE:anchor,
    // FILE:from:to.
    for directive in ["{{#include ", "{{#rustdoc_include "] {
        let mut from = 0;
        while let Some(k) = text[from..].find(directive) {
            let at = from + k;
            from = at + directive.len();
            let arg = text[from..].split("}}").next().unwrap_or("").trim();
            let (file, anchor) = arg.split_once(':').unwrap_or((arg, ""));
            let anchor = (!anchor.is_empty() && !anchor.starts_with(|c: char| c.is_ascii_digit()))
                .then(|| anchor.to_owned());
            add(at, file, true, anchor);
        }
    }
    found.sort_by_key(|t| t.at);
    found
}

fn is_external(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `path` with `.` and `..` taken away, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with one target of `file`, if anything: `None` for a
/// target that resolves, or that is not checked (external, a pure anchor).
fn check(file: &Path, t: &Target) -> Option<String> {
    let raw = t.target.trim();
    if is_external(raw) || raw.starts_with('#') {
        return None;
    }
    let path = raw.split(['#', '?']).next().unwrap_or("");
    if path.is_empty() {
        return Some("empty link".to_owned());
    }
    if path.starts_with('/') {
        return Some("absolute path: make it relative to the file".to_owned());
    }
    let resolved = normalize(&file.parent().unwrap().join(percent_decode(path)));
    if !resolved.exists() {
        return Some("no such file".to_owned());
    }
    let src = book_src();
    if !t.include && file.starts_with(&src) && !resolved.starts_with(&src) {
        return Some("leaves docs/src, which the built book does not serve".to_owned());
    }
    if let Some(anchor) = &t.anchor {
        let text = fs::read_to_string(&resolved).unwrap_or_default();
        let marked = has_marker(&text, &format!("ANCHOR: {anchor}"))
            && has_marker(&text, &format!("ANCHOR_END: {anchor}"));
        if !marked {
            return Some(format!(
                "no \"ANCHOR: {anchor}\" / \"ANCHOR_END: {anchor}\" in it"
            ));
        }
    }
    None
}

/// Whether `marker` is in `text` as a whole word (`ANCHOR: intro`, not
/// `ANCHOR: introduction`).
fn has_marker(text: &str, marker: &str) -> bool {
    text.match_indices(marker).any(|(at, _)| {
        !text[at + marker.len()..]
            .starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
    })
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every problem with the links of one file, as "file:line: target: why".
fn broken_in(file: &Path) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    targets(&text)
        .iter()
        .filter_map(|t| {
            let why = check(file, t)?;
            Some(format!("{}:{}: {}: {why}", rel(file), t.line, t.target))
        })
        .collect()
}

#[test]
fn every_relative_link_and_image_resolves() {
    let mut files = vec![root().join("README.md")];
    files.extend(markdown_files(&book_src()));
    assert!(files.len() > 10, "the book has chapters: {files:?}");
    // A scanner that found nothing would pass: the README alone shows nine
    // pictures and links every chapter.
    let relative = files
        .iter()
        .flat_map(|f| targets(&fs::read_to_string(f).unwrap()))
        .filter(|t| !is_external(&t.target) && !t.target.starts_with('#'))
        .count();
    assert!(relative > 100, "only {relative} relative links found");
    let broken: Vec<String> = files.iter().flat_map(|f| broken_in(f)).collect();
    assert!(
        broken.is_empty(),
        "{} broken link(s) in README.md and docs/src:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn summary_lists_every_chapter_and_only_chapters_that_exist() {
    let src = book_src();
    let summary = src.join("SUMMARY.md");
    let text = fs::read_to_string(&summary).unwrap();
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for t in targets(&text) {
        if is_external(&t.target) {
            continue;
        }
        let path = normalize(&src.join(t.target.split('#').next().unwrap_or("")));
        if !path.is_file() {
            problems.push(format!(
                "docs/src/SUMMARY.md:{}: {}: no such chapter",
                t.line, t.target
            ));
        }
        listed.insert(path);
    }
    for chapter in markdown_files(&src) {
        if chapter != summary && !listed.contains(&chapter) {
            problems.push(format!(
                "{}: not listed in docs/src/SUMMARY.md",
                rel(&chapter)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn readme_is_a_short_map() {
    let text = fs::read_to_string(root().join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into a chapter under docs/src"
    );
    for command in ["./scripts/demo", "./scripts/test"] {
        assert!(
            text.lines().any(|l| l.starts_with(command)),
            "README.md no longer shows `{command}`"
        );
    }
}

/// The scanner itself: what it finds and what it leaves alone.
#[test]
fn the_scanner_finds_links_outside_code_only() {
    let text = "\
# T

A [link](a.md#part) and ![pic](images/p.png \"title\") and [web](https://x.example).
`[not](code.md)` and ``[nor](this.md)``, a span `[x](<img
...>)` over two lines, and [a link that
wraps](wrapped.md).

```sh
[fenced](no.md)
```

  ```
  [indented fence](no2.md)
  ```

<img src=\"html.png\" alt=\"x\"> <a href='page.md'>p</a> [anchor](#here)

[ref]: ref.md
{{#include ../x.md:intro}}
";
    let all = targets(text);
    let found: Vec<(usize, &str)> = all.iter().map(|t| (t.line, t.target.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (3, "a.md#part"),
            (3, "images/p.png"),
            (3, "https://x.example"),
            (6, "wrapped.md"),
            (16, "html.png"),
            (16, "page.md"),
            (16, "#here"),
            (18, "ref.md"),
            (19, "../x.md"),
        ]
    );
    let include = all.last().unwrap();
    assert!(include.include);
    assert_eq!(include.anchor.as_deref(), Some("intro"));
}
