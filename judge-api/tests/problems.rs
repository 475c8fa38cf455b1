//! Problem packages over HTTP with a real server: upload (zip and tar.gz),
//! replace while a submission is queued, describe, delete; broken and
//! hostile archives refused with a 400 that says why.

#[path = "durability/node.rs"]
mod node;

use std::io::Write;
use std::time::Duration;

use node::{Answer, Node, TempDir};
use reqwest::StatusCode;
use serde_json::{json, Value};

const AB: &str = "#include <stdio.h>\n#include <unistd.h>\n\
    int main(){long long a,b;scanf(\"%lld %lld\",&a,&b);usleep(300000);printf(\"%lld\\n\",a+b);}";

/// The `sum` package's files; `wrong_answers` makes a+b wrong on a test.
fn sum_files(wrong_answers: bool) -> Vec<(String, Vec<u8>)> {
    let second = if wrong_answers { "43\n" } else { "42\n" };
    [
        ("problem.yaml", "name: Sum\nvalidation: default\nlimits:\n  memory: 128\n  time_limit: 2\n"),
        ("data/sample/1.in", "1 2\n"),
        ("data/sample/1.ans", "3\n"),
        ("data/secret/1.in", "40 2\n"),
        ("data/secret/1.ans", second),
    ]
    .iter()
    .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
    .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A tar.gz with every file under `sum/`, names written raw (so hostile
/// ones get through).
fn tar_gz_of(files: &[(String, Vec<u8>)], prefix: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let name = format!("{prefix}{name}");
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

async fn put(node: &Node, name: &str, body: Vec<u8>) -> Answer {
    Answer::from(node.client.put(node.url(&format!("/problems/{name}"))).body(body).send().await.unwrap()).await
}

async fn delete(node: &Node, name: &str) -> Answer {
    Answer::from(node.client.delete(node.url(&format!("/problems/{name}"))).send().await.unwrap()).await
}

fn named(problem: &str, wait: bool) -> Value {
    json!({"language": "c", "source": AB, "problem": problem, "wait": wait})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn packages_are_uploaded_replaced_described_and_deleted() {
    let data = TempDir::new("problems");
    let args = vec!["--data-dir".to_string(), data.0.display().to_string(), "--workers".into(), "1".into()];
    let node = Node::start("problems", &args).await;
    assert_eq!(node.get("/problems").await.json, json!([]));

    // Upload as a zip: 201, described.
    let created = put(&node, "sum", zip_of(&sum_files(false))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["tests"], 2);
    assert_eq!(created.json["time_limit"].as_f64(), Some(2.0));
    let first_hash = created.json["package"].as_str().unwrap().to_string();
    assert_eq!(first_hash.len(), 64);
    assert_eq!(node.get("/problems/sum").await.json, created.json);
    assert_eq!(node.get("/problems").await.json, json!([created.json.clone()]));

    // The same files as a tar.gz in a folder: the same package (same hash), 200.
    let same = put(&node, "sum", tar_gz_of(&sum_files(false), "sum/")).await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    assert_eq!(same.json["package"], first_hash.as_str());

    // A queued submission keeps the version it was accepted against.
    let queued = node.submit(&named("sum", false)).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    let replaced = put(&node, "sum", zip_of(&sum_files(true))).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    let second_hash = replaced.json["package"].as_str().unwrap().to_string();
    assert_ne!(second_hash, first_hash);
    let id = queued.json["id"].as_str().unwrap();
    let old = loop {
        let answer = node.get(&format!("/submissions/{id}")).await;
        if answer.json["status"] == "done" {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(old.json["verdict"], "AC", "{}", old.text);
    assert_eq!(old.json["package"], first_hash.as_str());
    let new = node.submit(&named("sum", true)).await;
    assert_eq!(new.json["verdict"], "WA", "{}", new.text);
    assert_eq!(new.json["package"], second_hash.as_str());

    // Delete: gone for new submissions.
    assert_eq!(delete(&node, "sum").await.status, StatusCode::NO_CONTENT);
    assert_eq!(node.get("/problems/sum").await.status, StatusCode::NOT_FOUND);
    let refused = node.submit(&named("sum", true)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("unknown problem"), "{}", refused.text);
    assert_eq!(delete(&node, "sum").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broken_and_hostile_packages_are_refused() {
    let data = TempDir::new("hostile");
    let args = vec!["--data-dir".to_string(), data.0.display().to_string(), "--max-package-mib".into(), "1".into()];
    let node = Node::start("hostile", &args).await;

    let mut broken = sum_files(false);
    broken[0].1 = b"name: Sum\nlimits:\n  time_limit: lots\n".to_vec();
    let answer = put(&node, "broken", zip_of(&broken)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    let message = answer.json["error"].as_str().unwrap();
    assert!(message.contains("problem.yaml") && message.contains("time_limit"), "{message}");
    assert!(!message.contains(".upload-"), "the staging path leaked: {message}");
    let no_answer: Vec<_> = sum_files(false).into_iter().filter(|(name, _)| name != "data/sample/1.ans").collect();
    let answer = put(&node, "broken", zip_of(&no_answer)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    let message = answer.json["error"].as_str().unwrap();
    assert!(message.contains("data/sample/1.in"), "{message}");
    assert!(!message.contains(".upload-"), "the staging path leaked: {message}");

    let escape = format!("../../escaped-{}", std::process::id());
    let answer = put(&node, "evil", tar_gz_of(&[(escape.clone(), b"x".to_vec())], "")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert!(answer.text.contains("'..'"), "{}", answer.text);
    assert!(!data.0.join(&escape).exists() && !data.0.join("packages").join(&escape).exists());
    let answer = put(&node, "evil", tar_gz_of(&[("/abs".to_string(), b"x".to_vec())], "")).await;
    assert!(answer.text.contains("absolute"), "{}", answer.text);
    let answer = put(&node, "evil", b"not an archive".to_vec()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = put(&node, "bad name!", zip_of(&sum_files(false))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    // Over --max-package-mib: packed (413) or unpacked (400).
    let answer = put(&node, "big", vec![b'0'; 2 << 20]).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", answer.text);
    let mut bomb = sum_files(false);
    bomb.push(("data/secret/2.in".into(), vec![b'1'; 3 << 20]));
    let zipped = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in &bomb {
            zip.start_file(name.as_str(), deflate).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    };
    assert!(zipped.len() < 1 << 20, "the test bomb must be small packed");
    let answer = put(&node, "bomb", zipped).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert!(answer.text.contains("--max-package-mib"), "{}", answer.text);
    assert_eq!(node.get("/problems").await.json, json!([]), "nothing was stored");
}

/// Every file under `dir`, read raw (the store's database and the cache).
fn bytes_under(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            all.extend(bytes_under(&entry.path()));
        } else if kind.is_file() {
            all.extend(std::fs::read(entry.path()).unwrap_or_default());
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn problems_dir_packing_never_follows_a_link_out_of_the_package() {
    let host = TempDir::new("host-file");
    let marker = format!("host-secret-{}-not-for-the-package", std::process::id());
    std::fs::create_dir_all(&host.0).unwrap();
    let secret = host.0.join("secret.txt");
    std::fs::write(&secret, &marker).unwrap();

    let problems = TempDir::new("linked-problems");
    let write_package = |name: &str| {
        for (file, data) in sum_files(false) {
            let path = problems.0.join(name).join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, data).unwrap();
        }
        problems.0.join(name)
    };
    // Links in directories the loader never reads: one out of the package
    // (to a host file, and to the host's /etc), one to a file inside it.
    let leaking = write_package("leaking");
    std::fs::create_dir_all(leaking.join("attachments")).unwrap();
    std::os::unix::fs::symlink(&secret, leaking.join("attachments/host")).unwrap();
    let leaking_dir = write_package("leaking_dir");
    std::os::unix::fs::symlink("/etc", leaking_dir.join("unknown")).unwrap();
    let inside = write_package("inside");
    std::fs::create_dir_all(inside.join("attachments")).unwrap();
    std::os::unix::fs::symlink("../data/sample/1.in", inside.join("attachments/copy.in")).unwrap();

    let data = TempDir::new("linked-data");
    let args = vec![
        "--data-dir".to_string(),
        data.0.display().to_string(),
        "--problems".into(),
        problems.0.display().to_string(),
    ];
    let node = Node::start("linked", &args).await;
    let names: Vec<Value> =
        node.get("/problems").await.json.as_array().unwrap().iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec![json!("inside")], "{}", node.logs());
    let logs = node.logs();
    assert!(logs.contains("attachments/host") && logs.contains("leaves the package"), "{logs}");
    assert!(logs.contains("unknown") && logs.contains("leaking_dir"), "{logs}");
    let stored = bytes_under(&data.0);
    assert!(!stored.windows(marker.len()).any(|w| w == marker.as_bytes()), "the host file was stored");

    // The in-package link packed as a copy: the package grades.
    let answer = node.submit(&named("inside", true)).await;
    assert_eq!(answer.json["verdict"], "AC", "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_old_package_version_goes_once_no_unfinished_job_needs_it() {
    let data = TempDir::new("pruned");
    // A lease of 1 s is the grace after a version is replaced; results are
    // purged (and versions pruned) every second.
    let args: Vec<String> =
        ["--workers", "1", "--lease-secs", "1", "--retention-secs", "4", "--data-dir", &data.0.display().to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let node = Node::start("pruned", &args).await;
    let first = put(&node, "sum", zip_of(&sum_files(false))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let v1 = first.json["package"].as_str().unwrap().to_string();

    // Jobs against v1 keep the one worker busy for seconds (0.9 s a test):
    // longer than the grace, over several sweeps.
    let slow = AB.replace("usleep(300000)", "usleep(900000)");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let job = json!({"language": "c", "source": slow, "problem": "sum", "wait": false});
        let queued = node.submit(&job).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
        ids.push(queued.json["id"].as_str().unwrap().to_string());
    }
    let second = put(&node, "sum", zip_of(&sum_files(true))).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let v2 = second.json["package"].as_str().unwrap().to_string();
    let deleted = |hash: &str| format!("old package version deleted from the store package={hash}");

    // Every job grades against v1 (had v1 gone while they waited, the later
    // ones would end IE: package missing from the store).
    for id in &ids {
        let done = loop {
            let answer = node.get(&format!("/submissions/{id}")).await;
            if answer.json["status"] == "done" {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(done.json["verdict"], "AC", "{}\n{}", done.text, node.logs());
        assert_eq!(done.json["package"], v1.as_str());
    }
    assert!(!node.logs().contains(&deleted(&v1)), "v1 went while jobs needed it");
    let current = node.submit(&named("sum", true)).await;
    assert_eq!(current.json["verdict"], "WA", "{}", current.text);

    // Then v1 goes from the store and from the node's cache; v2 stays.
    let cache = data.0.join("packages");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !node.logs().contains(&deleted(&v1)) || cache.join(&v1).exists() {
        assert!(std::time::Instant::now() < deadline, "v1 was never deleted:\n{}", node.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cache.join(&v2).is_dir());
    assert!(!node.logs().contains(&deleted(&v2)), "the current version went");
    let again = node.submit(&named("sum", true)).await;
    assert_eq!(again.json["verdict"], "WA", "{}", again.text);
}
