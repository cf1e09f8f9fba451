"""The load test in its short mode: creators and front desks at once through gunicorn on
PostgreSQL, no server errors, and every invariant holds afterwards."""

from __future__ import annotations

import pytest

from tests.conftest import require_pg


@pytest.mark.postgres
def test_load_short_mode_has_no_errors_and_reconciles(capsys):
    require_pg()
    from bench.load_test import main

    code = main(["--short"])
    output = capsys.readouterr().out
    assert "server errors: 0" in output
    assert "all invariants hold" in output
    assert code == 0
