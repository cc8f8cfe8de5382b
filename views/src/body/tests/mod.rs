//! The body's tests: the parser, each emitter, and the hostile corpus
//! through both, read back by strict readers of each output.

mod check;
mod corpus;
mod emit;
mod parse;

use super::*;
use check::{pango_text, rtf_text};
use Inline::Text;

fn text(s: &str) -> Inline {
    Text(s.into())
}

fn para(s: &str) -> Block {
    Block::Paragraph(vec![text(s)])
}

fn link(target: &str, s: &str) -> Inline {
    Inline::Link {
        target: target.into(),
        content: vec![text(s)],
    }
}

const HEADER: &str = "{\\rtf1\\ansi\\ansicpg1252\\deff0\\uc1\
{\\fonttbl{\\f0\\fswiss Segoe UI;}{\\f1\\fmodern Consolas;}}\
{\\colortbl;\\red31\\green95\\blue168;\\red85\\green85\\blue85;}\\f0\\fs20\n";

fn rtf_body(blocks: &[Block]) -> String {
    let rtf = to_rtf(blocks);
    rtf_text(&rtf).unwrap_or_else(|e| panic!("{e}: {rtf}"));
    rtf.strip_prefix(HEADER)
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or_else(|| panic!("{rtf}"))
        .to_owned()
}

fn markups(blocks: &[Block]) -> Vec<String> {
    to_pango(blocks)
        .into_iter()
        .map(|b| {
            let text = pango_text(&b.markup).unwrap_or_else(|e| panic!("{e}: {}", b.markup));
            check::pango_agrees(&b.markup, &text, "");
            b.markup
        })
        .collect()
}
