"""Ctrl-C interrupts a sync call that waits for the network: a child process calls a listener
that holds the connection without answering (the call's deadline an hour away), gets SIGINT
once the request has arrived, and raises KeyboardInterrupt then, not when the call ends."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

# The child sets Python's own Ctrl-C handler first, whatever it inherited: a process started in
# the background by a non-interactive shell (`bash tests/run.sh &` in a script, CI runners)
# inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler at all, so
# SIGINT would do nothing and the test would wait out its timeout. This puts the child where an
# interactive user's program is; the binding still has to notice the pending signal during the
# wait for the test to pass. (Set in the child rather than by a preexec_fn in the parent, which
# is unsafe once the parent has threads.)
CHILD = """
import signal
import sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import concur_native
client = concur_native.Client(base_url=sys.argv[1], timeout=None)  # an hour
try:
    client.client_credentials_grant("id", "secret")
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(3)
except concur_native.ConcurError as error:
    print(type(error).__name__, flush=True)
    sys.exit(4)
print("returned", flush=True)
"""


def test_ctrl_c_interrupts_a_waiting_call():
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(4)
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    held = []
    try:
        listening.settimeout(60)
        connection, _ = listening.accept()
        held.append(connection)
        connection.settimeout(60)
        assert connection.recv(65536).startswith(b"POST "), "the request has arrived"
        # The call now waits for an answer that never comes: interrupt it.
        child.send_signal(signal.SIGINT)
        # Before the fix it ended with the call, an hour later: communicate() would time out.
        out, err = child.communicate(timeout=60)
        assert child.returncode == 3, (child.returncode, out, err)
        assert out.strip() == "KeyboardInterrupt", out
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
        for connection in held:
            connection.close()
        listening.close()

