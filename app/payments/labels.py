"""How payment methods read on pages, in the reader's language."""

from flask_babel import lazy_gettext as _l

METHOD_LABELS = {"cash": _l("Cash"), "wechat": _l("WeChat Pay"), "alipay": _l("Alipay"),
                 "card": _l("Bank card / POS"), "transfer": _l("Bank transfer")}
