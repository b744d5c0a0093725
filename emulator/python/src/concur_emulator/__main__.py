"""`python -m concur_emulator [FLAGS]`: runs the bundled concur-emulator program."""

from __future__ import annotations

import os
import subprocess
import sys

from concur_emulator import find_binary


def main() -> int:
    """Runs the program with this process's arguments; returns its exit status."""
    binary = find_binary()
    if sys.platform == "win32":
        return subprocess.call([binary, *sys.argv[1:]])
    os.execvp(binary, [binary, *sys.argv[1:]])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
