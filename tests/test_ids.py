"""Identifier normalisation: every spelling of one arXiv paper gives one id."""

from __future__ import annotations

import pytest

from dailypapers.ids import (
    author_key,
    author_slug,
    http_url,
    is_arxiv,
    is_arxiv_category,
    normalize_arxiv_id,
    normalize_doi,
    normalize_title,
    same_person_possible,
    split_arxiv_id,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2104.12255", ("2104.12255", None)),
        ("arXiv:2104.12255v1", ("2104.12255", 1)),
        ("https://arxiv.org/abs/2104.12255v1", ("2104.12255", 1)),
        ("http://arxiv.org/pdf/2104.12255v3.pdf", ("2104.12255", 3)),
        ("oai:arXiv.org:2104.12255", ("2104.12255", None)),
        ("astro-ph/0601001v2", ("astro-ph/0601001", 2)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("https://arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("0704.0001", ("0704.0001", None)),
    ],
)
def test_arxiv_id_spellings(raw: str, expected: tuple[str, int | None]) -> None:
    assert split_arxiv_id(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "", "2104.123", "10.1145/3292500", "2104.12255vX"])
def test_non_arxiv_ids(raw: str) -> None:
    assert normalize_arxiv_id(raw) is None


def test_doi_forms() -> None:
    assert (
        normalize_doi("https://doi.org/10.1103/PhysRevD.76.013009") == "10.1103/physrevd.76.013009"
    )
    assert normalize_doi("doi:10.1000/XYZ") == "10.1000/xyz"
    assert normalize_doi("2104.12255") is None


def test_title_key_ignores_accents_case_punctuation_and_spacing() -> None:
    assert normalize_title("Déjà  Vu: A {Study}!") == normalize_title("deja vu a study")
    assert normalize_title("???") == ""


@pytest.mark.parametrize("code", ["cs.LG", "hep-th", "astro-ph.CO", "math-ph", "q-bio.NC", "cs"])
def test_arxiv_categories(code: str) -> None:
    assert is_arxiv_category(code)


@pytest.mark.parametrize("text", ["68T05, 62R07", "I.2; H.3", "Machine Learning", "cs.LG "])
def test_not_arxiv_categories(text: str) -> None:
    assert not is_arxiv_category(text)


@pytest.mark.parametrize(
    ("paper_id", "expected"),
    [
        ("2104.12255", True),
        ("astro-ph/0601001", True),
        ("2104.12255v1", False),  # stored ids carry no version
        ("arXiv:2104.12255", False),
        ("10.1145/3368089", False),
        ("title:0123456789abcdef", False),
    ],
)
def test_is_arxiv_accepts_only_the_stored_form(paper_id: str, expected: bool) -> None:
    assert is_arxiv(paper_id) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("  HTTP://Example.org/x?y=1  ", "HTTP://Example.org/x?y=1"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("//evil.example/x", None),
        ("/papers/2104.12255", None),
        ("github.com/a/b", None),
        ("https://", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_http_url_keeps_only_absolute_http_links(raw: str | None, expected: str | None) -> None:
    assert http_url(raw) == expected


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("José García-López", "jose garcia lopez"),
        ("JOSE GARCIA LOPEZ", "jose garcia lopez"),
        ("Søren Łukasz Æsir", "soren lukasz aesir"),
        ("A. Smith", "a smith"),
        ("A Smith", "a smith"),
        ("Alice Smith", "alice smith"),
        ("O'Brien, J.", "o brien j"),
        ("张伟", "张伟"),
        ("—", ""),
    ],
)
def test_author_keys_fold_accents_case_and_punctuation_but_not_initials(
    name: str, key: str
) -> None:
    assert author_key(name) == key
    assert author_key(author_slug(name)) == key  # a page's slug leads back to the name


@pytest.mark.parametrize(
    ("key", "other", "possible"),
    [
        ("a smith", "alice smith", True),
        ("alice smith", "alice b smith", True),
        ("a b smith", "alice smith", True),
        ("alice smith", "alicia smith", False),
        ("a smith", "b smith", False),
        ("smith", "a smith", False),
        ("alice smith", "alice smith", False),
    ],
)
def test_names_that_may_be_one_person(key: str, other: str, possible: bool) -> None:
    assert same_person_possible(key, other) is possible
    assert same_person_possible(other, key) is possible
