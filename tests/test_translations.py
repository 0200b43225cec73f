"""The catalogs are complete and every visible word goes through them.

- every message of the extracted template (`make messages`) is translated in French and
  Spanish, nothing fuzzy, placeholders kept (Babel's own checkers);
- the committed messages.pot is what extraction gives today, so a string added without
  `make messages` fails here rather than showing in English;
- no template has user-visible text outside a translation call: each template is read with
  Jinja's lexer, text inside `{% trans %}` blocks and expressions is skipped, and what is left
  is read with an HTML parser that drops markup, comments, scripts and styles; any letter that
  remains is a bare string;
- no flash() in the doors is given a bare literal, nor is any helper that flashes a message it
  is given (button_post, a page's `_saved`/`_edit`, ...).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "forum" / "translations"
LANGUAGES = ("fr", "es")
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
#: Templates that are not read by people in a language: machine formats and the developer's
#: own mailbox viewer (development only, never in production).
NOT_PROSE = {"discussion/feed.atom.xml"}
NOT_PROSE_DIRS = ("devmail/",)


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


def _template_ids() -> set[object]:
    with open(CATALOGS / "messages.pot", "rb") as handle:
        return {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(handle) if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(lang: str) -> None:
    catalog = _catalog(lang)
    wanted = _template_ids()
    have = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
    missing = sorted(str(i) for i in wanted - set(have))
    assert not missing, f"{lang}: {len(missing)} messages not in the catalog (run make messages): {missing[:5]}"
    untranslated = [
        str(key)
        for key, m in have.items()
        if key in wanted and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    fuzzy = [str(key) for key, m in have.items() if key in wanted and m.fuzzy]
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{lang}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_every_placeholder(lang: str) -> None:
    problems = []
    for message, errors in _catalog(lang).check():
        problems += [f"{message.id!r}: {error}" for error in errors]
    assert not problems, "\n".join(problems[:10])


def test_the_message_template_is_what_extraction_gives_today(tmp_path: Path) -> None:
    """`make messages` was run after the last change to a translatable string."""
    out = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
            "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2", "-k", "lazy_ngettext:1,2",
            "-o", str(out), ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(out, "rb") as handle:
        fresh = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(handle) if m.id}
    committed = _template_ids()
    assert not (fresh - committed), f"not in messages.pot (run make messages): {sorted(map(str, fresh - committed))[:5]}"
    assert not (committed - fresh), f"gone from the code (run make messages): {sorted(map(str, committed - fresh))[:5]}"


class _Visible(HTMLParser):
    """Text a reader sees: data outside tags, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:  # words a reader meets in attributes
            if name in ("title", "alt", "placeholder", "aria-label") and value:
                self.text.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def bare_text(source: str, html: bool) -> list[tuple[int, str]]:
    """(line, text) of words outside translation calls in one template's source."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only lexed, never rendered
    pieces: list[tuple[int, str]] = []
    depth = 0  # inside {% trans %} ... {% endtrans %}
    tokens = list(env.lex(source))
    i = 0
    while i < len(tokens):
        line, kind, value = tokens[i]
        if kind == "block_begin":
            name = next((v for _, k, v in tokens[i + 1 : i + 3] if k == "name"), "")
            if name == "trans":
                depth += 1
            elif name == "endtrans":
                depth -= 1
            # the whole tag is code
            while i < len(tokens) and tokens[i][1] != "block_end":
                i += 1
            pieces.append((line, " "))  # a tag is not text (it may sit inside an HTML tag)
        elif kind == "variable_begin":
            while i < len(tokens) and tokens[i][1] != "variable_end":
                i += 1
            pieces.append((line, "0"))  # an expression's value: no letters of ours
        elif kind == "data" and depth == 0:
            pieces.append((line, value))
        i += 1
    if not html:
        return [(line, text.strip()) for line, text in pieces if LETTER.search(text)]
    # HTML: join the data (expressions stand as \x00) and read it as a browser would
    joined = "".join(text for _, text in pieces)
    parser = _Visible()
    parser.feed(joined)
    parser.close()
    return [(0, text.strip()) for text in parser.text if LETTER.search(text)]


def _templates() -> list[Path]:
    base = ROOT / "templates"
    return sorted(
        p
        for p in base.rglob("*")
        if p.is_file()
        and p.suffix in (".html", ".txt")
        and str(p.relative_to(base)) not in NOT_PROSE
        and not str(p.relative_to(base)).startswith(NOT_PROSE_DIRS)
    )


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_bare_strings(path: Path) -> None:
    found = bare_text(path.read_text(encoding="utf-8"), html=path.suffix == ".html")
    assert not found, (
        f"text outside a translation call: {[t for _, t in found][:5]} "
        "(wrap it: .venv/bin/python -m tests.support.wrap_templates TEMPLATE, then review the diff and run make messages)"
    )


def test_the_bare_string_check_sees_bare_text_and_ignores_wrapped_text() -> None:
    assert bare_text('<p class="x">Hello <a href="{{ u }}">there</a></p>', html=True)
    assert bare_text('<img alt="A logo" src="x">', html=True)
    assert bare_text("Dear {{ name }},\n", html=False)
    assert not bare_text('<p class="lead">{{ _("Hello") }} {{ name }} · 3</p>', html=True)
    assert not bare_text("<p>{% trans n=name %}Hi <b>{{ n }}</b>{% endtrans %}</p>", html=True)
    assert not bare_text("<script>var x = 'words';</script><style>a { color: red }</style>", html=True)


def _bare(node: ast.expr | None, bare_names: set[str] = frozenset()) -> bool:  # type: ignore[assignment]
    """Whether `node` is English written in the code: a string literal with a letter, an
    f-string, or an expression that can be one (`a if c else "b"`, `"x " + y`, `"{e}".format()`),
    or a local name given one of those in the same function."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(LETTER.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.IfExp):
        return _bare(node.body, bare_names) or _bare(node.orelse, bare_names)
    if isinstance(node, ast.BoolOp):
        return any(_bare(value, bare_names) for value in node.values)
    if isinstance(node, ast.BinOp):
        return _bare(node.left, bare_names) or _bare(node.right, bare_names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _bare(node.func.value, bare_names)
    if isinstance(node, ast.Name):
        return node.id in bare_names
    return False


def _params(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)]


