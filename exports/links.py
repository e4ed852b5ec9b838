"""Addresses of list rows, reversed once and filled in per row.

reverse() walks the URL patterns on every call; a page of 25 export rows asked it for about 100
addresses. Here each named route is reversed once (per script prefix) with sample arguments, and
rows get the same string with their own ids put in.
"""

from __future__ import annotations

import functools
import uuid

from django.urls import get_script_prefix, reverse

SAMPLE_ID = uuid.UUID("00000000-0000-4000-8000-000000000000")
SAMPLE_NUMBERS = (987651, 987652)  # digits that occur nowhere in SAMPLE_ID or our routes


@functools.cache
def _pattern(prefix: str, name: str, count: int) -> str:
    samples = [SAMPLE_ID, *SAMPLE_NUMBERS][:count]
    pattern = reverse(name, args=samples).replace("{", "{{").replace("}", "}}")
    for n, sample in enumerate(samples):
        pattern = pattern.replace(str(sample), f"{{{n}}}")
    return pattern


def url(name: str, *args) -> str:
    """reverse(name, args=args) for routes taking an export's id, then at most two numbers."""
    return _pattern(get_script_prefix(), name, len(args)).format(*args)
