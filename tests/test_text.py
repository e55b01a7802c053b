import random
import re

import pytest

from paperscope import text as web_text
from paperscope.text import (
    display_abstract,
    display_title,
    drop_unencodable,
    readable_latex,
    reflow,
)

# -- reflow ----------------------------------------------------------------------------


def test_wrapped_lines_join_into_one_paragraph() -> None:
    abstract = "  We study the\nproblem of   wrapping,\nwhich arXiv\tdoes at 80\ncolumns.\n"
    assert reflow(abstract) == "We study the problem of wrapping, which arXiv does at 80 columns."


def test_blank_lines_and_indented_sentence_starts_are_paragraph_breaks() -> None:
    abstract = (
        "  First paragraph\nends here.\n  Second paragraph starts\nindented.\n\n\n"
        "Third after blank lines.\r\nStill third."
    )
    assert reflow(abstract) == (
        "First paragraph ends here.\n\nSecond paragraph starts indented.\n\n"
        "Third after blank lines. Still third."
    )


def test_indented_line_after_an_unfinished_sentence_is_not_a_break() -> None:
    assert reflow("A sentence that\n  continues here.") == "A sentence that continues here."


def test_reflow_of_nothing() -> None:
    assert reflow("") == ""
    assert reflow(" \n\n \t\n") == ""


# -- readable_latex --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tex", "readable"),
    [
        (r"$\alpha$-Blending", "α-Blending"),
        (r"$\Omega$ and $\gamma$", "Ω and γ"),
        (r"Learning in $\mathbb{R}^n$", "Learning in ℝⁿ"),
        (r"$\mathbb{N}, \mathbb{Z}, \mathbb{Q}, \mathbb{C}$", "ℕ, ℤ, ℚ, ℂ"),
        (r"an $O(n^{2})$ algorithm", "an O(n²) algorithm"),
        (r"$x_1 \leq x_2 \neq \infty$", "x₁ ≤ x₂ ≠ ∞"),
        (r"$a \geq b \approx c \times d \cdot e \pm f$", "a ≥ b ≈ c × d · e ± f"),
        (r"$f: X \to Y$, $x \rightarrow y$, $n \sim m$", "f: X → Y, x → y, n ~ m"),
        (r"$\ell_2$ loss for $x \in \mathbb{R}$", "ℓ₂ loss for x ∈ ℝ"),
        (r"$\sum_{i=1}^n x_i$", "∑ᵢ₌₁ⁿ xᵢ"),
        (r"$\mathcal{O}(n \log n)$", "O(n log n)"),
        (r"\(x^2\) inline", "x² inline"),
        (r"$W^{-1}$ and $A^\top$", "W⁻¹ and Aᵀ"),
        (r"$\frac{1}{2}$ and $\frac{a+b}{c}$", "1/2 and (a+b)/c"),
        (r"$\sqrt{d_k}$", "√dₖ"),
        (r"\textbf{Bold \emph{and nested}} and {\em old style}", "Bold and nested and old style"),
        (r"\textit{a} \mathrm{b} \mathsf{c} \texttt{d} \text{e} \mathbf{f}", "a b c d e f"),
        (r"$\operatorname{softmax}(x)$", "softmax(x)"),
        (r"100\% faster R\&D with snake\_case", "100% faster R&D with snake_case"),
        (r"Schr\"odinger, Erd\H{o}s, G\'{o}mez", "Schrödinger, Erdős, Gómez"),
        (r"na\"{\i}ve {\o}sted \c{C}a\u{g}lar", "naïve østed Çağlar"),
        (r"see Fig.~1 et~al.", "see Fig. 1 et al."),
        (r"``quoted'' pages 1--10", "“quoted” pages 1–10"),
        ("O(n^2) and 10^{-3} outside math", "O(n²) and 10⁻³ outside math"),
        (r"$3$-SAT and $k$-means", "3-SAT and k-means"),
    ],
)
def test_latex_becomes_unicode(tex: str, readable: str) -> None:
    assert readable_latex(tex) == readable


@pytest.mark.parametrize(
    "text",
    [
        "How <SEG> Token Works",
        "<SOG_k>: One LLM Token for <b>bold</b> &amp; claims",
        "costs $5 and $10",
        "between $5 and $10 million",
        "US$5/US$10 per hour",
        "snake_case names, model_2 and file_name.py",
        "about ~100 parameters at http://host/~user",
        "plain text, nothing to do.",
        "--help and -- alone",
        "^_^",
    ],
)
def test_text_without_latex_is_left_exactly_as_is(text: str) -> None:
    assert readable_latex(text) == text


def test_unknown_commands_and_unconvertible_math_keep_their_delimiters() -> None:
    # Nothing is lost: an unknown command stays, and its math keeps the $ that mark it TeX.
    assert readable_latex(r"$\foo{x} + \alpha$") == r"$\foo{x} + α$"
    assert readable_latex(r"see \cite{vaswani} and \unknown") == r"see \cite{vaswani} and \unknown"


def test_scripts_without_a_unicode_form_stay_as_written() -> None:
    assert readable_latex("$x^{q}$") == "x^{q}"  # there is no superscript q
    assert readable_latex("$y_{b}$") == "y_{b}"  # nor a subscript b


