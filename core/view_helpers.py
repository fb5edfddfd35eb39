"""Small helpers every app's views share."""


def posted(request):
    """The form data of a POST (even an empty one, so that it gets its errors), else None."""
    return request.POST if request.method == "POST" else None


def is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def apply_service_errors(form, error):
    """Show a service's ValidationError on the form fields it names (the rest above the form)."""
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def page_query(request):
    """The current query string without ``page``, ready for ``?{{ page_query }}page=N``."""
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""
