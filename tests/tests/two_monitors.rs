//! A fullscreen alert on an X11 desktop with two monitors: a real Xorg
//! server (the dummy video driver, two outputs side by side through
//! RandR, as GTK sees real monitors), the real herald-popup, the screen
//! read back. Xvfb cannot do this: it has one RandR output, and GTK 3
//! builds its monitors from outputs only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald_e2e::popup::{ppm, request, Popup};
use herald_e2e::{gui, wait_for};
use serde_json::json;

const CONFIG: &str = r#"
Section "Device"
    Identifier "card"
    Driver "dummy"
    VideoRam 256000
EndSection
Section "Monitor"
    Identifier "monitor"
    HorizSync 5.0-1000.0
    VertRefresh 5.0-200.0
EndSection
Section "Screen"
    Identifier "screen"
    Device "card"
    Monitor "monitor"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Virtual 2560 800
    EndSubSection
EndSection
"#;

/// The dark that covers a monitor around a fullscreen message's card.
const COVER: [u8; 3] = [0x20, 0x21, 0x24];

struct Xorg {
    child: Child,
    display: String,
    _dir: tempfile::TempDir,
}

impl Drop for Xorg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xorg {
    /// An Xorg with two 1280x800 monitors, or None where Xorg cannot run
    /// (not root, or not installed) outside CI.
    fn two_monitors() -> Option<Xorg> {
        let xorg = Path::new("/usr/lib/xorg/Xorg");
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        if !xorg.exists() || !root {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the two-monitor test: Xorg (xserver-xorg-core, \
                 xserver-xorg-video-dummy) as root"
            );
            eprintln!("skipped: needs Xorg with the dummy driver, as root");
            return None;
        }
        let n = (70..200)
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("xorg.conf");
        std::fs::write(&conf, CONFIG).unwrap();
        let display = format!(":{n}");
        let child = Command::new("Xorg")
            .arg(&display)
            .arg("-config")
            .arg(&conf)
            .args(["-noreset", "-nolisten", "tcp", "-novtswitch", "-sharevts"])
            .arg("-logfile")
            .arg(dir.path().join("xorg.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start Xorg");
        let x = Xorg {
            child,
            display,
            _dir: dir,
        };
        wait_for("Xorg to take connections", Duration::from_secs(20), || {
            x.xrandr(&["--current"]).status.success()
        });
        for args in [
            &["--output", "DUMMY0", "--mode", "1280x800", "--pos", "0x0"][..],
            &["--addmode", "DUMMY1", "1280x800"],
            &[
                "--output", "DUMMY1", "--mode", "1280x800", "--pos", "1280x0",
            ],
        ] {
            let out = x.xrandr(args);
            assert!(out.status.success(), "xrandr {args:?}: {out:?}");
        }
        let monitors = String::from_utf8_lossy(&x.xrandr(&["--listmonitors"]).stdout).into_owned();
        assert!(monitors.starts_with("Monitors: 2"), "{monitors}");
        Some(x)
    }

    fn xrandr(&self, args: &[&str]) -> std::process::Output {
        Command::new("xrandr")
            .env("DISPLAY", &self.display)
            .args(args)
            .output()
            .expect("xrandr (x11-xserver-utils) is not installed")
    }

    fn pixels(&self) -> (usize, usize, Vec<u8>) {
        let out = Command::new("import")
            .env("DISPLAY", &self.display)
            .args(["-window", "root", "-depth", "8", "ppm:-"])
            .output()
            .unwrap();
        assert!(out.status.success(), "import: {out:?}");
        ppm(&out.stdout)
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .env("DISPLAY", &self.display)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// How many pixels of the monitor from `x0` to `x0 + 1280` are the cover,
/// and how many are white (the card).
fn census(width: usize, pixels: &[u8], x0: usize) -> (usize, usize) {
    let (mut cover, mut white) = (0, 0);
    for (i, p) in pixels.chunks_exact(3).enumerate() {
        if (x0..x0 + 1280).contains(&(i % width)) {
            cover += usize::from(p == COVER);
            white += usize::from(p == [0xff, 0xff, 0xff]);
        }
    }
    (cover, white)
}

#[test]
fn a_fullscreen_alert_covers_both_monitors_with_its_card_on_the_first() {
    // Its own X server, but the popups of the suite take turns all the same.
    let Some(_screen) = gui() else { return };
    let Some(x) = Xorg::two_monitors() else {
        return;
    };
    let env = [("DISPLAY", x.display.as_str()), ("GDK_BACKEND", "x11")];
    let mut r = request("alert", "Evacuation roll call", "Leave the building.", "En");
    r["answers"] = json!(["I am safe", "I need help"]);
    r["fullscreen"] = json!(true);
    let mut popup = Popup::start(&r, &env);
    let mut w = String::new();
    wait_for("the fullscreen message", Duration::from_secs(30), || {
        w = x.xdotool(&[
            "search",
            "--onlyvisible",
            "--name",
            "^Evacuation roll call$",
        ]);
        !w.trim().is_empty()
    });
    std::thread::sleep(Duration::from_millis(800));
    let (width, height, pixels) = x.pixels();
    assert_eq!((width, height), (2560, 800));
    let monitor = 1280 * 800;
    let (cover_1, white_1) = census(width, &pixels, 0);
    let (cover_2, white_2) = census(width, &pixels, 1280);
    // The second monitor is all cover; the first is cover around a card.
    assert_eq!(cover_2, monitor, "the second monitor is not covered whole");
    assert_eq!(white_2, 0);
    assert!(
        cover_1 > monitor / 2,
        "the first monitor is not covered ({cover_1})"
    );
    assert!(white_1 > 20_000, "no card on the first monitor ({white_1})");
    assert!(popup.running());
    let w = w.lines().next().unwrap().to_owned();
    x.xdotool(&["windowfocus", "--sync", &w]);
    x.xdotool(&["key", "--clearmodifiers", "Escape"]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        popup.running(),
        "Escape closed a message that asks for an answer"
    );
    x.xdotool(&["key", "--clearmodifiers", "Tab"]);
    x.xdotool(&["key", "--clearmodifiers", "Return"]);
    let ended = popup.ended();
    assert_eq!(ended.stdout, "answer 2", "{}", ended.stderr);
    assert!(ended.stderr.contains("monitors 2"), "{}", ended.stderr);

    // A plain alert on the same desktop covers neither monitor.
    r["fullscreen"] = json!(false);
    let popup = Popup::start(&r, &env);
    wait_for("the plain alert", Duration::from_secs(30), || {
        !x.xdotool(&[
            "search",
            "--onlyvisible",
            "--name",
            "^Evacuation roll call$",
        ])
        .trim()
        .is_empty()
    });
    std::thread::sleep(Duration::from_millis(800));
    let (width, _, pixels) = x.pixels();
    assert_eq!(
        census(width, &pixels, 1280).0,
        0,
        "a plain alert covered the second monitor"
    );
    drop(popup);
}
