//! The hostile corpus (`tests/data/xss.txt`) through both emitters: as
//! Markdown, and as text put straight into the model. Whatever a payload
//! holds, the Pango markup has only the emitter's elements and the RTF only
//! its control words, the RTF's links are runs of its own text with an
//! allowed target, and the payload's text comes back out of them as text.

use super::check::{pango_agrees, pango_text, rich_links, rtf_text, SCHEMES};
use super::*;
use crate::xss_tests::payloads;

use Inline::{Bold, Italic, Link, Strike, Text};

/// What a reader sees of each, as the strict readers decode it.
fn outputs(blocks: &[Block], context: &str) -> (String, String) {
    let mut pango = String::new();
    for block in to_pango(blocks) {
        let text = pango_text(&block.markup)
            .unwrap_or_else(|e| panic!("{e} in {:?} from {context:?}", block.markup));
        pango.push_str(&text);
        pango.push('\n');
        pango_agrees(&block.markup, &text, context);
    }
    let rich = to_rich_text(blocks);
    let rtf = rtf_text(&rich.rtf).unwrap_or_else(|e| panic!("{e} in {rich:?} from {context:?}"));
    rich_links(&rich, &rtf).unwrap_or_else(|e| panic!("{e} in {rich:?} from {context:?}"));
    (pango, rtf)
}

/// Every piece of text in the model, which both outputs must show.
fn texts(blocks: &[Block]) -> Vec<String> {
    fn inlines(content: &[Inline], out: &mut Vec<String>) {
        for inline in content {
            match inline {
                Text(t) | Inline::Code(t) => out.push(t.clone()),
                Bold(c) | Italic(c) | Strike(c) | Link { content: c, .. } => inlines(c, out),
                Inline::LineBreak => {}
            }
        }
    }
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Heading { content, .. } | Block::Paragraph(content) => {
                inlines(content, &mut out)
            }
            Block::List { items, .. } => items.iter().for_each(|i| out.extend(texts(i))),
            Block::Quote(inner) => out.extend(texts(inner)),
            Block::Code(t) => out.push(t.clone()),
            Block::Rule => {}
        }
    }
    out
}

fn assert_shown(blocks: &[Block], wanted: &[String], context: &str) {
    let (pango, rtf) = outputs(blocks, context);
    for text in wanted {
        assert!(pango.contains(text.as_str()), "{text:?} not in {pango:?}");
        assert!(rtf.contains(text.as_str()), "{text:?} not in {rtf:?}");
    }
}

#[test]
fn every_payload_as_markdown_gives_only_our_markup() {
    let mut links = 0;
    for p in payloads() {
        for markdown in [
            p.clone(),
            format!("**{p}**"),
            format!("# {p}"),
            format!("[{p}](https://x.example/)"),
            format!("[link]({p})"),
            format!("<{p}>"),
            format!("- {p}\n- [x]({p})\n\n> {p}\n\n`{p}`"),
            format!("| {p} | a |\n|---|---|\n| *{p}* | b |"),
        ] {
            let blocks = parse(&markdown);
            assert_shown(&blocks, &texts(&blocks), &markdown);
            links += to_rich_text(&blocks).links.len();
        }
    }
    // The corpus has http links among its payloads: runs were checked.
    assert!(links > 0);
}

#[test]
fn every_payload_as_text_comes_out_as_text() {
    for p in payloads() {
        // Tabs stay; other control characters are dropped by design.
        let shown: String = p
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let t = || vec![Text(p.clone())];
        for blocks in [
            vec![Block::Paragraph(t())],
            vec![Block::Paragraph(vec![Bold(t()), Italic(t()), Strike(t())])],
            vec![Block::Heading {
                level: 1,
                content: t(),
            }],
            vec![Block::Paragraph(vec![Link {
                target: "https://x.example/".into(),
                content: t(),
            }])],
            vec![Block::Paragraph(vec![Inline::Code(p.clone())])],
            vec![Block::Code(p.clone())],
            vec![Block::Quote(vec![Block::List {
                start: Some(1),
                items: vec![vec![Block::Paragraph(t())]],
            }])],
        ] {
            assert_shown(&blocks, std::slice::from_ref(&shown), &p);
        }
    }
}

#[test]
fn every_payload_as_a_link_target_is_dropped_or_made_safe() {
    for p in payloads() {
        let blocks = vec![Block::Paragraph(vec![Link {
            target: p.clone(),
            content: vec![Text("x".into())],
        }])];
        // The strict readers check every target the emitters keep.
        let (pango, rtf) = outputs(&blocks, &p);
        assert_eq!((pango.as_str(), rtf.as_str()), ("x\n", "x\n"), "{p:?}");
        let kept = to_pango(&blocks)[0].markup.starts_with("<a ");
        let allowed = SCHEMES
            .iter()
            .any(|s| p.trim().to_ascii_lowercase().starts_with(s));
        assert!(!kept || allowed, "{p:?} kept as a link");
    }
}
