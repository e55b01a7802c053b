import pytest

from paperscope.arxiv_ids import ArxivId, InvalidArxivId, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.04122", ArxivId("2401.04122", None)),
        ("2401.04122v3", ArxivId("2401.04122", 3)),
        (" arXiv:2401.04122v3 ", ArxivId("2401.04122", 3)),
        ("https://arxiv.org/abs/2401.04122v2", ArxivId("2401.04122", 2)),
        ("0704.0001", ArxivId("0704.0001", None)),
        ("hep-th/9901001v2", ArxivId("hep-th/9901001", 2)),
        ("math.GT/0309136", ArxivId("math.GT/0309136", None)),
    ],
)
def test_accepts_both_id_schemes_with_or_without_version(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2401", "2401.041", "2401.04122v", "../etc/passwd", "2401.04122 OR 1=1", "x" * 500]
)
def test_rejects_anything_else_with_a_readable_message(text):
    with pytest.raises(InvalidArxivId, match="arXiv id"):
        parse_arxiv_id(text)
