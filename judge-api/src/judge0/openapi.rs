//! The Judge0 routes in `/openapi.json`, merged into the server's document.

use serde_json::{json, Value};

fn error_ref() -> Value {
    json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Judge0Error" } } } })
}

fn answer(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn error(description: &str) -> Value {
    let mut e = error_ref();
    e["description"] = json!(description);
    e
}

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
}

fn path(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

fn operation(summary: &str, parameters: Vec<Value>, responses: Value) -> Value {
    let mut responses = responses;
    responses["401"] = error("with --token: no or wrong `X-Auth-Token` / `Authorization: Bearer`");
    json!({ "tags": ["Judge0"], "summary": summary, "parameters": parameters, "responses": responses })
}

/// Adds the `/judge0/...` paths and their schemas to `doc`.
pub fn merge(doc: &mut Value) {
    let base64 = query("base64_encoded", "`true`: text fields in and out are base64");
    let fields = query("fields", "comma-separated field names, or `*` for all");
    let submission = json!({ "$ref": "#/components/schemas/Judge0Submission" });
    let invalid = json!({ "description": "a field is bad: `{field: [messages]}` (unknown language_id, enable_network true, a limit over its maximum, ...)",
        "content": { "application/json": { "schema": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } } } } });
    let paths = json!({
        "/judge0/submissions": { "post": operation(
            "Create a submission (Judge0 CE); `wait=true` answers with the result",
            vec![base64.clone(), query("wait", "`true`: answer when finished"), fields.clone()],
            json!({
                "201": answer("`{\"token\"}`, or the result with `wait=true`", submission.clone()),
                "400": error("bad JSON, unknown `fields`, or output that is not UTF-8 without base64_encoded=true"),
                "413": error("request body over --max-body-mib"),
                "422": invalid,
                "503": error("queue full, store unavailable or the sandbox self-check failed"),
            }),
        )},
        "/judge0/submissions/batch": {
            "post": operation(
                "Create up to 20 submissions: `{\"submissions\": [...]}`; one `{\"token\"}` or `{field: [messages]}` each",
                vec![base64.clone()],
                json!({
                    "201": answer("one entry per submission", json!({ "type": "array", "items": { "type": "object" } })),
                    "400": error("not `{\"submissions\": [...]}`, or not 1 to 20 of them"),
                    "413": error("request body over --max-body-mib"),
                    "503": error("the sandbox self-check failed"),
                }),
            ),
            "get": operation(
                "Several submissions: `?tokens=a,b,c`; unknown ones are null",
                vec![query("tokens", "comma-separated tokens (1 to 20)"), base64.clone(), fields.clone()],
                json!({
                    "200": answer("`{\"submissions\": [...]}`", json!({ "type": "object", "properties": { "submissions": { "type": "array", "items": submission.clone() } } })),
                    "400": error("no tokens or more than 20, or unknown `fields`"),
                    "503": error("store unavailable"),
                }),
            ),
        },
        "/judge0/submissions/{token}": {
            "get": operation(
                "One submission; status 1 In Queue, 2 Processing, then its result",
                vec![path("token"), base64, fields],
                json!({
                    "200": answer("the chosen fields (default: stdout, time, memory, stderr, token, compile_output, message, status)", submission),
                    "400": error("unknown `fields`, or output that is not UTF-8 without base64_encoded=true"),
                    "404": error("unknown token, or its result expired"),
                    "503": error("store unavailable"),
                }),
            ),
            "delete": operation(
                "Not allowed here (Judge0's enable_submission_delete is false); results expire instead",
                vec![path("token")],
                json!({ "400": error("always: `delete not allowed`") }),
            ),
        },
        "/judge0/languages": { "get": operation("Judge0 CE language ids this server runs", vec![],
            json!({ "200": answer("`[{id, name}]`", json!({ "type": "array", "items": { "type": "object" } })) })) },
        "/judge0/languages/all": { "get": operation("Same as /judge0/languages (nothing is archived)", vec![],
            json!({ "200": answer("`[{id, name}]`", json!({ "type": "array", "items": { "type": "object" } })) })) },
        "/judge0/languages/{id}": { "get": operation("One language: id, name, is_archived, source_file, compile_cmd, run_cmd", vec![path("id")],
            json!({ "200": answer("the language", json!({ "type": "object" })), "404": error("no such id here") })) },
        "/judge0/statuses": { "get": operation("Judge0's 14 statuses", vec![],
            json!({ "200": answer("`[{id, description}]`", json!({ "type": "array", "items": { "$ref": "#/components/schemas/Judge0Status" } })) })) },
        "/judge0/about": { "get": operation("version (the Judge0 CE version emulated), homepage, source_code, maintainer", vec![],
            json!({ "200": answer("about", json!({ "type": "object" })) })) },
        "/judge0/version": { "get": operation("The Judge0 CE version emulated, as text", vec![],
            json!({ "200": { "description": "e.g. `1.14.0`", "content": { "text/plain": { "schema": { "type": "string" } } } } })) },
        "/judge0/config_info": { "get": operation("Judge0's configuration keys with this server's values", vec![],
            json!({ "200": answer("every key Judge0 answers", json!({ "type": "object" })) })) },
    });
    if let (Some(target), Some(paths)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        for (name, item) in paths {
            target.insert(name.clone(), item.clone());
        }
    }
    let schemas = json!({
        "Judge0Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
        "Judge0Status": { "type": "object", "properties": { "id": { "type": "integer", "minimum": 1, "maximum": 14 }, "description": { "type": "string" } } },
        "Judge0Submission": {
            "type": "object",
            "description": "Request fields: source_code, language_id, compiler_options, command_line_arguments, stdin, expected_output, cpu_time_limit, cpu_extra_time, wall_time_limit, memory_limit (KB), stack_limit (KB), max_processes_and_or_threads, max_file_size (KB), redirect_stderr_to_stdout, number_of_runs, enable_network (must be false), callback_url. Result fields as Judge0 CE.",
            "properties": {
                "token": { "type": "string" },
                "source_code": { "type": ["string", "null"] },
                "language_id": { "type": ["integer", "null"] },
                "stdin": { "type": ["string", "null"] },
                "expected_output": { "type": ["string", "null"] },
                "stdout": { "type": ["string", "null"] },
                "stderr": { "type": ["string", "null"] },
                "compile_output": { "type": ["string", "null"] },
                "message": { "type": ["string", "null"] },
                "exit_code": { "type": ["integer", "null"] },
                "exit_signal": { "type": ["integer", "null"] },
                "status": { "$ref": "#/components/schemas/Judge0Status" },
                "time": { "type": ["string", "null"], "description": "CPU seconds, e.g. \"0.002\"" },
                "wall_time": { "type": ["string", "null"] },
                "memory": { "type": ["integer", "null"], "description": "KB" },
                "created_at": { "type": ["string", "null"] },
                "finished_at": { "type": ["string", "null"] },
            },
        },
    });
    if let (Some(target), Some(schemas)) = (doc["components"]["schemas"].as_object_mut(), schemas.as_object()) {
        for (name, schema) in schemas {
            target.insert(name.clone(), schema.clone());
        }
    }
    if doc["components"]["securitySchemes"].is_object() {
        doc["components"]["securitySchemes"]["judge0"] =
            json!({ "type": "apiKey", "in": "header", "name": "X-Auth-Token" });
    }
    // With --token, either header opens these routes.
    if doc["security"].is_array() {
        if let Some(paths) = doc["paths"].as_object_mut() {
            for (_, item) in paths.iter_mut().filter(|(name, _)| name.starts_with("/judge0/")) {
                if let Some(operations) = item.as_object_mut() {
                    for operation in operations.values_mut() {
                        operation["security"] = json!([{ "bearer": [] }, { "judge0": [] }]);
                    }
                }
            }
        }
    }
}
