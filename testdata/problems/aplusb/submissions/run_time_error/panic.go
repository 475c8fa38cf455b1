package main

import "fmt"

// Reads a and b, then panics (exit status 2).
func main() {
	var a, b int64
	fmt.Scan(&a, &b)
	panic(fmt.Sprintf("refusing to add %d and %d", a, b))
}
