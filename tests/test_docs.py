"""The docs say what the code does: every command and option of the click tree is in
docs/cli.md and nothing else is, every exit code has its number and meaning there, and every
API operation, parameter and body field is in docs/api.md."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from dailypapers.cli import main
from dailypapers.cli.common import ExitCode
from dailypapers.config import load_settings
from dailypapers.web.app import create_app

DOCS = Path(__file__).resolve().parent.parent / "docs"
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")
METHODS = ("get", "post", "put", "patch", "delete")


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _options(command: click.Command) -> set[str]:
    return {
        name
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _documented_commands() -> dict[tuple[str, ...], set[str]]:
    """Each command a `##` heading of docs/cli.md names in backticks, with its options."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    found: dict[tuple[str, ...], set[str]] = {}
    for heading in re.findall(r"^## (.+)$", text, flags=re.MULTILINE):
        for synopsis in re.findall(r"`([^`]+)`", heading):
            words = synopsis.split()
            path: list[str] = []
            command: click.Command = main
            while words and isinstance(command, click.Group) and words[0] in command.commands:
                command = command.commands[words[0]]
                path.append(words.pop(0))
            assert path, f"docs/cli.md: {synopsis!r} names no command"
            found[tuple(path)] = set(OPTION.findall(" ".join(words)))
    return found


def test_every_command_and_option_is_documented_and_nothing_else() -> None:
    documented = _documented_commands()
    commands = set(_commands(main))
    assert set(documented) == commands
    for path in sorted(commands):
        code = _options(_command(path))
        assert documented[path] == code, f"`{' '.join(path)}` in docs/cli.md"


def test_global_options_are_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    synopsis = next(line for line in text.splitlines() if line.startswith("dailypapers ["))
    assert set(OPTION.findall(synopsis.removesuffix("COMMAND ..."))) == _options(main)


def test_every_exit_code_is_documented_with_its_meaning() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", text, flags=re.MULTILINE))
    assert rows == {str(code.value): code.meaning for code in ExitCode}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(load_settings({}, home=tmp_path_factory.mktemp("docs") / "home"))
    try:
        return app.openapi()
    finally:
        app.state.dp.engine.dispose()


def _api_sections() -> dict[str, str]:
    """`METHOD /path` -> the text of its `###` section in docs/api.md."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    parts = re.split(r"^### `([A-Z]+ /\S+)`$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _body_fields(schema: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    if not reference:
        return []
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    return list(component.get("properties", {}))


def test_every_api_operation_is_documented_and_nothing_else(openapi: dict[str, Any]) -> None:
    sections = _api_sections()
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
        if method in METHODS
    }
    assert set(sections) == set(operations)
    for name, operation in operations.items():
        for field in [p["name"] for p in operation.get("parameters", [])]:
            assert f"`{field}`" in sections[name], f"docs/api.md: {name} does not name `{field}`"
        for field in _body_fields(openapi, operation):  # named, or a key of the body shown
            named = f"`{field}`" in sections[name] or f'"{field}":' in sections[name]
            assert named, f"docs/api.md: {name} does not name the body field `{field}`"


def test_every_error_status_is_documented(openapi: dict[str, Any]) -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| (\d{3}) \|", text, flags=re.MULTILINE))
    answered = {
        status
        for methods in openapi["paths"].values()
        for operation in methods.values()
        for status in operation.get("responses", {})
        if status >= "400"
    }
    assert answered <= documented


def test_docs_the_api_cites_exist(openapi: dict[str, Any]) -> None:
    cited = re.findall(r"docs/[\w-]+\.md", str(openapi))
    assert cited and all((DOCS.parent / name).is_file() for name in cited), cited
