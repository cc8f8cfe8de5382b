//! Message bodies for the native popup: the Markdown parsed once into
//! blocks and spans (`parse`), then written as Pango markup for GTK labels
//! (`to_pango`) or as RTF for a RichEdit control (`to_rich_text`). The body comes
//! from the server and is not trusted: the model keeps nothing that loads
//! or runs, and each emitter escapes every piece of text it writes, so the
//! only markup in its output is its own.

mod layout;
mod model;
mod pango;
mod parse;
mod rtf;

#[cfg(test)]
mod tests;

pub use model::{link_target, parse, Block, Inline, MAX_BLOCKS, MAX_DEPTH, TRUNCATED};
pub use pango::{to_pango, PangoBlock, PangoKind};
pub use rtf::{to_rich_text, to_rtf, RichLink, RichText};
