"""Where a grading kernel runs: a bubblewrap sandbox (`bwrap`), started by its kernel manager (`kernel`)."""
