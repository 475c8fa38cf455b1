//! Problem packages in the store: `PUT`/`GET`/`DELETE /problems/{name}`,
//! `GET /problems`, `--problems DIR` loaded at start, and the node's cache
//! of package versions on disk (`<data-dir>/packages/<hash>`), fetched from
//! the store the first time a worker needs one.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::problem::Problem;
use serde_json::{json, Value};
use tracing::{error, info, warn};

use super::error::ApiError;
use super::packages::{self, Limits, PackageError};
use super::queue::store_unavailable;
use super::{App, LoadedProblem, DEFAULT_TIME_LIMIT};
use crate::store::{now_ms, ProblemRow, Store};

/// Files a package may hold.
pub const MAX_FILES: usize = 10_000;
const MAX_NAME: usize = 64;

/// Package versions this node has unpacked and loaded, by hash.
pub struct Packages {
    dir: PathBuf,
    pub limits: Limits,
    loaded: Mutex<HashMap<String, Arc<LoadedProblem>>>,
}

impl Packages {
    pub fn new(dir: PathBuf, limits: Limits) -> Packages {
        Packages { dir, limits, loaded: Mutex::new(HashMap::new()) }
    }

    #[cfg(test)]
    pub fn insert(&self, hash: &str, loaded: LoadedProblem) {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert(hash.to_string(), Arc::new(loaded));
    }

    /// The package version `hash`, from memory, the disk cache or the store.
    pub async fn load(&self, store: &dyn Store, hash: &str) -> Result<Arc<LoadedProblem>, ApiError> {
        if let Some(loaded) = self.loaded.lock().unwrap_or_else(|p| p.into_inner()).get(hash) {
            return Ok(loaded.clone());
        }
        if !is_package_hash(hash) {
            return Err(ApiError::internal(format!("internal error: {hash:?} is not a package hash")));
        }
        let dir = self.dir.join(hash);
        if !dir.is_dir() {
            let archive = match store.package(hash).await {
                Ok(Some(archive)) => archive,
                Ok(None) => return Err(ApiError::internal(format!("package {hash} is missing from the store"))),
                Err(e) => return Err(store_unavailable(e)),
            };
            let (target, limits) = (dir.clone(), self.limits);
            tokio::task::spawn_blocking(move || packages::unpack_canonical(&archive, &target, limits))
                .await
                .map_err(|e| ApiError::internal(format!("unpacking package {hash}: {e}")))?
                .map_err(|e| ApiError::internal(format!("unpacking package {hash}: {e}")))?;
        }
        let problem = tokio::task::spawn_blocking(move || Problem::load(&dir))
            .await
            .map_err(|e| ApiError::internal(format!("loading package {hash}: {e}")))?
            .map_err(|e| ApiError::internal(format!("package {hash} does not load: {e}")))?;
        let time_limit = problem.time_limit.unwrap_or(DEFAULT_TIME_LIMIT);
        let loaded = Arc::new(LoadedProblem { problem: Arc::new(problem), time_limit });
        self.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert(hash.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// Deletes the unpacked versions in this node's cache that the store no
    /// longer holds (`live`, listed at `listed_at`), unless a job here grades
    /// with one right now or it was unpacked since the listing. They are
    /// renamed aside at once (a half-deleted version is never taken for a
    /// whole one); the paths to delete are returned with their hashes.
    fn prune_cache(&self, live: &HashSet<String>, listed_at: SystemTime) -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let Some(hash) = entry.file_name().to_str().map(str::to_string) else { continue };
            if hash.starts_with(".removing-") {
                // Left by a node stopped while deleting.
                removed.push((hash, entry.path()));
                continue;
            }
            if !is_package_hash(&hash) || live.contains(&hash) {
                continue;
            }
            // Fetched after the listing: a version uploaded since.
            let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or_else(|_| SystemTime::now());
            if modified >= listed_at {
                continue;
            }
            {
                let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
                // A grading job holds the problem: the map's is the only other hold.
                if loaded.get(&hash).is_some_and(|l| Arc::strong_count(&l.problem) > 1) {
                    continue;
                }
                loaded.remove(&hash);
            }
            let doomed = self.dir.join(format!(".removing-{}", uuid::Uuid::new_v4().simple()));
            match std::fs::rename(entry.path(), &doomed) {
                Ok(()) => removed.push((hash, doomed)),
                Err(e) => warn!(package = %hash, "cannot delete an old package version from the cache: {e}"),
            }
        }
        removed
    }
}

