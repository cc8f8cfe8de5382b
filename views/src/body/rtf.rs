//! RTF for the Windows popup's RichEdit control: one document, a paragraph
//! per block. Text is escaped wherever it goes (braces and backslashes,
//! everything outside ASCII as `\uN?`), so the only control words are the
//! ones written here.
//!
//! Links are not RTF fields: wine's RichEdit drops a field's text, and
//! Windows' keeps the URL as hidden text in the control's character
//! positions. A link is an underlined run in the link colour, and the
//! emitter counts the characters the control will hold, so that the popup
//! can mark each run as a link (CFE_LINK) and knows its target when
//! EN_LINK names a position.

use super::layout::{leaves, Leaf, LeafKind};
use super::model::{link_target, visible, Block, Inline};

/// Segoe UI for text, Consolas for code; RichEdit falls back on its own
/// when a font is missing. Body text is 10 pt (`\fs` counts half-points).
/// Colour 1 is the links' blue, 2 the quotes' grey, as the page had them.
const HEADER: &str = "{\\rtf1\\ansi\\ansicpg1252\\deff0\\uc1\
{\\fonttbl{\\f0\\fswiss Segoe UI;}{\\f1\\fmodern Consolas;}}\
{\\colortbl;\\red31\\green95\\blue168;\\red85\\green85\\blue85;}\\f0\\fs20\n";

/// Heading sizes in half-points, level 1 to 6.
const HEADING_SIZES: [u32; 6] = [36, 30, 26, 22, 22, 22];

/// One level of list or quote indentation, in twips (a quarter inch).
const INDENT: usize = 360;

const RULE: &str = "\u{2500}";
const RULE_WIDTH: usize = 30;

/// A body for RichEdit: the document, and where its links are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichText {
    pub rtf: String,
    pub links: Vec<RichLink>,
}

/// A link's run in the control's text, in UTF-16 units from its start, as
/// RichEdit counts character positions (a paragraph end, a line break and
/// a tab are one each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichLink {
    pub start: usize,
    pub end: usize,
    /// Has passed `link_target`.
    pub target: String,
}

pub fn to_rtf(blocks: &[Block]) -> String {
    to_rich_text(blocks).rtf
}

pub fn to_rich_text(blocks: &[Block]) -> RichText {
    let mut w = Writer {
        out: String::from(HEADER),
        position: 0,
        links: Vec::new(),
        in_link: false,
    };
    for leaf in leaves(blocks) {
        w.paragraph(&leaf);
    }
    w.out.push('}');
    RichText {
        rtf: w.out,
        links: w.links,
    }
}

struct Writer {
    out: String,
    /// Characters the control holds so far.
    position: usize,
    links: Vec<RichLink>,
    /// A link in a link is its text: one run, one target.
    in_link: bool,
}

impl Writer {
    /// A control word that is one character in the control (`\par`,
    /// `\line`, `\tab`).
    fn character(&mut self, control: &str) {
        self.out.push_str(control);
        self.position += 1;
    }

    fn paragraph(&mut self, leaf: &Leaf) {
        let indent = INDENT * (leaf.list_depth + leaf.quote_depth);
        self.out.push_str("\\pard\\sa120");
        if indent > 0 {
            self.out.push_str(&format!("\\li{indent}"));
        }
        match &leaf.marker {
            // A hanging indent: the marker in the margin, a tab to the text.
            Some(marker) => {
                self.out.push_str(&format!("\\fi-{INDENT}\\tx{indent} "));
                self.text(marker);
                self.character("\\tab ");
            }
            None => self.out.push(' '),
        }
        let quoted = leaf.quote_depth > 0;
        if quoted {
            self.out.push_str("{\\cf2 ");
        }
        match leaf.kind {
            LeafKind::Heading(level, content) => {
                let size = HEADING_SIZES[usize::from(level.clamp(1, 6)) - 1];
                self.group(&format!("\\b\\fs{size} "), content);
            }
            LeafKind::Paragraph(content) => self.inlines(content),
            LeafKind::Code(code) => {
                self.out.push_str("{\\f1\\fs18 ");
                self.text(code);
                self.out.push('}');
            }
            LeafKind::Rule => {
                self.out.push_str("{\\f1 ");
                self.text(&RULE.repeat(RULE_WIDTH));
                self.out.push('}');
            }
        }
        if quoted {
            self.out.push('}');
        }
        self.character("\\par\n");
    }

    fn inlines(&mut self, content: &[Inline]) {
        for inline in content {
            match inline {
                Inline::Text(t) => self.text(t),
                Inline::Bold(inner) => self.group("\\b ", inner),
                Inline::Italic(inner) => self.group("\\i ", inner),
                Inline::Strike(inner) => self.group("\\strike ", inner),
                Inline::Code(code) => {
                    self.out.push_str("{\\f1 ");
                    self.text(code);
                    self.out.push('}');
                }
                Inline::Link { target, content } => match link_target(target) {
                    Some(target) if !self.in_link => {
                        let start = self.position;
                        self.in_link = true;
                        self.group("\\ul\\cf1 ", content);
                        self.in_link = false;
                        // A run with no text is no link anyone could click.
                        if self.position > start {
                            self.links.push(RichLink {
                                start,
                                end: self.position,
                                target,
                            });
                        }
                    }
                    _ => self.inlines(content),
                },
                Inline::LineBreak => self.character("\\line "),
            }
        }
    }

    fn group(&mut self, control: &str, content: &[Inline]) {
        self.out.push('{');
        self.out.push_str(control);
        self.inlines(content);
        self.out.push('}');
    }

    /// Escapes text for RTF. Outside ASCII every character is `\uN?`: N is
    /// a signed 16-bit UTF-16 unit (two of them above U+FFFF), `?` the
    /// fallback a reader without Unicode shows, skipped by one with it
    /// (`\uc1`).
    fn text(&mut self, text: &str) {
        let mut units = [0u16; 2];
        for c in text.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '{' => self.out.push_str("\\{"),
                '}' => self.out.push_str("\\}"),
                '\n' => self.out.push_str("\\line "),
                '\t' => self.out.push_str("\\tab "),
                c if !visible(c) => continue,
                c if c.is_ascii() => self.out.push(c),
                c => {
                    for unit in c.encode_utf16(&mut units) {
                        // The cast keeps the bits: RTF wants them signed.
                        self.out.push_str(&format!("\\u{}?", *unit as i16));
                    }
                }
            }
            self.position += c.len_utf16();
        }
    }
}
