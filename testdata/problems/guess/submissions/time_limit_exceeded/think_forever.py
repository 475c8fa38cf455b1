# Makes one guess, reads the answer, then computes forever.
import sys

print(500000000, flush=True)
sys.stdin.readline()
x = 0
while True:
    x += 1
