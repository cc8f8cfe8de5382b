//! The alert's sound, heard: a private PulseAudio whose only sink is a
//! null sink, its monitor recorded with parecord while the real
//! herald-popup shows an alert on the virtual X screen, and the recording
//! measured with sox. An alert that rings is heard; one that does not is
//! silence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald_e2e::popup::{request, Popup};
use herald_e2e::{gui, press, wait_for, wait_window};
use serde_json::json;

/// The recording's RMS amplitude (0 to 1) above which it is not silence.
/// The theme's dialog-warning at full volume measures about 0.007 over
/// the recording; silence measures 0.
const HEARD: f64 = 0.001;

/// A PulseAudio of the test's own, stopped on drop.
struct Pulse {
    child: Child,
    dir: tempfile::TempDir,
}

impl Pulse {
    fn start() -> Pulse {
        for tool in ["pulseaudio", "parecord", "pactl", "sox"] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .stdout(Stdio::null())
                    .status()
                    .unwrap()
                    .success(),
                "{tool} is not installed (scripts/install-deps installs it)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (home, run) = (dir.path().join("home"), dir.path().join("run"));
        for d in [&home, &run] {
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let socket = run.join("pulse.sock");
        let mut c = Command::new("pulseaudio");
        // PulseAudio refuses to run as root but as a system daemon: as
        // root, it runs as nobody, who owns its directories; root's
        // clients still reach its socket.
        if is_root() {
            for d in [&home, &run] {
                let chown = Command::new("chown")
                    .args(["65534:65534", d.to_str().unwrap()])
                    .status()
                    .unwrap();
                assert!(chown.success());
            }
            c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "pulseaudio",
            ]);
        }
        c.args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--realtime=no",
            "--high-priority=no",
            "--load=module-null-sink sink_name=herald_null",
        ])
        .arg(format!(
            "--load=module-native-protocol-unix socket={} auth-anonymous=1",
            socket.display()
        ))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("pulse.log")).unwrap());
        let child = c.spawn().expect("cannot start pulseaudio");
        let pulse = Pulse { child, dir };
        wait_for("PulseAudio's socket", Duration::from_secs(20), || {
            pulse
                .command("pactl")
                .arg("info")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        let set = pulse
            .command("pactl")
            .args(["set-default-sink", "herald_null"])
            .status()
            .unwrap();
        assert!(set.success(), "{}", pulse.log());
        pulse
    }

    fn server(&self) -> String {
        format!("unix:{}", self.dir.path().join("run/pulse.sock").display())
    }

    /// A client of this server only.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("PULSE_SERVER", self.server())
            .env_remove("PULSE_SINK")
            .env_remove("PULSE_SOURCE");
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulse.log")).unwrap_or_default()
    }

    /// Records the null sink's output while `during` runs; returns the
    /// recording's RMS amplitude.
    fn record(&self, file: &Path, during: impl FnOnce()) -> f64 {
        let mut parecord = self
            .command("parecord")
            .args(["--device=herald_null.monitor", "--file-format=wav"])
            // Small fragments: what the server holds back when parecord
            // stops is lost.
            .arg("--latency-msec=50")
            .arg(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start parecord");
        std::thread::sleep(Duration::from_millis(500));
        during();
        std::thread::sleep(Duration::from_millis(500));
        // parecord ends its file properly on SIGINT.
        let stop = Command::new("kill")
            .args(["-INT", &parecord.id().to_string()])
            .status()
            .unwrap();
        assert!(stop.success());
        parecord.wait().unwrap();
        let stat = Command::new("sox")
            .arg(file)
            .args(["-n", "stat"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&stat.stderr);
        let length: f64 = field(&text, "Length (seconds):");
        // The RMS is over the whole recording: one much longer than the
        // sound would hide it.
        assert!(
            (1.5..10.0).contains(&length),
            "a recording of {length} s: {text}"
        );
        field(&text, "RMS     amplitude:")
    }
}

fn field(stat: &str, name: &str) -> f64 {
    stat.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no '{name}' in sox's output: {stat}"))
        .trim()
        .parse()
        .unwrap()
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Shows an alert that rings or not and records the sink meanwhile;
/// returns the recording's RMS amplitude and the popup's standard error.
fn alert(pulse: &Pulse, ring: bool, file: PathBuf) -> (f64, String) {
    let title = if ring {
        "Ringing alert"
    } else {
        "Silent alert"
    };
    let mut r = request("alert", title, "Leave the building.", "En");
    r["ring"] = json!(ring);
    let server = pulse.server();
    let mut ended = None;
    let rms = pulse.record(&file, || {
        let popup = Popup::start(&r, &[("PULSE_SERVER", server.as_str())]);
        let w = wait_window(title);
        // dialog-warning lasts about a second and a half.
        std::thread::sleep(Duration::from_millis(2500));
        press(&w, &["Escape"]);
        ended = Some(popup.ended());
    });
    let ended = ended.unwrap();
    assert_eq!(ended.stdout, "cancelled", "{}", ended.stderr);
    (rms, ended.stderr)
}

#[test]
fn an_alert_that_rings_is_heard_and_one_that_does_not_is_silent() {
    let Some(_screen) = gui() else { return };
    // Built before the recording starts, which it would otherwise stretch.
    herald_e2e::bin("herald-popup");
    let pulse = Pulse::start();
    let (rms, stderr) = alert(&pulse, true, pulse.dir.path().join("ring.wav"));
    eprintln!("sound: the ringing alert's recording has an RMS amplitude of {rms}");
    assert!(stderr.contains("herald-popup: rang"), "{stderr}");
    assert!(
        rms > HEARD,
        "the alert was not heard: RMS {rms}\n{stderr}\n{}",
        pulse.log()
    );
    let (rms, stderr) = alert(&pulse, false, pulse.dir.path().join("silent.wav"));
    assert!(!stderr.contains("rang"), "{stderr}");
    assert!(
        rms < HEARD,
        "an alert that does not ring was heard: RMS {rms}"
    );
}
