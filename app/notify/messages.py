"""Notification texts in Chinese and English, by kind. {placeholders} come from the event."""

TEXTS = {
    "password_reset": {
        "zh": ("重置密码", "请打开以下链接设置新密码（{hours} 小时内有效，只能使用一次）：\n{link}\n\n"
               "如果不是您本人申请，请忽略本邮件，您的密码不会改变。"),
        "en": ("Reset your password", "Open this link to choose a new password (valid for "
               "{hours} hour(s), usable once):\n{link}\n\nIf you did not ask for this, ignore "
               "this email: your password stays as it is."),
    },
    "verify_email": {
        "zh": ("请验证您的邮箱", "欢迎注册。请打开以下链接确认您的邮箱，确认后即可预约（{hours} 小时内有效，"
               "只能使用一次）：\n{link}"),
        "en": ("Confirm your email address", "Welcome. Open this link to confirm your email "
               "address; you can book once it is confirmed (valid for {hours} hours, usable "
               "once):\n{link}"),
    },
    "password_changed": {
        "zh": ("您的密码已更改", "您的账户密码已于 {at} 更改，其他设备上的登录和 API 令牌已失效。"
               "如果不是您本人操作，请立即通过“忘记密码”重置密码并联系管理员。"),
        "en": ("Your password was changed", "The password of your account was changed at {at}; "
               "sign-ins on other devices and API tokens no longer work. If this was not you, "
               "reset your password with \"Forgot password\" at once and tell an administrator."),
    },
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
    "desk_confirmation": {
        "zh": ("前台代订确认码：{code}", "{desk} 正在前台为您代订，并使用您的直播券或额度。"
               "如同意，请把确认码 {code} 告诉前台（{until} 前有效）。如非本人在场，请忽略本消息。"),
        "en": ("Front desk confirmation code: {code}", "{desk} is booking for you at the front "
               "desk with your vouchers or quota. If you agree, tell the desk the code {code} "
               "(valid until {until}). If you are not there, ignore this message."),
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