def _passed(call: ast.Call, params: list[str], wanted: set[str]) -> list[ast.expr]:
    """The arguments of `call` that land on the parameters named in `wanted`."""
    found = [arg for index, arg in enumerate(call.args) if index < len(params) and params[index] in wanted]
    return found + [k.value for k in call.keywords if k.arg in wanted]


def _reaches(node: ast.expr, param: str) -> bool:
    """Whether a parameter's value is what `node` passes on (itself, or formatted/joined)."""
    if isinstance(node, ast.Name):
        return node.id == param
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _reaches(node.func.value, param)
    if isinstance(node, ast.BinOp):
        return _reaches(node.left, param) or _reaches(node.right, param)
    if isinstance(node, ast.IfExp):
        return _reaches(node.body, param) or _reaches(node.orelse, param)
    return False


FlashingHelpers = dict[str, tuple[list[str], set[str]]]


def _flashing_helpers(modules: dict[Path, ast.Module]) -> tuple[FlashingHelpers, dict[Path, FlashingHelpers]]:
    """Every function in the doors that shows a message it is given: a parameter that reaches
    flash(), directly or through another such function (button_post, a page's `_saved`...).
    Public names are found from any module; a private one (`_saved`) only in its own."""
    public: FlashingHelpers = {"flash": (["message", "category"], {"message"})}
    private: dict[Path, FlashingHelpers] = {path: {} for path in modules}
    changed = True
    while changed:
        changed = False
        for path, tree in modules.items():
            known = {**public, **private[path]}
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                params = _params(function)
                table = private[path] if function.name.startswith("_") else public
                flashed = set(table.get(function.name, (params, set()))[1])
                for call in ast.walk(function):
                    if not (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Name)
                        and call.func.id in known
                    ):
                        continue
                    callee_params, callee_flashed = known[call.func.id]
                    for arg in _passed(call, callee_params, callee_flashed):
                        flashed |= {p for p in params if _reaches(arg, p)}
                if flashed and flashed != table.get(function.name, ([], set()))[1]:
                    table[function.name] = (params, flashed)
                    changed = True
    return public, private


