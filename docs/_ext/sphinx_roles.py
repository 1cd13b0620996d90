"""Sphinx cross-reference roles (and simple tables) in docstrings, rendered by mkdocstrings.

custvalue's docstrings follow numpydoc and refer to other objects with Sphinx roles
(``:func:`clean```, ``:class:`~custvalue.errors.SchemaError```). mkdocstrings renders Markdown,
where such a role would show as raw text. This Griffe extension rewrites every role, once the whole
package is loaded, into a Markdown cross-reference that mkdocs-autorefs turns into a link to the
API page of its target.

Names resolve as Sphinx resolves them: first relative to the object whose docstring holds the role
(its members, then the enclosing class and module, their imports included), then as a full path,
then as the unique object whose path ends with the name (for a method inherited by many models, the
one on the common base class). A role naming a module function through its package (``:func:`custvalue.clean```
names the function, not the module of the same name) links to the function.

A target that is part of the public API (griffe's notion of public, through the object or one of
its aliases, with every enclosing module public) becomes ``[`text`][canonical.path]``: the strict
docs build fails if that object has no API entry, so every public object a docstring mentions stays
reachable. Any other target (``custvalue.segment.lifecycle_stage``, outside ``__all__``, or the
private ``custvalue.models._mle.maximize``) becomes an optional cross-reference: a link when the API
pages document it, plain code when they do not. A name that resolves to nothing is logged as a
warning (which fails the strict build) and rendered as plain code.

reStructuredText simple tables (columns under ``=====  =====`` borders) become Markdown tables.

Loaded through mkdocstrings' Python handler (``extensions:`` in ``mkdocs.yml``).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import griffe

# :role:`target`, :role:`~target`, :role:`!target`, :role:`title <target>`, optionally with the py: domain.
ROLE = re.compile(r":(?:py:)?(?P<role>func|meth|class|exc|mod|data|attr|const|obj):`(?P<body>[^`]+)`")
EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
CALLABLE_ROLES = {"func", "meth"}
TABLE_BORDER = re.compile(r"^(?P<indent> *)=+(?: +=+)+ *$")


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of a loaded package into autorefs cross-references."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        # Aliases must know their targets so that a target reached only through a public alias
        # (custvalue.models.BaseModel for custvalue.models._base.BaseModel) counts as public.
        loader.resolve_aliases(implicit=False, external=False)
        for obj in _defined_objects(pkg):
            if obj.docstring is not None:
                text = rewrite_simple_tables(obj.docstring.value)
                obj.docstring.value = rewrite_roles(text, obj, loader.modules_collection)


def rewrite_roles(text: str, scope: griffe.Object, collection: griffe.ModulesCollection) -> str:
    """Replace every Sphinx role in ``text`` by a Markdown cross-reference or plain code.

    Names resolve from ``scope``, the object whose docstring ``text`` is. As in Sphinx, ``~`` shows
    the last part of the name only, ``!`` suppresses the link, ``title <name>`` sets the text, and
    functions and methods show with ``()``. Tested in ``tests/test_docs_site.py``.
    """

    def replace(match: re.Match[str]) -> str:
        role, body = match["role"], match["body"].strip()
        no_link = body.startswith("!")
        body = body.lstrip("!")
        explicit = EXPLICIT_TITLE.match(body)
        if explicit:
            title, name = explicit["title"], explicit["target"].strip()
        else:
            name = body
            shown = body.lstrip("~.")
            title = shown.rpartition(".")[2] if body.startswith("~") else shown
            if role in CALLABLE_ROLES:
                title += "()"
        if no_link:
            return f"`{title}`"
        target = resolve(name.lstrip("~."), role, scope, collection)
        if target is None:
            griffe.logger.warning("%s: cannot resolve %s (rendered as plain code)", scope.path, match[0])
            return f"`{title}`"
        if is_public(target):
            return f"[`{title}`][{target.canonical_path}]"
        return f'<autoref identifier="{target.canonical_path}" optional>`{title}`</autoref>'

    return ROLE.sub(replace, text)


def rewrite_simple_tables(text: str) -> str:
    r"""Replace every reStructuredText simple table in ``text`` by a Markdown table.

    A row whose first cell is blank continues the row above, as in reStructuredText.

    Examples
    --------
    >>> print(rewrite_simple_tables(
    ...     "Rules:\n\n=====  ====\nname   rule\n=====  ====\nzero   amount is 0\n"
    ...     "neg    amount < 0,\n       a return\n=====  ====\n"))
    Rules:
    <BLANKLINE>
    | name | rule |
    |---|---|
    | zero | amount is 0 |
    | neg | amount < 0, a return |
    <BLANKLINE>
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        border = TABLE_BORDER.match(lines[i])
        ends = [j for j in range(i + 1, len(lines)) if lines[j].strip() and lines[j].strip() == lines[i].strip()]
        if not border or len(ends) < 2:
            out.append(lines[i])
            i += 1
            continue
        indent = border["indent"]
        spans = [(m.start(), m.end()) for m in re.finditer(r"=+", lines[i])]
        header_end, table_end = ends[0], ends[1]

        def cells(line: str, spans: list[tuple[int, int]] = spans) -> list[str]:
            bounds = [start for start, _ in spans[1:]] + [len(line)]
            return [line[start:stop].strip().replace("|", "\\|") for (start, _), stop in zip(spans, bounds)]

        header = [" ".join(parts) for parts in zip(*(cells(line) for line in lines[i + 1 : header_end]))]
        rows: list[list[str]] = []
        for line in lines[header_end + 1 : table_end]:
            if not line.strip():
                continue
            row = cells(line)
            if rows and not row[0]:
                rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], row)]
            else:
                rows.append(row)
        out.append(indent + "| " + " | ".join(header) + " |")
        out.append(indent + "|" + "---|" * len(header))
        out.extend(indent + "| " + " | ".join(row) + " |" for row in rows)
        i = table_end + 1
    return "\n".join(out)


