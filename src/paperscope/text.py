"""Paper text for display, on pages, in feeds and in mail: abstracts reflowed into
paragraphs, LaTeX made readable as plain Unicode so no JavaScript math renderer is needed,
dates as readers read them, and the path of a paper's page.

Everything here is a pure function of a string and never raises. HTML-looking text
("How <SEG> Token Works") is passed through untouched: escaping is the template's job.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from urllib.parse import quote

_UNENCODABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# -- reflow ----------------------------------------------------------------------------

# A line that ends a sentence, possibly inside closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?:][\"'’”)\]]*$")


def reflow(text: str) -> str:
    """Join hard-wrapped lines into flowing paragraphs separated by "\\n\\n".

    A paragraph ends at a blank line, or at a line that ends a sentence when the next line
    is indented (how arXiv marks a new paragraph in its abstracts). Runs of whitespace
    inside a paragraph become one space.
    """
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        words = line.split()
        if not words:
            if current:
                paragraphs.append(current)
                current = []
            continue
        if current and line[:1].isspace() and _SENTENCE_END.search(current[-1]):
            paragraphs.append(current)
            current = []
        current.extend(words)
    if current:
        paragraphs.append(current)
    return "\n\n".join(" ".join(words) for words in paragraphs).strip()


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def drop_unencodable(text: str) -> str:
    """Drop what XML 1.0 cannot carry: control characters (but tab and newlines), lone
    surrogates, U+FFFE and U+FFFF. Pages and feeds both show only such text."""
    return _UNENCODABLE.sub("", text)


# -- LaTeX -----------------------------------------------------------------------------

_GREEK = {
    name: chr(code)
    for name, code in {
        "alpha": 0x3B1, "beta": 0x3B2, "gamma": 0x3B3, "delta": 0x3B4, "epsilon": 0x3F5,
        "varepsilon": 0x3B5, "zeta": 0x3B6, "eta": 0x3B7, "theta": 0x3B8, "vartheta": 0x3D1,
        "iota": 0x3B9, "kappa": 0x3BA, "lambda": 0x3BB, "mu": 0x3BC, "nu": 0x3BD,
        "xi": 0x3BE, "omicron": 0x3BF, "pi": 0x3C0, "varpi": 0x3D6, "rho": 0x3C1,
        "varrho": 0x3F1, "sigma": 0x3C3, "varsigma": 0x3C2, "tau": 0x3C4, "upsilon": 0x3C5,
        "phi": 0x3D5, "varphi": 0x3C6, "chi": 0x3C7, "psi": 0x3C8, "omega": 0x3C9,
        "Gamma": 0x393, "Delta": 0x394, "Theta": 0x398, "Lambda": 0x39B, "Xi": 0x39E,
        "Pi": 0x3A0, "Sigma": 0x3A3, "Upsilon": 0x3A5, "Phi": 0x3A6, "Psi": 0x3A8,
        "Omega": 0x3A9,
    }.items()
}  # fmt: skip

_SYMBOLS = {
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "ll": "≪",
    "gg": "≫", "approx": "≈", "simeq": "≃", "equiv": "≡", "propto": "∝", "sim": "~",
    "times": "×", "cdot": "·", "pm": "±", "mp": "∓", "div": "÷", "ast": "∗", "star": "⋆",
    "circ": "∘", "infty": "∞", "partial": "∂", "nabla": "∇", "ell": "ℓ", "hbar": "ℏ",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "leftrightarrow": "↔",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "implies": "⟹",
    "iff": "⟺", "mapsto": "↦", "uparrow": "↑", "downarrow": "↓",
    "in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "supset": "⊃",
    "supseteq": "⊇", "cup": "∪", "cap": "∩", "setminus": "∖", "emptyset": "∅",
    "varnothing": "∅", "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨",
    "wedge": "∧", "vee": "∨", "oplus": "⊕", "otimes": "⊗", "sum": "∑", "prod": "∏",
    "int": "∫", "oint": "∮", "prime": "′", "dagger": "†", "top": "⊤",
    "perp": "⊥", "parallel": "∥", "mid": "|", "vert": "|", "Vert": "‖", "langle": "⟨",
    "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋",
    "ldots": "…", "dots": "…", "cdots": "⋯", "colon": ":",
    "log": "log", "ln": "ln", "exp": "exp", "sin": "sin", "cos": "cos", "tan": "tan",
    "max": "max", "min": "min", "sup": "sup", "inf": "inf", "lim": "lim", "arg": "arg",
    "det": "det", "dim": "dim", "ker": "ker", "Pr": "Pr",
    "quad": " ", "qquad": " ", "left": "", "right": "", "big": "", "Big": "", "bigg": "",
    "Bigg": "", "bigl": "", "bigr": "", "Bigl": "", "Bigr": "", "displaystyle": "",
    "ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
    "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "LaTeX": "LaTeX", "TeX": "TeX",
}  # fmt: skip

_NAMED = {**_GREEK, **_SYMBOLS}

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW⊤′∗*†",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵀ′∗*†",
        strict=True,
    )
)
_SUBSCRIPTS = dict(
    zip(
        "0123456789+-−=()aehijklmnoprstuvx",
        "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ",
        strict=True,
    )
)

# Combining marks for text accents (\'e) and math accents (\hat{x}).
_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
    "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
    "c": "\u0327", "k": "\u0328", "r": "\u030a",
    "hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305",
    "tilde": "\u0303", "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307",
    "ddot": "\u0308", "check": "\u030c", "breve": "\u0306", "acute": "\u0301",
    "grave": "\u0300",
}  # fmt: skip

_UNWRAP = (
    "textbf|textit|textsl|textsc|textrm|textsf|texttt|textup|textnormal|text|emph|"
    "underline|mathrm|mathsf|mathcal|mathscr|mathfrak|mathit|mathtt|mathbf|mathnormal|"
    "boldsymbol|bm|operatorname|url|mbox|hbox"
)
_DECLARATIONS = "em|bf|it|sl|sc|rm|sf|tt|cal|bfseries|itshape|scshape|ttfamily|normalfont"


def _double_struck(letter: str) -> str:
    for name in (f"DOUBLE-STRUCK CAPITAL {letter}", f"MATHEMATICAL DOUBLE-STRUCK CAPITAL {letter}"):
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    return letter


_BLACKBOARD = {letter: _double_struck(letter) for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_BLACKBOARD["1"] = "𝟙"

_TEXT_ACCENT = re.compile(
    r"""\{\\(?P<a1>['`^"~=.])\s*(?:\{(?P<b1>\\i|[A-Za-z])\}|(?P<c1>\\i|[A-Za-z]))\}"""
    r"""|\{\\(?P<a2>[uvHckr])\s*\{(?P<b2>\\i|[A-Za-z])\}\}"""
    r"""|\\(?P<a3>['`^"~=.])\s*(?:\{(?P<b3>\\i|[A-Za-z])\}|(?P<c3>\\i(?![A-Za-z])|[A-Za-z]))"""
    r"""|\\(?P<a4>[uvHckr])\s*\{(?P<b4>\\i|[A-Za-z])\}"""
)
_DECLARATION = re.compile(rf"\{{\\(?:{_DECLARATIONS})(?![A-Za-z])\s*([^{{}}]*)\}}")
# Innermost groups first: arguments without braces, so nesting unwraps pass by pass.
_GROUPED = re.compile(
    rf"\\(?P<unwrap>{_UNWRAP})(?![A-Za-z])\s*\{{(?P<arg>[^{{}}]*)\}}"
    r"|\\mathbb\s*\{(?P<bb>[^{}]*)\}"
    r"|\\(?P<accent>hat|widehat|bar|overline|tilde|widetilde|vec|dot|ddot|check|breve"
    r"|acute|grave)(?![A-Za-z])\s*\{(?P<accented>[^{}]*)\}"
    r"|\\sqrt\s*\{(?P<root>[^{}]*)\}"
    r"|\\[dt]?frac\s*\{(?P<num>[^{}]*)\}\s*\{(?P<den>[^{}]*)\}"
)
_MAX_NESTING = 8
_BARE_ARG = re.compile(
    rf"\\(?:(?P<unwrap>{_UNWRAP})|(?P<bb>mathbb))\s+(?P<arg>[A-Za-z0-9])(?![A-Za-z0-9])"
)
_COMMAND = re.compile(r"(?<!\\)\\([A-Za-z]+)")
_ESCAPED = re.compile(r"(?<!\\)\\([%&_#${}, ;:!])")
_ESCAPES = {",": " ", " ": " ", ";": " ", ":": " ", "!": ""}
# A tie between words ("Fig.~1", "et~al."); "~100" or "/~user" keep their tilde.
_TIE = re.compile(r"(?<=[A-Za-z0-9.,;:)}\]])~(?=[A-Za-z0-9({\\$])")
_TEX_QUOTES = re.compile(r"``(?=\S)([^`']*?)''")
_EN_DASH = re.compile(r"(?<=\w)--(?=\w)")
_EM_DASH = re.compile(r"(?<=[\w\s])---(?=[\w\s])")
_SINGLE_BRACED = re.compile(r"(?<!\\)\{([^\x00-\x7f{}\\])\}")
_LEFTOVER_COMMAND = re.compile(r"\\[A-Za-z]")
_MATH_SCRIPT = re.compile(r"(?<!\\)(?P<op>[\^_])\s*(?:\{(?P<group>[^{}]*)\}|(?P<one>[^\s{}\\]))")
_TEXT_SUPERSCRIPT = re.compile(
    r"(?<=[^\s\\^_])\^(?:\{(?P<group>[^{}]*)\}|(?P<one>[-−]?\d+|[A-Za-z](?![A-Za-z])))"
)
_TEXT_SUBSCRIPT = re.compile(
    r"(?<![\w\\])(?P<base>[A-Za-z])_(?:\{(?P<group>[^{}]*)\}|(?P<one>\d+)(?!\w))"
)


def _with_mark(base: str, mark: str) -> str:
    return unicodedata.normalize("NFC", base + mark)


def _accent(match: re.Match[str]) -> str:
    groups = match.groupdict()
    accent = groups["a1"] or groups["a2"] or groups["a3"] or groups["a4"]
    letter = groups["b1"] or groups["c1"] or groups["b2"] or groups["b3"] or groups["c3"]
    letter = letter or groups["b4"]
    return _with_mark("i" if letter == "\\i" else letter, _ACCENTS[accent])


def _needs_parens(argument: str) -> bool:
    return len(argument.strip()) > 1 and re.search(r"[\s+\-−*/=,]", argument.strip()) is not None


def _grouped(match: re.Match[str]) -> str:
    if match["unwrap"] is not None:
        return match["arg"]
    if match["bb"] is not None:
        letter = match["bb"].strip()
        return _BLACKBOARD.get(letter, letter)
    if match["accent"] is not None:
        argument = match["accented"].strip()
        if len(argument) == 1:
            return _with_mark(argument, _ACCENTS[match["accent"]])
        return match.group()
    if match["root"] is not None:
        root = match["root"].strip()
        return f"√({root})" if _needs_parens(root) else f"√{root}"
    parts = [match["num"].strip(), match["den"].strip()]
    return "/".join(f"({part})" if _needs_parens(part) else part for part in parts)


def _bare_argument(match: re.Match[str]) -> str:
    if match["bb"] is not None:
        return _BLACKBOARD.get(match["arg"], match["arg"])
    return match["arg"]


def _named(match: re.Match[str]) -> str:
    return _NAMED.get(match[1], match.group())


def _convert_script(op: str, group: str | None, one: str | None) -> str | None:
    """The Unicode form of a script, or None when a character has none."""
    script = group if group is not None else one
    if not script:
        return None
    table = _SUPERSCRIPTS if op == "^" else _SUBSCRIPTS
    chars = script.replace(" ", "")
    if not chars or any(char not in table for char in chars):
        return None
    return "".join(table[char] for char in chars)


def _math_script(match: re.Match[str]) -> str:
    converted = _convert_script(match["op"], match["group"], match["one"])
    return match.group() if converted is None else converted


def _text_superscript(match: re.Match[str]) -> str:
    converted = _convert_script("^", match["group"], match["one"])
    return match.group() if converted is None else converted


def _text_subscript(match: re.Match[str]) -> str:
    converted = _convert_script("_", match["group"], match["one"])
    return match.group() if converted is None else match["base"] + converted


def _commands(text: str) -> str:
    """Accents, named symbols and formatting commands: the part shared by text and math."""
    text = _TEXT_ACCENT.sub(_accent, text)
    text = _DECLARATION.sub(lambda match: match[1], text)
    text = _COMMAND.sub(_named, text)
    for _ in range(_MAX_NESTING):
        text, count = _GROUPED.subn(_grouped, text)
        if not count:
            break
    text = _BARE_ARG.sub(_bare_argument, text)
    return text


def _escapes(text: str) -> str:
    # "{ø}" from "{\\o}": braces that only guarded one converted character.
    text = _SINGLE_BRACED.sub(lambda match: match[1], text)
    return _ESCAPED.sub(lambda match: _ESCAPES.get(match[1], match[1]), text)


def _text_segment(text: str) -> str:
    text = _TIE.sub(" ", text)
    text = _commands(text)
    text = _TEXT_SUPERSCRIPT.sub(_text_superscript, text)
    text = _TEXT_SUBSCRIPT.sub(_text_subscript, text)
    text = _TEX_QUOTES.sub(lambda match: f"“{match[1]}”", text)
    text = _EM_DASH.sub("—", text)
    text = _EN_DASH.sub("–", text)
    return _escapes(text)


def _math_segment(opener: str, body: str, closer: str) -> str:
    converted = _commands(body.replace("~", " "))
    converted = _MATH_SCRIPT.sub(_math_script, converted)
    converted = _escapes(converted)
    if _LEFTOVER_COMMAND.search(converted):
        # Something we cannot render: keep the delimiters so the reader sees it is TeX.
        return f"{opener}{converted}{closer}"
    return converted.strip()


_DELIMITER = re.compile(r"\\\$|\$\$|\\\(|\\\[|\$")
_CLOSERS = {"$$": "$$", "\\(": "\\)", "\\[": "\\]"}
_MATH_HINT = re.compile(r"[\\^_=<>]")


def _inline_math_end(text: str, start: int) -> int | None:
    """Where the `$` closing the one at `start` is, if the pair reads as math.

    Pandoc's rule: the opening `$` has a non-space right after it, the closing one a
    non-space right before it and no digit right after it ("costs $5 and $10" is money).
    On top, the content must look like math: contain a backslash, ^, _, =, < or > or be a
    single token without spaces ("$n$", "$O(n)$", "$3$-SAT").
    """
    end = start + 1
    while True:
        end = text.find("$", end)
        if end == -1:
            return None
        if text[end - 1] != "\\":
            break
        end += 1
    body = text[start + 1 : end]
    if not body or body[0].isspace() or body[-1].isspace() or "\n\n" in body:
        return None
    if text[end + 1 : end + 2].isdigit():
        return None
    if _MATH_HINT.search(body) is None and any(char.isspace() for char in body):
        return None
    return end


def _segments(text: str) -> list[tuple[str, str, str] | str]:
    """Split text into plain strings and (opener, body, closer) math spans."""
    pieces: list[tuple[str, str, str] | str] = []
    plain_start = 0
    position = 0
    unclosed: set[str] = set()
    while True:
        match = _DELIMITER.search(text, position)
        if match is None:
            break
        opener = match.group()
        position = match.end()
        if opener == "\\$":
            continue
        if opener == "$":
            end = _inline_math_end(text, match.start())
            closer = "$"
        else:
            closer = _CLOSERS[opener]
            # Once a closer is missing it is missing for every later opener: skip the
            # search, or "\\(" repeated would cost quadratic time.
            found = -1 if closer in unclosed else text.find(closer, match.end())
            if found == -1:
                unclosed.add(closer)
            end = found if found > match.end() else None
        if end is None:
            if opener == "$$":
                position = match.start() + 1  # Let the second `$` try as an inline opener.
            continue
        pieces.append(text[plain_start : match.start()])
        pieces.append((opener, text[match.end() : end], closer))
        position = plain_start = end + len(closer)
    pieces.append(text[plain_start:])
    return pieces


# Every rule below needs one of these characters (a tie or a TeX quote/dash included).
_TEX_SIGNS = re.compile(r"[\\$^_~{}`]|--")


def readable_latex(text: str) -> str:
    """Render the LaTeX in a title or abstract as plain Unicode text.

    - Math spans are `$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]`. A `$` pair counts
      as math only by the rule in `_inline_math_end` (pandoc's, plus "looks like math"),
      so "costs $5 and $10" stays as written. `\\$` is a literal dollar.
    - Everywhere: Greek letters, common symbols and operators, text accents (`\\'e` ->
      é), `\\mathbb{R}` -> ℝ, formatting commands unwrapped (`\\textbf{X}` -> X,
      `{\\em X}` -> X), `\\frac{a}{b}` -> a/b, `\\sqrt{x}` -> √x, `\\%` -> %.
    - Super/subscripts become Unicode only when every character has a Unicode form
      (`x^{2}` -> x², `x_1` -> x₁, `x^{\\alpha}` stays). Inside math TeX's rule applies
      (`^` takes one character or a group); outside math `^` takes a digit run and `_`
      only follows a lone letter, so `snake_case` and `model_2` are left alone.
    - A math span loses its delimiters once nothing TeX is left in it; otherwise it
      keeps them so the reader can tell it is TeX. Unknown commands stay as written.
    - Outside math, `~` between words is a tie and becomes a space ("Fig.~1"); "~100"
      keeps its tilde.
    """
    if not _TEX_SIGNS.search(text):
        return text  # most titles and abstracts: nothing to do
    parts = []
    for piece in _segments(text):
        parts.append(_text_segment(piece) if isinstance(piece, str) else _math_segment(*piece))
    return "".join(parts)


def readable_tex_at(text: str, start: int) -> tuple[int, str] | None:
    """The math span (`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`, by `readable_latex`'s
    rules) or text accent (`\\'e`, `{\\"o}`) that opens at `start`, as (where it ends, its
    readable form); None if none opens there. For text read piece by piece, as comments'
    Markdown is, where `\\'` would otherwise read as an escaped quote."""
    accent = _TEXT_ACCENT.match(text, start)
    if accent is not None:
        return accent.end(), _accent(accent)
    opener = next((o for o in ("$$", "$", "\\(", "\\[") if text.startswith(o, start)), None)
    if opener is None:
        return None
    if opener == "$":
        end, closer = _inline_math_end(text, start), "$"
    else:
        closer = _CLOSERS[opener]
        found = text.find(closer, start + len(opener))
        end = found if found > start + len(opener) else None
    if end is None:
        return None
    body = text[start + len(opener) : end]
    return end + len(closer), _math_segment(opener, body, closer)


def display_title(text: str) -> str:
    """A title on one line, its LaTeX made readable."""
    return collapse_whitespace(readable_latex(collapse_whitespace(drop_unencodable(text))))


def display_abstract(text: str) -> str:
    """An abstract as paragraphs joined by "\\n\\n", its LaTeX made readable."""
    paragraphs = readable_latex(reflow(drop_unencodable(text))).split("\n\n")
    return "\n\n".join(p for p in (collapse_whitespace(p) for p in paragraphs) if p)


def day(value: datetime | None) -> str:
    return value.strftime("%b %-d, %Y") if value else "—"


def paper_url(paper_id: str) -> str:
    return "/papers/" + quote(paper_id, safe="/.")
