"""Widget, footer and navigation lines that must never reach an article body.

Applied to the body lines whatever the container: a CMS sometimes puts its print/close bar or
share buttons inside the content element, and the density fallback may take a wrapper that holds
them. A line is dropped only when it is (almost) nothing but such widgets, so article text that
merely mentions a word like 字号 (老字号) or 打印 stays.
"""

from __future__ import annotations

import re

# A line holding one of these is looked at; the phrase list below decides whether anything else is left.
_STRONG = re.compile(
    r"扫一扫|打印|关闭|返回顶部|字号|字体|分享到|分享|浏览次数|浏览量|访问量|阅读次数|点击数|收藏|纠错|网站地图|"
    r"相关链接|【[大中小]】|联系我们|法律声明|隐私声明|网站声明|设为首页|关怀版|无障碍|视力保护色|护眼|背景色|"
    r"朗读|语音播报|返回列表|访问次数|阅读数|浏览数"
)
_PHRASES = re.compile(
    r"扫一扫在手机(?:上)?(?:打开|查看)当前页(?:面)?|扫一扫|用手机扫描|"
    r"打印本页|打印此页|打印页面|打印文章|打印|关闭窗口|关闭本页|关闭|返回顶部|顶部|回到顶部|"
    r"收藏本页|加入收藏|收藏|我要纠错|纠错|网站地图|相关链接|联系我们|关于我们|法律声明|隐私声明|网站声明|"
    r"使用帮助|设为首页|返回首页|首页|关怀版|长者模式|适老化|无障碍|网站纠错|"
    r"字号|字体|默认|超大|特大|[大中小]|分享到|分享|微信|微博|QQ空间|"
    r"视力保护色|护眼模式|护眼|背景色|朗读本文|朗读|语音播报|停止|暂停|返回列表|打印正文|我要打印|收藏本文|"
    r"浏览次数|浏览量|访问量|访问次数|阅读次数|阅读数|浏览数|点击数|次|\d+"
)
_RESIDUE = re.compile(r"[\s【】〖〗\[\]()（）|:：>＞/、,，.。·•-]")
_PREV_NEXT = re.compile(r"^[【\[]?\s*(?:上一篇|下一篇|上一条|下一条|上篇|下篇)\s*[】\]]?\s*[:：]?")
# Site footers: never article text.
_FOOTER = re.compile(
    r"ICP备|ICP证|公网安备|网站标识码|版权所有.*(?:©|Copyright|主办|承办|技术支持|地址|电话)|"
    r"(?:©|Copyright).*(?:版权所有|All Rights Reserved)", re.I
)


# Bracketed widget buttons and the QR caption are unambiguous wherever they sit in a line.
_INLINE_WIDGETS = re.compile(
    r"[【\[〖]\s*(?:打印本页|打印此页|打印页面|打印|关闭窗口|关闭本页|关闭|返回顶部|顶部|收藏本页|加入收藏|收藏|"
    r"我要纠错|纠错|[大中小]|默认|超大)\s*[】\]〗]|扫一扫在手机(?:上)?(?:打开|查看)当前页(?:面)?"
)


def strip_widgets(line: str) -> str:
    return _INLINE_WIDGETS.sub("", line).strip() if _STRONG.search(line) else line


def is_widget_line(line: str) -> bool:
    if _FOOTER.search(line) or _PREV_NEXT.match(line):
        return True
    if not _STRONG.search(line):
        return False
    residue = _RESIDUE.sub("", _PHRASES.sub("", line))
    return len(residue) <= 2


def clean_lines(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if is_widget_line(line):
            continue
        line = strip_widgets(line)  # "…全文完。【打印本页】【关闭窗口】"
        if line:
            out.append(line)
    return dedupe_copies(out)


def dedupe_copies(lines: list[str]) -> list[str]:
    """A container holding the article twice (screen and elderly-friendly or print copy) reads once:
    when the lines from some point on only repeat earlier lines (at least three of them), they go."""
    n = len(lines)
    if n < 2:
        return lines
    first = lines[0]
    for j in range(1, n):
        if lines[j] != first:
            continue
        rest = lines[j:]
        if (len(rest) >= 3 or rest == lines[:j]) and set(rest) <= set(lines[:j]):
            return lines[:j]
    return lines
