//! The Markdown of a message body, parsed once into a small tree that the
//! native emitters walk. Everything that could reach outside the popup is
//! settled here: images become their alt text, raw HTML becomes text, and
//! a link survives only with an http, https or mailto target.

use pulldown_cmark::{Options, Parser};

use super::parse::Builder;

/// How deep quotes and lists, and separately bold, italic, strikethrough
/// and links, may nest. The emitters recurse over the tree (and so does
/// its drop), so a body of ten thousand `>` must not become a tree ten
/// thousand deep; beyond the cap the content stays, one level flatter.
pub const MAX_DEPTH: usize = 16;

/// How many blocks a body may have. The Linux popup makes a label per
/// block; 64 KiB of `- a` lines would be sixteen thousand of them.
pub const MAX_BLOCKS: usize = 2000;

/// Closes a body cut at `MAX_BLOCKS`, so the reader knows there was more.
pub const TRUNCATED: &str = "\u{2026}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Level 1 to 6.
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    Paragraph(Vec<Inline>),
    /// `start` is the first number of an ordered list, `None` for bullets.
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Quote(Vec<Block>),
    Rule,
    /// The lines of a code block, without its last line end.
    Code(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Strike(Vec<Inline>),
    Code(String),
    /// `target` has passed `link_target`.
    Link {
        target: String,
        content: Vec<Inline>,
    },
    LineBreak,
}

/// Parses a message body. Tables become one paragraph per row, cells
/// separated by " | ", header cells in bold.
pub fn parse(markdown: &str) -> Vec<Block> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut builder = Builder::default();
    for event in Parser::new_ext(markdown, options) {
        builder.event(event);
        if builder.full() {
            builder.truncate();
            break;
        }
    }
    builder.finish()
}

/// The target a link may have in the popup, or `None` when it must stay
/// text: only absolute http, https and mailto URLs, in their normal form,
/// with every character that could matter to markup or to an RTF field
/// (quotes, backslashes, braces, spaces, angle brackets) percent-encoded.
/// The emitters call it again, so a hand-built `Inline::Link` is held to
/// the same rule.
pub fn link_target(dest: &str) -> Option<String> {
    let url = url::Url::parse(dest.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https" | "mailto") {
        return None;
    }
    let mut out = String::with_capacity(url.as_str().len());
    for b in url.as_str().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

/// Keeps what a reader can see: line ends and tabs shape the text, other
/// control characters would show as boxes or act on the control.
pub(crate) fn visible(c: char) -> bool {
    !c.is_control() || c == '\n' || c == '\t'
}
