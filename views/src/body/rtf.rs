//! RTF for the Windows popup's RichEdit control: one document, a paragraph
//! per block. Text is escaped wherever it goes (braces and backslashes,
//! everything outside ASCII as `\uN?`), so the only control words are the
//! ones written here; links are HYPERLINK fields, which RichEdit 4.1 and
//! later show as links and report with EN_LINK.

use super::layout::{leaves, Leaf, LeafKind};
use super::model::{link_target, visible, Block, Inline};

/// Segoe UI for text, Consolas for code; RichEdit falls back on its own
/// when a font is missing. Body text is 10 pt (`\fs` counts half-points).
const HEADER: &str = "{\\rtf1\\ansi\\ansicpg1252\\deff0\\uc1\
{\\fonttbl{\\f0\\fswiss Segoe UI;}{\\f1\\fmodern Consolas;}}\\f0\\fs20\n";

/// Heading sizes in half-points, level 1 to 6.
const HEADING_SIZES: [u32; 6] = [36, 30, 26, 22, 22, 22];

/// One level of list or quote indentation, in twips (a quarter inch).
const INDENT: usize = 360;

const RULE: &str = "\u{2500}";
const RULE_WIDTH: usize = 30;

pub fn to_rtf(blocks: &[Block]) -> String {
    let mut out = String::from(HEADER);
    for leaf in leaves(blocks) {
        paragraph(&mut out, &leaf);
    }
    out.push('}');
    out
}

fn paragraph(out: &mut String, leaf: &Leaf) {
    let indent = INDENT * (leaf.list_depth + leaf.quote_depth);
    out.push_str("\\pard\\sa120");
    if indent > 0 {
        out.push_str(&format!("\\li{indent}"));
    }
    match &leaf.marker {
        // A hanging indent: the marker in the margin, a tab to the text.
        Some(marker) => {
            out.push_str(&format!("\\fi-{INDENT}\\tx{indent} "));
            text(out, marker);
            out.push_str("\\tab ");
        }
        None => out.push(' '),
    }
    match leaf.kind {
        LeafKind::Heading(level, content) => {
            let size = HEADING_SIZES[usize::from(level.clamp(1, 6)) - 1];
            out.push_str(&format!("{{\\b\\fs{size} "));
            inlines(out, content);
            out.push('}');
        }
        LeafKind::Paragraph(content) => inlines(out, content),
        LeafKind::Code(code) => {
            out.push_str("{\\f1\\fs18 ");
            text(out, code);
            out.push('}');
        }
        LeafKind::Rule => {
            out.push_str("{\\f1 ");
            text(out, &RULE.repeat(RULE_WIDTH));
            out.push('}');
        }
    }
    out.push_str("\\par\n");
}

fn inlines(out: &mut String, content: &[Inline]) {
    for inline in content {
        match inline {
            Inline::Text(t) => text(out, t),
            Inline::Bold(inner) => group(out, "\\b ", inner),
            Inline::Italic(inner) => group(out, "\\i ", inner),
            Inline::Strike(inner) => group(out, "\\strike ", inner),
            Inline::Code(code) => {
                out.push_str("{\\f1 ");
                text(out, code);
                out.push('}');
            }
            Inline::Link { target, content } => match link_target(target) {
                // `link_target` has percent-encoded any quote or backslash,
                // so the target cannot close the field's instruction.
                Some(target) => {
                    out.push_str("{\\field{\\*\\fldinst{HYPERLINK \"");
                    text(out, &target);
                    out.push_str("\"}}{\\fldrslt{");
                    inlines(out, content);
                    out.push_str("}}}");
                }
                None => inlines(out, content),
            },
            Inline::LineBreak => out.push_str("\\line "),
        }
    }
}

fn group(out: &mut String, control: &str, content: &[Inline]) {
    out.push('{');
    out.push_str(control);
    inlines(out, content);
    out.push('}');
}

/// Escapes text for RTF. Outside ASCII every character is `\uN?`: N is a
/// signed 16-bit UTF-16 unit (two of them above U+FFFF), `?` the fallback
/// a reader without Unicode shows, skipped by one with it (`\uc1`).
pub(super) fn text(out: &mut String, text: &str) {
    let mut units = [0u16; 2];
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' => out.push_str("\\line "),
            '\t' => out.push_str("\\tab "),
            c if !visible(c) => {}
            c if c.is_ascii() => out.push(c),
            c => {
                for unit in c.encode_utf16(&mut units) {
                    // The cast keeps the bits: RTF wants them signed.
                    out.push_str(&format!("\\u{}?", *unit as i16));
                }
            }
        }
    }
}