def test_money_beside_math_is_not_swallowed() -> None:
    assert readable_latex(r"costs $5 and $x^2$ more") == "costs $5 and x² more"
    assert readable_latex(r"only \$5 for $\alpha$") == "only $5 for α"


def test_a_lone_dollar_or_an_unclosed_delimiter_stays() -> None:
    assert readable_latex("lone $ here") == "lone $ here"
    assert readable_latex(r"open \( never closed $\beta$") == r"open \( never closed β"


NASTY = [
    "",
    "{",
    "}",
    "$",
    "$$",
    "\\",
    "\\\\",
    "x^",
    "x_",
    "^{",
    r"\textbf{unbalanced",
    r"{\em",
    r"\frac{a}{b{c}}",
    r"$\alpha",
    r"\(\(\(",
    "\ud800 lone surrogate",
    "\x00\x01\x0b control",
    "🙂 $\\alpha$ 🙂",
    "\\" + "{" * 50 + "$" * 51,
]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_input_never_raises(text: str) -> None:
    for render in (readable_latex, display_title, display_abstract, reflow):
        assert isinstance(render(text), str)


def test_unbalanced_input_keeps_its_text() -> None:
    assert readable_latex(r"{\textbf{x") == r"{\textbf{x"
    assert readable_latex(r"\textbf{a} }{ \emph{b") == r"a }{ \emph{b"


def test_random_fragments_never_raise() -> None:
    pieces = [*"ab1 $\\{}^_~`'\"-()[]\n<>&", r"\alpha", r"\frac", r"\textbf{", "$$", r"\(", "\\)"]
    pieces += [r"\'", r"\mathbb", r"{\em ", "\ud800", "\x00", "é"]
    rng = random.Random(1234)
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        readable_latex(text)
        display_abstract(text)


class _Work:
    """Characters the LaTeX rendering looks at: counted at each of its regular expressions
    and at `find` on the text it is given. Unlike a stopwatch it is the same on any machine,
    and it grows with the square of the input if a scan is repeated per opener or per pass."""

    def __init__(self) -> None:
        self.characters = 0

    def text(self, value: str) -> str:
        work = self

        class Counted(str):
            def find(self, sub, start=None, end=None):
                found = super().find(sub, start, end)
                start = start or 0
                stop = found + len(sub) if found >= 0 else len(self) if end is None else end
                work.characters += stop - start
                return found

        return Counted(value)

    def pattern(self, pattern: re.Pattern) -> object:
        work = self

        class Counted:
            def __getattr__(self, name):  # what text.py does not call passes uncounted
                return getattr(pattern, name)

            def search(self, string, pos=0, *rest):
                match = pattern.search(string, pos, *rest)
                work.characters += (match.end() if match else len(string)) - pos + 1
                return match

            def sub(self, repl, string, count=0):
                work.characters += len(string) + 1
                return pattern.sub(repl, string, count)

            def subn(self, repl, string, count=0):
                work.characters += len(string) + 1
                return pattern.subn(repl, string, count)

        return Counted()


def _work_of_readable_latex(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    work = _Work()
    with monkeypatch.context() as patched:
        for name, value in vars(web_text).items():
            if isinstance(value, re.Pattern):
                patched.setattr(web_text, name, work.pattern(value))
        readable_latex(work.text(text))
    return work.characters


PATHOLOGICAL = {
    "unclosed openers": lambda n: r"\(" * n,
    "dollars": lambda n: "$" * n,
    "deep nesting": lambda n: r"\textbf{" * n + "x" + "}" * n,
    "many formulas": lambda n: "A long abstract line with $x^2$ and \\alpha.\n" * n,
}


@pytest.mark.parametrize("make", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_long_input_costs_work_in_proportion_to_its_length(make, monkeypatch) -> None:
    small = _work_of_readable_latex(make(1_000), monkeypatch)
    large = _work_of_readable_latex(make(8_000), monkeypatch)
    assert small > 1_000 and large < 8 * small * 1.25  # linear: 8 times; quadratic: 64


@pytest.mark.parametrize("make", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_long_input_renders(make) -> None:
    text = make(20_000)
    shown = display_abstract(text)
    assert 0 < len(shown) <= len(text)
    assert ("x² and α." in shown) == ("$x^2$" in text)


# -- display ---------------------------------------------------------------------------


def test_display_title_is_one_line_of_readable_text() -> None:
    title = "  Scaling\n  Laws for $\\beta$-VAEs:\tHow <SEG> Helps  "
    assert display_title(title) == "Scaling Laws for β-VAEs: How <SEG> Helps"


def test_display_abstract_keeps_paragraphs_and_renders_latex() -> None:
    abstract = "  We bound the error by\n$O(\\epsilon^2)$.\n  Then we show\n$x \\in \\mathbb{R}$."
    assert display_abstract(abstract) == "We bound the error by O(ϵ²).\n\nThen we show x ∈ ℝ."


def test_display_drops_characters_xml_cannot_carry() -> None:
    assert display_title("Bad\x00 \x08chars\ud800 kept\ttabs") == "Bad chars kept tabs"
    assert drop_unencodable("ok\x00\ufffe\n\t🙂") == "ok\n\t🙂"
