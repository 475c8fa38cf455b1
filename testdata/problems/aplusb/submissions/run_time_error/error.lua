local a, b = io.read("n", "n")
error("deliberate failure " .. (a + b))
