"""The module aliases of Home Assistant 2026.11, in place before anything imports the aliased names.

Home Assistant 2026.11 replaces httpx with httpx2 and voluptuous with probatio: importing
``homeassistant`` makes ``import httpx`` / ``import httpcore`` / ``import voluptuous`` resolve to those.
Pytest plugins (respx, the test harness) import httpx before anything imports Home Assistant, and httpx2
then refuses to alias ("httpx was already imported"). ``script/setup_newest_ha`` copies this module into
``.venv-newest``'s site-packages with a ``.pth`` line importing it, so the aliasing runs at the first
import of one of those names, in every process of that venv.

Lazily, not in the ``.pth`` line itself: importing httpx2 and probatio costs about a second of CPU,
which every Python process of the venv (each simulator, each ``python -c``) would pay.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

ALIASED_PACKAGES = frozenset({"httpx", "httpcore", "voluptuous"})


def install_aliases() -> None:
    """What Home Assistant 2026.11's ``homeassistant/__init__.py`` does first (both are idempotent)."""
    import httpx2  # noqa: PLC0415  (the point of this module is not importing these at start-up)
    import probatio.compat  # noqa: PLC0415

    httpx2.alias_httpx()
    probatio.compat.install_as_voluptuous()


class _AliasedModuleLoader(importlib.abc.Loader):
    """Installs the aliases, then hands over the module they registered under the requested name."""

    def __init__(self) -> None:
        self._aliased_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        _FIRST_IMPORT_HOOK.remove()
        install_aliases()
        module = sys.modules.get(spec.name)
        if module is None:
            raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)
        self._aliased_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system set the requested name's spec on the module: give it back its own.
        module.__spec__ = self._aliased_spec


class _FirstImportHook(importlib.abc.MetaPathFinder):
    """Answers the first import of an aliased package, then leaves ``sys.meta_path``."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in ALIASED_PACKAGES:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasedModuleLoader())

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


_FIRST_IMPORT_HOOK = _FirstImportHook()
if not ALIASED_PACKAGES.intersection(sys.modules):
    _FIRST_IMPORT_HOOK.install()
