"""Where the specs and the template are: the repository's own `specs/` and `templates/` in a
checkout, else the copies installed inside the package (`xltools._specs`, `xltools._templates`,
mapped onto those same folders by pyproject.toml, so there is one copy of each file).

Nothing here imports more than pathlib in a checkout: a cold `xltools check` stays fast.
"""
from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]   # the repository (a checkout) or site-packages
DEFAULT_SPEC_NAME = "2022.toml"
TEMPLATE_NAME = "self_eval.xlsx"


def in_checkout() -> bool:
    """True when running from the repository (a clone, an editable install): its files win."""
    return (_ROOT / "pyproject.toml").is_file() and (_ROOT / "specs").is_dir()


def _package_dir(package: str, folder: str) -> Path:
    if in_checkout():
        return _ROOT / folder
    from importlib.resources import files
    try:
        where = files(package)
    except ModuleNotFoundError:    # not importable as a package here: where a wheel puts it
        return _ROOT / "xltools" / package.rpartition(".")[2]
    # A wheel installs real files; a namespace package (no __init__.py) may answer with a
    # MultiplexedPath, whose first folder is the one installed.
    paths = getattr(where, "_paths", None)
    return Path(paths[0] if paths else str(where))


def spec_dir() -> Path:
    """The folder of the specs that come with xltools (the repository's `specs/` in a checkout)."""
    return _package_dir("xltools._specs", "specs")


def spec_files() -> list[Path]:
    """Every spec that comes with xltools, sorted by name (2022.toml, 2023.toml, …). The
    collector picks among these (and a --specs folder) by a workbook's template fingerprint."""
    return sorted(p for p in spec_dir().glob("*.toml") if p.is_file())


def default_spec() -> Path:
    return spec_dir() / DEFAULT_SPEC_NAME


def template_path(name: str = TEMPLATE_NAME) -> Path:
    """A committed template (templates/self_eval.xlsx, templates/national_2022.xlsx…), as
    installed with the package."""
    return _package_dir("xltools._templates", "templates") / name


def default_template_output(name: str = TEMPLATE_NAME) -> Path:
    """Where `xltools template` writes without -o (the spec's [template] file): the repository's
    templates/ in a checkout, the current folder otherwise (never into the installed package)."""
    return _ROOT / "templates" / name if in_checkout() else Path(name)


def template_for(spec) -> Path | None:
    """The installed template when it was built from this very spec (same fingerprint), so that
    an installed `fill` copies it instead of building one with openpyxl; None in a checkout,
    where the template is always built from the current code (the committed file may lag
    behind a change until it is rebuilt)."""
    if in_checkout():
        return None
    path = template_path(spec.template_file)
    if not path.is_file():
        return None
    from ..errors import XltoolsError
    from ..xlsx import open_book
    from .fingerprint import Fingerprint
    try:
        found = Fingerprint.of_book(open_book(path))
    except XltoolsError:
        return None
    return path if found == spec.fingerprint else None
