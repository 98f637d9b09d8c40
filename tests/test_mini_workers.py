"""gateway_lab.mini.workers: connection threads are reused, never shared by two connections."""

from __future__ import annotations

import threading
import time

from gateway_lab.mini.workers import Workers


def test_a_finished_thread_takes_the_next_piece_of_work():
    workers = Workers("test")
    seen: list[threading.Thread] = []
    done = threading.Event()
    workers.submit(lambda: seen.append(threading.current_thread()))
    assert workers.wait_idle(time.monotonic() + 5)  # the thread is idle once its work is done
    workers.submit(lambda: (seen.append(threading.current_thread()), done.set()))
    assert done.wait(5)
    assert seen[0] is seen[1]
    workers.stop(time.monotonic() + 5)
    assert not seen[0].is_alive()


def test_busy_threads_are_never_waited_for_a_new_one_starts():
    workers = Workers("test")
    release = threading.Event()
    started = threading.Event()
    workers.submit(release.wait)  # holds its thread
    workers.submit(started.set)
    assert started.wait(5), "the second piece of work waited for the first"
    assert not workers.wait_idle(time.monotonic() + 0.05)  # the first is still running
    release.set()
    assert workers.wait_idle(time.monotonic() + 5)
    workers.stop(time.monotonic() + 5)


def test_stop_ends_idle_threads_and_waits_no_longer_than_asked():
    workers = Workers("test")
    stuck = threading.Event()
    workers.submit(stuck.wait)
    began = time.monotonic()
    workers.stop(time.monotonic() + 0.2)  # the stuck thread is left to finish alone
    assert time.monotonic() - began < 2
    stuck.set()


def test_a_threads_name_says_whether_it_serves_and_idle_ones_are_not_counted_as_working():
    from gateway_lab.labs.load import working_threads

    def mine() -> list[threading.Thread]:
        # only this test's threads: another test's thread ending meanwhile must not move the count
        return [t for t in threading.enumerate() if t.name.startswith("named: ")]

    workers = Workers("named")
    release = threading.Event()
    names: list[str] = []
    assert working_threads(mine()) == 0
    workers.submit(lambda: (names.append(threading.current_thread().name), release.wait(5)))
    deadline = time.monotonic() + 5
    while not names and time.monotonic() < deadline:
        time.sleep(0.01)
    assert names == ["named: serving"]
    assert working_threads(mine()) == 1  # the serving thread counts
    release.set()
    assert workers.wait_idle(time.monotonic() + 5)
    idle = [t for t in threading.enumerate() if t.name == "named: idle"]
    assert len(idle) == 1
    assert working_threads(mine()) == 0  # the idle one does not
    workers.stop(time.monotonic() + 5)
