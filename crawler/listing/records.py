"""Record arrays in JSON listing answers, recognised by what their values look like.

A listing API answers with an array of records somewhere in its document (`data`, `data.list`, `rows`,
`result.items`, a bare array …) whose keys may be English (`title`, `pubDate`), upper-case TRS names
(`DOCTITLE`), pinyin abbreviations (`BT`, `FBRQ`, `CWRQ`, `WJMC`) or Chinese (`标题`, `发布日期`). Key
names are only a hint: a field is the URL when its values are links to pages, the title when its
values are distinct CJK headlines, a date when its values are dates. When a record has several dates,
the publication/release date is preferred over a document, written (成文) or update date.

`find_fields(records)` says which key is which (`Fields`); `read(record, fields, base)` makes one item.
Keys of nested objects are dotted (`source.title`); a JSON object stored as a string is opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from .dates import date_from_url, is_date_only, normalize_date
from .rows import norm_space

_CJK = re.compile(r"[\u4e00-\u9fff]")
_TAG = re.compile(r"<[^>]+>")
_PAGE_EXT = re.compile(r"\.(?:s?html?|jhtml|xhtml|jsp|php|aspx?|do|action)(?:[?#].*)?$", re.I)
_FILE_EXT = re.compile(r"\.(?:jpe?g|png|gif|bmp|webp|svg|ico|css|js|mp4|mp3|pdf|docx?|xlsx?|wps|ofd|zip|rar)"
                       r"(?:[?#].*)?$", re.I)
_URLISH = re.compile(r"^(?:https?://|//|/|\./|\.\./)\S*$|^[\w\-./%]+\.(?:s?html?|jhtml|xhtml|jsp|php|aspx?|do)"
                     r"(?:[?#]\S*)?$", re.I)

# Name hints, matched against the lower-cased last key segment (letters only for the English ones).
_URL_NAMES = ("url", "link", "href", "lj", "ljdz", "wz", "path", "链接", "网址", "地址")
_NOT_URL_NAMES = re.compile(r"pic|img|image|thumb|icon|logo|cover|photo|video|audio|attach|file|fj|"
                            r"chnl|channel|column|lanmu|lm|site|node|parent|附件|图片|栏目", re.I)
_TITLE_NAMES = ("title", "tit", "bt", "biaoti", "name", "mc", "wjmc", "xxmc", "wjbt", "subject", "headline",
                "doctitle", "showtitle", "标题", "名称", "题名", "文件名称", "信息名称", "文件标题")
_NOT_TITLE_NAMES = re.compile(
    r"summary|abstract|intro|desc|content|text|body|source|publisher|author|keyword|tag|channel|chnl|"
    r"column|site|dept|org|unit|^(?:zy|nr|ly|fbjg|jg|fwjg|zz|gjc|lm|wh|fwzh|wjh|syh|suoyinhao|zt|ztfl)$|"
    r"摘要|内容|正文|来源|机构|机关|单位|部门|作者|关键|栏目|文号|索引|分类", re.I)
# Date names by preference: publication/release first, then generic, creation, update, written/effective.
_DATE_RANKS: tuple[tuple[float, re.Pattern], ...] = (
    (0.5, re.compile(r"^cw|成文|write|written|sign|effect|valid|expire|^(?:sx|fz|ss)(?:rq|sj)$|实施|生效|废止|"
                     r"印发|^(?:cw|yf)", re.I)),
    (1.0, re.compile(r"update|modif|edit|^gx|更新|修改|last", re.I)),
    (3.0, re.compile(r"pub|release|rel(?:time|date)|^fb|发布|公开|公布|issue|online|上线", re.I)),
    (2.8, re.compile(r"^fw(?:rq|sj)$|发文", re.I)),
    (1.5, re.compile(r"creat|add|input|insert|^cj|^lr|录入|创建|添加", re.I)),
    (2.0, re.compile(r"date|time|rq$|sj$|日期|时间|day", re.I)),
)
_DATE_NAME = re.compile(r"date|time|rq$|sj$|日期|时间|day|created|modified", re.I)


@dataclass
class Fields:
    """Which record key holds the item URL, title and date (dates: every date key, preferred first)."""

    url: str | None = None
    title: str | None = None
    date: str | None = None
    dates: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"url": self.url, "title": self.title, "date": self.date, "dates": list(self.dates)}


def flatten(record: Mapping, prefix: str = "", depth: int = 0) -> dict[str, object]:
    """A record's fields with nested objects (and JSON objects held in strings) as dotted keys."""
    out: dict[str, object] = {}
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, str) and v[:1] == "{" and v[-1:] == "}":
            try:
                v = json.loads(v)
            except ValueError:
                pass
        if isinstance(v, Mapping) and depth < 2:
            out.update(flatten(v, key + ".", depth + 1))
        else:
            out[key] = v
    return out


