//! What the main loop takes in: the user's requests (command line, history
//! window, tray menu) and the push tasks' news, each with where to answer.

use herald_core::control::Request;
use tokio::sync::oneshot;

/// The answer a command gets once the main loop has handled it.
pub type Reply = oneshot::Sender<Result<String, String>>;

/// Something the user asked for, from the command line, the history window
/// or the tray.
#[derive(Debug)]
pub enum Action {
    Request(Request),
    /// Do-not-disturb for an hour, or off if it is on.
    ToggleDoNotDisturb,
    /// News from the push stream.
    Push(herald_core::push::PushEvent),
    Quit,
}

#[derive(Debug)]
pub struct Command {
    pub action: Action,
    pub reply: Option<Reply>,
}
