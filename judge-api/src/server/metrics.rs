//! Counters, gauges and histograms, registered with a `prometheus-client`
//! registry and rendered in the Prometheus text format (0.0.4).

use std::ops::Deref;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use engine::Verdict;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram;
use prometheus_client::registry::Registry;

/// `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds of the duration histograms, in seconds.
const BUCKETS: [f64; 13] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// HTTP status classes counted by `judge_http_responses_total`.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// One label, e.g. `verdict="AC"`.
type Label = [(&'static str, &'static str); 1];

/// A registered gauge. Derefs to its atomic so callers keep `fetch_add`/`load`.
#[derive(Default)]
pub struct Level(Gauge<i64, AtomicI64>);

impl Deref for Level {
    type Target = AtomicI64;
    fn deref(&self) -> &AtomicI64 {
        self.0.inner()
    }
}

/// A registered counter without labels; derefs to its atomic like [`Level`].
#[derive(Default)]
pub struct Count(Counter<u64, AtomicU64>);

impl Deref for Count {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        self.0.inner()
    }
}

/// A registered duration histogram that also knows its mean, which the
/// queue uses to estimate `Retry-After`.
pub struct Histogram {
    buckets: histogram::Histogram,
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { buckets: histogram::Histogram::new(BUCKETS), count: AtomicU64::new(0), sum_us: AtomicU64::new(0) }
    }

    pub fn observe(&self, duration: Duration) {
        self.buckets.observe(duration.as_secs_f64());
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(duration.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }

    pub fn mean(&self) -> Option<Duration> {
        let count = self.count.load(Relaxed);
        (count > 0).then(|| Duration::from_micros(self.sum_us.load(Relaxed) / count))
    }
}

pub struct Metrics {
    registry: Registry,
    verdicts: Family<Label, Counter>,
    /// Submissions whose grading ended in an error instead of a result, by fault.
    errors: Family<Label, Counter>,
    rejected: Family<Label, Counter>,
    /// IE verdicts, grader panics and failed self-checks.
    pub sandbox_failures: Count,
    pub queue_depth: Level,
    pub busy_workers: Level,
    pub healthy: Level,
    results_stored: Gauge,
    http: Family<Label, Counter>,
    pub compile_duration: Histogram,
    pub run_duration: Histogram,
    pub queue_wait: Histogram,
    pub grade_duration: Histogram,
}

/// A family with every label value present from the start, so that a
/// series reads 0 rather than being absent before its first event.
fn family(name: &'static str, values: &[&'static str]) -> Family<Label, Counter> {
    let family = Family::<Label, Counter>::default();
    for value in values {
        let _ = family.get_or_create(&[(name, value)]);
    }
    family
}

impl Metrics {
    pub fn new(workers: usize, queue_capacity: usize) -> Metrics {
        let verdict_names: Vec<&'static str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
        let metrics = Metrics {
            registry: Registry::default(),
            verdicts: family("verdict", &verdict_names),
            errors: family("fault", &["caller", "judge"]),
            rejected: family("reason", &["queue_full"]),
            sandbox_failures: Count::default(),
            queue_depth: Level::default(),
            busy_workers: Level::default(),
            healthy: Level::default(),
            results_stored: Gauge::default(),
            http: family("code", &STATUS_CLASSES),
            compile_duration: Histogram::new(),
            run_duration: Histogram::new(),
            queue_wait: Histogram::new(),
            grade_duration: Histogram::new(),
        };
        metrics.register(workers as i64, queue_capacity as i64)
    }

    /// Registers clones of every metric (they share their values); counters get `_total` appended.
    fn register(mut self, workers: i64, queue_capacity: i64) -> Metrics {
        let r = &mut self.registry;
        r.register("judge_submissions", "Graded submissions by verdict.", self.verdicts.clone());
        r.register(
            "judge_submission_errors",
            "Submissions whose grading ended in an error, by fault.",
            self.errors.clone(),
        );
        r.register(
            "judge_submissions_rejected",
            "Submissions refused before queueing, by reason.",
            self.rejected.clone(),
        );
        r.register(
            "judge_sandbox_failures",
            "Internal errors: IE verdicts, grader panics, failed self-checks.",
            self.sandbox_failures.0.clone(),
        );
        r.register("judge_http_responses", "HTTP responses by status class.", self.http.clone());

        r.register("judge_queue_depth", "Submissions waiting for a worker.", self.queue_depth.0.clone());
        let capacity = Gauge::<i64, AtomicI64>::default();
        capacity.set(queue_capacity);
        r.register("judge_queue_capacity", "Submissions that may wait before new ones get 503.", capacity);
        let pool = Gauge::<i64, AtomicI64>::default();
        pool.set(workers);
        r.register("judge_workers", "Size of the worker pool.", pool);
        r.register("judge_workers_busy", "Workers grading a submission now.", self.busy_workers.0.clone());
        r.register("judge_results_stored", "Submissions held in the result store.", self.results_stored.clone());
        r.register(
            "judge_sandbox_healthy",
            "1 when the sandbox self-check passed and the last grading could start its sandboxes.",
            self.healthy.0.clone(),
        );

        for (name, help, histogram) in [
            ("judge_compile_duration_seconds", "Compile step duration.", &self.compile_duration),
            ("judge_run_duration_seconds", "Elapsed time of one test run.", &self.run_duration),
            ("judge_queue_wait_seconds", "Time a submission waited for a worker.", &self.queue_wait),
            ("judge_grade_duration_seconds", "Time a worker spent on one submission.", &self.grade_duration),
        ] {
            r.register(name, help, histogram.buckets.clone());
        }
        self
    }