def bare_flashes(modules: dict[Path, ast.Module]) -> list[str]:
    """`path:line` of every call that gives English written in the code to flash() or to a
    helper that flashes it."""
    public, private = _flashing_helpers(modules)
    offenders = []
    for path, tree in modules.items():
        known = {**public, **private[path]}
        scopes: list[ast.AST] = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for scope in [tree, *scopes]:
            bare_names = {
                target.id
                for node in ast.walk(scope)
                if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and _bare(node.value)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)
            }
            for call in ast.walk(scope):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in known:
                    params, flashed = known[call.func.id]
                    if any(_bare(arg, bare_names) for arg in _passed(call, params, flashed)):
                        offenders.append(f"{path}:{call.lineno} {call.func.id}")
    return sorted(set(offenders))


def _door_modules() -> dict[Path, ast.Module]:
    return {
        path.relative_to(ROOT): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "forum" / "web").rglob("*.py"))
    }


def test_doors_flash_no_bare_literals() -> None:
    """No door says English written in the code through flash() or through a helper that
    flashes what it is given (button_post, the pages' `_saved`/`_edit`, ...): officers reading
    in French or Spanish would see it untranslated."""
    offenders = bare_flashes(_door_modules())
    assert not offenders, offenders


def test_the_flash_check_follows_helpers_and_sees_bare_messages() -> None:
    source = """
def _saved(form, change, done, to):
    if done:
        flash(done)

def _edit(form, change, done, to):
    return _saved(form, change, done, to)

def _for_one(slug, done):
    return button_post(lambda: None, done.format(email="x"), "/")

def pages(n, who):
    _edit(form, change, "Saved.", "/")
    _saved(form, change, to="/", done=f"{who} saved.")
    button_post(lambda: None, "Removed." if n else "Nothing to remove.", "/")
    _for_one("s", "{email} has a seat.")
    message = f"{who} was marked."
    flash(message)
    flash("Plain.")
    _edit(form, change, _("Saved."), "/")
    button_post(lambda: None, _("Removed %(n)s.", n=n), "/")
    _for_one("s", lambda email: _("%(email)s has a seat.", email=email))
    flash(str(exc), "error")
    flash(_("Fine."))
"""
    helpers = "def button_post(change, done, to, refused=()):\n    flash(done)\n"
    found = bare_flashes({Path("page.py"): ast.parse(source), Path("helpers.py"): ast.parse(helpers)})
    assert [line.split(":")[1].split()[0] for line in found] == ["13", "14", "15", "16", "18", "19"], found


# --- plurals: by the catalog's rules, never by a suffix chosen in code -------------------------

#: What building a plural by hand looks like, in a template or a module:
#: - a translated suffix: `_("s")`, `_("s wait")`, `_(" waits")`;
#: - a word (or suffix, or nothing) chosen by comparing a count with one: `'s' if n != 1`,
#:   `"" if n == 1 else _("s")`, `_("person") if n == 1 else _("people")`, `hours != "1"`;
#: - "(s)" inside a translated string: `_("%(n)s token(s) revoked")` (http(s) is a scheme).
#: French and Spanish agree with English on "one" only by luck (French: 0 and 1.5 are singular;
#: other languages have several plural forms), so counts go through ngettext or
#: `{% trans count=n %}...{% pluralize count %}...{% endtrans %}`.
HAND_PLURALS = {
    "a translated suffix": re.compile(r"""_\(\s*(['"])\s*(?:s|es|s wait| waits?)\1\s*\)"""),
    "a word chosen by a count of one": re.compile(
        r"""(['"])[^'"\n]{0,40}\1\s*\)?\s+if\s+[^\n]{0,80}?[!=]=\s*(['"]?)1\2(?![\d.])"""
    ),
    "(s) in a translated string": re.compile(r"""_\(\s*(['"])[^'"\n]*(?<!http)\(s\)"""),
}
#: Known, owned elsewhere: path -> why it is left here (remove the entry once fixed).
HAND_PLURALS_LEFT: dict[str, str] = {}


