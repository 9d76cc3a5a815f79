"""Write services.yaml and the ``services`` section of strings.json from the operations table.

Run after changing operations.py: ``.venv/bin/python -m tests.integration.regenerate_services``, then
``script/translations``. test_operations_table.py fails while the files and the table disagree. Only the
``services`` key of strings.json is replaced; every other section (exceptions included) is kept as is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from custom_components.whatsapp_web import services

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "whatsapp_web"
HEADER = (
    "# Written from the operations table (services.services_yaml_content()) by\n"
    "# tests/integration/regenerate_services.py; test_operations_table.py checks that they agree.\n"
)


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors, empty selectors written as ``text:``."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(
    type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "")
)


def main() -> None:
    """Rewrite both files."""
    content = services.services_yaml_content()
    text = HEADER + yaml.dump(
        content, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    (INTEGRATION / "services.yaml").write_text(text, encoding="utf-8")
    strings_path = INTEGRATION / "strings.json"
    strings = json.loads(strings_path.read_text(encoding="utf-8"))
    strings["services"] = services.services_strings()
    strings_path.write_text(
        json.dumps(strings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
