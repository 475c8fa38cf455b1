package main

import "fmt"

func main() {
	var sum int64 = "not a number"
	fmt.Println(sum)
}