/// A version's name in the cache: the SHA-256 of its archive, in hex.
fn is_package_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Deletes old package versions: from the store those no name points at and
/// no unfinished submission was accepted against (retired over a lease ago,
/// as a submission resolves its version a moment before it is stored), then
/// from this node's cache those the store no longer holds.
pub async fn prune(app: &App) {
    let retired_before = now_ms() - app.config.lease.as_millis() as i64;
    match app.store.prune_packages(retired_before).await {
        Ok(hashes) => {
            for hash in hashes {
                info!(package = %hash, "old package version deleted from the store");
            }
        }
        Err(e) => warn!("cannot delete old package versions: {e}"),
    }
    let listed_at = SystemTime::now();
    let live: HashSet<String> = match app.store.package_hashes().await {
        Ok(hashes) => hashes.into_iter().collect(),
        Err(e) => return warn!("cannot list package versions: {e}"),
    };
    for (hash, doomed) in app.packages.prune_cache(&live, listed_at) {
        let deleted = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&doomed)).await;
        match deleted.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
            Ok(()) => info!(package = %hash, "old package version deleted from this node's cache"),
            Err(e) => warn!(package = %hash, "cannot delete an old package version from the cache: {e}"),
        }
    }
}

/// What `GET /problems/{name}` shows.
fn describe(name: &str, hash: &str, problem: &Problem) -> Value {
    json!({
        "name": name,
        "title": problem.title,
        "tests": problem.tests.len(),
        "time_limit": problem.time_limit.unwrap_or(DEFAULT_TIME_LIMIT),
        "memory": problem.memory_mib,
        "output": problem.output_mib,
        "interactive": problem.interactive,
        "scoring": problem.scoring,
        "format": problem.format_version,
        "package": hash,
    })
}

/// Checks a package directory as at start and packs it: its row and the
/// canonical archive. Messages name the file and key, relative to the root.
fn pack(name: &str, root: &Path, limits: Limits) -> Result<(ProblemRow, Vec<u8>), PackageError> {
    let problem = Problem::load(root).map_err(|e| {
        let prefix = format!("{}/", root.display());
        PackageError::Invalid(e.to_string().replace(&prefix, ""))
    })?;
    let (archive, hash) = packages::canonical(root, limits)?;
    let info = describe(name, &hash, &problem).to_string();
    Ok((ProblemRow { name: name.to_string(), hash, info }, archive))
}

pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "problem name {name:?}: use 1 to {MAX_NAME} letters, digits, '-', '_' or '.', not starting with '.'"
        )))
    }
}

/// Loads `--problems DIR` into the store: every subdirectory holding a Kattis
/// (`problem.yaml`) or Polygon (`problem.xml`) package; one that does not load is
/// logged and left out.
pub async fn load_dir(store: &dyn Store, dir: &Path, limits: Limits) -> Result<usize, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("--problems {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            let package = engine::problem::looks_like_package(p);
            if !package {
                warn!(dir = %p.display(), "skipping a directory without problem.yaml or problem.xml");
            }
            package
        })
        .collect();
    paths.sort();
    let mut loaded = 0;
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        if check_name(&name).is_err() {
            error!(problem = %name, "problem left out: its directory name is not a usable problem name");
            continue;
        }
        let packed = {
            let (name, path) = (name.clone(), path.clone());
            tokio::task::spawn_blocking(move || pack(&name, &path, limits)).await.map_err(|e| e.to_string())?
        };
        match packed {
            Ok((row, archive)) => {
                store.put_problem(&row, &archive, now_ms()).await.map_err(|e| format!("storing {name}: {e}"))?;
                info!(problem = %name, package = %row.hash, "loaded problem");
                loaded += 1;
            }
            Err(e) => error!(problem = %name, "problem package left out: {e}"),
        }
    }
    Ok(loaded)
}

