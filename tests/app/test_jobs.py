"""The page's job helpers without a server: time left from step timings, the Stop switch, field numbers."""

import threading

import pytest

from alteredavatar.adapt.loop import StopRequested
from alteredavatar.app.jobs import StepClock, StopSwitch, number, progress_text, run_dir, stoppable
from alteredavatar.errors import ConfigError


def test_time_left_comes_from_the_steps_after_the_first():
    clock = iter([10.0, 12.0, 13.0, 14.0])  # the first step took long (warm-up), then 1 s per step
    timer = StepClock(now=lambda: next(clock))
    assert timer.seconds_left(1, 10) is None
    assert timer.seconds_left(2, 10) == pytest.approx(16.0)  # 2 s per step so far, 8 to go
    assert timer.seconds_left(3, 10) == pytest.approx(10.5)
    assert timer.seconds_left(4, 10) == pytest.approx(8.0)
    assert progress_text(4, 10, 0.5, 8.0) == "adapting: step 4/10, loss 0.5000, about 8 s left"
    assert "estimating" in progress_text(1, 10, 0.5, None)


def test_stop_switch_stops_only_its_session_after_the_current_step():
    switch, seen = StopSwitch(), []
    flag = switch.start("a")
    other = switch.start("b")
    step = stoppable(lambda done, total, parts: seen.append(done), flag)
    step(1, 5, {})
    assert switch.stop("a") and not other.is_set()
    with pytest.raises(StopRequested):
        step(2, 5, {})
    assert seen == [1, 2], "the step's progress is reported before stopping"
    step(5, 5, {})  # the last step: nothing left to stop
    switch.finish("a", flag)
    assert not switch.stop("a"), "no run left in that session"
    assert switch.start("a") is not flag and not switch.start("a").is_set(), "a new run starts unstopped"
    assert isinstance(flag, threading.Event)


@pytest.mark.parametrize(
    ("value", "integer", "expected"),
    [("3", True, 3), (2.0, True, 2), (0.25, False, 0.25), ("1e3", False, 1000.0)],
)
def test_numbers_from_the_page(value, integer, expected):
    assert number("Steps", value, integer) == expected


@pytest.mark.parametrize(("value", "integer"), [(None, False), ("<b>x</b>", False), (2.5, True)])
def test_bad_numbers_name_the_field(value, integer):
    with pytest.raises(ConfigError, match=r'^"Seed" must be a'):
        number("Seed", value, integer)


def test_a_style_is_picked_only_from_the_sessions_own_runs(tmp_path):
    session = tmp_path / "sessions" / "s"
    own = session / "runs" / "0123456789ab"
    own.mkdir(parents=True)
    (own / "style.json").write_text("{}")
    (tmp_path / "sessions" / "t" / "runs" / "ba9876543210").mkdir(parents=True)
    assert run_dir(session, "0123456789ab") == own
    for bad in ("ba9876543210", "../../t/runs/ba9876543210", "0123456789AB", None, ["0123456789ab"]):
        with pytest.raises(ConfigError, match=r'choose "Style A" from this session'):
            run_dir(session, bad)