def hand_plurals(text: str) -> list[str]:
    """The hand-made plurals in one file's text: `line: kind`."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for kind, pattern in HAND_PLURALS.items():
            if pattern.search(line):
                found.append(f"{number}: {kind}")
    return found


def test_no_template_or_module_builds_a_plural_by_suffix() -> None:
    offenders = []
    for base in ("templates", "forum"):
        for path in sorted((ROOT / base).rglob("*")):
            relative = str(path.relative_to(ROOT))
            if path.suffix not in (".py", ".html", ".txt") or relative in HAND_PLURALS_LEFT:
                continue
            offenders += [f"{relative}:{hit}" for hit in hand_plurals(path.read_text(encoding="utf-8"))]
    assert not offenders, offenders


def test_the_plural_check_sees_suffixes_and_passes_ngettext() -> None:
    for built in (
        '{% trans n=n, n2=_("s") if n != 1 %}{{ n }} post{{ n2 }}{% endtrans %}',
        '{% trans n=n, n2="" if n == 1 else _("s") %}',
        'waiting2=_("s wait") if waiting != 1 else _(" waits")',
        'recipients2=_("person") if recipients == 1 else _("people")',
        "message = f\"Added {n} day{'s' if n != 1 else ''}.\"",
        'hours2=_("s") if hours != "1"',
        'flash(_("Deactivated %(email)s; %(revoked)s API token(s) revoked."))',
    ):
        assert hand_plurals(built), built
    for fine in (
        '{% trans count=n %}{{ count }} post{% pluralize count %}{{ count }} posts{% endtrans %}',
        'ngettext("%(num)d day", "%(num)d days", n)',
        '_l("“{input}” is not an http(s) URL.")',
        "{% if n == 1 %}",
        'label = "today" if days == 10 else "later"',
    ):
        assert not hand_plurals(fine), fine


def test_no_function_hides_gettext_behind_a_local_underscore() -> None:
    """`scheme, _, raw = ...` in a function that also calls `_()` makes `_` a local there, and
    the call fails (UnboundLocalError, or a str is not callable) only on the path that
    translates: an error path tests rarely walk."""
    offenders = []
    for path in (ROOT / "forum").rglob("*.py"):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            stores, calls = False, False
            todo: list[ast.AST] = list(ast.iter_child_nodes(function))
            while todo:
                node = todo.pop()
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                    continue  # their own scope
                if isinstance(node, ast.Name) and node.id == "_":
                    stores |= isinstance(node.ctx, ast.Store) and not _in_comprehension(node, function)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                    calls = True
                todo.extend(ast.iter_child_nodes(node))
            if stores and calls:
                offenders.append(f"{path.relative_to(ROOT)}:{function.lineno} {function.name}")
    assert not offenders, offenders


def _in_comprehension(name: ast.Name, function: ast.AST) -> bool:
    """Whether `name` is a comprehension's target (its own scope in Python 3)."""
    for node in ast.walk(function):
        if isinstance(node, ast.comprehension) and any(n is name for n in ast.walk(node.target)):
            return True
    return False


# --- nothing left in English by mistake ---------------------------------------------------------

#: msgids whose translation is rightly the same words: proper nouns and product names.
SAME_IN_EVERY_LANGUAGE = {
    '<a href="%(google)s">Google Calendar</a> · <a href="%(outlook)s">Outlook.com</a> · '
    '<a href="%(office365)s">Microsoft 365</a>',
}
_NOT_WORDS = re.compile(r"%\(\w+\)[sd]|<[^>]*>|&\w+;|\{\{[^}]*\}\}|\{\w*\}|https?://\S+|/[\w<>/%().-]+|`[^`]*`")


def words(text: str) -> list[str]:
    """The words a reader reads in a message: placeholders, markup, addresses and code aside."""
    return re.findall(r"[^\W\d_]{2,}", _NOT_WORDS.sub(" ", text))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_translation_is_left_in_english(lang: str) -> None:
    left = []
    for message in _catalog(lang):
        if not message.id or message.id in SAME_IN_EVERY_LANGUAGE:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid, msgstr in zip(ids, strings, strict=False):
            if msgstr == msgid and len(words(msgid)) > 3:
                left.append(msgid)
    assert not left, f"{lang}: {len(left)} msgstr identical to the English msgid, e.g. {left[:5]}"


def test_the_english_check_counts_words_not_markup() -> None:
    assert words('<a href="#m%(number)s">%(subject)s</a> &mdash; %(author)s') == []
    assert len(words("Your pace for %(pathway)s is saved.")) == 5
    assert words("<code>/pathways/%(slug)s</code> {{ name }}") == []
