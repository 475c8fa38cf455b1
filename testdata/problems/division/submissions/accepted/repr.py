# Prints Python's repr of the float, e.g. 0.3333333333333333 or 1e-09 (scientific notation).
a, b = map(int, input().split())
print(a / b)
