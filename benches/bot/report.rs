//! Collects the run's numbers and prints them as Markdown: the machine, one table per
//! measurement, and the goals with met / NOT met (a goal is met only if the numbers show it).
//!
//! Owns presentation and the goal thresholds; it must not measure anything.

use crate::ack::Phase;
use crate::approval::{to_dm_name, PER_PERSON, SHARED};
use crate::process::ServeReport;
use crate::stats::{header, ms, Series};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ACK_P99: Duration = Duration::from_millis(10);
const DM_P50: Duration = Duration::from_millis(25);
const DM_P99: Duration = Duration::from_millis(60);
/// Per-person reaction -> DM p99 at most this many times the shared grant's.
const PER_PERSON_RATIO: f64 = 1.25;
/// 30 MB, read strictly as 30 * 10^6 bytes.
const MAX_BYTES: u64 = 30_000_000;

#[derive(Default)]
pub struct Report {
    load_before: String,
    acks: Vec<Phase>,
    approval: Vec<Series>,
    serve: Option<(PathBuf, ServeReport)>,
    size: Option<(PathBuf, u64)>,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn profile(bin: &Path) -> &'static str {
    if bin.components().any(|c| c.as_os_str() == "release") {
        "release"
    } else {
        "dev (unoptimised, unstripped)"
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

impl Report {
    pub fn start() -> Report {
        Report { load_before: loadavg(), ..Report::default() }
    }

    pub fn ack(&mut self, phase: Phase) {
        self.acks.push(phase);
    }

    pub fn approval(&mut self, series: Vec<Series>) {
        self.approval.extend(series);
    }

    pub fn serve(&mut self, bin: &Path, r: ServeReport) {
        self.serve = Some((bin.to_path_buf(), r));
    }

    pub fn size(&mut self, bin: &Path, bytes: u64) {
        self.size = Some((bin.to_path_buf(), bytes));
    }

    pub fn print(&self) {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!("\n## bot benchmark (benches/bot.rs)\n");
        println!(
            "{cores} cores; load average {} at the start, {} at the end.\n",
            self.load_before,
            loadavg()
        );
        if !self.acks.is_empty() {
            println!("### Slash-command ack latency, open loop\n");
            println!(
                "| requests (HTTP response time) | n | errors | sent/s | max send lag ms | p50 ms \
                 | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for p in &self.acks {
                let s = &p.series;
                println!(
                    "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} |",
                    s.name,
                    s.len(),
                    s.errors,
                    p.achieved_rate,
                    ms(p.max_send_lag),
                    ms(s.pct(50.0)),
                    ms(s.pct(95.0)),
                    ms(s.pct(99.0)),
                    ms(s.max())
                );
            }
            println!();
        }
        if !self.approval.is_empty() {
            println!("### Approval reaction -> password DM\n");
            println!("{}", header("step"));
            for s in &self.approval {
                println!("{}", s.row());
            }
            println!();
        }
        if let Some((bin, r)) = &self.serve {
            println!("### `pgroles serve` memory ({}, {})\n", bin.display(), profile(bin));
            println!("| when | VmRSS MiB | RssAnon MiB | RssFile MiB | VmHWM (peak) MiB |");
            println!("|---|---:|---:|---:|---:|");
            println!("{}", r.ready.row("just after /healthz first answered"));
            println!("{}", r.idle.row(&format!("after {} s idle", r.idle_secs)));
            println!(
                "{}",
                r.after_load.row(&format!(
                    "after {} `/firefighter help` at 200/s + {} s idle",
                    r.load.series.len() + r.load.series.errors,
                    r.idle_secs
                ))
            );
            println!("\nThat burst against the process: {}", r.load.series.row());
            println!("Shutdown: {}\n", r.stopped);
        }
        if let Some((bin, bytes)) = &self.size {
            println!(
                "### Binary size\n\n{}: {bytes} bytes ({:.1} MiB), profile {}\n",
                bin.display(),
                *bytes as f64 / 1048576.0,
                profile(bin)
            );
        }
        self.print_goals();
    }

    fn print_goals(&self) {
        println!("### Goals\n");
        println!("| goal | measured | verdict |\n|---|---|---|");
        let commands: Vec<&Phase> =
            self.acks.iter().filter(|p| p.series.name.starts_with('/')).collect();
        for p in &commands {
            let s = &p.series;
            println!(
                "| ack p99 <= 10 ms: {} | p99 {} ms, {} errors of {} | {} |",
                s.name,
                ms(s.pct(99.0)),
                s.errors,
                s.len() + s.errors,
                verdict(s.pct(99.0) <= ACK_P99 && s.errors == 0 && s.len() > 0)
            );
        }
        if commands.is_empty() {
            println!("| ack p99 <= 10 ms | not measured | NOT met |");
        }
        self.print_dm_goals();
        match &self.serve {
            Some((bin, r)) => {
                let bytes = r.idle.rss_kib * 1024;
                println!(
                    "| idle RSS of serve <= 30 MB ({}) | {:.1} MB ({:.1} MiB) | {} |",
                    profile(bin),
                    bytes as f64 / 1e6,
                    r.idle.rss_kib as f64 / 1024.0,
                    verdict(bytes <= MAX_BYTES && r.idle.rss_kib > 0)
                );
            }
            None => println!("| idle RSS of serve <= 30 MB | not measured | NOT met |"),
        }
        match &self.size {
            Some((bin, bytes)) => println!(
                "| binary size <= 30 MB ({}) | {:.1} MB ({:.1} MiB) | {} |",
                profile(bin),
                *bytes as f64 / 1e6,
                *bytes as f64 / 1048576.0,
                verdict(*bytes <= MAX_BYTES)
            ),
            None => println!("| binary size <= 30 MB | not measured | NOT met |"),
        }
        println!();
    }

    /// Reaction -> DM: p50 and p99 per identity, and per-person p99 against the shared one's.
    fn print_dm_goals(&self) {
        let find = |label| {
            let name = to_dm_name(label);
            self.approval.iter().find(|s| s.name == name && s.len() > 0)
        };
        for label in [SHARED, PER_PERSON] {
            let Some(s) = find(label) else {
                println!("| reaction -> DM ({label}) p50 <= 25 ms, p99 <= 60 ms | not measured | NOT met |");
                continue;
            };
            println!(
                "| reaction -> DM ({label}) p50 <= 25 ms | p50 {} ms (n = {}) | {} |",
                ms(s.pct(50.0)),
                s.len(),
                verdict(s.pct(50.0) <= DM_P50)
            );
            println!(
                "| reaction -> DM ({label}) p99 <= 60 ms | p99 {} ms (n = {}) | {} |",
                ms(s.pct(99.0)),
                s.len(),
                verdict(s.pct(99.0) <= DM_P99)
            );
        }
        match (find(SHARED), find(PER_PERSON)) {
            (Some(shared), Some(person)) => {
                let ratio = person.pct(99.0).as_secs_f64() / shared.pct(99.0).as_secs_f64();
                println!(
                    "| reaction -> DM p99, per-person <= {PER_PERSON_RATIO} x shared | {} ms vs {} \
                     ms: {ratio:.2} x | {} |",
                    ms(person.pct(99.0)),
                    ms(shared.pct(99.0)),
                    verdict(ratio <= PER_PERSON_RATIO)
                );
            }
            _ => println!(
                "| reaction -> DM p99, per-person <= 1.25 x shared | not measured | NOT met |"
            ),
        }
    }
}
