//! The HTTP layer below the handlers (issue 13): header-read, body-read and
//! idle timeouts, the connection cap, a shutdown bounded by its grace period,
//! the raised open-files limit, and JSON errors for malformed requests.
//!
//! The real `judge serve` on an ephemeral loopback port, inside `unshare
//! --pid --fork --kill-child --mount-proc` with a private tmpfs at
//! /run/judge/work (as in `server.rs`); spoken to over raw TCP.

#[path = "common/serve.rs"]
mod serve;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serve::{echo_all, Serve};
use tempfile::TempDir;

/// One server at a time: the timing assertions mean little under a pile-up.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Server {
    serve: Serve,
    _data: TempDir,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Server {
    /// Starts `judge serve` with `args` and waits until /healthz says 200.
    fn start(args: &[&str]) -> Server {
        Server::start_with(&[], args)
    }

    /// `wrapper` (a command such as `prlimit ...`) runs the judge.
    fn start_with(wrapper: &[&str], args: &[&str]) -> Server {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let data = tempfile::Builder::new().prefix("judge-http-layer-").tempdir().expect("a temp data dir");
        let mut serve_args = vec!["--workers", "1", "--data-dir"];
        serve_args.push(data.path().to_str().expect("a UTF-8 temp dir"));
        serve_args.extend_from_slice(args);
        let serve = Serve::spawn("server", wrapper, &serve_args, echo_all);
        let server = Server { serve, _data: data, _turn: turn };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = server.connect().and_then(|mut s| exchange(&mut s, HEALTHZ));
            if answer.as_deref().is_ok_and(|a| a.starts_with("HTTP/1.1 200")) {
                break;
            }
            assert!(Instant::now() < deadline, "/healthz never answered 200; logs:\n{}", server.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn connect(&self) -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect(&self.serve.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(stream)
    }

    fn logs(&self) -> String {
        self.serve.logs()
    }

    /// The judge's pid (in our namespace): the only child of `unshare`.
    fn judge_pid(&self) -> i32 {
        self.serve.judge_pid()
    }
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends `request` and reads one response (head and Content-Length body).
fn exchange(stream: &mut TcpStream, request: &str) -> std::io::Result<String> {
    stream.write_all(request.as_bytes())?;
    read_response(stream)
}

fn read_response(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(String::from_utf8_lossy(&buffer).into_owned());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Ok(text);
            }
        }
    }
}

/// How long until the server closes `stream` (reads until EOF or reset).
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
            Err(_) => return Some(started.elapsed()),
        }
    }
}

#[test]
fn header_timeout_closes_a_half_sent_request() {
    let server = Server::start(&["--header-timeout-secs", "2"]);
    let mut stream = server.connect().unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let closed = time_to_close(&mut stream, Duration::from_secs(10));
    let closed = closed.unwrap_or_else(|| panic!("a half-sent request stayed open 10 s; logs:\n{}", server.logs()));
    assert!(closed <= Duration::from_secs(4), "closed after {closed:?}, not within 2 s + 2 s");
}

#[test]
fn idle_timeout_closes_a_keep_alive_connection() {
    let server = Server::start(&["--idle-timeout-secs", "2"]);
    let mut stream = server.connect().unwrap();
    let answer = exchange(&mut stream, HEALTHZ).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let closed = time_to_close(&mut stream, Duration::from_secs(10));
    let closed = closed.unwrap_or_else(|| panic!("an idle connection stayed open 10 s"));
    assert!(closed <= Duration::from_secs(4), "closed after {closed:?}, not within 2 s + 2 s");
}

#[test]
fn past_max_connections_an_open_connection_still_answers() {
    let server = Server::start(&["--max-connections", "4"]);
    let mut open = server.connect().unwrap();
    assert!(exchange(&mut open, HEALTHZ).unwrap().starts_with("HTTP/1.1 200"));
    // Far past the cap: these wait (in the backlog or idle), using no slot for `open`.
    let crowd: Vec<TcpStream> = (0..20).filter_map(|_| server.connect().ok()).collect();
    assert!(crowd.len() >= 4, "could not even open the crowd of connections");
    let started = Instant::now();
    let answer = exchange(&mut open, HEALTHZ).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "/healthz took {:?}", started.elapsed());
    // A new connection past the cap waits rather than being served at once.
    let mut late = server.connect().unwrap();
    late.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    late.write_all(HEALTHZ.as_bytes()).unwrap();
    let mut chunk = [0u8; 64];
    let early = late.read(&mut chunk);
    assert!(early.is_err(), "a connection past the cap was answered at once: {early:?}");
    drop(crowd);
}