def resolve(
    name: str, role: str, scope: griffe.Object, collection: griffe.ModulesCollection
) -> griffe.Object | None:
    """The object ``name`` (in a ``role``) refers to from ``scope``, or None: relative to ``scope``,
    then as a full path, then as the one object whose path ends with ``.name``."""
    head, _, rest = name.partition(".")
    paths = []
    with contextlib.suppress(griffe.NameResolutionError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        paths.append(scope.resolve(head) + (f".{rest}" if rest else ""))
    paths.append(name)
    for path in paths:
        found = _lookup(path, collection)
        if found is not None:
            return _fit_role(found, role)
    return _by_suffix(name, role, scope.package)


def is_public(obj: griffe.Object | griffe.Alias) -> bool:
    """Whether ``obj`` is part of the public API: public itself or through one of its aliases, inside
    public modules (aliases must be resolved for the second)."""
    if obj.is_module:
        return not any(part.startswith("_") for part in obj.path.split("."))
    if obj.is_public and obj.parent is not None and is_public(obj.parent):
        return True
    return any(alias.is_public and alias.parent is not None and is_public(alias.parent)
               for alias in obj.aliases.values())


def _lookup(path: str, collection: griffe.ModulesCollection) -> griffe.Object | None:
    try:
        return _target(collection[path])
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def _fit_role(obj: griffe.Object, role: str) -> griffe.Object:
    # A package re-exports a function under its module's name (custvalue.clean is a module and the
    # function custvalue.clean.clean): a role other than :mod: means the function.
    if obj.is_module and role != "mod" and obj.name in obj.members:
        return _target(obj.members[obj.name])
    return obj


def _by_suffix(name: str, role: str, package: griffe.Module) -> griffe.Object | None:
    suffix = "." + name
    found = {obj.path: obj for obj in _defined_objects(package) if obj.path.endswith(suffix)}
    if len(found) == 1:
        return _fit_role(next(iter(found.values())), role)
    # A method defined on a base class and overridden by subclasses: the base class's one.
    owners = {path: obj.parent for path, obj in found.items() if obj.parent is not None and obj.parent.is_class}
    for path, owner in owners.items():
        if len(owners) == len(found) and all(
            other is owner or owner in _ancestors(other) for other in owners.values()
        ):
            return found[path]
    return None


def _ancestors(cls: griffe.Object | griffe.Alias) -> list[griffe.Class]:
    try:
        target = _target(cls)
        return target.mro() if isinstance(target, griffe.Class) else []
    except (ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return []


def _defined_objects(obj: griffe.Object) -> list[griffe.Object]:
    """``obj`` and everything defined inside it (aliases belong to their targets' modules)."""
    found = [obj]
    for member in obj.members.values():
        if not isinstance(member, griffe.Alias):
            found.extend(_defined_objects(member))
    return found