    pub fn verdict(&self, verdict: Verdict) {
        self.verdicts.get_or_create(&[("verdict", verdict.as_str())]).inc();
        if verdict == Verdict::IE {
            self.sandbox_failures.fetch_add(1, Relaxed);
        }
    }

    /// A graded submission (native or Judge0): its verdict, how long its
    /// compile step took (if it had one) and each run's elapsed time.
    pub fn graded(&self, verdict: Verdict, compile: Option<Duration>, runs: impl IntoIterator<Item = Duration>) {
        self.verdict(verdict);
        if let Some(compile) = compile.filter(|d| !d.is_zero()) {
            self.compile_duration.observe(compile);
        }
        for run in runs {
            self.run_duration.observe(run);
        }
    }

    pub fn grading_error(&self, internal: bool) {
        let fault = if internal { "judge" } else { "caller" };
        self.errors.get_or_create(&[("fault", fault)]).inc();
        if internal {
            self.sandbox_failures.fetch_add(1, Relaxed);
        }
    }

    pub fn queue_full(&self) {
        self.rejected.get_or_create(&[("reason", "queue_full")]).inc();
    }

    pub fn http_status(&self, status: u16) {
        let class = STATUS_CLASSES[(status / 100).clamp(1, 5) as usize - 1];
        self.http.get_or_create(&[("code", class)]).inc();
    }

    /// The Prometheus text exposition of every metric; see [`CONTENT_TYPE`].
    pub fn render(&self, results_stored: usize) -> String {
        self.results_stored.set(results_stored.min(i64::MAX as usize) as i64);
        let mut out = String::with_capacity(8192);
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
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
        assert!(text.contains("# TYPE judge_run_duration_seconds histogram\n"), "{text}");
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"0.001\"} 0\n"), "{text}");
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"2.5\"} 2\n"));
        assert!(text.contains("judge_run_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("judge_run_duration_seconds_count 2\n"));
        assert!(text.contains("judge_run_duration_seconds_sum 2.003\n"));
        assert_eq!(metrics.run_duration.mean(), Some(Duration::from_micros(1_001_500)));
    }

    #[test]
    fn ie_counts_as_a_sandbox_failure() {
        let metrics = Metrics::new(1, 1);
        metrics.verdict(Verdict::IE);
        metrics.verdict(Verdict::AC);
        let text = metrics.render(0);
        assert!(text.contains("# TYPE judge_submissions_total counter\n"), "{text}");
        assert!(text.contains("judge_submissions_total{verdict=\"IE\"} 1\n"));
        assert!(text.contains("judge_submissions_total{verdict=\"AC\"} 1\n"));
        assert!(text.contains("judge_submissions_total{verdict=\"WA\"} 0\n"));
        assert!(text.contains("judge_sandbox_failures_total 1\n"));
    }

    #[test]
    fn gauges_and_labelled_counters_keep_their_names() {
        let metrics = Metrics::new(3, 16);
        metrics.queue_depth.fetch_add(2, Relaxed);
        metrics.busy_workers.fetch_add(1, Relaxed);
        metrics.http_status(503);
        metrics.queue_full();
        metrics.grading_error(false);
        let text = metrics.render(5);
        for line in [
            "# TYPE judge_queue_depth gauge",
            "judge_queue_depth 2",
            "judge_queue_capacity 16",
            "judge_workers 3",
            "judge_workers_busy 1",
            "judge_results_stored 5",
            "judge_sandbox_healthy 0",
            "judge_http_responses_total{code=\"5xx\"} 1",
            "judge_http_responses_total{code=\"2xx\"} 0",
            "judge_submissions_rejected_total{reason=\"queue_full\"} 1",
            "judge_submission_errors_total{fault=\"caller\"} 1",
            "judge_submission_errors_total{fault=\"judge\"} 0",
            "judge_sandbox_failures_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
        }
    }
}
