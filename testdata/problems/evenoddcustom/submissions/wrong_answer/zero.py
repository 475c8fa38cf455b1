# Wrong: 0 is not a positive integer (the sum is right, though).
n = int(input())
print(0, n)
