"""The default backend's answers, shaped like an assistant's, for chat UIs to be built against.

A shape says what an answer looks like (README, Default answers):

- `plain`: one to four sentences, nothing else;
- `paragraphs`: the same sentences, a paragraph each;
- `prose`: paragraphs, with emphasis, inline code and a link here and there;
- `markdown`: a heading, paragraphs, a bullet list and a numbered list;
- `code`: a sentence, a fenced code block with its language (Python, JavaScript or shell, as the
  question says), and a note on it;
- `table`: a sentence and a Markdown table;
- `long`: thousands of tokens of sections (headings, paragraphs, lists, code);
- `unicode`: non-Latin scripts (Greek, Cyrillic, CJK, Arabic and Hebrew, right to left,
  Devanagari), emoji with skin tones and joiners, combining accents.

The request picks one with the `x-emulator-shape` header (a scenario with `text: {shape: ...}`);
otherwise the question does (it mentions code or a language: `code`; a list or steps:
`markdown`; a table or comparison: `table`), else the request's random stream chooses between
`plain` and `paragraphs`, the two built straight from pre-split words (the common path stays as
fast as it was). Everything is drawn from that stream, so the same request gets
the same answer. The answer is returned as its tokens (emulator.engine.tokens), so a stream cuts
through the middle of a code fence as a real one does.
"""

from __future__ import annotations

import functools
import random

from faker import Faker

from emulator.engine.textgen import TextGenerator
from emulator.engine.tokens import tokenize

# What a question mentions that picks a shape, in this order. Words are compared whole, lower
# case, split at anything but an ASCII letter: this runs on every request the default backend
# answers, so it is C-level work on bytes (see shape_for).
_ASKS = (
    ("code", frozenset((b"code", b"function", b"functions", b"script", b"scripts", b"snippet", b"snippets",
                        b"program", b"programs", b"python", b"javascript", b"typescript", b"js", b"bash",
                        b"shell", b"implement", b"regex", b"sql"))),
    ("table", frozenset((b"table", b"tables", b"compare", b"comparison", b"versus", b"vs", b"matrix"))),
    ("markdown", frozenset((b"list", b"lists", b"step", b"steps", b"bullet", b"bullets", b"options",
                            b"ideas", b"ways", b"tips", b"checklist"))),
)  # fmt: skip
_ANY_ASK = frozenset().union(*(asks for _, asks in _ASKS))
# Byte by byte: an ASCII letter lower-cased, anything else a space (non-ASCII arrives as `?`).
_LETTERS_ONLY = bytes(c | 0x20 if chr(c).isascii() and chr(c).isalpha() else 0x20 for c in range(256))
_UNICODE = (
    "Καλημέρα κόσμε· η απάντηση είναι έτοιμη.",
    "Привет, мир! Ответ готов.",
    "こんにちは世界。答えはここにあります。",
    "你好，世界。这是答案。",  # noqa: RUF001 (Chinese punctuation, on purpose)
    "안녕하세요 세계. 답변입니다.",
    "مرحبا بالعالم، هذه هي الإجابة.",
    "שלום עולם, זו התשובה.",
    "नमस्ते दुनिया, यह उत्तर है।",
    "Ünïcödé wïth cömbíning áccents: e\u0301 a\u0308 n\u0303.",
    "Emoji: 🚀 ✨ 👍🏽 👩‍💻 🏳️‍🌈 🇳🇱",
)


@functools.cache
def _words() -> tuple[str, ...]:
    return tuple(Faker("en_US").get_words_list())


def shape_for(question: str, stream: bytes) -> str:
    """The shape a question asks for, else one drawn from the request's stream."""
    # encode, translate and split, then one set test: about half the cost of a regex scan
    asked = question.encode("ascii", "replace").translate(_LETTERS_ONLY).split()
    if not _ANY_ASK.isdisjoint(asked):
        for shape, asks in _ASKS:
            if not asks.isdisjoint(asked):
                return shape
    return "paragraphs" if stream[-1] & 1 else "plain"


class Composer:
    """Answers of every shape; `plain` is the text generator's own (its fast path)."""

    def __init__(self, text: TextGenerator) -> None:
        self.text = text

    def answer(self, stream: bytes, question: str, shape: str | None = None) -> list[str]:
        """The answer's tokens; "".join() is its text."""
        shape = shape or shape_for(question, stream)
        if shape == "plain":
            return self.text.reply(stream)
        if shape == "paragraphs":
            return self.text.reply(stream, paragraphs=True)
        return tokenize(_Writer(random.Random(stream), question).write(shape))