def _name(key: str) -> str:
    return key.rsplit(".", 1)[-1].lower()


def _has(name: str, names: tuple[str, ...]) -> bool:
    letters = re.sub(r"[^a-z\u4e00-\u9fff]", "", name)
    return letters in names or any(len(n) >= 3 and n in letters for n in names)


def looks_url(v: object) -> bool:
    return isinstance(v, str) and 1 < len(v) < 1000 and bool(_URLISH.match(v.strip())) \
        and not _CJK.search(v.split("?", 1)[0][:8])


def looks_title(v: object) -> bool:
    if not isinstance(v, str):
        return False
    t = norm_space(_TAG.sub("", v))
    return 4 <= len(t) <= 300 and bool(_CJK.search(t)) and not is_date_only(t) and not looks_url(t)


def looks_date(key: str, v: object) -> bool:
    if isinstance(v, bool) or v in (None, ""):
        return False
    if isinstance(v, (int, float)) or (isinstance(v, str) and v.strip().isdigit()):
        return bool(_DATE_NAME.search(_name(key))) and normalize_date(v) is not None
    return isinstance(v, str) and len(v) <= 40 and is_date_only(v)


def _date_rank(key: str) -> float:
    name = _name(key)
    for rank, rx in _DATE_RANKS:
        if rx.search(name):
            return rank
    return 1.8


def _share(records: list[dict], key: str, test) -> float:
    return sum(1 for r in records if test(r.get(key))) / len(records)


def find_fields(records: list[dict], given: Mapping | None = None) -> Fields | None:
    """Decide which keys are the URL, title and date of flattened records; None when they are not
    article records. `given` (a site's `json_fields`) names keys outright."""
    given = given or {}
    keys = list(dict.fromkeys(k for r in records[:50] for k in r))
    sample = records[:50]
    out = Fields()
    url_scores = []
    for k in keys:
        share = _share(sample, k, looks_url)
        if share < 0.5:
            continue
        page_like = _share(sample, k, lambda v: isinstance(v, str) and bool(_PAGE_EXT.search(v)))
        files = _share(sample, k, lambda v: isinstance(v, str) and bool(_FILE_EXT.search(v)))
        distinct = len({str(r.get(k)) for r in sample}) / len(sample)
        score = share + 0.5 * page_like - 0.8 * files + 0.5 * distinct
        name = _name(k)
        if _has(name, _URL_NAMES):
            score += 0.6
        if _NOT_URL_NAMES.search(name):
            score -= 1.0
        url_scores.append((score, -keys.index(k), k))
    if url_scores:
        out.url = max(url_scores)[2]
    title_scores = []
    for k in keys:
        share = _share(sample, k, looks_title)
        if share < 0.5 or k == out.url:
            continue
        values = [norm_space(_TAG.sub("", r[k])) for r in sample if looks_title(r.get(k))]
        distinct = len(set(values)) / len(values)
        avg = sum(len(v) for v in values) / len(values)
        prose = sum(v.count("。") + v.count("，") for v in values) / len(values)
        score = share + distinct + min(avg, 40) / 40 - (0.8 if avg > 120 or prose >= 2 else 0.0)
        name = _name(k)
        if _has(name, _TITLE_NAMES):
            score += 1.0
        if _NOT_TITLE_NAMES.search(name):
            score -= 1.0
        title_scores.append((score, -keys.index(k), k))
    if title_scores:
        out.title = max(title_scores)[2]
    dated = [k for k in keys if _share(sample, k, lambda v, k=k: looks_date(k, v)) >= 0.5]
    out.dates = sorted(dated, key=lambda k: (-_date_rank(k), keys.index(k)))
    out.date = out.dates[0] if out.dates else None
    for role in ("url", "title", "date"):
        if given.get(role):
            setattr(out, role, given[role])
    if given.get("date"):
        out.dates = [given["date"], *[d for d in out.dates if d != given["date"]]]
    if out.url is None or out.title is None:
        return None
    return out


def _template(pattern: str, record: Mapping) -> str | None:
    """A URL built from a record ({ID} style placeholders), for APIs that give only an id."""
    try:
        return pattern.format_map({k: v for k, v in record.items()})
    except (KeyError, ValueError, IndexError):
        return None


def read(record: Mapping, fields: Fields, base: str) -> dict | None:
    """One listing item {url, title, date} from a flattened record, or None when it lacks a URL/title."""
    link = _template(fields.url, record) if "{" in (fields.url or "") else record.get(fields.url)
    title = record.get(fields.title)
    if not isinstance(link, str) or not link.strip() or not isinstance(title, str):
        return None
    title = norm_space(_TAG.sub("", title))
    if not title:
        return None
    url = urljoin(base, link.strip())
    date = None
    for k in fields.dates:
        date = normalize_date(record.get(k))
        if date:
            break
    return {"url": url, "title": title, "date": date or date_from_url(url)}
