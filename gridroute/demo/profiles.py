"""The demo city's habits (示范数据的规律): how often each 小类 is reported, in which season and at
which hour, through which channel; how fast each kind of unit works; what people write.

Numbers here are plausible, not measured: they make maps and rankings look like a real
district (rubbish in the morning, street stalls in the evening, more 事件 than 部件, a few
slow units), nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- categories

#: Relative weight of each 小类 among reports; a 小类 not listed gets OTHER_WEIGHT.
CATEGORY_WEIGHTS: dict[str, float] = {
    # 事件 (about 70 % of reports)
    "E0102": 10, "E0103": 5, "E0104": 6, "E0201": 9, "E0501": 7, "E0504": 8, "E0505": 8,
    "E0506": 7, "E0507": 8, "E0510": 3, "E0511": 3, "E0301": 3, "E0302": 2, "E0304": 2,
    "E0101": 3, "E0108": 3, "E0106": 3, "E0406": 2, "E0404": 2, "E0508": 2, "E0107": 2,
    "E0203": 1.5, "E0602": 1.5, "E0204": 2, "E0503": 1, "E0502": 0.8, "E0401": 0.6,
    # 部件 (about 30 %)
    "C0101": 1.5, "C0102": 2, "C0103": 2, "C0104": 3, "C0105": 1, "C0106": 1, "C0107": 1.5,
    "C0111": 1, "C0113": 1, "C0118": 5, "C0305": 5, "C0402": 4, "C0211": 3, "C0213": 1,
    "C0203": 1.5, "C0301": 2, "C0407": 1.5, "C0209": 1, "C0212": 1, "C0501": 0.8,
}
OTHER_WEIGHT = 0.15

#: Month multipliers (1..12) for seasonal 小类: rain and typhoons in summer, leaves in late
#: autumn, barbecues on warm evenings, frost only in deep winter.
_RAIN = {6: 3.0, 7: 3.0, 8: 2.5, 9: 2.0, 10: 1.2, 11: 0.7, 12: 0.5, 1: 0.5, 2: 0.6, 3: 0.8,
         4: 1.0, 5: 1.5}
_WARM_EVENINGS = {5: 2.0, 6: 2.5, 7: 2.5, 8: 2.5, 9: 2.0, 10: 1.2, 11: 0.6, 12: 0.4, 1: 0.3,
                  2: 0.3, 3: 0.6, 4: 1.2}
_LEAVES = {11: 1.8, 12: 1.6, 7: 1.4, 8: 1.5, 9: 1.4, 10: 1.2}
_FROST = {12: 0.4, 1: 1.0, 2: 0.8}
_BUILDING = {2: 0.3, 3: 1.2, 4: 1.2, 5: 1.2, 6: 1.1, 7: 0.9, 8: 0.9, 9: 1.2, 10: 1.2,
             11: 1.2, 12: 1.0, 1: 0.7}
SEASONS: dict[str, dict[int, float]] = {
    "E0406": _RAIN, "E0404": _RAIN, "C0103": _RAIN, "C0104": _RAIN,
    "E0510": _WARM_EVENINGS, "E0511": _WARM_EVENINGS, "E0508": _WARM_EVENINGS,
    "C0402": _LEAVES, "E0106": _LEAVES, "E0407": _FROST,
    "E0301": _BUILDING, "E0302": _BUILDING, "E0303": _BUILDING, "E0304": _BUILDING,
}
#: 道路积雪结冰 is reported only in the months of _FROST.
BASE_WEIGHT_FROST = 0.8


def category_weight(code: str, month: int) -> float:
    base = CATEGORY_WEIGHTS.get(code, BASE_WEIGHT_FROST if code == "E0407" else OTHER_WEIGHT)
    season = SEASONS.get(code)
    return base * (season.get(month, 1.0 if code != "E0407" else 0.0) if season else 1.0)


# --------------------------------------------------------------------------- hours

def _profile(peaks: dict[tuple[int, int], float], base: float) -> tuple[float, ...]:
    weights = [base] * 24
    for (first, last), weight in peaks.items():
        for hour in range(first, last + 1):
            weights[hour % 24] = weight
    return tuple(weights)


#: Weight of each hour of the day (0..23) by kind of problem.
HOUR_PROFILES: dict[str, tuple[float, ...]] = {
    "day": _profile({(8, 17): 1.0, (18, 20): 0.4, (6, 7): 0.3}, 0.05),
    "morning": _profile({(6, 9): 1.0, (10, 11): 0.5, (12, 17): 0.25, (18, 21): 0.15}, 0.03),
    "evening": _profile({(17, 22): 1.0, (23, 23): 0.5, (12, 16): 0.2, (8, 11): 0.1}, 0.05),
    "night": _profile({(22, 26): 1.0, (7, 18): 0.3, (19, 21): 0.5}, 0.1),
    "commute": _profile({(7, 9): 1.0, (17, 19): 1.0, (10, 16): 0.5, (20, 22): 0.3}, 0.05),
}
CATEGORY_HOURS: dict[str, str] = {
    "E0102": "morning", "E0103": "morning", "E0104": "morning", "E0108": "morning",
    "C0305": "morning",
    "E0501": "evening", "E0504": "evening", "E0510": "evening", "E0508": "evening",
    "E0503": "evening", "E0511": "morning",
    "E0301": "night",
    "E0505": "commute", "E0506": "commute", "E0509": "commute",
}

#: When each channel reports: inspectors on patrol (08:00-18:00), the public when awake,
#: the 12345 hotline around the clock with a daytime peak.
CHANNEL_HOURS: dict[str, tuple[float, ...]] = {
    "inspector": _profile({(8, 17): 1.0}, 0.0),
    "public": _profile({(7, 22): 1.0, (23, 23): 0.4, (6, 6): 0.4}, 0.05),
    "hotline": _profile({(8, 20): 1.0, (21, 23): 0.6, (6, 7): 0.5}, 0.2),
}
#: Share of reports per channel (inspector patrols find most problems).
CHANNEL_SHARES = (("inspector", 0.74), ("public", 0.15), ("hotline", 0.11))
#: Problems a patrolling inspector removes on the spot (自行处置) now and then.
SELF_HANDLED = frozenset({"E0201", "E0204", "E0104", "E0506", "E0507", "E0102"})
SELF_HANDLED_SHARE = 0.22

# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Speed:
    """How a unit works: the share of the handling limit it usually needs, how often it is
    late and by how much, how long it takes to sign for a case, how often it never finishes."""

    name: str
    factor: tuple[float, float]
    late_share: float
    late_factor: tuple[float, float]
    accept_minutes: tuple[float, float]
    stuck_share: float = 0.0


SPEEDS: dict[str, Speed] = {
    "fast": Speed("fast", (0.12, 0.6), 0.03, (1.05, 1.4), (3, 20)),
    "normal": Speed("normal", (0.25, 0.9), 0.10, (1.1, 2.0), (8, 45)),
    "slow": Speed("slow", (0.5, 1.0), 0.25, (1.2, 2.5), (25, 110), 0.03),
    "late": Speed("late", (0.6, 1.0), 0.45, (1.3, 3.5), (20, 90), 0.08),
}
#: How many units (shuffled by the seed) get each speed: a quarter fast, a few slow and late.
SPEED_SHARES = (("fast", 0.25), ("normal", 0.45), ("slow", 0.15), ("late", 0.15))

#: Working windows by unit type (hours, and whether only on working days). Utilities and the
#: police work around the clock.
UNIT_HOURS: dict[str, tuple[float, float, bool]] = {
    "water": (0, 24, False), "utility": (0, 24, False), "police": (0, 24, False),
    "enforcement_squad": (7, 21, False), "greening": (6.5, 20, False),
    "grid_centre": (7.5, 20, False), "municipal": (7.5, 19, False),
    "housing_office": (8.5, 17.5, True), "department": (8.5, 17.5, True),
}
DEFAULT_UNIT_HOURS = (8.5, 17.5, True)
#: Inspectors patrol every day, 08:00-18:00.
PATROL_HOURS = (8.0, 18.0, False)

# --------------------------------------------------------------------------- branches

VERIFY_FALSE_SHARE = 0.12     # 核实不属实 of public and hotline reports
REJECT_SHARE = 0.03           # 不予立案 of inspector reports
VOID_SHARE = 0.02             # 作废 after filing
RETURN_SHARE = 0.06           # 退回: not the unit's job
CHECK_FAIL_SHARE = 0.08       # 核查不通过 → 返工
EXTENSION_SHARE = 0.08        # 延期申请 (cases with a limit of a working day or more)
EXTENSION_APPROVED = 0.7
SECOND_EXTENSION_SHARE = 0.15
SUSPENSION_SHARE = 0.025      # 挂账申请 (cases with a limit of a working day or more)
SUSPENSION_APPROVED = 0.8
APPEAL_SHARE = 0.3            # 超时申诉 of late replies
APPEAL_APPROVED = 0.55
DUPLICATE_SHARE = 0.04        # a second report of the same problem, merged
FILE_LATE_SHARE = 0.08        # 立案 after the 30-minute centre limit

#: 小类 whose problems may need works or funding (挂账).
SUSPENDABLE = frozenset({"E0101", "E0401", "C0402", "C0211", "C0301", "E0404", "C0104",
                         "E0304", "C0203", "E0107"})
#: Chronic spots (高发/顽症): the same 小类 again and again in one cell.
CHRONIC_CATEGORIES = ("E0501", "E0102", "E0505", "E0510", "E0507", "C0104")
CHRONIC_SPOTS = 5
CHRONIC_REPORTS = (6, 10)

# --------------------------------------------------------------------------- texts

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "E0102": ("路边有暴露垃圾，气味较大", "垃圾桶旁散落生活垃圾", "绿化带内有成堆垃圾"),
    "E0103": ("人行道上堆有建筑渣土", "积存垃圾渣土未清运"),
    "E0104": ("路面有油污，道路不洁", "人行道落叶、纸屑较多"),
    "E0201": ("电线杆上张贴非法小广告", "墙面有喷涂的办证小广告", "公交站亭贴满小广告"),
    "E0204": ("路口有人散发小广告",),
    "E0501": ("路口有流动摊贩设摊经营", "傍晚有无证摊点占道", "水果摊贩占用人行道"),
    "E0504": ("商铺店外经营，占用人行道", "饭店在门外摆放桌椅"),
    "E0505": ("机动车停放在人行道上", "车辆乱停阻塞消防通道"),
    "E0506": ("共享单车乱停放，堵塞盲道", "非机动车堆放在路口"),
    "E0507": ("居民楼下乱堆杂物", "人行道上堆放建材"),
    "E0510": ("夜间露天烧烤，油烟扰民", "路边烧烤摊占道"),
    "E0511": ("沿街晾晒衣物", "护栏上晾挂被褥"),
    "E0301": ("夜间施工噪声扰民", "工地清晨施工，噪声较大"),
    "E0302": ("工地未覆盖，扬尘较大",),
    "E0304": ("施工围挡占用车道",),
    "E0101": ("屋顶私搭乱建", "沿街搭建违章棚屋"),
    "E0108": ("路边丢弃旧沙发、床垫", "废弃家具堆放在绿地旁"),
    "E0106": ("绿地内垃圾、落叶较多",),
    "E0406": ("雨后路面积水，行人难以通行", "路口积水较深"),
    "E0404": ("下水道堵塞，污水外溢",),
    "E0508": ("商铺用高音喇叭招揽顾客",),
    "E0107": ("路边停放废弃车辆，长期无人使用",),
    "C0101": ("上水井盖松动，有响声", "上水井盖破损"),
    "C0102": ("污水井盖破损", "污水井盖移位"),
    "C0103": ("雨水井盖缺失，存在安全隐患", "雨水井盖松动"),
    "C0104": ("雨水箅子堵塞", "雨水箅子破损"),
    "C0118": ("路灯不亮", "路灯灯杆倾斜", "路灯白天常亮"),
    "C0305": ("垃圾箱破损", "垃圾箱满溢未清运"),
    "C0402": ("行道树断枝，影响通行", "行道树枯死", "行道树倾斜"),
    "C0211": ("交通护栏被撞坏", "护栏倾倒"),
    "C0301": ("公共厕所设施损坏", "公厕卫生较差"),
    "C0407": ("街头座椅损坏",),
}
SELF_HANDLED_REPLIES = ("已现场清除", "已现场劝离并整理", "已现场处理完毕")
REPLIES = ("已处置完毕，现场已恢复", "已安排人员处理，问题已解决", "已清理完毕", "已修复",
           "已劝离并清理现场")
RETURN_REASONS = ("非本单位职责，请改派属地网格中心", "该处不在本单位养护范围",
                  "权属不清，请中心核实后改派")
REJECT_REASONS = ("不符合立案条件", "不属于城市管理范围")
VERIFY_FALSE_REASONS = ("现场核实无此问题", "问题已自行消除，现场正常")
VOID_REASONS = ("经复核不属于城市管理范围", "上报信息有误，作废", "与其他案件重复，另案处理")
CHECK_FAIL_REASONS = ("现场复核仍未处理到位", "垃圾未清理干净", "修复不完整，仍有安全隐患")
EXTENSION_REASONS = ("需协调产权单位，申请延期", "需采购配件，申请延期", "天气原因无法施工")
DENY_EXTENSION_REASONS = ("理由不充分，请按期处置",)
SUSPENSION_REASONS = ("需立项施工，待资金落实", "涉及多方权属，需专项整治")
DENY_SUSPENSION_REASONS = ("不符合挂账条件，请按期处置",)
APPEAL_REASONS = ("暴雨天气影响施工，申请超时申诉", "现场条件受限，已尽快处置")
DENY_APPEAL_REASONS = ("申诉理由不成立",)
