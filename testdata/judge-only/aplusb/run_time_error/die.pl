my ($a, $b) = split " ", <STDIN>;
die "deliberate failure " . ($a + $b) . "\n";
