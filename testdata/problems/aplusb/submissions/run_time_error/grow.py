# Grows a list of 64 MiB filled byte strings up to 1 GiB (memory limit is 256 MiB).
a, b = map(int, input().split())
chunks = []
for i in range(16):
    chunks.append(bytes([i + 1]) * (64 << 20))
print(a + b + sum(c[4096] for c in chunks) * 0)
