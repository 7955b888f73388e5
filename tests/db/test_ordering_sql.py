"""ORDER BY stays index-friendly: NULLS FIRST/LAST only where a NULL can really appear."""

from __future__ import annotations

from newsmodels import Article
from sqlalchemy.dialects import postgresql


def compiled(qs: object) -> str:
    return str(qs.statement.compile(dialect=postgresql.dialect()))  # type: ignore[attr-defined]


def test_not_null_columns_sort_without_a_nulls_clause() -> None:
    sql = compiled(Article.objects.order_by("-id")[:20])
    assert "ORDER BY article.id DESC" in sql
    assert "NULLS" not in sql


def test_nullable_and_joined_columns_keep_nulls_lowest() -> None:
    assert "article.url ASC NULLS FIRST" in compiled(Article.objects.order_by("url"))
    # username is NOT NULL, but an outer join can still produce NULLs.
    joined = compiled(Article.objects.order_by("-author__profile__bio"))
    assert "DESC NULLS LAST" in joined
