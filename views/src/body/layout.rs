//! The tree as the native popups lay it out: a column of leaf blocks, each
//! indented by the lists and quotes around it, the first block of a list
//! item carrying the item's bullet or number.

use super::model::{Block, Inline};

/// Bullets by list depth, so nested lists can be told apart.
const BULLETS: [&str; 3] = ["\u{2022}", "\u{25e6}", "\u{25aa}"];

pub(super) struct Leaf<'a> {
    pub kind: LeafKind<'a>,
    pub list_depth: usize,
    pub quote_depth: usize,
    /// Plain text made here ("•", "3."), never from the body.
    pub marker: Option<String>,
}

pub(super) enum LeafKind<'a> {
    Heading(u8, &'a [Inline]),
    Paragraph(&'a [Inline]),
    Code(&'a str),
    Rule,
}

pub(super) fn leaves(blocks: &[Block]) -> Vec<Leaf<'_>> {
    let mut walk = Walk::default();
    walk.blocks(blocks, 0, 0);
    walk.out
}

#[derive(Default)]
struct Walk<'a> {
    out: Vec<Leaf<'a>>,
    /// The marker of the item just opened, until a leaf takes it.
    marker: Option<String>,
}

impl<'a> Walk<'a> {
    fn blocks(&mut self, blocks: &'a [Block], lists: usize, quotes: usize) {
        for block in blocks {
            let kind = match block {
                Block::List { start, items } => {
                    // A list opening an item: the outer marker gets a line.
                    self.flush_marker(lists, quotes);
                    for (i, item) in items.iter().enumerate() {
                        self.marker = Some(match start {
                            Some(n) => format!("{}.", n.saturating_add(i as u64)),
                            None => BULLETS[lists % BULLETS.len()].to_owned(),
                        });
                        self.blocks(item, lists + 1, quotes);
                        // An empty item still shows its marker.
                        self.flush_marker(lists + 1, quotes);
                    }
                    continue;
                }
                Block::Quote(inner) => {
                    self.blocks(inner, lists, quotes + 1);
                    continue;
                }
                Block::Heading { level, content } => LeafKind::Heading(*level, content),
                Block::Paragraph(content) => LeafKind::Paragraph(content),
                Block::Code(text) => LeafKind::Code(text),
                Block::Rule => LeafKind::Rule,
            };
            self.push(kind, lists, quotes);
        }
    }

    fn flush_marker(&mut self, lists: usize, quotes: usize) {
        if self.marker.is_some() {
            self.push(LeafKind::Paragraph(&[]), lists, quotes);
        }
    }

    fn push(&mut self, kind: LeafKind<'a>, lists: usize, quotes: usize) {
        self.out.push(Leaf {
            kind,
            list_depth: lists,
            quote_depth: quotes,
            marker: self.marker.take(),
        });
    }
}
