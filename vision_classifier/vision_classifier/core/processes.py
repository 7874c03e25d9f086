"""Child processes with their output in a log file: the bench's camera and classifier, the tests' nodes."""
from pathlib import Path
import signal
import subprocess
import sys
import time


class Process:
    """`python -m <module> <args>` with stdout and stderr in `log_path`; stop() sends SIGINT, then kills."""

    def __init__(self, module, args, log_path, env=None, cwd=None):
        self.name = Path(log_path).stem
        self.log_path = Path(log_path)
        with open(self.log_path, 'w') as out:
            self.proc = subprocess.Popen([sys.executable, '-m', module, *args], env=env, cwd=cwd, stdout=out,
                                         stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def log(self):
        return self.log_path.read_text(errors='replace')

    def tail(self, lines=15):
        return '\n'.join(self.log().splitlines()[-lines:])

    def wait_for_log(self, text, timeout=60.0):
        """Tell whether `text` appears in the output within `timeout` seconds (at once if the process ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.05)
        return text in self.log()

    def stop(self, grace=60.0):
        """Send SIGINT, then SIGKILL after `grace` seconds; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
