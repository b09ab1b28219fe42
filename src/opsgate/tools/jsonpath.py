"""kubectl's JSONPath template grammar, checked before a template reaches kubectl.

Used by `validate.JsonPath` (`k8s_get`'s `jsonpath`) and `validate.WaitJsonPath` (the path of
`k8s_wait_for`). A template is one argv element, never seen by a shell, so quotes, `/`, `|` or
`(` inside its expressions are harmless; what is checked is that it is a template kubectl
would run: text, and `{...}` actions made of fields (`.metadata.name`, `\\.` escaping a dot in
a key), brackets (`[*]`, `[0]`, `[1:3]`, `[0,2]`, `['key']`), filters
(`[?(@.status.phase=="Running")]`), quoted literals (`{"\\n"}`) and `range` ... `end`.

Refused: recursive descent (`..`), which reads fields the template does not name, so the
redaction of its answer (`redact.redact_jsonpath_output`) could not tell a secret from its
name; identifiers other than `range`/`end`; and, outside actions, anything but plain text
(letters, digits, spaces and `_.,:=/@%+#()[]-`). The common rules (ASCII, no control
characters, no leading `-`) are `validate`'s.
"""

from __future__ import annotations

import re

_TEXT = re.compile(r"[A-Za-z0-9 _.,:=/@%+#()\[\]-]*")
_FIELD_CHAR = re.compile(r"[A-Za-z0-9_/:*-]")
_SLICE = re.compile(r"-?[0-9]*(:-?[0-9]*){0,2}")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_OPERATOR = re.compile(r"==|!=|<=|>=|<|>")


class _Parser:
    """One pass over a template; each method consumes what it names or raises ValueError."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        """How many `range` actions are open."""
        self.actions: list[list[str]] = []
        """The kinds of token of each action, in order (`path`, `literal`, `range`, `end`)."""

    def fail(self, why: str) -> ValueError:
        return ValueError(f"is not a kubectl JSONPath template: {why} at character {self.pos + 1}")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def template(self) -> None:
        while self.pos < len(self.text):
            start = self.text.find("{", self.pos)
            end = len(self.text) if start < 0 else start
            if not _TEXT.fullmatch(self.text[self.pos : end]):
                raise self.fail(
                    "text outside {...} may hold only letters, digits, spaces and _.,:=/@%+#()[]-"
                )
            self.pos = end
            if start >= 0:
                self.pos += 1
                self.action()
        if not self.actions:
            raise ValueError("is not a kubectl JSONPath template: it has no {...} expression")
        if self.depth:
            raise ValueError("is not a kubectl JSONPath template: a {range} has no {end}")

    def action(self) -> None:
        tokens: list[str] = []
        while True:
            char = self.peek()
            if char == "":
                raise self.fail("unclosed {")
            if char == "}":
                self.pos += 1
                break
            if char == " ":
                self.pos += 1
            elif char in "\"'":
                self.literal()
                tokens.append("literal")
            elif char in ".@$[":
                self.path()
                tokens.append("path")
            elif char.isalpha():
                word = self.word()
                if word == "range":
                    self.depth += 1
                elif word == "end":
                    if self.depth == 0:
                        raise self.fail("{end} without {range}")
                    self.depth -= 1
                else:
                    raise self.fail(f"unknown identifier {word!r} (only range and end)")
                tokens.append(word)
            else:
                raise self.fail(f"unexpected {char!r}")
        if not tokens:
            raise self.fail("empty {}")
        self.actions.append(tokens)

    def word(self) -> str:
        start = self.pos
        while self.peek().isalnum() or self.peek() == "_":
            self.pos += 1
        return self.text[start : self.pos]

    def literal(self) -> None:
        quote = self.peek()
        self.pos += 1
        while True:
            char = self.peek()
            if char == "":
                raise self.fail("unterminated quoted string")
            self.pos += 1
            if char == "\\":
                if self.peek() == "":
                    raise self.fail("unterminated quoted string")
                self.pos += 1
            elif char == quote:
                return

    def path(self, *, in_filter: bool = False) -> None:
        """`@`/`$` then fields and brackets, e.g. `.items[*].metadata.name`."""
        if self.peek() in "@$":
            self.pos += 1
        while True:
            char = self.peek()
            if char == "." and self.peek(1) == ".":
                raise self.fail("recursive descent (..) is not allowed")
            if char == ".":
                self.pos += 1
                self.field()
            elif char == "[" and self.text.startswith("[?(", self.pos):
                if in_filter:
                    raise self.fail("a filter inside a filter")
                self.filter()
            elif char == "[":
                self.bracket()
            else:
                return

    def field(self) -> None:
        """A field name; it ends at the first character no name holds (what follows is then
        checked by the caller), `\\.` being a dot inside the name."""
        start = self.pos
        while char := self.peek():
            if char == "\\" and self.peek(1) == ".":
                self.pos += 2
            elif _FIELD_CHAR.fullmatch(char):
                self.pos += 1
            else:
                break
        name = self.text[start : self.pos]
        if not name or ("*" in name and name != "*"):
            raise self.fail("a field needs a name (or *)")

    def bracket(self) -> None:
        close = self.text.find("]", self.pos)
        if close < 0:
            raise self.fail("unterminated [")
        inside = self.text[self.pos + 1 : close]
        for part in [p.strip() for p in inside.split(",")] if inside != "*" else []:
            quoted = len(part) >= 2 and part[0] == part[-1] == "'"
            if quoted and all(_FIELD_CHAR.fullmatch(c) or c in ".\\" for c in part[1:-1]):
                continue
            if part and _SLICE.fullmatch(part):
                continue
            raise self.fail(f"[{inside}] is not an index, a slice, * or 'key'")
        self.pos = close + 1

    def filter(self) -> None:
        """`[?(left op right)]` or `[?(path)]`; operands are paths, literals, numbers, bools."""
        self.pos += len("[?(")
        self.operand()
        self.spaces()
        operator = _OPERATOR.match(self.text, self.pos)
        if operator is not None:
            self.pos = operator.end()
            self.spaces()
            self.operand()
            self.spaces()
        if not self.text.startswith(")]", self.pos):
            raise self.fail("a filter must end with )]")
        self.pos += 2

    def spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def operand(self) -> None:
        char = self.peek()
        number = _NUMBER.match(self.text, self.pos)
        if char in "\"'":
            self.literal()
        elif char in "@$":
            self.path(in_filter=True)
        elif number is not None:
            self.pos = number.end()
        elif self.word() not in ("true", "false"):
            raise self.fail("a filter compares a path (@...) with a path, string, number or bool")


def check_template(text: str) -> None:
    """Raise ValueError unless `text` is a kubectl JSONPath template this module accepts."""
    _Parser(text).template()


def check_single_path(text: str) -> None:
    """Raise ValueError unless `text` is one `{path}`, as `kubectl wait --for=jsonpath=` takes."""
    parser = _Parser(text)
    parser.template()
    if not (text.startswith("{") and text.endswith("}")) or parser.actions != [["path"]]:
        raise ValueError("must be one JSONPath expression such as '{.status.phase}'")
