"""Word-level diffs of prose, as segments a page or a terminal can show.

A diff is a list of ``{"op": "equal" | "delete" | "insert", "text": ...}``; joining the
``equal`` and ``delete`` texts gives the old text, ``equal`` and ``insert`` the new one.
Words, runs of white space and punctuation are the units, so a changed deadline shows as
``5 p.m. GMT`` deleted and ``17:00 local time (14:00 GMT)`` inserted, not as two paragraphs.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")

Segment = dict[str, str]


def word_diff(old: str, new: str) -> list[Segment]:
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    opcodes = SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    segments: list[Segment] = []
    deleted, inserted = "", ""
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        old_text, new_text = "".join(before[i1:i2]), "".join(after[j1:j2])
        between_changes = 0 < index < len(opcodes) - 1 and not old_text.strip()
        if tag != "equal" or between_changes:
            # White space between two changes joins them: one readable change, not three.
            deleted, inserted = deleted + old_text, inserted + new_text
            continue
        _flush(segments, deleted, inserted)
        deleted, inserted = "", ""
        segments.append({"op": "equal", "text": old_text})
    _flush(segments, deleted, inserted)
    return segments


def _flush(segments: list[Segment], deleted: str, inserted: str) -> None:
    if deleted:
        segments.append({"op": "delete", "text": deleted})
    if inserted:
        segments.append({"op": "insert", "text": inserted})
