//! The popup on Windows: a web page in a tao window with wry (WebView2),
//! with the rendered Markdown body. Linux has its own GTK popup.

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
            crate::links::open_outside(&url);
            wry::NewWindowResponse::Deny
        });
    let webview = crate::webview::build(builder, &window)?;

    // The agent that started it is not watched here (that would need a job
    // object): an orphaned popup stays until it is answered, and its answer
    // goes nowhere; the restarted agent shows the message again.
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
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

/// The page itself is the only thing the popup may load. A link the user
/// follows opens in the default browser instead; anything else is refused.
fn allow_navigation(url: String) -> bool {
    if url == "about:blank" || url.starts_with("data:text/html") {
        return true;
    }
    crate::links::open_outside(&url);
    false
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
