a, b = gets.split.map(&:to_i)
raise "deliberate failure #{a + b}"
