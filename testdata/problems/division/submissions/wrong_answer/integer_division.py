# Wrong: integer (floor) division. Passes nothing but exact quotients.
a, b = map(int, input().split())
print(a // b)
