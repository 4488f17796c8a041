"""The generated configuration reference is current and complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import Settings
from enode_scheduler.config.reference import UNDOCUMENTED, render_reference, undocumented_keys

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_docs_configuration_md_is_current() -> None:
    # On failure: enode-scheduler config-reference > docs/configuration.md
    assert REFERENCE.read_text(encoding="utf-8") == render_reference()


def test_every_leaf_key_of_the_settings_model_is_in_the_reference() -> None:
    text = render_reference()
    for section, name in _leaf_keys(Settings, ""):
        assert f"| `{name}` |" in text, f"{section}.{name} missing"


def test_reference_does_not_depend_on_the_state_directory_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    assert str(tmp_path) not in render_reference()
    assert render_reference() == REFERENCE.read_text(encoding="utf-8")


def test_every_settings_field_has_a_description() -> None:
    assert undocumented_keys() == []


def test_a_field_without_description_is_flagged() -> None:
    class Undocumented(BaseModel):
        documented: int = Field(default=1, description="Has one.")
        bare: int = 2

    assert undocumented_keys(Undocumented) == ["Undocumented.bare"]
    assert f"| `bare` | integer | `2` | {UNDOCUMENTED} |" in render_reference(Undocumented)


def test_rows_show_type_constraint_default_and_secret_marker() -> None:
    class Section(BaseModel):
        timeout_s: float = Field(default=2.5, gt=0, description="How long.")
        token: SecretStr | None = Field(default=None, description="Keep it safe.")

    class Root(BaseModel):
        section: Section = Field(default=Section(), description="A section.")

    text = render_reference(Root)
    assert "## `[section]`" in text
    assert "Environment: `ENODE_SCHEDULER__SECTION__<KEY>`" in text
    assert "| `timeout_s` | number, > 0 | `2.5` | How long. |" in text
    assert "| `token` | string (optional), **secret** | unset | Keep it safe. |" in text


def test_config_reference_command_prints_the_reference() -> None:
    result = CliRunner().invoke(app, ["config-reference"])
    assert result.exit_code == 0
    assert result.stdout == render_reference()


def _leaf_keys(model: type[BaseModel], prefix: str) -> list[tuple[str, str]]:
    keys = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        nested = annotation if isinstance(annotation, type) else (args[0] if args else None)
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            keys += _leaf_keys(nested, f"{prefix}.{name}")
        else:
            keys.append((prefix, name))
    return keys
