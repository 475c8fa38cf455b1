//! Counters, gauges and histograms, rendered in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use engine::Verdict;

/// Upper bounds of the duration histograms, in seconds.
const BUCKETS: [f64; 13] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { counts: Default::default(), count: AtomicU64::new(0), sum_us: AtomicU64::new(0) }
    }

    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(duration.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }

    pub fn mean(&self) -> Option<Duration> {
        let count = self.count.load(Relaxed);
        (count > 0).then(|| Duration::from_micros(self.sum_us.load(Relaxed) / count))
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", count.load(Relaxed));
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// HTTP status classes counted by `judge_http_responses_total`.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

pub struct Metrics {
    verdicts: [AtomicU64; Verdict::ALL.len()],
    /// Submissions whose grading ended in an error instead of a result.
    errors_caller: AtomicU64,
    errors_internal: AtomicU64,
    rejected_queue_full: AtomicU64,
    /// IE verdicts, grader panics and failed self-checks.
    pub sandbox_failures: AtomicU64,
    pub queue_depth: AtomicI64,
    pub queue_capacity: u64,
    pub workers: u64,
    pub busy_workers: AtomicI64,
    pub healthy: AtomicI64,
    http: [AtomicU64; STATUS_CLASSES.len()],
    pub compile_duration: Histogram,
    pub run_duration: Histogram,
    pub queue_wait: Histogram,
    pub grade_duration: Histogram,
}

impl Metrics {
    pub fn new(workers: usize, queue_capacity: usize) -> Metrics {
        Metrics {
            verdicts: Default::default(),
            errors_caller: AtomicU64::new(0),
            errors_internal: AtomicU64::new(0),
            rejected_queue_full: AtomicU64::new(0),
            sandbox_failures: AtomicU64::new(0),
            queue_depth: AtomicI64::new(0),
            queue_capacity: queue_capacity as u64,
            workers: workers as u64,
            busy_workers: AtomicI64::new(0),
            healthy: AtomicI64::new(0),
            http: Default::default(),
            compile_duration: Histogram::new(),
            run_duration: Histogram::new(),
            queue_wait: Histogram::new(),
            grade_duration: Histogram::new(),
        }
    }

    pub fn verdict(&self, verdict: Verdict) {
        let index = Verdict::ALL.iter().position(|v| *v == verdict).expect("every verdict is in ALL");
        self.verdicts[index].fetch_add(1, Relaxed);
        if verdict == Verdict::IE {
            self.sandbox_failures.fetch_add(1, Relaxed);
        }
    }

    pub fn grading_error(&self, internal: bool) {
        if internal {
            self.errors_internal.fetch_add(1, Relaxed);
            self.sandbox_failures.fetch_add(1, Relaxed);
        } else {
            self.errors_caller.fetch_add(1, Relaxed);
        }
    }

    pub fn queue_full(&self) {
        self.rejected_queue_full.fetch_add(1, Relaxed);
    }

    pub fn http_status(&self, status: u16) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.http[class].fetch_add(1, Relaxed);
    }

    pub fn render(&self, results_stored: usize) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };

        counter(&mut out, "judge_submissions_total", "Graded submissions by verdict.");
        for (verdict, count) in Verdict::ALL.iter().zip(&self.verdicts) {
            let _ = writeln!(out, "judge_submissions_total{{verdict=\"{verdict}\"}} {}", count.load(Relaxed));
        }
        counter(&mut out, "judge_submission_errors_total", "Submissions whose grading ended in an error, by fault.");
        let _ = writeln!(out, "judge_submission_errors_total{{fault=\"caller\"}} {}", self.errors_caller.load(Relaxed));
        let _ =
            writeln!(out, "judge_submission_errors_total{{fault=\"judge\"}} {}", self.errors_internal.load(Relaxed));
        counter(&mut out, "judge_submissions_rejected_total", "Submissions refused before queueing, by reason.");
        let _ = writeln!(
            out,
            "judge_submissions_rejected_total{{reason=\"queue_full\"}} {}",
            self.rejected_queue_full.load(Relaxed)
        );
        counter(
            &mut out,
            "judge_sandbox_failures_total",
            "Internal errors: IE verdicts, grader panics, failed self-checks.",
        );
        let _ = writeln!(out, "judge_sandbox_failures_total {}", self.sandbox_failures.load(Relaxed));
        counter(&mut out, "judge_http_responses_total", "HTTP responses by status class.");
        for (class, count) in STATUS_CLASSES.iter().zip(&self.http) {
            let _ = writeln!(out, "judge_http_responses_total{{code=\"{class}\"}} {}", count.load(Relaxed));
        }

        gauge(&mut out, "judge_queue_depth", "Submissions waiting for a worker.", self.queue_depth.load(Relaxed));
        gauge(
            &mut out,
            "judge_queue_capacity",
            "Submissions that may wait before new ones get 503.",
            self.queue_capacity as i64,
        );
        gauge(&mut out, "judge_workers", "Size of the worker pool.", self.workers as i64);
        gauge(&mut out, "judge_workers_busy", "Workers grading a submission now.", self.busy_workers.load(Relaxed));
        gauge(&mut out, "judge_results_stored", "Submissions held in the result store.", results_stored as i64);
        gauge(
            &mut out,
            "judge_sandbox_healthy",
            "1 when the start-up sandbox self-check passed.",
            self.healthy.load(Relaxed),
        );

        self.compile_duration.render(&mut out, "judge_compile_duration_seconds", "Compile step duration.");
        self.run_duration.render(&mut out, "judge_run_duration_seconds", "Elapsed time of one test run.");
        self.queue_wait.render(&mut out, "judge_queue_wait_seconds", "Time a submission waited for a worker.");
        self.grade_duration.render(&mut out, "judge_grade_duration_seconds", "Time a worker spent on one submission.");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::new(2, 8);
        metrics.run_duration.observe(Duration::from_millis(3));
        metrics.run_duration.observe(Duration::from_secs(2));
        let text = metrics.render(0);
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"0.001\"} 0\n"), "{text}");
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"2.5\"} 2\n"));
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("judge_run_duration_seconds_count 2\n"));
        assert!(text.contains("judge_run_duration_seconds_sum 2.003\n"));
    }

    #[test]
    fn ie_counts_as_a_sandbox_failure() {
        let metrics = Metrics::new(1, 1);
        metrics.verdict(Verdict::IE);
        metrics.verdict(Verdict::AC);
        let text = metrics.render(0);
        assert!(text.contains("judge_submissions_total{verdict=\"IE\"} 1\n"));
        assert!(text.contains("judge_submissions_total{verdict=\"AC\"} 1\n"));
        assert!(text.contains("judge_submissions_total{verdict=\"WA\"} 0\n"));
        assert!(text.contains("judge_sandbox_failures_total 1\n"));
    }
}
