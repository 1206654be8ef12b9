"""What a column's name says: a news or 政务公开 section, a hub of such sections, or something else
(services, letters to the mayor, site furniture). The vocabulary of government portals, not of a site."""

from __future__ import annotations

import re

# Names of sections of news and published government information.
SECTION_WORDS = re.compile(
    r"新闻|要闻|动态|资讯|快讯|简讯|信息|公告|通知|公示|通报|公报|文件|政策|法规|规章|解读|规划|计划|报告|年报|统计|"
    r"财政|预算|决算|人事|任免|招聘|招录|公开|会议|活动|发布|工作|建议|提案|批复|标准|应急|数据|聚焦|关注|热点|"
    r"领导|部门|地方|基层|乡镇|县区|区县|市县|媒体|图片|图闻|图解|视频|专报|简报|快报|报道|播报|纪要|综合|时政|政务|国务院|"
    r"决策|督查|考核")
# Hubs: pages that gather sections (their menus and 目录 trees are read, they are sections only when
# their own page is a list).
HUB_WORDS = re.compile(r"^(?:新闻中心|新闻资讯|新闻动态|政务动态|政务公开|信息公开|政府信息公开|政府信息公开目录|信息公开目录|"
                       r"法定主动公开内容|主动公开|公开目录|政务资讯|资讯中心|政策法规|政策文件库|政务信息)$")
# Never a section, whatever else the name says.
SKIP_WORDS = re.compile(
    r"首页|主页|网站地图|站点地图|联系我们|关于我们|无障碍|关怀版|长者|搜索|检索|登录|注册|English|繁體|繁体|简体|"
    r"帮助|隐私|声明|信箱|留言|写信|来信|互动|交流|访谈|直播|调查|征集|投诉|咨询|办事|服务|办理|预约|下载|指南|"
    r"依申请|申请|机构|领导之窗|简历|分工|通讯录|返回|打印|关闭|纠错|订阅|RSS|app|微信|微博", re.I)


def kind(name: str) -> str | None:
    """'hub', 'section' or None (not worth a request)."""
    compact = re.sub(r"\s", "", name)
    if not compact or len(compact) > 16:
        return None
    if HUB_WORDS.match(compact):
        return "hub"
    if SKIP_WORDS.search(compact):
        return None
    return "section" if SECTION_WORDS.search(compact) else None
