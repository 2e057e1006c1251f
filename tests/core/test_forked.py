"""core.forked: a function runs in a capped child forked from the warm fork server, and every
way that child can end without a proper answer is told apart from an answer.

The functions the children run are defined here at module level: the child imports them by
name. This module imports nothing from Django, so the children load it quickly."""

import os
import resource
import signal
import sys
import time

import psutil
import pytest

from core import forked

MIB = 1024**2
CAP = 2 * 1024**3


def answer(value):
    return {"value": value, "pid": os.getpid()}


def limits():
    return {
        "address_space": resource.getrlimit(resource.RLIMIT_AS)[0],
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "preloaded": [
            m for m in ("sklearn.ensemble", "skops.io", "onnx", "pandas") if m in sys.modules
        ],
    }


def a_set():
    return {1}


def segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


def exit_quietly():
    os._exit(3)


def allocate(size: int):
    return len(bytearray(size))


def sleep_after_telling(pid_file: str):
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)


def test_it_answers_with_the_functions_value_from_another_process():
    result = forked.forked_run(answer, [1, "two"], memory_bytes=CAP, timeout=60)

    assert result["value"] == [1, "two"]
    assert result["pid"] != os.getpid()


def test_the_child_is_capped_single_threaded_and_forked_with_the_checkers_imported():
    result = forked.forked_run(limits, memory_bytes=CAP, timeout=60)

    assert result["address_space"] == CAP
    assert result["openblas_threads"] == "1"
    # Imported once by the fork server (registry and training name them in ready()).
    assert result["preloaded"] == ["sklearn.ensemble", "skops.io", "onnx", "pandas"]


def test_the_answer_comes_back_as_json_never_as_python_objects():
    assert forked.forked_run(a_set, memory_bytes=CAP, timeout=60) == "{1}"


def test_a_child_killed_by_a_signal_is_a_failure_naming_the_signal():
    with pytest.raises(forked.ChildFailed, match="^killed by SIGSEGV$") as caught:
        forked.forked_run(segfault, memory_bytes=CAP, timeout=60)

    assert not isinstance(caught.value, forked.ChildTimedOut)


def test_a_child_that_exits_without_answering_is_a_failure():
    with pytest.raises(forked.ChildFailed, match="^exited with status 3$"):
        forked.forked_run(exit_quietly, memory_bytes=CAP, timeout=60)


def test_a_child_over_its_memory_cap_fails_and_the_cap_is_the_childs_alone():
    with pytest.raises(forked.ChildFailed, match="^MemoryError"):
        forked.forked_run(allocate, 3 * CAP, memory_bytes=CAP, timeout=60)

    assert forked.forked_run(allocate, 64 * MIB, memory_bytes=CAP, timeout=60) == 64 * MIB
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY


def test_a_child_that_does_not_answer_in_time_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()

    with pytest.raises(forked.ChildTimedOut, match="no answer within 2 s"):
        forked.forked_run(sleep_after_telling, str(pid_file), memory_bytes=CAP, timeout=2)

    assert time.monotonic() - started < 30
    assert not psutil.pid_exists(int(pid_file.read_text()))
