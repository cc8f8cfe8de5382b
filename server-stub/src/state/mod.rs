//! What a running server holds and shares between its requests and tasks.

pub mod app;
pub mod caller;
pub mod counters;
pub mod exchange;
pub mod hub;

#[cfg(test)]
mod hub_tests;
