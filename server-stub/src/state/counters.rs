//! What one instance has done since it started, for the operator's
//! monitoring, in Prometheus' text format. The counts are this instance's
//! own on purpose: behind a balancer each instance is scraped on its own
//! address, and the monitoring system adds them up. A full answer is an
//! agent that lost step with the server (a new store, a restored backup):
//! a burst of them after a failover is the resync storm to watch for.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use herald_protocol::{PollResponse, ReceiptAnswer};

pub struct Counters {
    started: Instant,
    polls_unchanged: AtomicU64,
    polls_changed: AtomicU64,
    polls_full: AtomicU64,
    receipts_recorded: AtomicU64,
    receipts_duplicate: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            started: Instant::now(),
            polls_unchanged: AtomicU64::new(0),
            polls_changed: AtomicU64::new(0),
            polls_full: AtomicU64::new(0),
            receipts_recorded: AtomicU64::new(0),
            receipts_duplicate: AtomicU64::new(0),
        }
    }
}

impl Counters {
    pub fn poll(&self, answer: &PollResponse) {
        let counter = if answer.full {
            &self.polls_full
        } else if answer.changed {
            &self.polls_changed
        } else {
            &self.polls_unchanged
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn receipts(&self, answer: &ReceiptAnswer) {
        self.receipts_recorded
            .fetch_add(answer.recorded.into(), Ordering::Relaxed);
        self.receipts_duplicate
            .fetch_add(answer.duplicates.into(), Ordering::Relaxed);
    }

    /// The text a scraper reads; `streams` is the push streams held now.
    pub fn render(&self, streams: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        family(
            "herald_build_info",
            "gauge",
            "The server's version.",
            &[(concat!("{version=\"", env!("CARGO_PKG_VERSION"), "\"}"), 1)],
        );
        family(
            "herald_uptime_seconds",
            "gauge",
            "Seconds since this instance started.",
            &[("", self.started.elapsed().as_secs())],
        );
        family(
            "herald_push_streams",
            "gauge",
            "Push streams this instance holds now.",
            &[("", streams as u64)],
        );
        family(
            "herald_polls_total",
            "counter",
            "Polls answered, by answer: nothing new, a difference, or everything (an agent out of step).",
            &[
                ("{answer=\"unchanged\"}", get(&self.polls_unchanged)),
                ("{answer=\"changed\"}", get(&self.polls_changed)),
                ("{answer=\"full\"}", get(&self.polls_full)),
            ],
        );
        family(
            "herald_receipts_total",
            "counter",
            "Receipts taken, by outcome.",
            &[
                ("{outcome=\"recorded\"}", get(&self.receipts_recorded)),
                ("{outcome=\"duplicate\"}", get(&self.receipts_duplicate)),
            ],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(changed: bool, full: bool) -> PollResponse {
        PollResponse {
            api_version: herald_protocol::API_VERSION,
            server_time: chrono::Utc::now(),
            cursor: String::new(),
            changed,
            full,
            messages: Vec::new(),
            stopped: Vec::new(),
            settings: herald_protocol::Settings {
                poll_interval_secs: 60,
                version_warning: None,
                push: herald_protocol::PushMode::Stream,
                push_secret: None,
                ..Default::default()
            },
        }
    }

    #[test]
    fn each_answer_counts_once_under_its_kind() {
        let c = Counters::default();
        c.poll(&answer(false, false));
        c.poll(&answer(false, false));
        c.poll(&answer(true, false));
        c.poll(&answer(true, true));
        c.receipts(&ReceiptAnswer {
            recorded: 3,
            duplicates: 1,
            rejected: Vec::new(),
        });
        let text = c.render(7);
        for line in [
            "herald_push_streams 7",
            "herald_polls_total{answer=\"unchanged\"} 2",
            "herald_polls_total{answer=\"changed\"} 1",
            "herald_polls_total{answer=\"full\"} 1",
            "herald_receipts_total{outcome=\"recorded\"} 3",
            "herald_receipts_total{outcome=\"duplicate\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
