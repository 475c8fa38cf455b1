import sys

lo, hi = 1, 10**9
while lo <= hi:
    mid = (lo + hi) // 2
    print(mid, flush=True)
    reply = sys.stdin.readline().strip()
    if reply == "correct" or not reply:
        break
    if reply == "lower":
        hi = mid - 1
    else:
        lo = mid + 1
