use super::*;
use crate::server::job::{InlineTest, LanguageId, Limits, ProblemSpec};
use crate::store::{Record, State};
use axum::http::StatusCode;
use engine::grade::CompileInfo;
use engine::Verdict;

fn spec(source: &str, problem: Option<&str>) -> JobSpec {
    let problem = match problem {
        Some(name) => ProblemSpec::Named { name: name.to_string(), hash: crate::server::TEST_PACKAGE.to_string() },
        None => ProblemSpec::Inline {
            tests: vec![InlineTest { name: "1".into(), input: "1\n".into(), answer: "1\n".into() }],
            limits: Limits { time_limit: 1.0, memory_mib: 64, output_mib: 64 },
            validator_flags: vec![],
            checker: None,
        },
    };
    JobSpec { language: LanguageId::checked("c".into()), source: source.into(), problem, run_all: false }
}

fn accepted() -> GradeResult {
    GradeResult {
        language: "c".into(),
        verdict: Verdict::AC,
        score: 1.0,
        time_ms: 1,
        memory_kb: 1,
        compile: CompileInfo { ok: true, output: String::new(), time_ms: 5 },
        tests: vec![],
    }
}

/// Polls the store until `id` is done.
async fn done(app: &App, id: &str) -> Outcome {
    for _ in 0..500 {
        if let Some(Record { state: State::Done(outcome), .. }) = app.store.get(id, 0).await.unwrap() {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{id} never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_grader_is_a_500_not_a_crash() {
    let (app, _dir) = App::for_tests(1, 4, Box::new(|_, _, _, _| panic!("boom in the grader"))).await;
    let workers = start_workers(&app);
    let (first, _) = accept(&app, new_id(), &spec("a", None), None, None).await.unwrap();
    let outcome = done(&app, &first).await;
    assert_eq!(outcome.status, 500);
    assert!(outcome.body.contains("boom in the grader"), "{}", outcome.body);
    // The worker survived and takes the next job.
    let (second, _) = accept(&app, new_id(), &spec("b", None), None, None).await.unwrap();
    assert_eq!(done(&app, &second).await.status, 500);
    assert_eq!(app.metrics.sandbox_failures.load(Relaxed), 2);
    assert_eq!(app.metrics.busy_workers.load(Relaxed), 0);
    app.start_draining();
    for w in workers {
        w.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grading_errors_map_to_whose_fault_they_are() {
    let (app, _dir) = App::for_tests(
        1,
        4,
        Box::new(|_, submission, _, _| match submission.language.as_str() {
            _ if submission.source.starts_with(b"pkg") => Err(GradeError::Problem("validator does not build".into())),
            _ => Err(GradeError::UnknownLanguage("cobol".into(), "c".into())),
        }),
    )
    .await;
    let _workers = start_workers(&app);
    let (inline, _) = accept(&app, new_id(), &spec("x", None), None, None).await.unwrap();
    assert_eq!(done(&app, &inline).await.status, 400);
    let (named, _) = accept(&app, new_id(), &spec("pkg", Some("sum")), None, None).await.unwrap();
    let outcome = done(&app, &named).await;
    assert_eq!(outcome.status, 422);
    assert!(outcome.body.contains("sum"), "{}", outcome.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_with_retry_after_and_a_key_is_answered_once() {
    let (app, _dir) = App::for_tests(
        1,
        1,
        Box::new(|_, _, _, _| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(accepted())
        }),
    )
    .await;
    let (first, replayed) = accept(&app, new_id(), &spec("a", None), Some("key-1".into()), None).await.unwrap();
    assert!(!replayed);
    assert_eq!(
        accept(&app, new_id(), &spec("a", None), Some("key-1".into()), None).await.unwrap(),
        (first.clone(), true)
    );
    let refused = accept(&app, new_id(), &spec("b", None), None, None).await.unwrap_err();
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    assert!(refused.message.contains("queue is full"), "{}", refused.message);
    let _workers = start_workers(&app);
    assert_eq!(done(&app, &first).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_finishes_running_jobs_and_keeps_queued_ones_stored() {
    let (app, _dir) = App::for_tests(
        1,
        4,
        Box::new(|_, _, _, _| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(accepted())
        }),
    )
    .await;
    let workers = start_workers(&app);
    let (running, _) = accept(&app, new_id(), &spec("a", None), None, None).await.unwrap();
    for _ in 0..100 {
        if app.is_running_here(&running) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (queued, _) = accept(&app, new_id(), &spec("b", None), None, None).await.unwrap();
    app.start_draining();
    let late = accept(&app, new_id(), &spec("c", None), None, None).await.unwrap_err();
    assert_eq!(late.status, StatusCode::SERVICE_UNAVAILABLE);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(done(&app, &running).await.status, 200);
    assert_eq!(app.store.get(&queued, 0).await.unwrap().unwrap().state, State::Queued, "kept for the next start");
    assert_eq!(app.store.queue_depth().await.unwrap(), 1);
}

/// `/healthz` over the router: its status and body.
async fn healthz(app: &Arc<App>) -> (StatusCode, serde_json::Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::get("/healthz").body(axum::body::Body::empty()).unwrap();
    let response = crate::server::routes::router(app.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_start_failures_turn_healthz_503_until_a_grading_runs() {
    let (app, _dir) = App::for_tests(
        1,
        4,
        Box::new(|_, submission, _, _| {
            if submission.source.starts_with(b"emfile") {
                Err(GradeError::Internal("sandbox setup failed at `pipe`: EMFILE (Too many open files)".into()))
            } else if submission.source.starts_with(b"other") {
                Err(GradeError::Internal("the checker wrote nothing".into()))
            } else {
                Ok(accepted())
            }
        }),
    )
    .await;
    let _workers = start_workers(&app);
    assert_eq!(healthz(&app).await.0, StatusCode::OK);

    let (failing, _) = accept(&app, new_id(), &spec("emfile", None), None, None).await.unwrap();
    assert_eq!(done(&app, &failing).await.status, 500);
    let (status, body) = healthz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"].as_str().unwrap().contains("EMFILE"), "{body}");

    // An internal error that is not the sandbox's start leaves it as it is.
    let (other, _) = accept(&app, new_id(), &spec("other", None), None, None).await.unwrap();
    assert_eq!(done(&app, &other).await.status, 500);
    assert_eq!(healthz(&app).await.0, StatusCode::SERVICE_UNAVAILABLE);

    // Still taking jobs; one that runs turns it back to 200.
    let (fine, _) = accept(&app, new_id(), &spec("fine", None), None, None).await.unwrap();
    assert_eq!(done(&app, &fine).await.status, 200);
    assert_eq!(healthz(&app).await.0, StatusCode::OK);
}
