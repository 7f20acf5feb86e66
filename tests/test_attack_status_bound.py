"""Data folders no service mounts are kept forever and reported in the daemon's status: the
answer names at most 100 of them (sorted, so the same ones each time) and counts the rest, so
a manifests repo that made thousands over many revisions cannot make the status unbounded.
Pure."""

from __future__ import annotations

import json

from syncd.daemon.status import Status

SHOWN = 100  # the bound the README states


def _status(count: int) -> dict[str, object]:
    status = Status(repo="r", branch="main", instance="t1", started_at=0.0)
    status.orphaned_data_folders = tuple(("shop", f"/data/f{i:05d}") for i in range(count))
    answer = status.as_dict()
    json.dumps(answer)  # the API's answer
    return answer


def test_the_status_names_at_most_a_hundred_orphaned_folders_and_counts_the_rest() -> None:
    answer = _status(5000)
    folders = answer["orphanedDataFolders"]
    assert isinstance(folders, list) and len(folders) == SHOWN
    assert folders[0] == {"project": "shop", "path": "/data/f00000"}
    assert answer["orphanedDataFoldersNotShown"] == 5000 - SHOWN
    few = _status(3)
    assert [f["path"] for f in few["orphanedDataFolders"]] == [  # type: ignore[attr-defined]
        "/data/f00000",
        "/data/f00001",
        "/data/f00002",
    ]
    assert few["orphanedDataFoldersNotShown"] == 0
