//! Debian's Prometheus on loopback, serving series written as OpenMetrics
//! and loaded with `promtool tsdb create-blocks-from openmetrics`, so every
//! value a test queries is known exactly. scripts/test.sh installs the
//! package when it is missing.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestPrometheus {
    child: Child,
    pub address: String,
    dir: PathBuf,
}

/// One series: its metric name and labels (`http_error_ratio{pod="a"}`)
/// and its samples as (unix seconds, value).
pub struct Series<'a> {
    pub name: &'a str,
    pub labels: &'a str,
    pub samples: Vec<(i64, f64)>,
}

/// The series as an OpenMetrics text of gauges.
pub fn openmetrics(series: &[Series]) -> String {
    let mut text = String::new();
    let mut typed = std::collections::HashSet::new();
    for s in series {
        if typed.insert(s.name) {
            text.push_str(&format!("# TYPE {} gauge\n", s.name));
        }
        for (time, value) in &s.samples {
            text.push_str(&format!("{}{{{}}} {value} {time}\n", s.name, s.labels));
        }
    }
    text + "# EOF\n"
}

/// Samples every `step` seconds from `from` to `to` (inclusive), each the
/// value `at` gives.
pub fn every(step: i64, from: i64, to: i64, at: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
    (0..).map(|i| from + i * step).take_while(|t| *t <= to).map(|t| (t, at(t))).collect()
}

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()));
    found.unwrap_or_else(|| panic!("{name} is not installed: scripts/apt-install.sh prometheus (scripts/test.sh does)"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl TestPrometheus {
    pub fn start(series: &[Series]) -> TestPrometheus {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = super::workspace().join("target/prometheus").join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("series.om"), openmetrics(series)).unwrap();
        let backfill = Command::new(tool("promtool"))
            .args(["tsdb", "create-blocks-from", "openmetrics", "series.om", "tsdb"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(backfill.status.success(), "promtool: {}", String::from_utf8_lossy(&backfill.stderr));
        std::fs::write(dir.join("prometheus.yml"), "global: {scrape_interval: 1h}\n").unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(tool("prometheus"))
            .args(["--config.file=prometheus.yml", "--storage.tsdb.path=tsdb", "--storage.tsdb.retention.time=100y"])
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let prometheus = TestPrometheus { child, address: format!("http://127.0.0.1:{port}"), dir };
        prometheus.wait_ready(port);
        prometheus
    }

    fn wait_ready(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        panic!("Prometheus on port {port} was not ready within 30 s: {log}");
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
