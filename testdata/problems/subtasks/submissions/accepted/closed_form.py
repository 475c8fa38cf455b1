n = int(input())
print(n * (n + 1) // 2 % (10**9 + 7))
