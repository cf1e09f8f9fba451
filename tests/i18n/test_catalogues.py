"""The Chinese catalogue: every string formats in both languages (a bare ``%`` in a translated
format string answered 500), and the compiled catalogue ships with the package, so an install
that never ran ``make`` still serves Chinese."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.helpers import ADMIN, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted((ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]")


def _texts(value) -> list[str]:
    return [t for t in (value if isinstance(value, (tuple, list)) else (value,)) if t]


def _formats(text: str, names: set[str]) -> str | None:
    """Why ``text`` fails as a format string (as Jinja's gettext always uses it), or None."""
    try:
        text % {name: "x" for name in names}
    except (KeyError, TypeError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def _problems(messages) -> list[str]:
    found = []
    for message in messages:
        ids = _texts(message.id)
        if not ids:
            continue
        names = {n for text in ids for n in PLACEHOLDER.findall(text)}
        for text in ids + _texts(message.string):
            why = _formats(text, names)
            if why:
                found.append(f"{text!r}: {why}")
            unknown = set(PLACEHOLDER.findall(text)) - names
            if unknown:
                found.append(f"{text!r}: placeholders {sorted(unknown)} not in the English text")
    return found


def test_catalogues_exist():
    assert CATALOGUES, "no .po files under app/translations"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-3])
def test_every_translated_string_formats(po):
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    assert not _problems(catalogue), "\n".join(_problems(catalogue))


def test_every_source_string_formats(tmp_path):
    """Strings in the code and templates, including those not translated yet."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-c", "from babel.messages.frontend import main; main()",
                    "--quiet", "extract",
                    "-F", "babel.cfg", "-o", str(pot), "."],
                   check=True, cwd=ROOT)
    with pot.open("rb") as handle:
        catalogue = read_po(handle)
    assert len(catalogue) > 100
    assert not _problems(catalogue), "\n".join(_problems(catalogue))


def test_program_editor_answers_in_chinese(seeded):
    client = seeded.test_client()
    client.post("/login", data={"email": ADMIN, "password": PASSWORD})
    page = client.get("/admin/money/programs", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "费用补贴比例" in page.get_data(as_text=True)


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-3])
def test_the_shipped_catalogue_is_the_compiled_po(po):
    """The .mo is committed (installs never run ``make``): it must say what the .po says."""
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make translations` and commit it"
    with po.open("rb") as handle:
        fresh = io.BytesIO()
        write_mo(fresh, read_po(handle), use_fuzzy=True)
    fresh.seek(0)
    with mo.open("rb") as handle:
        shipped = _pairs(read_mo(handle))
    expected = _pairs(read_mo(fresh))
    assert shipped == expected, f"{mo} is stale: run `make translations` and commit it"


def _pairs(catalogue) -> dict:
    return {tuple(_texts(m.id)): tuple(_texts(m.string)) for m in catalogue if m.id}


def _tracked_files() -> list[Path]:
    """What a fresh clone holds: git's files where this is a checkout."""
    if not (ROOT / ".git").exists():
        return [p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file()]
    listed = subprocess.run(["git", "ls-files", "-z", "app", "pyproject.toml", "README.md"],
                            cwd=ROOT, check=True, capture_output=True).stdout
    return [Path(name) for name in listed.decode().split("\0") if name]


SERVE_LOGIN_PAGE = """
import sys
from app import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x", "LOG_JSON": False})
assert app.root_path.startswith(sys.argv[2]), app.root_path
page = app.test_client().get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
print(page.status_code, page.get_data(as_text=True))
"""


def test_a_fresh_install_serves_chinese(tmp_path):
    """Build the wheel from the committed files (no ``make``), install it into a folder, and
    ask it for the sign-in page as a Chinese browser does."""
    source = tmp_path / "src"
    for name in _tracked_files():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("venuebook-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert any(n.endswith("zh_Hans_CN/LC_MESSAGES/messages.mo") for n in archive.namelist())
        archive.extractall(site)
    answer = subprocess.run(
        [sys.executable, "-c", SERVE_LOGIN_PAGE, f"sqlite:///{tmp_path / 'db.sqlite3'}",
         str(site)], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("200 ")
    assert "登录" in answer.stdout and "Sign in" not in answer.stdout
