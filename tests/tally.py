"""Counting a suite's checks: each printed as it ends (`ok   ...` or `FAIL ...`), and the suite's
last line `NAME: N passed, M failed`, the line tests/README.md's counts come from."""


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, text):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(("ok   " if ok else "FAIL ") + text, flush=True)

    def end(self, suite):
        """Prints the summary line; returns the exit code."""
        print(f"{suite}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
