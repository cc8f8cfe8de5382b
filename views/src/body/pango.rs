//! Pango markup for the GTK popup: one string per block, for one label per
//! block. Text is escaped wherever it goes, so the only elements are the
//! ones written here: `b`, `i`, `s`, `tt`, `span` with `size` and
//! `weight`, and `a` with an http, https or mailto `href` (GtkLabel takes
//! `a` itself and reports a click with `activate-link`).

use super::layout::{leaves, LeafKind};
use super::model::{link_target, visible, Block, Inline};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PangoBlock {
    pub kind: PangoKind,
    /// Lists around the block; its indentation, with `quote_depth`.
    pub list_depth: usize,
    /// Quotes around the block.
    pub quote_depth: usize,
    /// The bullet or number of the list item this block opens: plain text
    /// to set with `set_text`, not markup.
    pub marker: Option<String>,
    pub markup: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PangoKind {
    /// Level 1 to 6; the size is already in the markup.
    Heading(u8),
    Paragraph,
    /// Monospace is in the markup; the lines are the label's lines.
    Code,
    /// Empty markup: the GTK layer draws a separator.
    Rule,
}

const HEADING_SIZES: [&str; 6] = ["xx-large", "x-large", "large", "medium", "medium", "medium"];

pub fn to_pango(blocks: &[Block]) -> Vec<PangoBlock> {
    leaves(blocks)
        .into_iter()
        .map(|leaf| {
            let mut markup = String::new();
            let kind = match leaf.kind {
                LeafKind::Heading(level, content) => {
                    let size = HEADING_SIZES[usize::from(level.clamp(1, 6)) - 1];
                    markup.push_str(&format!("<span size=\"{size}\" weight=\"bold\">"));
                    inlines(&mut markup, content);
                    markup.push_str("</span>");
                    PangoKind::Heading(level)
                }
                LeafKind::Paragraph(content) => {
                    inlines(&mut markup, content);
                    PangoKind::Paragraph
                }
                LeafKind::Code(text) => {
                    markup.push_str("<tt>");
                    escape(&mut markup, text);
                    markup.push_str("</tt>");
                    PangoKind::Code
                }
                LeafKind::Rule => PangoKind::Rule,
            };
            PangoBlock {
                kind,
                list_depth: leaf.list_depth,
                quote_depth: leaf.quote_depth,
                marker: leaf.marker,
                markup,
            }
        })
        .collect()
}

fn inlines(out: &mut String, content: &[Inline]) {
    for inline in content {
        match inline {
            Inline::Text(text) => escape(out, text),
            Inline::Bold(inner) => element(out, "b", inner),
            Inline::Italic(inner) => element(out, "i", inner),
            Inline::Strike(inner) => element(out, "s", inner),
            Inline::Code(text) => {
                out.push_str("<tt>");
                escape(out, text);
                out.push_str("</tt>");
            }
            Inline::Link { target, content } => match link_target(target) {
                Some(target) => {
                    out.push_str("<a href=\"");
                    escape(out, &target);
                    out.push_str("\">");
                    inlines(out, content);
                    out.push_str("</a>");
                }
                None => inlines(out, content),
            },
            Inline::LineBreak => out.push('\n'),
        }
    }
}

fn element(out: &mut String, name: &str, content: &[Inline]) {
    out.push_str(&format!("<{name}>"));
    inlines(out, content);
    out.push_str(&format!("</{name}>"));
}

/// Escapes text for Pango markup, in an element or a quoted attribute.
pub(super) fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if visible(c) => out.push(c),
            _ => {}
        }
    }
}
