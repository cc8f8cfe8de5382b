//! `herald-popup` on its own, as the agent starts it: a request on its
//! standard input, its answer on standard output, and with
//! `HERALD_POPUP_DEBUG_LAYOUT=1` its layout figures on standard error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use crate::bin;

/// A request for a message in `locale` ("En", "Fr", "De").
pub fn request(severity: &str, title: &str, body: &str, locale: &str) -> Value {
    json!({
        "id": "layout",
        "revision": 1,
        "severity": severity,
        "title": title,
        "body_markdown": body,
        "sender": "IT Service Desk",
        "revised_at": "2026-01-01T00:00:00Z",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2036-01-01T00:00:00Z",
        "locale": locale,
        "review": false,
    })
}

/// A running popup, killed on drop.
pub struct Popup {
    child: Option<Child>,
}

/// What a popup printed before it ended.
pub struct Ended {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
}

impl Popup {
    /// Starts the popup with `request`, its layout figures on, and `env`.
    pub fn start(request: &Value, env: &[(&str, &str)]) -> Popup {
        let mut command = Command::new(bin("herald-popup"));
        command
            .env("HERALD_POPUP_DEBUG_LAYOUT", "1")
            .env_remove("GDK_SCALE")
            .env_remove("GDK_DPI_SCALE")
            .env_remove("NO_AT_BRIDGE")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot start herald-popup");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.to_string().as_bytes()).unwrap();
        drop(stdin);
        Popup { child: Some(child) }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Whether it is still on screen, waiting for the user.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }

    /// Waits for the popup to end (the test has answered or closed it).
    pub fn ended(mut self) -> Ended {
        let out = self.child.take().unwrap().wait_with_output().unwrap();
        Ended {
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            success: out.status.success(),
        }
    }
}

impl Drop for Popup {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One label as the popup laid it out (`herald-popup: label ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// "banner", "title", "block", "marker", "meta" or "button".
    pub kind: String,
    /// The room it got: width, height, x, y (x and y in its parent's
    /// coordinates, shared with its neighbours in a row).
    pub alloc: (i32, i32, i32, i32),
    /// The least width it needs, and the height it needs at that width.
    pub need: (i32, i32),
    /// Where its text lies in its room: x, y, width, height.
    pub text: (i32, i32, i32, i32),
    pub rtl: bool,
    pub ellipsized: bool,
    /// The start of its text.
    pub says: String,
}

/// The window line: its size and the body's height, in logical pixels,
/// and the scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub size: (i32, i32),
    pub body: i32,
    pub scale: i32,
}

fn numbers(s: &str, sep: &[char]) -> Vec<i32> {
    s.split(sep).map(|n| n.parse().unwrap()).collect()
}

pub fn window(stderr: &str) -> Window {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("herald-popup: layout window "))
        .unwrap_or_else(|| panic!("no layout line: {stderr}"));
    let words: Vec<&str> = line.split(' ').collect();
    let size = numbers(words[0].split('+').next().unwrap(), &['x']);
    Window {
        size: (size[0], size[1]),
        body: words[2].parse().unwrap(),
        scale: words.last().unwrap().parse().unwrap(),
    }
}

pub fn labels(stderr: &str) -> Vec<Label> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("herald-popup: label "))
        .map(|l| {
            let (fields, says) = l.split_once(" says=").unwrap();
            let field = |key: &str| {
                fields
                    .split(' ')
                    .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or_else(|| panic!("no {key} in {l}"))
            };
            let alloc = numbers(field("alloc"), &['x', '+']);
            let need = numbers(field("need"), &['x']);
            let text = numbers(field("text"), &[',']);
            Label {
                kind: field("kind").to_owned(),
                alloc: (alloc[0], alloc[1], alloc[2], alloc[3]),
                need: (need[0], need[1]),
                text: (text[0], text[1], text[2], text[3]),
                rtl: field("dir") == "rtl",
                ellipsized: field("ellipsized") == "true",
                says: says.to_owned(),
            }
        })
        .collect()
}

/// The X screen (`$DISPLAY`) as RGB pixels: its width, its height and the
/// pixels, read with ImageMagick's `import`.
pub fn root_pixels() -> (usize, usize, Vec<u8>) {
    let out = Command::new("import")
        .args(["-window", "root", "-depth", "8", "ppm:-"])
        .output()
        .expect("import (imagemagick) is not installed");
    assert!(out.status.success(), "import: {out:?}");
    ppm(&out.stdout)
}

/// A binary PPM's width, height and RGB pixels.
pub fn ppm(data: &[u8]) -> (usize, usize, Vec<u8>) {
    // "P6", the width, the height and the maximum, each ended by one
    // whitespace byte, then the pixels.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(&data[start..i]).unwrap().to_owned());
        i += 1;
    }
    assert_eq!(fields[0], "P6", "not a binary PPM");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = data[i..].to_vec();
    assert_eq!(
        pixels.len(),
        w * h * 3,
        "a {w}x{h} PPM of {} bytes",
        pixels.len()
    );
    (w, h, pixels)
}
