//! nginx from Debian in front of several servers, as an operator would run
//! it: a round-robin upstream, and the proxy settings the project ships in
//! `packaging/nginx/herald-proxy.conf`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx, killed on drop.
pub struct Balancer {
    child: Child,
    dir: tempfile::TempDir,
    pub url: String,
}

impl Balancer {
    /// Balances round-robin over `upstreams` (`http://IP:PORT` URLs). An
    /// instance that refuses a connection is left alone for 2 s.
    pub fn start(upstreams: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join("packaging/nginx/herald-proxy.conf");
        let servers: String = upstreams
            .iter()
            .map(|u| {
                let addr = u.strip_prefix("http://").unwrap_or(u);
                format!("        server {addr} max_fails=1 fail_timeout=2s;\n")
            })
            .collect();
        let d = dir.path().display();
        // One process and no user switch: it runs as whoever runs the
        // tests, root included, and writes only in its own directory.
        let conf = format!(
            "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream herald {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include {shipped};
        }}
    }}
}}
",
            shipped = shipped.display()
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(nginx())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (scripts/install-deps installs it)");
        let balancer = Balancer {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        let began = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                balancer.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        balancer
    }

    /// What nginx complained about, to explain a failure.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// Debian installs it in /usr/sbin, which a user's PATH may lack.
fn nginx() -> &'static str {
    if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
