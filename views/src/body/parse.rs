//! The event stream of pulldown-cmark folded into the tree of `model`,
//! without recursion, with the nesting caps applied on the way.

use pulldown_cmark::{Event, HeadingLevel, LinkType, Tag};

use super::model::{link_target, visible, Block, Inline, MAX_BLOCKS, MAX_DEPTH, TRUNCATED};

/// An open element while the events stream in. Every `Start` event opens
/// one mark (a frame or a skip) and its `End` closes it, so the two stacks
/// stay in step with the parser's nesting.
enum Frame {
    /// The body, a quote or a list item. A tight list item's text comes
    /// without a paragraph; it gathers in `loose` until a block follows.
    Blocks {
        kind: Container,
        blocks: Vec<Block>,
        loose: Vec<Inline>,
    },
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Inlines {
        kind: Span,
        content: Vec<Inline>,
    },
    Code(String),
    Row {
        head: bool,
        cells: Vec<Vec<Inline>>,
    },
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Root,
    Quote,
    Item,
}

#[derive(Clone, PartialEq)]
enum Span {
    Paragraph,
    Heading(u8),
    Cell,
    Bold,
    Italic,
    Strike,
    Link(String),
}

enum Mark {
    Frame,
    /// An element not kept (an image, a link to elsewhere, one level too
    /// many): its content goes to the element around it. `block` ends the
    /// paragraph gathering loose text, so flattened items stay apart.
    Skip {
        block: bool,
    },
}

pub(super) struct Builder {
    frames: Vec<Frame>,
    marks: Vec<Mark>,
    /// Quotes and lists open.
    blocks_depth: usize,
    /// Bold, italic, strikethrough and links open.
    spans_depth: usize,
    leaves: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            frames: vec![Frame::Blocks {
                kind: Container::Root,
                blocks: Vec::new(),
                loose: Vec::new(),
            }],
            marks: Vec::new(),
            blocks_depth: 0,
            spans_depth: 0,
            leaves: 0,
        }
    }
}

impl Builder {
    pub(super) fn full(&self) -> bool {
        self.leaves >= MAX_BLOCKS
    }

