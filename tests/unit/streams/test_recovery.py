from streams.recovery import RecoveryWatch


def test_progress_resets_the_clock_and_a_stall_names_the_stuck_partition() -> None:
    watch = RecoveryWatch(stall_secs=30.0)
    highwaters = {"signal-state-changelog/0": 100, "signal-state-changelog/1": 50}

    assert watch.observe(0.0, True, {"signal-state-changelog/0": 10}, highwaters) is None
    assert watch.remaining == 140
    assert watch.observe(20.0, True, {"signal-state-changelog/0": 60}, highwaters) is None
    assert watch.remaining == 90
    assert watch.observe(49.0, True, {"signal-state-changelog/0": 60}, highwaters) is None
    reason = watch.observe(50.0, True, {"signal-state-changelog/0": 60}, highwaters)

    assert reason is not None
    assert "no progress for 30 s" in reason
    assert "signal-state-changelog/0 at 60 of 100" in reason
    assert "signal-state-changelog/1 at 0 of 50" in reason


def test_a_finished_recovery_is_never_a_stall() -> None:
    watch = RecoveryWatch(stall_secs=1.0)

    assert watch.observe(0.0, True, {"t/0": 5}, {"t/0": 10}) is None
    assert watch.observe(100.0, False, {"t/0": 5}, {"t/0": 10}) is None
    assert watch.snapshot() == {"in_recovery": False, "remaining": 0, "lagging": {}}
    assert watch.observe(200.0, True, {"t/0": 5}, {"t/0": 10}) is None  # a new recovery
