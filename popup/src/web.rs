//! The popup as a web page in a tao window with wry: the usual way, with
//! the rendered Markdown body.

use anyhow::{Context, Result};
use herald_protocol::Severity;
use herald_views::popup::{outcome_from_ipc, page, Outcome, PopupRequest};
use rand::Rng;
use tao::dpi::{LogicalSize, PhysicalPosition};
use tao::event::{Event, WindowEvent};
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tao::window::{Window, WindowBuilder};
use wry::WebViewBuilder;

enum PopupEvent {
    Loaded,
    Done(Outcome),
    /// The agent that started this popup is gone (killed, crashed).
    /// Watched on Unix only; Windows would need a job object.
    #[cfg_attr(not(unix), allow(dead_code))]
    Orphaned,
}

const WIDTH: f64 = 460.0;
const HEIGHT: f64 = 340.0;
/// Distance from the screen's edges for popups placed in a corner.
const MARGIN: i32 = 24;

/// Shows the message in a web view. Returns only on failure: once the
/// window is up, the event loop prints the outcome and ends the process.
pub fn show(req: &PopupRequest) -> Result<()> {
    let nonce = hex::encode(rand::rng().random::<[u8; 16]>());
    let html = page(req, &nonce);

    let event_loop = EventLoopBuilder::<PopupEvent>::with_user_event().build();
    let window = WindowBuilder::new()
        .with_title(&req.title)
        .with_inner_size(LogicalSize::new(WIDTH, HEIGHT))
        .with_always_on_top(true)
        .with_visible(false)
        // A message cannot be minimized away or blown up: it stays as it
        // came until the user answers it.
        .with_resizable(false)
        .with_minimizable(false)
        .with_maximizable(false)
        .with_window_icon(crate::icon::herald())
        .build(&event_loop)
        .context("cannot open a window (is there a display?)")?;
    fixed_frame(&window);
    let severity = req.severity;
    place(&window, severity);

    let proxy = event_loop.create_proxy();
    let loaded = event_loop.create_proxy();
    let builder = WebViewBuilder::new()
        .with_html(html)
        .with_ipc_handler(move |msg| {
            match outcome_from_ipc(msg.body()) {
                Some(outcome) => {
                    let _ = proxy.send_event(PopupEvent::Done(outcome));
                }
                // Only our script posts, and only those two words: anything
                // else is worth a line in the agent's log.
                None => eprintln!(
                    "herald-popup: ignored a message from the page: {:?}",
                    msg.body().chars().take(200).collect::<String>()
                ),
            }
        })
        .with_on_page_load_handler(move |event, _| {
            if matches!(event, wry::PageLoadEvent::Finished) {
                let _ = loaded.send_event(PopupEvent::Loaded);
            }
        })
        .with_navigation_handler(allow_navigation)
        .with_new_window_req_handler(|url, _| {
            open_outside(&url);
            wry::NewWindowResponse::Deny
        });
    let webview = crate::webview::build(builder, &window)?;

    watch_parent(event_loop.create_proxy());

    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        if let Event::UserEvent(PopupEvent::Orphaned) = event {
            // Nobody would hear the answer, and the agent that restarts
            // shows the message again: a second window of the same message
            // must not be left behind.
            eprintln!("herald-popup: the agent is gone; closing");
            *control_flow = ControlFlow::ExitWithCode(3);
            return;
        }
        let outcome = match event {
            Event::WindowEvent {
                event: WindowEvent::CloseRequested,
                ..
            } => Some(Outcome::Cancelled),
            Event::UserEvent(PopupEvent::Done(o)) => Some(o),
            // Shown only once the page is there, so that the first key the
            // user presses already reaches it.
            Event::UserEvent(PopupEvent::Loaded) => {
                if !window.is_visible() {
                    window.set_visible(true);
                    window.set_focus();
                    let _ = webview.focus();
                }
                None
            }
            _ => None,
        };
        if let Some(o) = outcome {
            crate::answer(o);
            *control_flow = ControlFlow::Exit;
        }
    })
}

/// Tells the loop when the agent that started the popup is gone: on Unix
/// the popup is then handed to another parent.
#[cfg(unix)]
fn watch_parent(proxy: tao::event_loop::EventLoopProxy<PopupEvent>) {
    // The agent names itself: it may already be gone when this runs.
    let parent = std::env::var("HERALD_AGENT_PID")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(std::os::unix::process::parent_id);
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        if std::os::unix::process::parent_id() != parent {
            let _ = proxy.send_event(PopupEvent::Orphaned);
            return;
        }
    });
}

/// Not watched on Windows yet: an orphaned popup stays there until it is
/// answered, and its answer goes nowhere (the restarted agent shows the
/// message again).
#[cfg(not(unix))]
fn watch_parent(_proxy: tao::event_loop::EventLoopProxy<PopupEvent>) {}

/// The page itself is the only thing the popup may load. A link the user
/// follows opens in the default browser instead; anything else is refused.
fn allow_navigation(url: String) -> bool {
    if url == "about:blank" || url.starts_with("data:text/html") {
        return true;
    }
    open_outside(&url);
    false
}

fn open_outside(url: &str) {
    let lower = url.to_ascii_lowercase();
    if ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        if let Err(e) = open::that_detached(url) {
            eprintln!("herald-popup: cannot open {url}: {e}");
        }
    }
}

/// Alerts in the middle of the screen, where they cannot be missed; others
/// in the bottom-right corner, where notifications usually appear.
fn place(window: &Window, severity: Severity) {
    let Some(monitor) = window
        .current_monitor()
        .or_else(|| window.primary_monitor())
    else {
        return;
    };
    let (mpos, msize) = (monitor.position(), monitor.size());
    // The window is not mapped yet, so its own size may still read as zero.
    let scale = monitor.scale_factor();
    let (w, h) = (
        (WIDTH * scale).round() as i32,
        (HEIGHT * scale).round() as i32,
    );
    let (mw, mh) = (
        i32::try_from(msize.width).unwrap_or(0),
        i32::try_from(msize.height).unwrap_or(0),
    );
    let (x, y) = if severity == Severity::Alert {
        (mpos.x + (mw - w) / 2, mpos.y + (mh - h) / 2)
    } else {
        let margin = (f64::from(MARGIN) * scale).round() as i32;
        (mpos.x + mw - w - margin, mpos.y + mh - h - margin)
    };
    window.set_outer_position(PhysicalPosition::new(x.max(mpos.x), y.max(mpos.y)));
}

/// On Linux tao leaves the window manager's minimize and maximize buttons:
/// the window asks for a frame that only moves and closes (the Motif hints
/// every X window manager reads), before it is first mapped.
#[cfg(target_os = "linux")]
fn fixed_frame(window: &Window) {
    use gtk::gdk::{WMDecoration, WMFunction};
    use gtk::prelude::*;
    use tao::platform::unix::WindowExtUnix;
    let set = |w: &gtk::gdk::Window| {
        w.set_functions(WMFunction::MOVE | WMFunction::CLOSE);
        w.set_decorations(WMDecoration::BORDER | WMDecoration::TITLE | WMDecoration::MENU);
    };
    let gtk_window = window.gtk_window();
    match gtk_window.window() {
        Some(w) => set(&w),
        None => {
            gtk_window.connect_realize(move |g| {
                if let Some(w) = g.window() {
                    set(&w);
                }
            });
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn fixed_frame(_window: &Window) {}
