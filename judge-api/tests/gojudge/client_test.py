"""Drives go-judge's own Python client (PyPI `go-judge`, RemoteSandbox only)
against `judge serve`'s go-judge API and checks verdicts, outputs and limits
through the client's result objects. Usage: client_test.py BASE_URL

Run by judge-api/tests/gojudge_client.rs; prints one line per check and
"ALL CHECKS PASSED" at the end; exits non-zero on the first failure."""

import sys

import requests
from go_judge import RemoteSandbox

BASE = sys.argv[1].rstrip("/")

SUM_CPP = r"""
#include <iostream>
int main() { long long a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }
"""
LOOP_CPP = "int main() { volatile unsigned long x = 0; for (;;) x++; }"
# Touches every page, so the memory is really resident.
MEMORY_CPP = r"""
#include <cstdlib>
#include <cstring>
int main() { size_t n = 512u << 20; char *p = (char *)malloc(n); if (p) memset(p, 1, n); return p ? p[n - 1] - 1 : 2; }
"""
EXIT3_CPP = "int main() { return 3; }"
SEGV_CPP = "int main() { volatile int *p = nullptr; return *p; }"
BROKEN_CPP = "int main() { this is not C++ }"
SUM_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
RAISE_PY = "raise SystemExit(5)\n"


def check(label, condition, detail):
    if not condition:
        print(f"FAIL {label}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok   {label}", flush=True)


def cached_files():
    answer = requests.get(f"{BASE}/file", timeout=10)
    answer.raise_for_status()
    return answer.json()


def main():
    sandbox = RemoteSandbox(BASE, max_workers=4)
    try:
        check("check_health", sandbox.check_health(), "GET /version failed")

        # C++: compiled once (binary kept via copyOutCached), run on several inputs by fileId.
        results = sandbox.run_multiple("cpp", SUM_CPP, ["1 2", "40 2", "-5 5", "1000000000000 1"])
        outputs = [r["stdout"] for r in results]
        check("cpp verdicts", all(r["status"] == "Accepted" for r in results), results)
        check("cpp outputs", outputs == ["3\n", "42\n", "0\n", "1000000000001\n"], outputs)
        check("cpp measured", all(r["time_ns"] > 0 and r["memory_b"] > 0 for r in results), results)
        check("binary cleaned up by the client", cached_files() == {}, cached_files())

        # The compile step on its own: the binary is in the file cache until cleanup_file.
        config = sandbox.languages["cpp"]
        compiled = sandbox._compile(config, SUM_CPP, 30_000_000_000, 512 << 20)
        check("compile result", compiled["status"] == "Accepted" and compiled.get("fileId"), compiled)
        file_id = compiled["fileId"]
        check("binary cached", cached_files().get(file_id) == config["bin_name"], cached_files())
        runs = sandbox._execute_batch(config, SUM_CPP, file_id, ["2 2", "3 3"], 1_000_000_000, 64 << 20)
        check("runs from fileId", [r["stdout"] for r in runs] == ["4\n", "6\n"], runs)
        sandbox.cleanup_file(file_id)
        check("cleanup_file", file_id not in cached_files(), cached_files())

        # Python, interpreted: copyIn content, no compile.
        result = sandbox.run("python", SUM_PY, "3 4")
        check("python", result["status"] == "Accepted" and result["stdout"] == "7\n", result)
        result = sandbox.run("python", RAISE_PY)
        check("python exit 5", result["status"] == "Nonzero Exit Status" and result["exit_code"] == 5, result)

        # Limits and failures.
        result = sandbox.run("cpp", LOOP_CPP, exec_cpu_limit_ns=500_000_000)
        check("TLE", result["status"] == "Time Limit Exceeded", result)
        # CPU time reaches the limit unless the wall limit (2 x CPU, set by the client) ends it first on a busy machine.
        check("TLE time", 0 < result["time_ns"] <= 600_000_000 and result["exit_code"] == 9, result)
        result = sandbox.run("cpp", MEMORY_CPP, exec_memory_limit_b=64 << 20)
        check("MLE", result["status"] == "Memory Limit Exceeded", result)
        check("MLE memory", result["memory_b"] > 64 << 20, result)
        result = sandbox.run("cpp", MEMORY_CPP, exec_memory_limit_b=768 << 20)
        check("the same program fits a larger limit", result["status"] == "Accepted", result)
        result = sandbox.run("cpp", EXIT3_CPP)
        check("RE: nonzero exit", result["status"] == "Nonzero Exit Status" and result["exit_code"] == 3, result)
        result = sandbox.run("cpp", SEGV_CPP)
        check("RE: signalled", result["status"] == "Signalled" and result["exit_code"] == 11, result)
        result = sandbox.run("cpp", BROKEN_CPP)
        check("compile error", result["status"] == "Compile Error" and "error" in result["stderr"], result)
        check("nothing left cached", cached_files() == {}, cached_files())
    finally:
        sandbox.close()
    print("ALL CHECKS PASSED", flush=True)


if __name__ == "__main__":
    main()
