//! Putting a web view in a tao window: on Linux inside the window's GTK
//! container (needed for WebKitGTK), elsewhere in the window itself.

use anyhow::{Context, Result};
use tao::window::Window;
use wry::WebViewBuilder;

#[cfg(target_os = "linux")]
pub fn build(builder: WebViewBuilder<'_>, window: &Window) -> Result<wry::WebView> {
    use tao::platform::unix::WindowExtUnix;
    use wry::WebViewBuilderExtUnix;
    let vbox = window
        .default_vbox()
        .context("the window has no GTK container")?;
    builder.build_gtk(vbox).context("cannot start the web view")
}

#[cfg(not(target_os = "linux"))]
pub fn build(builder: WebViewBuilder<'_>, window: &Window) -> Result<wry::WebView> {
    builder.build(window).context("cannot start the web view")
}
