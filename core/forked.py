"""Run a function on untrusted input in a capped child process forked from a warm fork server.

Checking an upload (registry.artifacts: a model file; training.datasets: a dataset) parses
hostile bytes with libraries that can crash or run out of memory on them. Each check runs in a
child process of its own with an address-space cap (RLIMIT_AS) and a time limit, so a crafted
file costs a refused upload, never the web or worker process.

A fresh interpreter per check spent 2-5 s importing scikit-learn, skops, onnx, pandas and
pyarrow before reading a byte. The children are instead forked from a fork server
(multiprocessing's "forkserver" context) that imported those modules once: the apps name theirs
with forkserver_preload_add() when Django starts, and forkserver_warm() starts the server in a
process that will check files (Celery pool processes, config/celery.py; gunicorn workers,
config/gunicorn.py). Elsewhere the first check starts it, so a management command that never
checks a file never pays for it. The server is a fresh interpreter, not a fork of the web
process: a check never sees the web process's memory (its settings, its database connections).

A fork server belongs to the process that started it: start it after forking workers, never in
a process that forks afterwards (gunicorn's --preload master, Celery's main process).

The child answers in JSON, never in a pickle: a child that a crafted file took over must not be
able to run code in its parent by what it answers.
"""

import json
import multiprocessing
import resource
import signal
import traceback
from collections.abc import Callable
from typing import Any

_context = multiprocessing.get_context("forkserver")
# Imported first in the fork server (before numpy loads OpenBLAS), so that every check runs
# numpy's, OpenBLAS's and pyarrow's pools on one thread: the checks share the host with the
# web and worker processes.
_preload = ["core.forkserver_threads"]
# A check answers with a verdict and a few facts about the file (a dataset's columns at most);
# anything longer is a child gone wrong.
MAX_ANSWER_BYTES = 16 * 1024**2


class ChildFailed(Exception):
    """The child stopped without answering: killed by a signal, exited, or raised; the message
    says which."""


class ChildTimedOut(ChildFailed):
    """The child did not answer within its time limit and was killed."""


def forkserver_preload_add(*modules: str) -> None:
    """Modules the fork server imports before forking any child (an app's checker and the
    libraries it uses); call from AppConfig.ready(). Added after the server started, they load
    in each child instead."""
    _preload.extend(m for m in modules if m not in _preload)


def forkserver_warm() -> None:
    """Start the fork server, if it is not running, without waiting for its imports (the
    first check waits for them instead)."""
    _context.set_forkserver_preload(_preload)
    from multiprocessing import forkserver

    forkserver.ensure_running()


def forked_run(function: Callable[..., Any], *args: Any, memory_bytes: int, timeout: float) -> Any:
    """`function(*args)` in a child forked from the fork server, its address space capped at
    `memory_bytes`; its return value (JSON-able) after a JSON round trip. ChildTimedOut when it
    has not answered after `timeout` seconds (it is killed), ChildFailed when it died or raised
    without answering. `function` must be importable by name (a module-level function); the
    arguments go as JSON too, so that the child never needs Django to read them (a
    TextChoices member arrives as its value)."""
    args = json.loads(json.dumps(args))
    forkserver_warm()
    receive, send = _context.Pipe(duplex=False)
    child = _context.Process(
        target=_child_main, args=(send, memory_bytes, function, args), daemon=True
    )
    try:
        child.start()
    finally:
        send.close()  # the child holds the only write end: its death ends the pipe
    try:
        if not receive.poll(timeout):
            raise ChildTimedOut(f"no answer within {timeout:g} s")
        try:
            answer = json.loads(receive.recv_bytes(MAX_ANSWER_BYTES))
        except EOFError:
            child.join()
            raise ChildFailed(_exit_text(child.exitcode)) from None
        except (OSError, ValueError) as exc:  # too long, or not JSON
            raise ChildFailed(f"an unreadable answer ({exc})") from None
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise ChildFailed("an unreadable answer")
        if "error" in answer:
            raise ChildFailed(str(answer["error"]))
        return answer["result"]
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()


def _child_main(send, memory_bytes: int, function: Callable[..., Any], args: tuple) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        answer = json.dumps({"result": function(*args)}, default=str)
    except Exception as exc:  # MemoryError included: the parent says what stopped the child
        traceback.print_exc()
        first = str(exc).strip().splitlines()[:1]
        answer = json.dumps({"error": ": ".join([type(exc).__name__, *first])})
    send.send_bytes(answer.encode())
    send.close()


def _exit_text(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"
