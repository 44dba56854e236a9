"""The schema explains itself: every type and field is described, and `helsegraf schema` prints the SDL."""

from __future__ import annotations

from graphql import GraphQLObjectType
from typer.testing import CliRunner

from helsegraf.cli import app
from helsegraf.schema import build_schema


def test_every_type_and_field_has_a_description() -> None:
    schema = build_schema()._schema  # noqa: SLF001

    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith(("_", "link__")):
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType):
            missing += [
                f"{name}.{f}"
                for f, field in graphql_type.fields.items()
                if not f.startswith("_") and not field.description
            ]

    assert missing == []


def test_schema_command_prints_the_sdl_with_federation_directives() -> None:
    result = CliRunner().invoke(app, ["schema", "--registers", "hpr"])

    assert result.exit_code == 0
    assert '@link(url: "https://specs.apollo.dev/federation/v2.9"' in result.stdout
    assert 'type HealthPersonnel @key(fields: "hprNumber")' in result.stdout


def test_an_unknown_register_is_refused_clearly() -> None:
    result = CliRunner().invoke(app, ["schema", "--registers", "preg,nope"])

    assert result.exit_code == 2
    assert "unknown register(s) nope" in result.output
