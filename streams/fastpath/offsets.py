"""Which offsets of a partition may be committed: processed spans and gaps, folded."""

from __future__ import annotations


def fold_spans(spans: list[tuple[int, int]], start: int | None) -> int | None:
    """Consume the processed spans contiguous from START; return the offset to commit.

    SPANS holds inclusive (first, last) offset ranges, processed or known empty, in
    any order; it is sorted and the consumed prefix removed in place. START is the
    committed offset (None before any commit: the first span starts the prefix).
    None when nothing contiguous follows START (a record before the spans is still
    in flight): committing past it would lose it.
    """
    if not spans:
        return None
    spans.sort()
    expected = spans[0][0] if start is None else start
    consumed = 0
    for first, last in spans:
        if first > expected:
            break
        expected = max(expected, last + 1)
        consumed += 1
    if not consumed:
        return None
    del spans[:consumed]
    return expected


def next_expected(resume_at: int | None, last_read: int | None) -> int | None:
    """The offset the next delivered record of a partition should have, if known.

    RESUME_AT is where a seek put the partition (the next offset to read); otherwise
    LAST_READ (the last offset delivered) + 1. A record beyond it means the offsets
    between hold no records for us (markers, aborted transactions).
    """
    if resume_at is not None:
        return resume_at
    return None if last_read is None else last_read + 1
