def describe(error):
    """A ValidationError as one line for a terminal: 'field: message; field: message'."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