class _Writer:
    def __init__(self, rng: random.Random, question: str) -> None:
        self.rng = rng
        self.question = question.lower()

    def write(self, shape: str) -> str:
        match shape:
            case "prose":
                return self.paragraphs(self.rng.randint(2, 4), decorated=True)
            case "markdown":
                return self.markdown()
            case "code":
                return self.code()
            case "table":
                return self.table()
            case "long":
                return self.long()
            case _:
                return self.unicode()

    def word(self) -> str:
        return self.rng.choice(_words())

    def sentence(self, decorated: bool = False) -> str:
        chosen = [self.word() for _ in range(self.rng.randint(5, 14))]
        if decorated and self.rng.random() < 0.4:
            at = self.rng.randrange(1, len(chosen))
            chosen[at] = self.rng.choice((f"**{chosen[at]}**", f"*{chosen[at]}*", f"`{chosen[at]}()`"))
        if decorated and self.rng.random() < 0.15:
            target = self.word()
            chosen.append(f"[{target}](https://example.com/{target})")
        return " ".join(chosen).capitalize() + "."

    def paragraph(self, decorated: bool = False) -> str:
        return " ".join(self.sentence(decorated) for _ in range(self.rng.randint(2, 4)))

    def paragraphs(self, count: int, decorated: bool = False) -> str:
        return "\n\n".join(self.paragraph(decorated) for _ in range(count))

    def heading(self, level: int) -> str:
        return "#" * level + " " + " ".join(self.word() for _ in range(self.rng.randint(2, 4))).capitalize()

    def bullets(self, numbered: bool = False) -> str:
        items = [self.sentence(decorated=True) for _ in range(self.rng.randint(3, 5))]
        return "\n".join(f"{n}. {item}" if numbered else f"- {item}" for n, item in enumerate(items, 1))

    def markdown(self) -> str:
        parts = [self.heading(2), self.paragraph(decorated=True), self.bullets()]
        if self.rng.random() < 0.6:
            parts += [self.heading(3), self.bullets(numbered=True)]
        parts.append(self.paragraph(decorated=True))
        return "\n\n".join(parts)

    def language(self) -> str:
        if any(w in self.question for w in ("javascript", "typescript", " js", "node")):
            return "javascript"
        if any(w in self.question for w in ("bash", "shell", "curl", "command")):
            return "bash"
        return "python"

    def code(self) -> str:
        language = self.language()
        name, arg, key = self.word(), self.word(), self.word()
        if language == "python":
            times = self.rng.randint(2, 9)
            body = (f"def {name}_{arg}({arg}: str, times: int = {times}) -> dict[str, str]:\n"
                    f'    """{self.sentence()}"""\n'
                    f'    {key} = {{"{arg}": {arg} * times}}\n'
                    f"    return {key}\n\n\n"
                    f'print({name}_{arg}("{self.word()}"))')  # fmt: skip
        elif language == "javascript":
            body = (f"export async function {name}{arg.capitalize()}({arg}) {{\n"
                    f"  // {self.sentence()}\n"
                    f'  const {key} = await fetch(`/api/{name}?q=${{{arg}}}`);\n'
                    f"  return {key}.json();\n}}")  # fmt: skip
        else:
            body = (f"# {self.sentence()}\n"
                    f"curl -s https://example.com/{name} | jq '.{key}'\n"
                    f"echo \"{arg} done\"")  # fmt: skip
        return f"{self.sentence()}\n\n```{language}\n{body}\n```\n\n{self.paragraph(decorated=True)}"

    def table(self) -> str:
        columns = [self.word().capitalize() for _ in range(3)]
        rows = [
            f"| {self.word()} | {self.rng.randint(1, 999)} | {self.rng.randint(0, 100)}% |"
            for _ in range(self.rng.randint(3, 6))
        ]
        head = f"| {' | '.join(columns)} |\n|---|---:|---:|"
        return f"{self.sentence()}\n\n{head}\n" + "\n".join(rows) + f"\n\n{self.sentence(decorated=True)}"

    def long(self) -> str:
        sections = [self.heading(1), self.paragraphs(2, decorated=True)]
        for n in range(12):
            sections += [self.heading(2), self.paragraphs(3, decorated=True)]
            sections.append(self.bullets(numbered=n % 2 == 1) if n % 3 else self.code())
        return "\n\n".join(sections)

    def unicode(self) -> str:
        lines = list(_UNICODE)
        self.rng.shuffle(lines)
        return "\n\n".join(lines[: self.rng.randint(5, len(lines))])
