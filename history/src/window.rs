//! The history window: a wry page over the store. The store is read on
//! the window's thread in short transactions (WAL), so the agent writing
//! beside it is never held up; a slow agent answer is awaited on another
//! thread so the window never freezes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use herald_core::control::{self, Request};
use herald_core::history;
use herald_core::store::{LogOrder, Store};
use rand::Rng;
use serde::Deserialize;
use tao::dpi::LogicalSize;
use tao::event::{Event, WindowEvent};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tao::window::WindowBuilder;
use wry::WebViewBuilder;

use crate::{page, words};
use herald_views::i18n::Locale;

/// How often the window asks SQLite whether the store changed (a cheap
/// counter read); it rebuilds the page only when it did, or when a message
/// becomes valid or expires.
const REFRESH: Duration = Duration::from_secs(1);

/// What the page asks for.
#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum PageRequest {
    Ready,
    Title { text: String },
    Show { id: String },
    Delete { ids: Vec<i64> },
    Export { format: String, oldest_first: bool },
}

enum UiEvent {
    Page(PageRequest),
    Tick,
    Status(String),
}

pub fn run(data_dir: PathBuf, store: Store) -> Result<()> {
    let locale = Locale::from_env();
    let event_loop = EventLoopBuilder::<UiEvent>::with_user_event().build();
    let window = WindowBuilder::new()
        .with_title(words::word(locale, "window_title"))
        .with_inner_size(LogicalSize::new(1000.0, 620.0))
        .with_window_icon(crate::icon::herald())
        .build(&event_loop)
        .context("cannot open a window (is there a display?)")?;
    let nonce = hex::encode(rand::rng().random::<[u8; 16]>());
    let proxy = event_loop.create_proxy();
    let webview = WebViewBuilder::new()
        .with_html(page::html(&nonce, locale))
        .with_ipc_handler(move |msg| match serde_json::from_str(msg.body()) {
            Ok(req) => {
                let _ = proxy.send_event(UiEvent::Page(req));
            }
            Err(e) => eprintln!(
                "herald-history: unexpected request from the page ({e}): {:?}",
                msg.body().chars().take(200).collect::<String>()
            ),
        })
        .with_navigation_handler(|url| url == "about:blank" || url.starts_with("data:"))
        .with_new_window_req_handler(|url, _| {
            if url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with("mailto:")
            {
                let _ = open::that_detached(&url);
            }
            wry::NewWindowResponse::Deny
        });
    let webview = crate::webview::build(webview, &window)?;

    let ticker = event_loop.create_proxy();
    std::thread::spawn(move || loop {
        std::thread::sleep(REFRESH);
        if ticker.send_event(UiEvent::Tick).is_err() {
            return;
        }
    });

    let status_proxy = event_loop.create_proxy();
    let mut shown = Shown::default();
    let mut store = store;
    let say =
        move |key: &str, hole: &str, value: &str| words::word(locale, key).replace(hole, value);
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        let push = |shown: &mut Shown, store: &Store, force: bool| {
            // Always asked, so that a forced rebuild records the version too.
            let stale = shown.stale(store);
            if !force && !stale {
                return;
            }
            match data(store) {
                Ok((json, next)) => {
                    if json != shown.json {
                        let _ = webview.evaluate_script(&format!("herald.load({json})"));
                        shown.json = json;
                    }
                    shown.next_change = next;
                    shown.rebuilds += 1;
                    tracing_rebuild(shown.rebuilds);
                }
                Err(e) => status(&webview, &say("cannot_read", "{e}", &format!("{e:#}"))),
            }
        };
        match event {
            Event::WindowEvent {
                event: WindowEvent::CloseRequested,
                ..
            } => *control_flow = ControlFlow::Exit,
            Event::UserEvent(UiEvent::Tick) => push(&mut shown, &store, false),
            Event::UserEvent(UiEvent::Status(text)) => status(&webview, &text),
            Event::UserEvent(UiEvent::Page(req)) => match req {
                PageRequest::Ready => push(&mut shown, &store, true),
                PageRequest::Title { text } => window.set_title(&text),
                PageRequest::Show { id } => show_again(&data_dir, id, status_proxy.clone()),
                PageRequest::Delete { ids } => {
                    match store.delete_exchange_entries(&ids) {
                        Ok(n) => status(&webview, &say("deleted", "{n}", &n.to_string())),
                        Err(e) => status(&webview, &say("cannot_delete", "{e}", &e.to_string())),
                    }
                    // Our own commits do not move data_version.
                    push(&mut shown, &store, true);
                }
                PageRequest::Export {
                    format,
                    oldest_first,
                } => match export(&store, &format, oldest_first) {
                    Ok(path) => status(
                        &webview,
                        &say("saved_to", "{p}", &path.display().to_string()),
                    ),
                    Err(e) => status(&webview, &say("cannot_export", "{e}", &format!("{e:#}"))),
                },
            },
            _ => {}
        }
    })
}

