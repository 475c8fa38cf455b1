//! `GET /openapi.json`: the OpenAPI 3.1 description of this server, with
//! this server's limits filled in. Integration tests check that every path
//! here answers and every route is here.

use serde_json::{json, Value};

use super::Config;

pub fn document(config: &Config) -> Value {
    let error = json!({ "$ref": "#/components/responses/Error" });
    let auth_error = json!({ "$ref": "#/components/responses/Unauthorized" });
    let name_parameter = json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } });
    let verdict = json!({ "type": "string", "enum": ["AC", "WA", "TLE", "MLE", "OLE", "RE", "CE", "IE"] });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "judge",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Online-judge code execution. {} workers, queue of {}; results kept {} s. \
                 Every error is JSON {{\"error\": \"...\"}}: 4xx for the caller's mistakes, 5xx for the judge's.",
                config.workers, config.queue, config.retention.as_secs()
            ),
        },
        "paths": {
            "/submit": { "post": {
                "summary": "Grade a submission against a named problem or inline tests",
                "parameters": [ { "name": "Idempotency-Key", "in": "header", "required": false,
                                  "description": "the same key within the retention time returns the same submission",
                                  "schema": { "type": "string", "maxLength": 255 } } ],
                "requestBody": { "required": true, "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/SubmitRequest" } } } },
                "responses": {
                    "200": { "description": "wait: true: the finished submission",
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Result" } } } },
                    "202": { "description": "wait: false: queued; poll GET /submissions/{id}",
                             "headers": { "Location": { "schema": { "type": "string" } } },
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Queued" } } } },
                    "400": error, "401": auth_error,
                    "413": { "description": format!(
                        "request body over {} bytes (--max-body-mib), source over {} bytes (--max-source-kib), \
                         or more than {} tests (--max-tests); the message names the limit",
                        config.max_body_bytes, config.max_source_bytes, config.max_tests),
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "500": error,
                    "503": { "description": "queue full or the store unreachable (Retry-After says when to try again), shutting down, or the sandbox self-check failed",
                             "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } },
            "/submissions/{id}": { "get": {
                "summary": "A submission: queued, running (with progress) or done",
                "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
                "responses": {
                    "200": { "description": "the submission",
                             "content": { "application/json": { "schema": { "oneOf": [
                                 { "$ref": "#/components/schemas/Result" },
                                 { "$ref": "#/components/schemas/Pending" } ] } } } },
                    "400": { "description": "done, but the submission could not be graded by the caller's fault (same body as POST /submit would have given, with id and status)",
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "401": auth_error,
                    "404": { "description": "unknown id, or the result expired",
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "500": error
                }
            } },
            "/languages": { "get": {
                "summary": "Languages this server knows",
                "responses": {
                    "200": { "description": "languages", "content": { "application/json": { "schema": {
                        "type": "array", "items": { "$ref": "#/components/schemas/Language" } } } } },
                    "401": auth_error
                }
            } },
            "/problems": { "get": {
                "summary": "Problem packages: loaded from --problems at start, or uploaded",
                "responses": {
                    "200": { "description": "problems", "content": { "application/json": { "schema": {
                        "type": "array", "items": { "$ref": "#/components/schemas/Problem" } } } } },
                    "401": auth_error, "503": error
                }
            } },
            "/problems/{name}": {
                "get": {
                    "summary": "One problem package",
                    "parameters": [ name_parameter.clone() ],
                    "responses": {
                        "200": { "description": "the problem", "content": { "application/json": { "schema": {
                            "$ref": "#/components/schemas/Problem" } } } },
                        "401": auth_error, "404": error, "503": error
                    }
                },
                "put": {
                    "summary": "Upload or replace a Kattis package (zip or tar.gz), checked as at start",
                    "parameters": [ name_parameter.clone() ],
                    "requestBody": { "required": true, "content": { "application/zip": {}, "application/gzip": {} } },
                    "responses": {
                        "200": { "description": "replaced", "content": { "application/json": { "schema": {
                            "$ref": "#/components/schemas/Problem" } } } },
                        "201": { "description": "created", "content": { "application/json": { "schema": {
                            "$ref": "#/components/schemas/Problem" } } } },
                        "400": error, "401": auth_error, "413": error, "503": error
                    }
                },
                "delete": {
                    "summary": "Remove a problem (submissions already accepted still grade against their version)",
                    "parameters": [ name_parameter ],
                    "responses": { "204": { "description": "deleted" }, "401": auth_error, "404": error, "503": error }
                }
            },
            "/healthz": { "get": {
                "summary": "200 once the sandbox self-check at start has passed; never needs a token",
                "security": [],
                "responses": {
                    "200": { "description": "healthy", "content": { "application/json": { "schema": {
                        "type": "object", "required": ["status"],
                        "properties": { "status": { "const": "ok" }, "workers": { "type": "integer" },
                                        "queue_depth": { "type": "integer" } } } } } },
                    "503": { "description": "self-check pending or failed",
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } },
            "/metrics": { "get": {
                "summary": "Prometheus text format",
                "responses": {
                    "200": { "description": "metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
                    "401": auth_error
                }
            } },
            "/openapi.json": { "get": {
                "summary": "This document",
                "responses": {
                    "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } },
                    "401": auth_error
                }
            } }
        },
        "components": {
            "responses": {
                "Error": { "description": "error", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Error" } } } },
                "Unauthorized": { "description": "missing or wrong bearer token (only with --token)",
                    "headers": { "WWW-Authenticate": { "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            },
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": {
                    "error": { "type": "string" },
                    "id": { "type": "string", "description": "on a submission that could not be graded" },
                    "status": { "const": "done" } } },
                "SubmitRequest": {
                    "type": "object", "additionalProperties": false,
                    "required": ["language", "source"],
                    "description": "Exactly one of problem and tests.",
                    "properties": {
                        "language": { "type": "string", "description": "a language id from GET /languages" },
                        "source": { "type": "string", "maxLength": config.max_source_bytes,
                                    "description": format!("at most {} bytes", config.max_source_bytes) },
                        "problem": { "type": "string", "description": "a name from GET /problems" },
                        "tests": { "type": "array", "minItems": 1, "maxItems": config.max_tests, "items": {
                            "type": "object", "additionalProperties": false, "required": ["input", "answer"],
                            "properties": { "name": { "type": "string", "description": "default: 1, 2, ..." },
                                            "input": { "type": "string" }, "answer": { "type": "string" } } } },
                        "limits": { "type": "object", "additionalProperties": false, "properties": {
                            "time_limit": { "type": "number", "exclusiveMinimum": 0, "maximum": config.max_time_limit,
                                            "default": super::DEFAULT_TIME_LIMIT, "description": "CPU seconds per test" },
                            "memory": { "type": "integer", "minimum": 1, "maximum": config.max_memory_mib,
                                        "default": super::DEFAULT_MEMORY_MIB, "description": "MiB" },
                            "output": { "type": "integer", "minimum": 1, "maximum": config.max_output_mib,
                                        "default": super::DEFAULT_OUTPUT_MIB, "description": "MiB" } } },
                        "validator": {
                            "description": "default output validator flags, inline tests only",
                            "oneOf": [
                                { "type": "object", "additionalProperties": false, "properties": {
                                    "case_sensitive": { "type": "boolean" },
                                    "space_change_sensitive": { "type": "boolean" },
                                    "float_tolerance": { "type": "number", "minimum": 0 },
                                    "float_relative_tolerance": { "type": "number", "minimum": 0 },
                                    "float_absolute_tolerance": { "type": "number", "minimum": 0 } } },
                                { "type": "array", "items": { "type": "string" },
                                  "description": "problem.yaml style, e.g. [\"float_tolerance\", \"1e-6\"]" } ] },
                        "wait": { "type": "boolean", "default": true },
                        "run_all": { "type": "boolean", "default": false,
                                     "description": "run every test even after one fails" },
                        "callback_url": { "type": "string", "format": "uri",
                                          "description": "POST the result here when done (host must match --callback-allow)" }
                    }
                },
                "Queued": { "type": "object", "required": ["id", "status"], "properties": {
                    "id": { "type": "string" }, "status": { "const": "queued" } } },
                "Pending": { "type": "object", "required": ["id", "status", "language"], "properties": {
                    "id": { "type": "string" }, "status": { "enum": ["queued", "running"] },
                    "language": { "type": "string" },
                    "progress": { "type": "object", "properties": {
                        "done": { "type": "integer" }, "total": { "type": "integer" } } } } },
                "Result": { "type": "object",
                    "required": ["id", "status", "language", "verdict", "score", "time_ms", "memory_kb", "compile", "tests"],
                    "properties": {
                        "id": { "type": "string" }, "status": { "const": "done" },
                        "language": { "type": "string" }, "verdict": verdict.clone(),
                        "score": { "type": "number" },
                        "time_ms": { "type": "integer", "description": "max CPU time over tests" },
                        "memory_kb": { "type": "integer", "description": "max peak resident memory over tests" },
                        "compile": { "type": "object", "required": ["ok", "output", "time_ms"], "properties": {
                            "ok": { "type": "boolean" }, "output": { "type": "string" }, "time_ms": { "type": "integer" } } },
                        "tests": { "type": "array", "items": { "type": "object",
                            "required": ["name", "verdict", "time_ms", "wall_ms", "memory_kb", "exit_code", "signal"],
                            "properties": {
                                "name": { "type": "string" }, "verdict": verdict,
                                "time_ms": { "type": "integer" }, "wall_ms": { "type": "integer" },
                                "memory_kb": { "type": "integer" },
                                "exit_code": { "type": ["integer", "null"] },
                                "signal": { "type": ["string", "null"] },
                                "feedback": { "type": "string" } } } } } },
                "Language": { "type": "object", "required": ["id", "name", "extensions", "available"], "properties": {
                    "id": { "type": "string" }, "name": { "type": "string" },
                    "extensions": { "type": "array", "items": { "type": "string" } },
                    "available": { "type": "boolean", "description": "false when the toolchain is missing here" } } },
                "Problem": { "type": "object", "required": ["name", "tests", "time_limit", "memory"], "properties": {
                    "name": { "type": "string" }, "tests": { "type": "integer" },
                    "time_limit": { "type": "number", "description": "seconds" },
                    "memory": { "type": "integer", "description": "MiB" },
                    "output": { "type": "integer", "description": "MiB" },
                    "interactive": { "type": "boolean" }, "scoring": { "type": "boolean" },
                    "title": { "type": ["string", "null"] }, "format": { "type": "string" },
                    "package": { "type": "string", "description": "SHA-256 of the package's content" } } }
            }
        }
    });
    if config.auth {
        doc["security"] = json!([{ "bearer": [] }]);
    }
    doc
}
