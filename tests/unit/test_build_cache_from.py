"""--cache-from's matching (build/cache_from.py): pure logic over image configs."""

from __future__ import annotations

from baleine.build.cache_from import next_step

BASE = {"rootfs": {"type": "layers", "diff_ids": ["sha256:a"]},
        "history": [{"created_by": "ADD base", "created": "2024-01-01T00:00:00Z"}], "config": {"Env": ["X=1"]}}
SOURCE = {"rootfs": {"type": "layers", "diff_ids": ["sha256:a", "sha256:b"]},
          "history": [{"created_by": "ADD base", "created": "2023-01-01T00:00:00Z"},
                      {"created_by": "RUN make", "created": "2024-02-02T00:00:00Z"},
                      {"created_by": "CMD x", "empty_layer": True}], "config": {"Cmd": ["x"]}}


def test_a_matching_source_gives_its_next_layer_and_keeps_the_build_config() -> None:
    st = next_step([SOURCE], BASE, "RUN make")
    assert st is not None
    assert st.config["rootfs"]["diff_ids"] == ["sha256:a", "sha256:b"]
    assert [h["created_by"] for h in st.config["history"]] == ["ADD base", "RUN make"]
    assert st.config["config"] == {"Env": ["X=1"]}  # the build's own config, not the source's


def test_no_match_on_another_instruction_or_another_base() -> None:
    assert next_step([SOURCE], BASE, "RUN make install") is None
    other_base = dict(BASE, rootfs={"type": "layers", "diff_ids": ["sha256:z"]})
    assert next_step([SOURCE], other_base, "RUN make") is None
    assert next_step([], BASE, "RUN make") is None
