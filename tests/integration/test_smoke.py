def test_user_list_renders_for_admin(admin_client):
    response = admin_client.get("/users/")
    assert response.status_code == 200
    assert b"admin" in response.content
