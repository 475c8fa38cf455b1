<?php
[$a, $b] = array_map("intval", preg_split("/\\s+/", trim(fgets(STDIN))));
throw new RuntimeException("deliberate failure " . ($a + $b));
