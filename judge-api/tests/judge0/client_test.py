"""Drives Judge0's official Python client (PyPI `judge0` 0.0.8) against
`judge serve`'s Judge0 API. Usage: client_test.py BASE_URL TOKEN

Every check prints `ok   <what>`; the last line is ALL CHECKS PASSED.
Verdicts, outputs and limits are read from the client's own objects.
"""

import sys

import judge0
from judge0 import LanguageAlias, Status, Submission

BASE, TOKEN = sys.argv[1], sys.argv[2]
checks = 0


def check(what, condition, detail=""):
    global checks
    if not condition:
        print(f"FAIL {what}: {detail}", flush=True)
        sys.exit(1)
    checks += 1
    print(f"ok   {what}", flush=True)


# The client fetches /languages and /config_info when it is made, with Judge0's auth header.
client = judge0.Client(BASE, {"X-Auth-Token": TOKEN})

# Languages, statuses, about, config.
ids = {lang.id for lang in client.languages}
check("languages include C 50, C++ 54, Python 71 and the 1.14 ids 103/105/113", {50, 54, 71, 103, 105, 113} <= ids, ids)
python = client.get_language(71)
check("GET /languages/71 is Python with a real version", python.name.startswith("Python (3."), python)
statuses = client.get_statuses()
check("14 statuses, ids 1..14", [s["id"] for s in statuses] == list(range(1, 15)), statuses)
check("status 11 is NZEC", statuses[10]["description"] == "Runtime Error (NZEC)", statuses[10])
check("about names a version the client knows", client.version in ("1.13.1", "1.14.0"), client.version)
check("config_info parsed by the client", client.config.max_submission_batch_size >= 2, client.config)
check("network is not allowed", client.config.allow_enable_network is False, client.config)
check("alias PYTHON3 resolves to a supported id", client.is_language_supported(LanguageAlias.PYTHON3))
check("alias CPP resolves to a supported id", client.is_language_supported(LanguageAlias.CPP))

SUM_C = "#include <stdio.h>\nint main(void){long a,b;if(scanf(\"%ld %ld\",&a,&b)!=2)return 3;printf(\"%ld\\n\",a+b);return 0;}\n"
SUM_PY = "a, b = map(int, input().split())\nprint(a + b)\n"

# run(): create and wait.
result = judge0.run(client=client, source_code=SUM_PY, language=LanguageAlias.PYTHON3, stdin="2 40", expected_output="42")
check("run: Python sum accepted", result.status == Status.ACCEPTED, result)
check("run: stdout", result.stdout == "42\n", repr(result.stdout))
check("run: time and memory reported", result.time is not None and result.time >= 0 and result.memory and result.memory > 0, result)
check("run: token is a UUID", result.token is not None and len(str(result.token)) == 36, result.token)
check("run: created_at and finished_at parsed", result.created_at is not None and result.finished_at >= result.created_at, result)

wrong = judge0.run(client=client, source_code=SUM_PY, language=71, stdin="2 2", expected_output="5")
check("run: wrong answer", wrong.status == Status.WRONG_ANSWER, wrong)
trailing = judge0.run(client=client, source_code="print('7   ')\nprint()\n", language=71, expected_output="7")
check("run: trailing whitespace is ignored as Judge0 does", trailing.status == Status.ACCEPTED, trailing)

# create_submission / get_submission by hand.
submission = client.create_submission(Submission(source_code=SUM_C, language=50, stdin="20 22", expected_output="42"))
check("create_submission gives a token", submission.token is not None, submission)
for _ in range(600):
    client.get_submission(submission)
    if submission.is_done():
        break
    import time

    time.sleep(0.1)
check("get_submission: C sum accepted", submission.status == Status.ACCEPTED, submission)
check("get_submission: all fields came back", submission.stdout == "42\n" and submission.exit_code == 0, submission)
check("get_submission: limits echoed", submission.cpu_time_limit == 5.0 and submission.memory_limit == 128000, submission)
only = client.get_submission(Submission(token=submission.token), fields=["status", "stdout"])
check("fields filter", only.status == Status.ACCEPTED and only.stdout == "42\n" and only.time is None, only)

# Batch: several test cases create a batch and wait on the batch GET.
cases = [("1 2", "3"), ("10 20", "30"), ("5 5", "11")]
results = judge0.run(client=client, source_code=SUM_C, language=LanguageAlias.C, test_cases=cases)
check("batch: three results", len(results) == 3, results)
check(
    "batch: verdicts per test case",
    [r.status for r in results] == [Status.ACCEPTED, Status.ACCEPTED, Status.WRONG_ANSWER],
    [r.status for r in results],
)
check("batch: outputs per test case", [r.stdout for r in results] == ["3\n", "30\n", "10\n"], [r.stdout for r in results])

