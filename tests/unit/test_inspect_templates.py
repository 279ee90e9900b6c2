"""``inspect -f`` as the docker CLI renders it: objects are Go structs (a missing
field is an error), the fields that are Go maps give ``<no value>``."""

from __future__ import annotations

import pytest

from baleine import gotemplate
from baleine.cli.containers import go_values

DOC = {"Id": "abc", "Config": {"Labels": {"a": "1"}, "Env": ["X=1"]},
       "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {}}},
       "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.0.0.2"}}}}


def render(fmt: str) -> str:
    return gotemplate.compile(fmt, funcs=gotemplate.INSPECT_FUNCS).render(go_values(DOC))


def test_struct_fields_and_maps() -> None:
    assert render("{{.Id}} {{.Config.Labels.a}} {{.Config.Labels.b}}") == "abc 1 <no value>"
    assert render("{{.HostConfig.LogConfig.Config.x}}") == "<no value>"
    assert render("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{end}}") == \
        "bridge=10.0.0.2"
    assert render("{{json .Config.Labels}}") == '{"a":"1"}'


@pytest.mark.parametrize("fmt,where", [("{{.Nope}}", ':1:2: executing "" at <.Nope>'),
                                       ("{{.Config.Nope}}", "at <.Config.Nope>"),
                                       ("{{range .NetworkSettings.Networks}}{{.Nope}}{{end}}", "at <.Nope>")])
def test_missing_struct_field_is_an_error(fmt: str, where: str) -> None:
    with pytest.raises(gotemplate.TemplateError) as err:
        render(fmt)
    assert where in str(err.value) and str(err.value).endswith('map has no entry for key "Nope"')