#[test]
fn sigterm_with_a_half_sent_request_exits_within_the_grace() {
    let mut server = Server::start(&["--shutdown-grace-secs", "2", "--header-timeout-secs", "60"]);
    let mut stream = server.connect().unwrap();
    stream.write_all(b"POST /submit HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.judge_pid();
    let started = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let exit = loop {
        if let Some(exit) = server.serve.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(7),
            "the server did not exit within 2 s of grace + 5 s; logs:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}; logs:\n{}", server.logs());
    assert!(server.logs().contains("stopped"), "{}", server.logs());
    drop(stream);
}

/// Started under a soft limit of 1024 open files (hard 4096), the server
/// runs with the hard one.
#[test]
fn the_open_files_soft_limit_is_raised_to_the_hard_one() {
    let server = Server::start_with(&["prlimit", "--nofile=1024:4096"], &[]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.judge_pid())).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("a Max open files line");
    let numbers: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    assert_eq!(numbers[..2], ["4096", "4096"], "{line}");
}

/// Requests hyper refuses before the app sees them.
fn malformed_requests() -> Vec<(&'static str, String)> {
    let path = format!("/{}", "a".repeat(64 * 1024));
    let many_headers: String = (0..5000).map(|i| format!("X-Header-{i}: v\r\n")).collect();
    vec![
        (
            "duplicate Content-Length",
            "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello".into(),
        ),
        ("negative Content-Length", "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".into()),
        ("unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".into()),
        ("a 64 KB path", format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")),
        ("5,000 headers", format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n")),
        ("a bad path", "GET /submissions/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n".into()),
    ]
}

/// Each is either closed without a response or answered 4xx with a JSON
/// body holding an "error" key.
#[test]
fn malformed_requests_get_json_errors_or_a_close() {
    let server = Server::start(&[]);
    for (what, request) in malformed_requests() {
        let mut stream = server.connect().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server may close before it has read everything: a write error is fine.
        let _ = stream.write_all(request.as_bytes());
        let answer = read_response(&mut stream).unwrap_or_default();
        eprintln!("{what}: {answer:?}");
        if answer.is_empty() {
            continue;
        }
        let status: u16 = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!((400..500).contains(&status), "{what}: {answer}");
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let json: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: the body is not JSON ({e}): {answer}"));
        assert!(json["error"].is_string(), "{what}: {answer}");
    }
}

/// A POST /submit head promising `length` bytes of body.
fn submit_head(length: usize) -> String {
    format!("POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n")
}

/// A slowloris sending its body a byte a second gets 408 with a JSON error
/// within the body timeout (plus margin) and the connection closes; another
/// client is answered at once meanwhile.
#[test]
fn a_body_trickled_in_gets_408_and_a_close_while_others_are_served() {
    let server = Server::start(&["--body-timeout-secs", "2", "--header-timeout-secs", "60"]);
    let mut slow = server.connect().unwrap();
    slow.write_all(submit_head(1000).as_bytes()).unwrap();
    let started = Instant::now();
    let mut trickle = slow.try_clone().unwrap();
    let trickler = std::thread::spawn(move || {
        for _ in 0..20 {
            if trickle.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let mut other = server.connect().unwrap();
    let answer = exchange(&mut other, HEALTHZ).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "/healthz waited for the slow body");

    let answer = read_response(&mut slow).unwrap();
    let answered = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}; logs:\n{}", server.logs());
    assert!(answered <= Duration::from_secs(5), "answered after {answered:?}, not within 2 s + 3 s");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("connection: close"), "{answer}");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"));
    assert!(json["error"].as_str().unwrap().contains("--body-timeout-secs"), "{answer}");
    let closed = time_to_close(&mut slow, Duration::from_secs(10));
    assert!(closed.is_some(), "the connection stayed open 10 s after the 408");
    trickler.join().unwrap();

    // The server still serves after it.
    let mut after = server.connect().unwrap();
    assert!(exchange(&mut after, HEALTHZ).unwrap().starts_with("HTTP/1.1 200"));
}

/// A 20 MiB package sent at loopback speed is taken whole under a 2 s body
/// timeout: the deadline bounds slow clients, not large ones.
#[test]
fn a_fast_large_upload_is_not_cut_off() {
    let server = Server::start(&["--body-timeout-secs", "2"]);
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let big_input: Vec<u8> = b"1 2\n".iter().copied().cycle().take(20 << 20).collect();
    let files: [(&str, &[u8]); 3] = [
        ("problem.yaml", b"name: Big\nvalidation: default\n"),
        ("data/secret/1.in", &big_input),
        ("data/secret/1.ans", b"3\n"),
    ];
    for (name, data) in files {
        zip.start_file(name, stored).unwrap();
        zip.write_all(data).unwrap();
    }
    let package = zip.finish().unwrap().into_inner();
    assert!(package.len() >= 20 << 20, "the package is {} bytes", package.len());

    let mut stream = server.connect().unwrap();
    let head = format!("PUT /problems/big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", package.len());
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    stream.write_all(&package).unwrap();
    let sent = started.elapsed();
    let answer = read_response(&mut stream).unwrap();
    eprintln!("20 MiB sent in {sent:?}, answered after {:?}", started.elapsed());
    assert!(answer.starts_with("HTTP/1.1 201"), "{}; logs:\n{}", &answer[..answer.len().min(500)], server.logs());
}
