//! `cargo bench -p engine --bench sandbox`: the sandbox's costs next to the
//! bare fork/exec floor, measured in the same run. Prints figures; asserts
//! nothing. Needs root and gcc (with static libc).

use std::path::{Path, PathBuf};
use std::process::Stdio as HostStdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::grade::{GradeOptions, Grader, Submission};
use engine::language::Languages;
use engine::problem::Problem;
use engine::sandbox::{Command, Limits, RunStatus, Slot, Stdio};

const AB_SOURCE: &str = "#include <stdio.h>\nint main(){long long a,b;if(scanf(\"%lld %lld\",&a,&b)!=2)return 1;printf(\"%lld\\n\",a+b);return 0;}\n";

fn compile_static(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write source");
    let out = dir.join(name);
    let status =
        std::process::Command::new("gcc").args(["-O2", "-static", "-o"]).arg(&out).arg(&src).status().expect("run gcc");
    assert!(status.success(), "gcc -static failed (is libc6-dev installed?)");
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn bench_per_run(dir: &Path) {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let true_bin = compile_static(dir, "true", "int main(void){return 0;}\n");
    let slot = Slot::claim(500).expect("slot");
    // Warm both paths once.
    let _ = std::process::Command::new(&true_bin).status();
    let _ = Command::new("/box/true").workdir(dir, false).slot(&slot).run();

    let start = Instant::now();
    for _ in 0..runs {
        let status = std::process::Command::new(&true_bin).stdin(HostStdio::null()).status().expect("spawn");
        assert!(status.success());
    }
    let bare = start.elapsed().as_secs_f64() * 1000.0 / runs as f64;

    let start = Instant::now();
    for _ in 0..runs {
        let result = Command::new("/box/true").workdir(dir, false).slot(&slot).run();
        assert_eq!(result.status, RunStatus::Ok, "{:?}", result.message);
    }
    let sandboxed = start.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    println!("per-run cost, static /bin/true ({runs} runs each)");
    println!("  bare clone+exec+wait : {bare:.3} ms");
    println!("  sandboxed run        : {sandboxed:.3} ms");
    println!("  ratio                : {:.2}  (target <= 1.3)", sandboxed / bare);
    // A judge holding much memory (loaded problems, caches) must not make
    // runs slower: init shares the judge's memory instead of copying it.
    let ballast = std::hint::black_box(vec![1u8; 200 << 20]);
    let start = Instant::now();
    for _ in 0..runs {
        let result = Command::new("/box/true").workdir(dir, false).slot(&slot).run();
        assert_eq!(result.status, RunStatus::Ok, "{:?}", result.message);
    }
    let heavy = start.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    drop(ballast);
    println!("  sandboxed run, judge holding 200 MiB more: {heavy:.3} ms");
}

fn bench_throughput(dir: &Path) {
    const TESTS: usize = 400;
    let ab = compile_static(dir, "ab", AB_SOURCE);
    let tests: Vec<(String, Vec<u8>, Vec<u8>)> = (0..TESTS)
        .map(|i| {
            let (a, b) = (i as i64 * 7919, i as i64 * 104729 - 5);
            (format!("{i:03}"), format!("{a} {b}\n").into_bytes(), format!("{}\n", a + b).into_bytes())
        })
        .collect();

    let start = Instant::now();
    for (_, input, answer) in &tests {
        let mut child = std::process::Command::new(&ab)
            .stdin(HostStdio::piped())
            .stdout(HostStdio::piped())
            .spawn()
            .expect("spawn");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(input).expect("write");
        let out = child.wait_with_output().expect("wait");
        assert_eq!(&out.stdout, answer);
    }
    let bare = start.elapsed();

    let languages = Arc::new(Languages::embedded().expect("languages"));
    let grader = Grader::new(languages);
    let problem = Problem::inline("ab", tests, 1.0, 256, 64, Vec::new()).expect("no validator flags");
    let submission = Submission { language: "c".into(), source: AB_SOURCE.as_bytes().to_vec() };
    // Compile once outside the timing (the compile cache keeps it).
    let warm = grader.grade(&problem, &submission, &GradeOptions::default(), &|_, _| {}).expect("grade");
    assert_eq!(warm.verdict, engine::Verdict::AC);
    let start = Instant::now();
    let result = grader.grade(&problem, &submission, &GradeOptions::default(), &|_, _| {}).expect("grade");
    let graded = start.elapsed();
    assert_eq!(result.verdict, engine::Verdict::AC);
    println!("grading throughput, C A+B with {TESTS} tests (compile cached)");
    println!(
        "  sequential fork/exec, no sandbox : {:.0} ms ({:.0} tests/s)",
        bare.as_secs_f64() * 1e3,
        TESTS as f64 / bare.as_secs_f64()
    );
    println!(
        "  judge grade, sandboxed, parallel : {:.0} ms ({:.0} tests/s)",
        graded.as_secs_f64() * 1e3,
        TESTS as f64 / graded.as_secs_f64()
    );
    println!(
        "  ratio                            : {:.2}  (target >= 1.6; 2.0 is the 2-core ceiling)",
        bare.as_secs_f64() / graded.as_secs_f64()
    );
}

fn bench_kill_latency(dir: &Path) {
    const RUNS: usize = 40;
    compile_static(dir, "spin", "int main(void){volatile unsigned long x=0;for(;;)x++;}\n");
    compile_static(
        dir,
        "hog",
        "#include <stdlib.h>\n#include <string.h>\nint main(void){for(;;){char*p=malloc(1<<20);if(!p)return 1;memset(p,1,1<<20);}}\n",
    );
    let slot = Slot::claim(600).expect("slot");
    let cpu_limit = Duration::from_millis(200);
    let mut cpu_over = Vec::new();
    for _ in 0..RUNS {
        let limits = Limits::new(cpu_limit, 256 << 20);
        let result = Command::new("/box/spin").workdir(dir, false).slot(&slot).limits(limits).run();
        assert_eq!(result.status, RunStatus::Tle);
        cpu_over.push((result.time_us as f64 - cpu_limit.as_micros() as f64) / 1000.0);
    }
    cpu_over.sort_by(|a, b| a.total_cmp(b));
    let mut mem_over = Vec::new();
    for _ in 0..RUNS {
        let mut limits = Limits::new(Duration::from_secs(5), 64 << 20);
        limits.address_space = None;
        let result = Command::new("/box/hog").workdir(dir, false).slot(&slot).limits(limits).stdin(Stdio::Null).run();
        assert_eq!(result.status, RunStatus::Mle);
        mem_over.push(result.memory_kb as f64 / 1024.0 - 64.0);
    }
    mem_over.sort_by(|a, b| a.total_cmp(b));
    println!("limit breach to kill ({RUNS} runs each)");
    println!(
        "  CPU past a 200 ms limit when killed : p50 {:.1} ms, p99 {:.1} ms  (target p99 <= 10 ms)",
        percentile(&cpu_over, 0.5),
        percentile(&cpu_over, 0.99)
    );
    println!(
        "  memory past a 64 MiB limit when killed (touching ~1 GiB/s or faster): p50 {:.1} MiB, p99 {:.1} MiB",
        percentile(&mem_over, 0.5),
        percentile(&mem_over, 0.99)
    );
}

/// A /proc/meminfo field in kB.
fn meminfo_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn bench_memory(dir: &Path) {
    const SLOTS: u32 = 32;
    compile_static(dir, "true", "int main(void){return 0;}\n");
    // Kernel memory of warm sandboxes (no process holds them: only fds).
    let kernel = || meminfo_kb("Slab") + meminfo_kb("Percpu") + meminfo_kb("KernelStack") + meminfo_kb("PageTables");
    let before_warm = engine::sandbox::warm_slots();
    let before = kernel();
    let mut claimed = Vec::new();
    for i in 0..SLOTS {
        let slot = Slot::claim(700 + i).expect("slot");
        let result = Command::new("/box/true").workdir(dir, false).slot(&slot).run();
        assert_eq!(result.status, RunStatus::Ok, "{:?}", result.message);
        claimed.push(slot);
    }
    let added = engine::sandbox::warm_slots() - before_warm;
    let after = kernel();
    println!("memory");
    println!(
        "  per warm sandbox (kernel slab + percpu + stacks + page tables, {added} new slots): {:.0} KiB  (target <= 2 MB)",
        after.saturating_sub(before) as f64 / added.max(1) as f64
    );
    let judge = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/judge");
    if !judge.exists() {
        println!("  server RSS at idle: skipped ({} not built; cargo build --release)", judge.display());
        return;
    }
    let mut server = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(&judge)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(HostStdio::null())
        .stderr(HostStdio::null())
        .spawn()
        .expect("start judge serve");
    // Let it start and run its sandbox self-check, then measure the judge process itself.
    std::thread::sleep(Duration::from_secs(3));
    // The judge is the child of our `unshare`.
    let parent = format!("PPid:\t{}", server.id());
    let rss = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .find(|status| status.lines().any(|l| l == parent))
        .and_then(|status| status.lines().find(|l| l.starts_with("VmRSS:")).map(String::from))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()));
    let _ = server.kill();
    let _ = server.wait();
    match rss {
        Some(kb) => println!("  server RSS at idle: {:.1} MB  (target <= 30 MB)", kb as f64 / 1024.0),
        None => println!("  server RSS at idle: could not find the judge process"),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("judge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    // `cargo bench -p engine --bench sandbox -- per-run` runs one part.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("per-run") {
        bench_per_run(&dir);
    }
    if wanted("throughput") {
        bench_throughput(&dir);
    }
    if wanted("kill") {
        bench_kill_latency(&dir);
    }
    if wanted("memory") {
        bench_memory(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
