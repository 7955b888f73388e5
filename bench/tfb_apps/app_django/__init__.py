"""Django, as its tutorial lays a project out: settings, models, views, urls and wsgi."""
