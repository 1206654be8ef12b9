"""The article page's "What changed 改动对比" block: which two versions to compare, and their diff."""

from __future__ import annotations

from archive.diff import diff_versions


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def version_diff(versions: list[dict], args) -> dict | None:
    """The diff to show for an article's versions (any order) and the page's ?from=&to= arguments.

    Default: the latest version against the one before it. None when there is nothing to compare.
    """
    by_number = {v.get("version"): v for v in versions if v.get("version") is not None}
    if len(by_number) < 2:
        return None
    numbers = sorted(by_number)
    to_n = _number(args.get("to")) or numbers[-1]
    earlier = [n for n in numbers if n < to_n]
    from_n = _number(args.get("from")) or (earlier[-1] if earlier else None)
    problem = None
    if to_n not in by_number or from_n not in by_number or from_n == to_n:
        problem = (f"No such pair of versions: from={args.get('from') or ''} to={args.get('to') or ''}; "
                   f"this article has versions {', '.join(map(str, numbers))} · 没有这两个版本")
        to_n, from_n = numbers[-1], numbers[-2]
    old, new = by_number[from_n], by_number[to_n]
    diff = diff_versions(old, new)
    return {"from": old, "to": new, "diff": diff, "blocks": diff.blocks(context=1), "numbers": numbers,
            "problem": problem, "is_default": (from_n, to_n) == (numbers[-2], numbers[-1])}