fn status(webview: &wry::WebView, text: &str) {
    if let Ok(arg) = serde_json::to_string(text) {
        let _ = webview.evaluate_script(&format!("herald.status({arg})"));
    }
}

/// What the page shows, and when it must be looked at again.
#[derive(Default)]
struct Shown {
    json: String,
    /// SQLite's data_version when the page was built.
    version: Option<i64>,
    /// Local time at which a row changes by itself.
    next_change: Option<chrono::DateTime<Utc>>,
    rebuilds: u64,
}

impl Shown {
    /// Whether another process wrote to the store, or a row's time came.
    fn stale(&mut self, store: &Store) -> bool {
        let version = store.data_version().ok();
        let changed = version.is_none() || version != self.version;
        self.version = version;
        changed || self.next_change.is_some_and(|t| Utc::now() >= t)
    }
}

/// With HERALD_LOG=debug, each rebuild is said (tests count them).
fn tracing_rebuild(n: u64) {
    if std::env::var("HERALD_LOG").is_ok_and(|v| v.contains("debug")) {
        eprintln!("herald-history: page rebuilt ({n})");
    }
}

/// Everything the page shows, as one JSON object, and the local time at
/// which it changes by itself.
fn data(store: &Store) -> Result<(String, Option<chrono::DateTime<Utc>>)> {
    let st = store.sync_state()?;
    let local_now = Utc::now();
    let now = st.server_now(local_now);
    let messages = history::rows(store, now, &herald_core::languages::desktop_languages())?;
    let next = history::next_change(&messages, now)
        .map(|t| t - chrono::Duration::milliseconds(st.clock_offset_ms));
    let log = store.exchange_log(LogOrder::NewestFirst)?;
    let json = serde_json::to_string(&serde_json::json!({
        "messages": messages,
        "log": log,
    }))?;
    Ok((json, next))
}

fn show_again(data_dir: &Path, id: String, proxy: EventLoopProxy<UiEvent>) {
    let dir = data_dir.to_owned();
    std::thread::spawn(move || {
        let text = match control::request(&dir, &Request::Show(id)) {
            Ok(answer) => format!("Show again: {answer}."),
            Err(e) => format!("Cannot show it again: {e}."),
        };
        let _ = proxy.send_event(UiEvent::Status(text));
    });
}

/// Writes the exchange log to the user's downloads folder (or home).
fn export(store: &Store, format: &str, oldest_first: bool) -> Result<PathBuf> {
    let order = if oldest_first {
        LogOrder::OldestFirst
    } else {
        LogOrder::NewestFirst
    };
    let entries = store.exchange_log(order)?;
    let (text, ext) = match format {
        "csv" => (history::log_csv(&entries), "csv"),
        "json" => (history::log_json(&entries)?, "json"),
        other => anyhow::bail!("unknown export format '{other}'"),
    };
    let dir = dirs::download_dir()
        .or_else(dirs::home_dir)
        .context("no downloads or home folder")?;
    let path = dir.join(format!(
        "herald-exchange-log-{}.{ext}",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    ));
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
