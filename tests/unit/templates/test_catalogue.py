"""The built-in catalogue: shipped as package data, every template valid for its phase and
every one of its fixtures passing in the real engine."""

from __future__ import annotations

from importlib import resources

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.script import Script
from alloy_scripting.model.template_catalogue import builtin_template, builtin_templates
from alloy_scripting.model.templates import Template
from alloy_scripting.runner.debugger import run_fixture

ENGINE = create_default_engine()
CATALOGUE = builtin_templates()
REQUIRED = {
    "deal-amount-approval",
    "required-fields",
    "normalize-contact",
    "webhook-on-create",
    "orders-per-customer",
    "nightly-cleanup",
    "notify-on-commit",
    "sla-escalation",
}


def instance(template: Template) -> Script:
    script = Script.new(
        template.id, template.source, template.trigger, fixtures=template.instance_fixtures()
    )
    script.template = template.ref(template.params_for(template.example_params))
    return script


def test_the_catalogue_has_the_issue_s_templates() -> None:
    assert set(CATALOGUE) >= REQUIRED
    assert len(CATALOGUE) >= 8
    for template in CATALOGUE.values():
        assert template.builtin and template.owner is None
        assert template.description and template.fixtures and template.params_schema
        assert template.params_schema["type"] == "object"
        for name, spec in template.params_schema.get("properties", {}).items():
            assert "description" in spec or "default" in spec, (template.id, name)


def test_the_yaml_files_are_package_data() -> None:
    folder = resources.files("alloy_scripting.model").joinpath("builtin_templates")
    names = {entry.name for entry in folder.iterdir()}
    assert {f"{template_id}.yaml" for template_id in REQUIRED} <= names
    assert builtin_template("deal-amount-approval") is CATALOGUE["deal-amount-approval"]
    assert builtin_template("no-such-template") is None


def test_the_pyproject_ships_the_yaml_files() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["alloy_scripting"]
    assert "model/builtin_templates/*.yaml" in data


def test_the_suggested_triggers_cover_every_kind_of_run() -> None:
    kinds = {(t.trigger.type, t.trigger.phase.value) for t in CATALOGUE.values()}
    assert ("event", "before") in kinds
    assert ("event", "after") in kinds
    assert ("event", "on_commit") in kinds
    assert ("cron", "scheduled") in kinds


@pytest.mark.parametrize("template_id", sorted(CATALOGUE))
def test_source_validates_for_its_phase(template_id: str) -> None:
    template = CATALOGUE[template_id]
    errors = [
        d for d in ENGINE.validate(template.source, template.trigger.phase) if d.severity == "error"
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("template_id", "fixture"),
    [(t.id, f.name) for t in CATALOGUE.values() for f in t.fixtures],
)
def test_every_fixture_passes_in_the_engine(template_id: str, fixture: str) -> None:
    script = instance(CATALOGUE[template_id])
    [case] = [f for f in script.fixtures if f.name == fixture]
    report = run_fixture(ENGINE, script, case)
    assert report.passed, report.differences


#: Fixture runs have no state store: this template's counting path is tested in the worker
#: tier (`test_state_templates.py`), its fixtures cover only the paths that skip counting.
STATE_ONLY = {"orders-per-customer"}


@pytest.mark.parametrize("template_id", sorted(set(CATALOGUE) - STATE_ONLY))
def test_fixtures_exercise_more_than_one_outcome_or_effect(template_id: str) -> None:
    """Each template's fixtures tell an accepting path from a refusing or skipping one."""
    template = CATALOGUE[template_id]
    seen = {
        (
            f.expect.outcome,
            repr(f.expect.changes),
            repr(f.expect.emitted),
        )
        for f in template.fixtures
    }
    assert len(seen) >= 2


def test_fixtures_fail_when_the_config_is_not_given() -> None:
    """The fixtures depend on `config`: without it the approval template cannot run."""
    template = CATALOGUE["deal-amount-approval"]
    script = Script.new("bare", template.source, template.trigger, fixtures=template.fixtures)
    report = run_fixture(ENGINE, script, script.fixtures[0])
    assert not report.passed
    assert report.outcome == "error"


async def test_every_fixture_passes_in_the_worker_pool() -> None:
    """The service's path: fixture runs in worker processes, `config` and `http_fixtures`
    crossing the wire with each case."""
    from alloy_scripting.runner.debugger import fixtures_in_pool
    from alloy_scripting.runner.workers import PoolConfig, WorkerPool

    async with WorkerPool(ENGINE.config, PoolConfig(size=2)) as pool:
        for template in CATALOGUE.values():
            reports = await fixtures_in_pool(pool, instance(template))
            assert [r.name for r in reports] == [f.name for f in template.fixtures]
            assert all(r.passed for r in reports), [(r.name, r.differences) for r in reports]
