def token_list(r, user_id):
    pass


token_create = token_update = token_delete = token_list
