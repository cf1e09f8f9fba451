"""Notification texts in Chinese and English, by kind. {placeholders} come from the event."""

TEXTS = {
    "booking_confirmed": {
        "zh": ("预约成功：{resource} {start}", "您已预约 {venue} 的 {resource}，时间 {start}–{end}。"
               "合计 {gross}，直播券 {voucher}，额度 {quota}，自付 {self_pay}。"
               "到场请出示预约二维码：{link}"),
        "en": ("Booked: {resource} {start}", "You booked {resource} at {venue}, {start}–{end}. "
               "Total {gross}; voucher {voucher}, quota {quota}, self-pay {self_pay}. "
               "Show the booking's QR code at the door: {link}"),
    },
    "reminder_24h": {
        "zh": ("明天的预约：{resource} {start}", "提醒：{start} 在 {venue}（{address}）的 {resource}。"
               "如需免费取消，请在 {deadline} 前操作。"),
        "en": ("Tomorrow: {resource} {start}", "Reminder: {resource} at {venue} ({address}), "
               "{start}. Free cancellation until {deadline}."),
    },
    "reminder_1h": {
        "zh": ("一小时后开始：{resource}", "{start} 在 {venue} 的 {resource} 即将开始，"
               "签到从开始前 15 分钟开放，请准备好预约二维码：{link}"),
        "en": ("In one hour: {resource}", "{resource} at {venue} starts at {start}. Check-in opens "
               "15 minutes before; have the booking's QR code ready: {link}"),
    },
    "no_show": {
        "zh": ("未签到：{resource} {start}", "您 {start} 在 {venue} 的预约未签到，已记为爽约（90 天内第 "
               "{strikes} 次）。90 天内爽约 3 次将暂停 30 天补贴预约。"),
        "en": ("Missed: {resource} {start}", "Your booking of {resource} at {venue} at {start} was "
               "not checked in and counts as a no-show ({strikes} in 90 days). Three in 90 days "
               "suspend subsidised bookings for 30 days."),
    },
    "reconciliation_failed": {
        "zh": ("对账异常：{month}", "{month} 对账发现 {count} 项问题：\n{summary}"),
        "en": ("Reconciliation problems: {month}", "Reconciliation of {month} found {count} "
               "problem(s):\n{summary}"),
    },
    "statements_drafted": {
        "zh": ("结算单草稿已生成：{month}", "{month} 共 {count} 份场地结算单草稿待审核。"),
        "en": ("Statements drafted: {month}", "{count} venue statement draft(s) for {month} "
               "await review."),
    },
}


def render(kind: str, locale: str, values: dict) -> tuple[str, str]:
    """The texts in ``locale``; in English, ``name_en``-style values (``resource_en``) stand in
    for their Chinese ones where the place has an English name."""
    language = "en" if locale.startswith("en") else "zh"
    if language == "en":
        values = {**values, **{key.removesuffix("_en"): value for key, value in values.items()
                               if key.endswith("_en") and value}}
    subject, body = TEXTS[kind][language]
    return subject.format(**values), body.format(**values)
