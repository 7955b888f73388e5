"""Model discovery: the app's and every route group's model modules are imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kettle import App, Group, Settings
from kettle.db import Database, Model


def test_group_models_are_imported_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "blogpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(
        "from kettle.db import Model, fields\n\n"
        "class BlogPost(Model):\n"
        "    title: str = fields.string(max_length=80)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("blogpkg.models", None)

    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    app.include(Group("blog", prefix="/blog", models=["blogpkg.models"]))
    assert "blogpkg.models" not in sys.modules

    db.discover()

    assert "blogpkg.models" in sys.modules
    assert "blog_post" in Model.metadata.tables


def test_a_missing_models_module_names_itself(tmp_path: Path) -> None:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    app.include(Group("shop", models=["no_such_shop.models"]))
    with pytest.raises(ModuleNotFoundError, match="no_such_shop"):
        db.discover()


def test_models_with_the_same_class_name_keep_their_own_relations() -> None:
    import newsmodels
    import sqlalchemy.orm as orm

    from kettle.db import fields

    class Article(Model):  # same class name as newsmodels.Article
        title: str = fields.string(max_length=10)

        class Meta:
            table_name = "discovery_article"

    class Note(Model):
        article: Article = fields.foreign_key(Article, related_name="notes")

    orm.configure_mappers()
    assert Note.article.property.mapper.class_ is Article
    assert newsmodels.Vote.article.property.mapper.class_ is newsmodels.Article
