"""What `course grade` shows while it runs: a line per finished submission and, on a terminal, a
bar at the bottom redrawn every second, whose estimate of the time left keeps moving while a
long submission runs."""
import sys
import threading
import time

from grader.reports.scores import printable

WIDTH = 30          # characters of the bar
REDRAW = 1.0        # seconds between redraws of the bar


class Progress:
    """Call it with each finished job's outcome (every job ends with one, so the redrawing
    stops by itself)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.started = self.last = time.perf_counter()
        self.lock = threading.Lock()
        if stream.isatty() and total:
            threading.Thread(target=self._redraw, daemon=True).start()

    def __call__(self, outcome) -> None:
        detail = f" ({printable(outcome.detail)})" if outcome.detail else ""
        with self.lock:
            self.done += 1
            self.last = time.perf_counter()
            line = (f"[{self.done:>{len(str(self.total))}}/{self.total}] {outcome.job.student} "
                    f"{outcome.job.assignment}: {outcome.status}{detail}, {outcome.seconds:.1f} s")
            if self.stream.isatty():
                self.stream.write(f"\r\033[K{line}\n{self.bar(self.last)}" + ("\n" if self.done == self.total else ""))
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def bar(self, now: float) -> str:
        """The bar at time `now`: the share done, the time spent, and the time left if the
        submissions still to finish take as long on average as those done."""
        filled = round(WIDTH * self.done / self.total)
        elapsed = now - self.started
        if not self.done:
            estimate = "estimating the time left"
        elif self.done == self.total:
            estimate = "done"
        else:
            left = (self.last - self.started) / self.done * self.total - elapsed
            estimate = f"about {left:.0f} s left" if left >= 0.5 else f"{-left:.0f} s longer than estimated"
        return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total}  {elapsed:.0f} s, {estimate}"

    def _redraw(self) -> None:
        while True:
            time.sleep(REDRAW)
            with self.lock:
                if self.done == self.total:
                    return
                self.stream.write(f"\r\033[K{self.bar(time.perf_counter())}")
                self.stream.flush()