    pub(super) fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(_) => self.end(),
            Event::Text(t) => self.text(&t),
            // The sender meant raw HTML to be read; as text it does nothing.
            Event::Html(t) => self.lines(&t),
            Event::InlineHtml(t) => self.text(&t),
            Event::Code(t) => self.inline(Inline::Code(clean(&t))),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.inline(Inline::LineBreak),
            Event::Rule => self.block(Block::Rule),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        let blocks_room = self.blocks_depth < MAX_DEPTH;
        let spans_room = self.spans_depth < MAX_DEPTH;
        let in_list = matches!(self.frames.last(), Some(Frame::List { .. }));
        let inlines = |kind| Frame::Inlines {
            kind,
            content: Vec::new(),
        };
        let frame = match tag {
            Tag::Paragraph | Tag::HtmlBlock => inlines(Span::Paragraph),
            Tag::Heading { level, .. } => inlines(Span::Heading(heading_level(level))),
            Tag::CodeBlock(_) => Frame::Code(String::new()),
            Tag::BlockQuote(_) if blocks_room => Frame::Blocks {
                kind: Container::Quote,
                blocks: Vec::new(),
                loose: Vec::new(),
            },
            Tag::List(start) if blocks_room => Frame::List {
                start,
                items: Vec::new(),
            },
            // An item is kept exactly when its list was.
            Tag::Item if in_list => Frame::Blocks {
                kind: Container::Item,
                blocks: Vec::new(),
                loose: Vec::new(),
            },
            Tag::TableHead => Frame::Row {
                head: true,
                cells: Vec::new(),
            },
            Tag::TableRow => Frame::Row {
                head: false,
                cells: Vec::new(),
            },
            Tag::TableCell => inlines(Span::Cell),
            Tag::Strong if spans_room => inlines(Span::Bold),
            Tag::Emphasis if spans_room => inlines(Span::Italic),
            Tag::Strikethrough if spans_room => inlines(Span::Strike),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } if spans_room => {
                let dest = if link_type == LinkType::Email {
                    format!("mailto:{dest_url}")
                } else {
                    dest_url.to_string()
                };
                match link_target(&dest) {
                    Some(target) => inlines(Span::Link(target)),
                    None => return self.skip(false),
                }
            }
            Tag::BlockQuote(_) | Tag::List(_) | Tag::Item | Tag::Table(_) => {
                return self.skip(true)
            }
            // Images (their alt text stays) and spans beyond the cap.
            _ => return self.skip(false),
        };
        match frame {
            Frame::Blocks {
                kind: Container::Quote,
                ..
            }
            | Frame::List { .. } => self.blocks_depth += 1,
            Frame::Inlines {
                kind: Span::Bold | Span::Italic | Span::Strike | Span::Link(_),
                ..
            } => self.spans_depth += 1,
            _ => {}
        }
        self.frames.push(frame);
        self.marks.push(Mark::Frame);
    }

    fn skip(&mut self, block: bool) {
        if block {
            self.flush_loose();
        }
        self.marks.push(Mark::Skip { block });
    }

    fn end(&mut self) {
        match self.marks.pop() {
            Some(Mark::Frame) => self.close(),
            Some(Mark::Skip { block: true }) => self.flush_loose(),
            Some(Mark::Skip { block: false }) | None => {}
        }
    }

    /// Folds the innermost open frame into the one around it.
    fn close(&mut self) {
        if self.frames.len() < 2 {
            return;
        }
        let Some(frame) = self.frames.pop() else {
            return;
        };
        match frame {
            Frame::Blocks {
                kind,
                mut blocks,
                loose,
            } => {
                if !loose.is_empty() {
                    blocks.push(Block::Paragraph(loose));
                    self.leaves += 1;
                }
                if kind == Container::Quote {
                    self.blocks_depth -= 1;
                    if !blocks.is_empty() {
                        self.push_block(Block::Quote(blocks));
                    }
                } else if let Some(Frame::List { items, .. }) = self.frames.last_mut() {
                    items.push(blocks);
                }
            }
            Frame::List { start, items } => {
                self.blocks_depth -= 1;
                self.push_block(Block::List { start, items });
            }
            Frame::Inlines { kind, mut content } => {
                while matches!(content.last(), Some(Inline::LineBreak)) {
                    content.pop();
                }
                match kind {
                    Span::Paragraph | Span::Heading(_) if content.is_empty() => {}
                    Span::Paragraph => self.block(Block::Paragraph(content)),
                    Span::Heading(level) => self.block(Block::Heading { level, content }),
                    Span::Cell => {
                        if let Some(Frame::Row { cells, .. }) = self.frames.last_mut() {
                            cells.push(content);
                        }
                    }
                    Span::Bold | Span::Italic | Span::Strike | Span::Link(_) => {
                        self.spans_depth -= 1;
                        if let Some(inline) = wrap(kind, content) {
                            self.inline(inline);
                        }
                    }
                }
            }
            Frame::Code(mut text) => {
                text.truncate(text.trim_end_matches('\n').len());
                self.block(Block::Code(text));
            }
            Frame::Row { head, cells } => self.block(Block::Paragraph(row(head, cells))),
        }
    }

    /// A leaf block: counted against `MAX_BLOCKS`.
    fn block(&mut self, block: Block) {
        self.leaves += 1;
        self.push_block(block);
    }

    fn push_block(&mut self, block: Block) {
        self.flush_loose();
        for frame in self.frames.iter_mut().rev() {
            if let Frame::Blocks { blocks, .. } = frame {
                blocks.push(block);
                return;
            }
        }
    }

    fn flush_loose(&mut self) {
        if let Some(Frame::Blocks { blocks, loose, .. }) = self.frames.last_mut() {
            if !loose.is_empty() {
                blocks.push(Block::Paragraph(std::mem::take(loose)));
                self.leaves += 1;
            }
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(Frame::Code(code)) = self.frames.last_mut() {
            code.extend(text.chars().filter(|c| visible(*c)));
        } else {
            self.inline(Inline::Text(clean(text)));
        }
    }

    /// A line of raw HTML: its line end is kept as a line break.
    fn lines(&mut self, text: &str) {
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            self.text(line);
            if lines.peek().is_some() {
                self.inline(Inline::LineBreak);
            }
        }
    }

    fn inline(&mut self, inline: Inline) {
        let content = match self.frames.last_mut() {
            Some(Frame::Inlines { content, .. }) => content,
            Some(Frame::Blocks { loose, .. }) => loose,
            _ => return,
        };
        push(content, inline);
    }

    /// Closes what is open after the last block allowed, then says so.
    pub(super) fn truncate(&mut self) {
        while self.frames.len() > 1 {
            self.close();
        }
        self.marks.clear();
        self.push_block(Block::Paragraph(vec![Inline::Text(TRUNCATED.into())]));
    }

    pub(super) fn finish(mut self) -> Vec<Block> {
        while self.frames.len() > 1 {
            self.close();
        }
        self.flush_loose();
        match self.frames.pop() {
            Some(Frame::Blocks { blocks, .. }) => blocks,
            _ => Vec::new(),
        }
    }
}

/// Appends a span, joining text to text: the parser splits text at every
/// escape and entity, and one run is easier to test and to lay out.
fn push(content: &mut Vec<Inline>, inline: Inline) {
    match (content.last_mut(), inline) {
        (_, Inline::Text(t)) if t.is_empty() => {}
        (Some(Inline::Text(last)), Inline::Text(t)) => last.push_str(&t),
        (_, inline) => content.push(inline),
    }
}

fn clean(text: &str) -> String {
    text.chars().filter(|c| visible(*c)).collect()
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn wrap(span: Span, mut content: Vec<Inline>) -> Option<Inline> {
    if content.is_empty() && !matches!(span, Span::Link(_)) {
        return None;
    }
    Some(match span {
        Span::Bold => Inline::Bold(content),
        Span::Italic => Inline::Italic(content),
        Span::Strike => Inline::Strike(content),
        Span::Link(target) => {
            // `[](https://x)` would be a link nobody can see or click.
            if content.is_empty() {
                content.push(Inline::Text(target.clone()));
            }
            Inline::Link { target, content }
        }
        _ => return None,
    })
}

fn row(head: bool, cells: Vec<Vec<Inline>>) -> Vec<Inline> {
    let mut out = Vec::new();
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            push(&mut out, Inline::Text(" | ".into()));
        }
        if head && !cell.is_empty() {
            out.push(Inline::Bold(cell));
        } else {
            for inline in cell {
                push(&mut out, inline);
            }
        }
    }
    out
}
