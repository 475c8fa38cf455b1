// The Kattis output validator's exit codes.
#pragma once
enum Verdict { ACCEPTED = 42, REJECTED = 43 };
