//! The Windows build under wine: a private wine prefix, the cross-built
//! binaries from `scripts/windows`, and helpers to look at the prefix's
//! registry, files and screen.
//!
//! Without the Windows binaries (or without wine) the wine tests are
//! skipped, except in CI or with `HERALD_WINE_TESTS=1`, where that fails;
//! `HERALD_WINE_TESTS=0` skips them even in CI (`scripts/test` runs them
//! last, once its Windows build is done).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A wine prefix with the test-only ProcessPrng shim in its system32.
pub struct Prefix {
    dir: tempfile::TempDir,
}

/// Where `scripts/windows` puts the binaries.
pub fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("target/x86_64-pc-windows-gnu/release")
}

pub fn windows_target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("target/windows")
}

/// Whether the wine tests can run; panics where they must.
pub fn available() -> bool {
    let built = release_dir().join("herald-agent.exe").is_file()
        && windows_target_dir().join("herald-agent.msi").is_file();
    let wine = Command::new("wine").arg("--version").output().is_ok();
    if built && wine {
        return true;
    }
    // HERALD_WINE_TESTS=0: the suite runs them later, once the Windows
    // build it started beside the other tests is done.
    let later = std::env::var_os("HERALD_WINE_TESTS").is_some_and(|v| v == "0");
    let required = !later
        && (std::env::var_os("CI").is_some()
            || std::env::var_os("HERALD_WINE_TESTS").is_some_and(|v| v == "1"));
    assert!(
        !required,
        "the wine tests need wine and the Windows build: run scripts/windows (scripts/test does)"
    );
    eprintln!("skipped: no Windows build or no wine (run scripts/windows)");
    false
}

/// Runs a wine command to its end and collects what it printed. Through
/// files, not pipes: the wineserver (and other helpers) a command starts
/// inherit its standard output and outlive it, so a pipe would never
/// reach its end.
pub fn output(c: &mut Command) -> Output {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    let status = c
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .status()
        .unwrap();
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    Output {
        status,
        stdout: read(out),
        stderr: read(err),
    }
}

/// The same path as wine's programs see it, through drive Z:.
pub fn win_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

impl Prefix {
    /// A new prefix, booted, with the shim. About 20 s.
    pub fn boot() -> Prefix {
        let dir = tempfile::Builder::new()
            .prefix("herald-wine-")
            .tempdir()
            .unwrap();
        let p = Prefix { dir };
        // One wineserver for the prefix's whole use, kept a minute past its
        // last program: by default it exits three seconds after, and a
        // program started as it exits was seen killed (SIGKILL, no word).
        let out = output(p.command("wineserver").arg("-p60"));
        assert!(out.status.success(), "wineserver failed: {out:?}");
        let out = output(p.command("wineboot").arg("-i"));
        assert!(out.status.success(), "wineboot failed: {out:?}");
        let system32 = p.dir.path().join("drive_c/windows/system32");
        std::fs::copy(
            windows_target_dir().join("wine/bcryptprimitives.dll"),
            system32.join("bcryptprimitives.dll"),
        )
        .expect("the wine shim: run scripts/windows");
        p
    }

    /// One prefix shared by the tests of a process (booting one is slow).
    pub fn shared() -> &'static Prefix {
        static SHARED: OnceLock<Prefix> = OnceLock::new();
        SHARED.get_or_init(Prefix::boot)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A wine command (`wine`, `wineboot`, `wineserver`) in this prefix.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("WINEPREFIX", self.dir.path())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("HERALD_DATA_DIR");
        c
    }

    /// `wine PROGRAM ARGS...`.
    pub fn wine(&self, program: &str, args: &[&str]) -> Output {
        output(self.command("wine").arg(program).args(args))
    }

    /// A value of the prefix's registry, or `None` if it is not there.
    pub fn reg_value(&self, key: &str, name: &str) -> Option<String> {
        let out = self.wine("reg", &["query", key, "/v", name]);
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split("REG_SZ").nth(1))
            .map(|v| v.trim().to_owned())
    }

    /// The prefix's user profile folder (`C:\users\NAME`).
    pub fn profile(&self) -> PathBuf {
        let users = self.dir.path().join("drive_c/users");
        std::fs::read_dir(&users)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.file_name().is_some_and(|n| n != "Public"))
            .unwrap()
    }

    pub fn drive_c(&self) -> PathBuf {
        self.dir.path().join("drive_c")
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = self.command("wineserver").arg("-k").status();
    }
}

/// Pixels (RGB) of an X window, read with `xwd` (ZPixmap, 24/32 bits).
pub fn window_pixels(window: &str) -> Vec<[u8; 3]> {
    let out = Command::new("xwd")
        .args(["-silent", "-id", window])
        .output()
        .expect("xwd is not installed (x11-apps)");
    let d = out.stdout;
    let be = |i: usize| u32::from_be_bytes([d[i * 4], d[i * 4 + 1], d[i * 4 + 2], d[i * 4 + 3]]);
    if d.len() < 100 {
        return Vec::new();
    }
    let header = be(0) as usize;
    let (bits_per_pixel, bytes_per_line) = (be(11) as usize, be(12) as usize);
    let (width, height, ncolors) = (be(4) as usize, be(5) as usize, be(19) as usize);
    let byte_order_lsb = be(7) == 0;
    assert_eq!(bits_per_pixel, 32, "xwd: unexpected depth");
    let start = header + ncolors * 12;
    let mut px = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let i = start + y * bytes_per_line + x * 4;
            if i + 4 > d.len() {
                break;
            }
            let p = &d[i..i + 4];
            px.push(if byte_order_lsb {
                [p[2], p[1], p[0]]
            } else {
                [p[1], p[2], p[3]]
            });
        }
    }
    px
}
