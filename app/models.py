"""Every model module, imported in one place so metadata is complete (migrations, create_all)."""

from app.accounts import models as accounts_models  # noqa: F401
from app.audit import models as audit_models  # noqa: F401
from app.booking import models as booking_models  # noqa: F401
from app.booking import strikes as strike_models  # noqa: F401
from app.catalog import models as catalog_models  # noqa: F401
from app.checkin import models as checkin_models  # noqa: F401
from app.core import idempotency as idempotency_models  # noqa: F401
from app.finance import models as finance_models  # noqa: F401
from app.ledger import models as ledger_models  # noqa: F401
from app.notify import models as notify_models  # noqa: F401
from app.ops import models as ops_models  # noqa: F401
from app.payments import models as payment_models  # noqa: F401
from app.privacy import models as privacy_models  # noqa: F401
from app.quota import models as quota_models  # noqa: F401
from app.vouchers import models as voucher_models  # noqa: F401
