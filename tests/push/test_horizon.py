"""IdHorizon's rule on its own: (last id, holders read after it) samples become proven once
none of their holders is listed any more."""

from __future__ import annotations

from app.push.horizon import IdHorizon


def test_no_producer_in_flight_proves_the_last_id_at_once():
    horizon = IdHorizon()
    assert horizon.observe(10, []) == 10
    assert horizon.candidates == []


def test_a_sample_waits_for_its_holders_and_only_for_them():
    horizon = IdHorizon()
    assert horizon.observe(10, {"3/1", "4/7"}) == 0
    assert horizon.observe(12, {"4/7", "5/2"}) == 0  # 3/1 ended, 4/7 still holds ids <= 10
    assert horizon.observe(15, {"5/2", "6/9"}) == 10  # 4/7 ended: 10 proven, 12 waits for 5/2
    assert horizon.observe(15, {"6/9"}) == 12
    assert horizon.observe(15, {"6/9"}) == 12  # 15 waits for 6/9, seen with it
    assert horizon.observe(16, []) == 16
    assert horizon.candidates == []


def test_the_proven_horizon_never_goes_back_and_a_reset_sequence_starts_over():
    horizon = IdHorizon()
    assert horizon.observe(20, []) == 20
    assert horizon.observe(20, {"3/1"}) == 20
    assert horizon.observe(3, {"3/2"}) == 0  # RESTART IDENTITY: nothing above 0 is known
    assert horizon.observe(4, []) == 4


def test_an_unchanged_last_id_keeps_the_older_sample():
    horizon = IdHorizon()
    horizon.observe(10, {"3/1"})
    horizon.observe(10, {"3/1", "4/1"})  # 4/1 started after 10 was read: no new sample
    assert horizon.candidates == [(10, frozenset({"3/1"}))]
    assert horizon.observe(10, {"4/1"}) == 10


def test_few_samples_are_kept_and_the_newest_is_refreshed():
    horizon = IdHorizon(max_candidates=2)
    horizon.observe(10, {"1/1"})
    horizon.observe(11, {"1/1", "2/1"})
    horizon.observe(12, {"1/1", "2/1", "3/1"})  # replaces 11
    assert [c[0] for c in horizon.candidates] == [10, 12]
    assert horizon.observe(13, {"2/1"}) == 10  # 12's holders include 2/1: still waiting
    assert horizon.candidates == [(12, frozenset({"1/1", "2/1", "3/1"})), (13, frozenset({"2/1"}))]
    assert horizon.observe(14, {"9/9"}) == 13


def test_waiting_time_counts_from_the_oldest_unproven_sample():
    horizon = IdHorizon()
    assert horizon.waiting_s(now=5.0) == 0.0
    horizon.observe(10, {"3/1"}, at=100.0)
    horizon.observe(12, {"3/1", "4/1"}, at=101.0)
    assert horizon.waiting_s(now=131.0) == 31.0
    assert horizon.blocking() == {"3/1"}
    horizon.observe(12, {"4/1"}, at=132.0)  # 10 proven: 12 (sampled at 101) is the oldest now
    assert horizon.waiting_s(now=132.0) == 31.0
    assert horizon.blocking() == {"3/1", "4/1"}
    horizon.observe(13, [], at=133.0)
    assert horizon.waiting_s(now=133.0) == 0.0
    assert horizon.blocking() == frozenset()
