//! What Herald shows, without a window: the popup's exchange with the
//! agent and its words, the tray's model and icons, Markdown rendered to HTML
//! that cannot run anything or, for the native popups, to Pango markup
//! and RTF, and the words in English, French and German.
//! `herald-popup` needs nothing else; the agent and the history window use
//! it over `herald-core`.

pub mod body;
pub mod i18n;
pub mod popup;
pub mod render;
pub mod tray;

#[cfg(test)]
mod xss_tests;
