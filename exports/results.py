"""DescribeDashboardSnapshotJobResult read against the request: which answer belongs to which file.

QuickSight does not promise to list the result's file groups in the order they were requested;
each group echoes the `Files` it was made from (format and sheet selections), so that echo is
what pairs an answered group with a requested one, never its position in the list. A group's
`S3Results` may hold several entries (one per object written); each is kept, in order, as a
part. Pure functions on the API's dicts: no Django, no boto3; only the gateway
(exports/quicksight.py) and the reader of the stored request (exports/snapshot.py) use them.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SheetPick:
    """One sheet of a SnapshotFile: its visuals in order, or the whole sheet (ALL_VISUALS)."""

    sheet_id: str
    visual_ids: tuple[str, ...] = ()
    whole_sheet: bool = False


@dataclass(frozen=True)
class RequestedFile:
    """A SnapshotFile (one file group's file) as typed values: what was asked for, or what a group echoes."""

    format: str
    sheets: tuple[SheetPick, ...] = ()

    @property
    def sheet_ids(self) -> tuple[str, ...]:
        return tuple(s.sheet_id for s in self.sheets)

    @property
    def visual_ids(self) -> tuple[str, ...]:
        return tuple(v for s in self.sheets for v in s.visual_ids)


def requested_file(file: Mapping[str, Any]) -> RequestedFile:
    """A SnapshotFile dict -> RequestedFile; tolerant of missing keys (echoes come from outside)."""
    selections = [s for s in file.get("SheetSelections") or [] if isinstance(s, Mapping)]
    return RequestedFile(
        format=file.get("FormatType") or "",
        sheets=tuple(
            SheetPick(
                sheet_id=s.get("SheetId") or "",
                visual_ids=tuple(s.get("VisualIds") or ()),
                whole_sheet=s.get("SelectionScope") == "ALL_VISUALS",
            )
            for s in selections
        ),
    )


def group_files(groups: Any) -> list[RequestedFile]:
    """The first SnapshotFile of each file group, typed (a group holds exactly one file)."""
    return [requested_file((group.get("Files") or [{}])[0] or {}) for group in groups or []]


@dataclass(frozen=True)
class S3Result:
    """One entry of a group's S3Results: a URI, or the errors QuickSight gave instead."""

    uri: str = ""
    errors: tuple[dict[str, str], ...] = ()


@dataclass
class GroupResult:
    """What QuickSight answered for the requested file group at `index`."""

    index: int
    file: RequestedFile
    parts: list[S3Result] = field(default_factory=list)  # empty: no answered group echoed this file


@dataclass
class MatchedResult:
    groups: list[GroupResult]  # one per requested group, in request order
    unmatched: int = 0  # answered groups that echo no requested file (reported, never guessed at)


def exact_key(file: RequestedFile) -> tuple:
    """Format, and each sheet with its visuals in order (the order of an Excel workbook's sheets)."""
    return (file.format, tuple((s.sheet_id, s.visual_ids) for s in file.sheets))


def loose_key(file: RequestedFile) -> tuple:
    """As exact_key, but a whole sheet (ALL_VISUALS) is its sheet id alone, for an echo that spells
    out its visuals; selected visuals always count, or one table's rows could pass for another's."""
    return (file.format, tuple((s.sheet_id, () if s.whole_sheet else s.visual_ids) for s in file.sheets))


def answered_groups(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The file groups of the (one) anonymous user of a DescribeDashboardSnapshotJobResult answer."""
    users = (result.get("Result") or {}).get("AnonymousUsers") or [{}]
    return list(users[0].get("FileGroups") or [])


def _parts(group: dict[str, Any]) -> list[S3Result]:
    return [
        S3Result(uri=entry.get("S3Uri") or "", errors=tuple(entry.get("ErrorInfo") or ()))
        for entry in group.get("S3Results") or []
    ]


def match_file_groups(wanted: Sequence[RequestedFile], result: Mapping[str, Any]) -> MatchedResult:
    """Pair each requested file group with the answered group whose `Files` echo it.

    Identical requests (two CSVs of one visual) pair in order among themselves. An echo that
    differs only in listing the visuals of a whole sheet pairs once exact echoes are taken.
    """
    answered = answered_groups(result)
    echoes = group_files(answered)
    matches: dict[int, dict[str, Any]] = {}
    free = set(range(len(answered)))
    for key in (exact_key, loose_key):
        queues: dict[tuple, deque[int]] = defaultdict(deque)
        for a in sorted(free):
            queues[key(echoes[a])].append(a)
        for index, file in enumerate(wanted):
            if index in matches:
                continue
            queue = queues.get(key(file))
            if queue:
                a = queue.popleft()
                free.discard(a)
                matches[index] = answered[a]
    groups = [
        GroupResult(index=index, file=file, parts=_parts(matches[index]) if index in matches else [])
        for index, file in enumerate(wanted)
    ]
    return MatchedResult(groups=groups, unmatched=len(free))


def same_object(stored_uri: str, fresh_uri: str) -> bool:
    """Two links to one object: same scheme, host and path (a fresh link has a new signature)."""
    a, b = urlsplit(stored_uri), urlsplit(fresh_uri)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


def pick_part(parts: list[str], *, stored_uri: str, part: int) -> str:
    """The fresh URI of a stored part: the one naming the same object, else the one at its position."""
    for uri in parts:
        if uri and stored_uri and same_object(stored_uri, uri):
            return uri
    return parts[part] if part < len(parts) else ""
