"""The load labs' budget: sizes shrink on a crowded machine, waits stretch, CPU limits are read."""

from __future__ import annotations

from pathlib import Path

import pytest

import gateway_lab as gl
from gateway_lab.labs.budget import (
    MAX_STRETCH,
    REFERENCE_REQUEST_S,
    Budget,
    cgroup_cpu_limit,
    fair_cores,
    measure,
)


def test_a_laptop_runs_every_lab_at_the_size_the_lesson_states() -> None:
    laptop = Budget.laptop()
    assert laptop.factor == 1.0
    assert laptop.count(60, floor=20) == 60
    assert laptop.wait(0.5, clients=60) == 0.5
    assert "full size" in laptop.describe()


def test_slow_requests_shrink_the_counts_down_to_the_floor() -> None:
    slow = Budget(cores=2.0, request_s=10 * REFERENCE_REQUEST_S)  # ten times slower
    assert slow.factor == pytest.approx(0.1)
    assert slow.count(200, floor=10) == 20
    assert slow.count(60, floor=20) == 20  # 6 would hide the lesson's point: the floor holds
    assert "10% of full size" in slow.describe()


def test_a_share_of_a_core_shrinks_the_counts_too() -> None:
    half = Budget(cores=0.5, request_s=REFERENCE_REQUEST_S)
    assert half.count(60, floor=10) == 30
    assert Budget(cores=4.0, request_s=REFERENCE_REQUEST_S / 2).count(60, floor=10) == 60


def test_waits_stretch_to_stay_large_beside_the_time_to_send_the_requests() -> None:
    crowded = Budget(cores=1.0, request_s=0.01)  # 60 requests take 0.6 s to send
    assert crowded.wait(0.5, clients=60) == pytest.approx(1.2)  # twice that
    assert Budget(cores=0.5, request_s=0.01).wait(0.5, clients=60) == pytest.approx(1.5)
    very = Budget(cores=1.0, request_s=0.05)
    assert very.wait(0.5, clients=60) == pytest.approx(0.5 * MAX_STRETCH)  # capped


def test_a_floor_above_the_default_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="floor"):
        Budget.laptop().count(10, floor=20)


def test_fair_share_when_more_tasks_run_than_there_are_cores() -> None:
    assert fair_cores(2, running=8.0, limit=None) == pytest.approx(0.5)
    assert fair_cores(2, running=1.0, limit=None) == 2.0
    assert fair_cores(2, running=1.0, limit=0.5) == 0.5
    assert fair_cores(4, running=None, limit=None) == 4.0


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "50000 100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu.max": "garbage\n"}, None),
        ({}, None),
    ],
)
def test_the_container_cpu_limit_is_read_from_cgroups(
    tmp_path: Path, files: dict[str, str], expected: float | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(tmp_path) == expected


def test_measure_looks_at_this_machine_and_leaves_no_server_behind() -> None:
    before = set(gl.servers())
    budget = measure()
    assert 0 < budget.request_s < 1.0
    assert budget.cores > 0
    assert 0.05 <= budget.factor <= 1.0
    assert set(gl.servers()) == before
    assert "ms per loopback request" in str(budget)


def test_in_a_browser_tab_the_budget_is_the_laptops_without_a_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway_lab.labs import budget

    def no_socket() -> float:
        raise AssertionError("measure() must not serve anything in a browser tab")

    monkeypatch.setattr(budget, "IN_BROWSER", True)
    monkeypatch.setattr(budget, "_request_seconds", no_socket)
    assert budget.measure() == budget.Budget.laptop()
