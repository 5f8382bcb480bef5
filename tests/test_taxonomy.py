from __future__ import annotations

from pathlib import Path

import pytest

from role_classifier.taxonomy import TaxonomyError, load_taxonomy

GOOD = """\
version: 1
other_label: Other
roles:
  - name: Data Wrangler
    definition: Cleans data.
    titles: [Data Wrangler]
  - name: Other
    definition: Anything else.
"""


def test_shipped_taxonomy_has_the_eight_labels() -> None:
    tax = load_taxonomy()
    assert tax.labels == [
        "ML Researcher",
        "ML Engineer",
        "MLOps Engineer",
        "Prompt Engineer",
        "AI Engineer",
        "AIOps Engineer",
        "AI Agent Engineer",
        "Other",
    ]
    for role in tax.roles:
        assert role.definition and role.titles and len(role.responsibilities) >= 4


def test_custom_taxonomy_loads(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD)
    tax = load_taxonomy(path)
    assert tax.labels == ["Data Wrangler", "Other"]
    assert tax.role("Data Wrangler").titles == ("Data Wrangler",)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD.replace("titles:", "tittles:"), ":6: unknown key 'tittles'"),
        (GOOD.replace("version: 1", "versoin: 1"), ":1: unknown key 'versoin'"),
        (
            GOOD.replace("Data Wrangler\n    definition", "Other\n    definition"),
            "duplicate label 'Other'",
        ),
        (GOOD.replace("name: Data Wrangler", "name: ''"), "roles[0].name is empty"),
        (
            GOOD.replace("    definition: Cleans data.\n", ""),
            "roles[0] is missing key 'definition'",
        ),
        (
            GOOD.replace("other_label: Other", "other_label: Misc"),
            "other_label 'Misc' is not one of the roles",
        ),
        ("roles: [", "invalid YAML"),
        ("", "must be a mapping"),
    ],
)
def test_bad_taxonomy_names_file_line_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_normalize_label_matches_case_and_spacing() -> None:
    tax = load_taxonomy()
    assert tax.normalize_label(" ml  engineer") == "ML Engineer"
    assert tax.normalize_label("AI-Agent-Engineer") == "AI Agent Engineer"
    assert tax.normalize_label("Chef") is None


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("roles_first", [False, True])
def test_other_label_typo_is_reported_at_its_own_line(tmp_path: Path, roles_first: bool) -> None:
    header = "# my roles\n# (comments shift the lines)\n\nversion: 1\n"
    other = "other_label: Otehr\n"
    roles = "roles:\n  - name: Data Wrangler\n    definition: Cleans data.\n"
    roles += "  - name: Other\n    definition: Anything else.\n"
    text = header + (roles + other if roles_first else other + "\n" + roles)
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{_line_of(text, 'other_label')}: other_label 'Otehr'")
    assert "Data Wrangler, Other" in message  # names the roles it could have meant


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("roles:\n  - name: A\n   definition: x\n", 3),  # bad indentation
        ("version: 1\nroles: [\n", 3),  # unclosed list: PyYAML only knows the end
        ("version: 1\nother_label: 'Other\n", 2),  # unclosed quote
    ],
)
def test_invalid_yaml_is_one_line_with_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}:") and "invalid YAML" in message
