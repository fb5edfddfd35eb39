def page_query(request):
    """The current query string without ``page``, ready for ``?{{ page_query }}page=N``."""
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""