# base64 both ways, with text that is not ASCII.
text = "héllo, wörld ✓ — ünïcödé\n"
echo = judge0.run(client=client, source_code="import sys\nsys.stdout.write(sys.stdin.read())\n", language=71, stdin=text)
check("base64: non-ASCII stdin comes back unchanged", echo.stdout == text and echo.status == Status.ACCEPTED, repr(echo.stdout))
stderr = judge0.run(client=client, source_code="import sys\nprint('to stderr', file=sys.stderr)\n", language=71)
check("stderr captured", stderr.stderr == "to stderr\n" and stderr.stdout is None, stderr)

# Compile errors.
ce = judge0.run(client=client, source_code="int main( { return 0 }\n", language=LanguageAlias.C)
check("compilation error", ce.status == Status.COMPILATION_ERROR, ce)
check("compilation error: compile_output has the compiler's message", "error" in (ce.compile_output or ""), ce.compile_output)

# Time limit.
tle = judge0.run(
    client=client,
    source_code="int main(void){volatile unsigned long x=0;for(;;)x++;}\n",
    language=50,
    cpu_time_limit=0.5,
    cpu_extra_time=0.5,
)
check("time limit exceeded", tle.status == Status.TIME_LIMIT_EXCEEDED, tle)
check("time limit: time reported near the limit", tle.time is not None and 0.5 <= tle.time <= 3.0, tle.time)

# Runtime errors, by signal and by exit status.
nzec = judge0.run(client=client, source_code="raise SystemExit(3)\n", language=71)
check("runtime error NZEC", nzec.status == Status.RUNTIME_ERROR_NZEC and nzec.exit_code == 3, nzec)
segv = judge0.run(client=client, source_code="int main(void){volatile int *p=0;*p=1;return 0;}\n", language=50)
check("runtime error SIGSEGV", segv.status == Status.RUNTIME_ERROR_SIGSEGV and segv.exit_signal == 11, segv)
fpe = judge0.run(client=client, source_code="int main(void){volatile int a=7,z=0;return a/z;}\n", language=50)
check("runtime error SIGFPE", fpe.status == Status.RUNTIME_ERROR_SIGFPE and fpe.exit_signal == 8, fpe)
abrt = judge0.run(client=client, source_code="#include <stdlib.h>\nint main(void){abort();}\n", language=50)
check("runtime error SIGABRT", abrt.status == Status.RUNTIME_ERROR_SIGABRT and abrt.exit_signal == 6, abrt)

# Memory over the limit: Judge0 has no memory verdict; the run is killed, a runtime error.
hog = (
    "#include <stdlib.h>\n#include <string.h>\n"
    "int main(void){for(int i=0;i<24;i++){char*p=malloc(8<<20);if(!p)return 9;memset(p,1,8<<20);}return 0;}\n"
)
mle = judge0.run(client=client, source_code=hog, language=50, memory_limit=65536)
check("memory overrun: a runtime error", mle.status == Status.RUNTIME_ERROR_OTHER, mle)
check("memory overrun: killed by SIGKILL, memory near the limit", mle.exit_signal == 9 and mle.memory >= 32000, mle)
roomy = judge0.run(client=client, source_code=hog, language=50, memory_limit=512000)
check("the same program within a larger limit is accepted", roomy.status == Status.ACCEPTED, roomy)

# Output over max_file_size: SIGXFSZ as in Judge0.
flood = judge0.run(client=client, source_code="while True:\n    print('x' * 1000)\n", language=71, max_file_size=64)
check("output over max_file_size: SIGXFSZ", flood.status == Status.RUNTIME_ERROR_SIGXFSZ, flood)

# Command-line arguments and redirecting stderr.
args = judge0.run(
    client=client,
    source_code="import sys\nprint(' '.join(sys.argv[1:]))\nprint('e', file=sys.stderr)\n",
    language=71,
    command_line_arguments="one 'two three'",
    redirect_stderr_to_stdout=True,
)
check("command_line_arguments and redirect_stderr_to_stdout", args.stdout == "one two three\ne\n" and args.stderr is None, args)

# Another language through its 1.13 id: C++ 54.
cpp = judge0.run(
    client=client,
    source_code="#include <iostream>\nint main(){int a,b;std::cin>>a>>b;std::cout<<a*b<<'\\n';}\n",
    language=54,
    stdin="6 7",
)
check("C++ by its 1.13 id", cpp.status == Status.ACCEPTED and cpp.stdout == "42\n", cpp)

print(f"{checks} checks")
print("ALL CHECKS PASSED")
