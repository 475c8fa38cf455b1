# A different valid answer than the judge's: split n into two halves.
n = int(input())
print(n // 2, n - n // 2)
