"""Date formats government pages print, and the dates CMSs put in article URLs."""

from __future__ import annotations

import pytest

from crawler.extract.dates import date_from_url, parse_date


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("发布日期:2025-01-06  浏览次数:", "2025-01-06"),
        ("2025/1/6", "2025-01-06"),
        ("2025.01.06", "2025-01-06"),
        ("2025年1月6日", "2025-01-06"),
        ("二〇二五年一月六日", "2025-01-06"),
        ("二○二四年十二月三十一日", "2024-12-31"),
        ("２０２５年１月６日", "2025-01-06"),
        ("2025-01-06 10:30", "2025-01-06T10:30:00+08:00"),
        ("2025-01-06 10:30:15", "2025-01-06T10:30:15+08:00"),
        ("2025年1月6日 08:05", "2025-01-06T08:05:00+08:00"),
        ("2025/1/6 9:05", "2025-01-06T09:05:00+08:00"),
        ("2007-08-20-23:59:59", "2007-08-20"),
        ("索引号: 014501068/2020-01382", None),
        ("2025-13-40", None),
        ("", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    ("url", "iso"),
    [
        ("http://x.gov.cn/yw/201909/t20190918_693227.shtml", "2019-09-18"),
        ("http://x.gov.cn/art/2020/2/6/art_18825_1496018.html", "2020-02-06"),
        ("http://x.gov.cn/politics/2023-12/01/content_1755244.html", "2023-12-01"),
        ("https://www.changzhou.gov.cn/ns_news/123456789012345", None),
    ],
)
def test_date_from_url(url: str, iso: str | None) -> None:
    assert date_from_url(url) == iso
