"""The role taxonomy: labels and their definitions, loaded from YAML.

The taxonomy is configuration, not code: ``configs/taxonomy.yaml`` ships the eight labels
of ``shared/taxonomy.md``; a user can pass their own file to classify zero-shot with a
different set of roles. Unknown keys, duplicate or empty labels are errors that name the
file, line and key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

__all__ = [
    "Role",
    "Taxonomy",
    "TaxonomyError",
    "DEFAULT_TAXONOMY_PATH",
    "load_taxonomy",
    "yaml_error_message",
]

DEFAULT_TAXONOMY_PATH = Path(__file__).parent / "configs" / "taxonomy.yaml"
SCHEMA_VERSION = 1


class TaxonomyError(UserError):
    """A taxonomy file that cannot be used; the message names file, line and key."""


@dataclass(frozen=True)
class Role:
    """One label of the taxonomy.

    Attributes:
        name: the label, e.g. ``"AI Engineer"``.
        definition: one or two sentences saying what the role does.
        responsibilities: typical work named for it, one phrase each.
        titles: typical job titles; used to score a posting's title zero-shot.
        keywords: short terms that are typical of the role's ads and titles ("mlops",
            "vector database"), counted case-insensitively as whole words.
        distinguish: what sets it apart from neighbouring roles.
    """

    name: str
    definition: str
    responsibilities: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    distinguish: str = ""

    def phrases(self) -> list[str]:
        """Sentences describing the work, matched against a posting's sentences."""
        out = [self.definition, *self.responsibilities]
        if self.distinguish:
            out.append(self.distinguish)
        return [p for p in out if p.strip()]


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of roles, one of which is the catch-all ``other_label``.

    Example:
        >>> tax = load_taxonomy()
        >>> tax.labels[-1], len(tax.labels)
        ('Other', 8)
    """

    roles: tuple[Role, ...]
    other_label: str = "Other"
    version: int = SCHEMA_VERSION
    source: str = field(default="<memory>", compare=False)

    @property
    def labels(self) -> list[str]:
        """Label names in file order."""
        return [r.name for r in self.roles]

    def role(self, name: str) -> Role:
        """The role called ``name`` (exact match)."""
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(name)

    def normalize_label(self, value: str) -> str | None:
        """Match a free-form label ("ml engineer", " ML-Engineer ") to a taxonomy name.

        Example:
            >>> load_taxonomy().normalize_label("  ml  engineer ")
            'ML Engineer'
        """
        key = _label_key(value)
        for name in self.labels:
            if _label_key(name) == key:
                return name
        return None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict in the YAML schema (used when a model is saved)."""
        return {
            "version": self.version,
            "other_label": self.other_label,
            "roles": [
                {
                    "name": r.name,
                    "definition": r.definition,
                    "responsibilities": list(r.responsibilities),
                    "titles": list(r.titles),
                    "keywords": list(r.keywords),
                    "distinguish": r.distinguish,
                }
                for r in self.roles
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> Taxonomy:
        """Build and validate a taxonomy from a dict in the YAML schema."""
        node = yaml.compose(yaml.safe_dump(data, sort_keys=False))
        return _build(node, source)


_TOP_KEYS = {"version", "other_label", "roles"}
_ROLE_KEYS = {f.name for f in dataclasses.fields(Role)}


def _label_key(value: str) -> str:
    return " ".join(value.replace("-", " ").replace("_", " ").lower().split())


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy YAML file (the shipped one when ``path`` is None).

    Raises:
        TaxonomyError: unreadable file, bad YAML, unknown or missing keys, empty or
            duplicate labels; the message names the file, line and key.

    Example:
        >>> load_taxonomy().labels[:2]
        ['ML Researcher', 'ML Engineer']
    """
    path = Path(path) if path is not None else DEFAULT_TAXONOMY_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read taxonomy file: {exc}") from exc
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(yaml_error_message(path, exc)) from exc
    return _build(node, str(path))


def yaml_error_message(path: str | Path, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: ``file:line:column: invalid YAML: problem``.

    PyYAML's own message spans several lines (with a quoted excerpt); this keeps the position
    and the problem, so the error stays one greppable line.

    Example:
        >>> try:
        ...     yaml.safe_load("roles: [")
        ... except yaml.YAMLError as exc:
        ...     print(yaml_error_message("t.yaml", exc))
        t.yaml:1:9: invalid YAML: expected the node content, but found '<stream end>' (while parsing a flow node)
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    if "end of stream" in problem or "<stream end>" in problem:
        # something left open (a quote, a bracket): where it was opened is the useful line
        mark = getattr(exc, "context_mark", None) or mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    return f"{where}: invalid YAML: {problem}" + (f" ({context})" if context else "")


def _where(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}"


def _mapping(
    node: yaml.Node | None, source: str, what: str
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        line = _where(source, node) if node is not None else source
        raise TaxonomyError(f"{line}: {what} must be a mapping")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key in out:
            raise TaxonomyError(f"{_where(source, key_node)}: duplicate key '{key}' in {what}")
        out[key] = (key_node, value_node)
    return out


def _check_keys(
    items: dict[str, tuple[yaml.Node, yaml.Node]], allowed: set[str], source: str, what: str
) -> None:
    for key, (key_node, _) in items.items():
        if key not in allowed:
            raise TaxonomyError(
                f"{_where(source, key_node)}: unknown key '{key}' in {what}; "
                f"allowed keys: {', '.join(sorted(allowed))}"
            )


def _string(node: yaml.Node, source: str, what: str, *, required: bool = True) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise TaxonomyError(f"{_where(source, node)}: {what} must be a string")
    value = str(node.value).strip()
    if required and not value:
        raise TaxonomyError(f"{_where(source, node)}: {what} is empty")
    return value


def _strings(node: yaml.Node, source: str, what: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise TaxonomyError(f"{_where(source, node)}: {what} must be a list of strings")
    return tuple(_string(item, source, f"an item of {what}") for item in node.value)


def _build(node: yaml.Node | None, source: str) -> Taxonomy:
    top = _mapping(node, source, "the taxonomy file")
    _check_keys(top, _TOP_KEYS, source, "the taxonomy file")
    if "roles" not in top:
        raise TaxonomyError(f"{source}: missing key 'roles'")
    _check_version(top, source)
    other = "Other"
    other_node: yaml.Node | None = None  # where other_label is set, for the error below
    if "other_label" in top:
        other_node = top["other_label"][1]
        other = _string(other_node, source, "'other_label'")
    roles_node = top["roles"][1]
    roles = _roles(roles_node, source)
    if len(roles) < 2:
        raise TaxonomyError(f"{source}: a taxonomy needs at least two labels")
    if other not in [r.name for r in roles]:
        # point at the other_label line when the file sets it, else at the roles it is missing from
        raise TaxonomyError(
            f"{_where(source, other_node or roles_node)}: other_label '{other}' is not one of "
            f"the roles ({', '.join(r.name for r in roles)}); fix its spelling or add a role "
            "with that name (its definition describes what falls outside the others)"
        )
    return Taxonomy(roles=tuple(roles), other_label=other, version=SCHEMA_VERSION, source=source)


def _check_version(top: dict[str, tuple[yaml.Node, yaml.Node]], source: str) -> None:
    """A file may say which schema version it is written in; only this one is read."""
    if "version" in top:
        vnode = top["version"][1]
        if vnode.value != str(SCHEMA_VERSION):
            raise TaxonomyError(
                f"{_where(source, vnode)}: unsupported version '{vnode.value}' "
                f"(this release reads version {SCHEMA_VERSION})"
            )


def _roles(roles_node: yaml.Node, source: str) -> list[Role]:
    """The roles, in file order; names must be unique (compared as :func:`_label_key`)."""
    if not isinstance(roles_node, yaml.SequenceNode) or not roles_node.value:
        raise TaxonomyError(f"{_where(source, roles_node)}: 'roles' must be a non-empty list")
    roles: list[Role] = []
    seen: dict[str, int] = {}
    for i, rnode in enumerate(roles_node.value):
        roles.append(_role(rnode, source, i, seen))
    return roles


def _role(rnode: yaml.Node, source: str, i: int, seen: dict[str, int]) -> Role:
    """``roles[i]``; ``seen`` maps the label keys of the roles before it to their positions,
    and gets this one's."""
    what = f"roles[{i}]"
    items = _mapping(rnode, source, what)
    _check_keys(items, _ROLE_KEYS, source, what)
    for key in ("name", "definition"):
        if key not in items:
            raise TaxonomyError(f"{_where(source, rnode)}: {what} is missing key '{key}'")
    name_node = items["name"][1]
    name = _string(name_node, source, f"{what}.name")
    key = _label_key(name)
    if key in seen:
        raise TaxonomyError(
            f"{_where(source, name_node)}: duplicate label '{name}' "
            f"(already defined in roles[{seen[key]}])"
        )
    seen[key] = i
    kwargs: dict[str, Any] = {
        "name": name,
        "definition": _string(items["definition"][1], source, f"{what}.definition"),
    }
    for list_key in ("responsibilities", "titles", "keywords"):
        if list_key in items:
            kwargs[list_key] = _strings(items[list_key][1], source, f"{what}.{list_key}")
    if "distinguish" in items:
        kwargs["distinguish"] = _string(
            items["distinguish"][1], source, f"{what}.distinguish", required=False
        )
    return Role(**kwargs)