/// The current package of a problem name.
pub async fn resolve(app: &App, name: &str) -> Result<String, ApiError> {
    match app.store.problems(Some(name)).await {
        Ok(rows) if !rows.is_empty() => Ok(rows[0].hash.clone()),
        Ok(_) => {
            let known = app.store.problems(None).await.map_err(store_unavailable)?;
            let known: Vec<&str> = known.iter().map(|r| r.name.as_str()).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            Err(ApiError::bad_request(format!("unknown problem {name:?}; known: {known}")))
        }
        Err(e) => Err(store_unavailable(e)),
    }
}

fn info_of(row: &ProblemRow) -> Value {
    serde_json::from_str(&row.info).unwrap_or_else(|_| json!({ "name": row.name, "package": row.hash }))
}

pub async fn list(State(app): State<Arc<App>>) -> Response {
    match app.store.problems(None).await {
        Ok(rows) => Json(rows.iter().map(info_of).collect::<Vec<_>>()).into_response(),
        Err(e) => store_unavailable(e).into_response(),
    }
}

pub async fn get(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>) -> Response {
    match app.store.problems(Some(&name)).await {
        Ok(rows) if !rows.is_empty() => Json(info_of(&rows[0])).into_response(),
        Ok(_) => ApiError::not_found(format!("no problem {name:?}")).into_response(),
        Err(e) => store_unavailable(e).into_response(),
    }
}

pub async fn delete(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>) -> Response {
    match app.store.delete_problem(&name).await {
        Ok(true) => {
            info!(problem = %name, "problem deleted");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => ApiError::not_found(format!("no problem {name:?}")).into_response(),
        Err(e) => store_unavailable(e).into_response(),
    }
}

/// `PUT /problems/{name}` with a zip or tar.gz: checked exactly as at
/// start, stored by content; 201 when new, 200 when it replaced a version.
pub async fn put(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>, body: Bytes) -> Response {
    if let Err(e) = check_name(&name) {
        return e.into_response();
    }
    let limits = app.packages.limits;
    let staging = app.packages.dir.join(format!(".upload-{}", uuid::Uuid::new_v4().simple()));
    let packed = {
        let (name, staging) = (name.clone(), staging.clone());
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&staging)
                .map_err(|e| PackageError::Io(format!("creating {}: {e}", staging.display())))?;
            packages::extract(&body, &staging, limits)?;
            pack(&name, &packages::package_root(&staging), limits)
        })
        .await
    };
    let _ = std::fs::remove_dir_all(&staging);
    let (row, archive) = match packed {
        Ok(Ok(packed)) => packed,
        Ok(Err(e)) if e.is_callers() => {
            // Paths inside the upload are named as the archive has them, not
            // by where the server unpacked it.
            let shown = staging.display().to_string();
            let reason = e.to_string().replace(&format!("{shown}/"), "").replace(&shown, "the package");
            return ApiError::bad_request(format!("package {name:?} refused: {reason}")).into_response();
        }
        Ok(Err(e)) => return ApiError::internal(format!("package {name:?}: {e}")).into_response(),
        Err(e) => return ApiError::internal(format!("package {name:?}: {e}")).into_response(),
    };
    match app.store.put_problem(&row, &archive, now_ms()).await {
        Ok(created) => {
            info!(problem = %name, package = %row.hash, created, "problem uploaded");
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(info_of(&row))).into_response()
        }
        Err(e) => store_unavailable(e).into_response(),
    }
}
